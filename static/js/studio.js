// Postmortem Studio: the little behaviour HTMX attributes do not cover.
"use strict";

// Keyboard: Ctrl/Cmd+Enter saves the form being edited, Esc cancels it.
document.addEventListener("keydown", (event) => {
  const form = event.target.closest && event.target.closest("form[data-edit-form]");
  if (!form) return;
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    form.requestSubmit();
  } else if (event.key === "Escape") {
    const cancel = form.querySelector("[data-cancel]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  }
});

// A secret shown once (a new API token, a webhook's signing secret) is selected when it gets
// the focus, ready to copy: `data-select-on-focus` instead of an inline onfocus handler, which
// the Content-Security-Policy refuses. focusin bubbles, so one listener serves every page;
// an autofocused field may be focused before this script runs, hence the check at load too.
document.addEventListener("focusin", (event) => {
  if (event.target.matches && event.target.matches("input[data-select-on-focus]")) {
    event.target.select();
  }
});

// A text field with a length limit (data-limit, from postmortems/limits.py) shows how much
// room is left once the text nears it, and says so when it is over: the server refuses more
// with the text kept, this only tells before saving. No maxlength: a paste is never cut.
function countDown(field) {
  const limit = Number(field.dataset.limit);
  let counter = field.nextElementSibling;
  if (!counter || !counter.matches(".limit-counter")) {
    counter = document.createElement("small");
    counter.className = "limit-counter";
    counter.setAttribute("aria-live", "polite");
    field.after(counter);
  }
  const left = limit - field.value.length;
  counter.hidden = left > limit * 0.2;
  counter.classList.toggle("over", left < 0);
  counter.textContent =
    left < 0
      ? `${(-left).toLocaleString()} characters over the limit of ${limit.toLocaleString()}`
      : `${left.toLocaleString()} characters left`;
}
document.addEventListener("input", (event) => {
  if (event.target.matches && event.target.matches("[data-limit]")) countDown(event.target);
});
function countAll(root) {
  root.querySelectorAll("[data-limit]").forEach(countDown);
}

document.addEventListener("DOMContentLoaded", () => {
  countAll(document);
  document.body.addEventListener("htmx:load", (event) => countAll(event.detail.elt));
  const focused = document.activeElement;
  if (focused && focused.matches("input[data-select-on-focus]")) focused.select();

  // A section someone else changed is swapped in by the presence poll; never over an editor
  // that is open in it (the server skips those too, this covers a race with the poll).
  document.body.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    if (target.matches("[data-editing]") || target.querySelector("[data-editing]")) {
      event.detail.shouldSwap = false;
    }
  });

  // Put the cursor in a form as soon as it opens.
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const opened = event.detail.elt;
    if (!opened || !opened.closest || !opened.closest("[data-editing]")) return;
    const field = opened.querySelector(
      "form[data-edit-form] :is(textarea, input:not([type=hidden]), select):not([disabled])"
    );
    if (field && !opened.contains(document.activeElement)) field.focus();
  });

  // A long list loads its next rows when the end of it scrolls into view. If a keyboard user
  // is on the "Show all" link when they arrive, that link goes away with the placeholder: give
  // the focus to the first row that came in, so that Tab carries on down the list.
  let focusAfter = null;
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (target.classList.contains("more-rows") && target.contains(document.activeElement)) {
      focusAfter = target.previousElementSibling;
    }
  });
  document.body.addEventListener("htmx:afterSettle", () => {
    if (!focusAfter) return;
    const first = focusAfter.nextElementSibling;
    focusAfter = null;
    const control = first && first.querySelector("a, button, [tabindex]");
    if (control) control.focus();
  });

  // Leaving the page: tell the others at once instead of letting the presence expire.
  window.addEventListener("pagehide", () => {
    const presence = document.getElementById("presence");
    if (!presence || !navigator.sendBeacon) return;
    const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    const data = new FormData();
    data.append("csrfmiddlewaretoken", headers["X-CSRFToken"] || "");
    navigator.sendBeacon(presence.dataset.leaveUrl, data);
  });
});
