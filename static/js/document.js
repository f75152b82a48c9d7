// Postmortem Studio, the document page: moving around it (table of contents, keys), never
// losing what is typed (drafts kept in this browser), and screenshots pasted or dropped into
// text fields. studio.js holds what every page shares (Ctrl/Cmd+Enter saves, Esc cancels).
"use strict";

(() => {
  const NARROW = "(max-width: 64rem)";
  const DRAFT_PREFIX = "pm-draft:";
  const DRAFT_MAX_AGE_MS = 14 * 24 * 3600 * 1000;

  const article = () => document.querySelector("article.document");
  const csrfToken = () =>
    JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  const isTyping = (element) =>
    !!element &&
    (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName || ""));

  function say(message) {
    const status = document.getElementById("document-status");
    if (status) status.textContent = message;
  }

  // ---- Table of contents -------------------------------------------------------------------

  function focusSection(target) {
    const labelledBy = target.getAttribute("aria-labelledby") || target.dataset.heading;
    const heading = (labelledBy && document.getElementById(labelledBy)) || target;
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    target.scrollIntoView({ block: "start" });
    heading.focus({ preventScroll: true });
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest(".toc a[href^='#']");
    if (!link) return;
    const target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!target) return;
    event.preventDefault();
    history.replaceState(null, "", link.hash);
    focusSection(target);
    const box = link.closest("details");
    if (box && window.matchMedia(NARROW).matches) box.open = false;
  });

  // Who edits what arrives with the presence poll (#editors-<key>); the contents mirror it.
  function mirrorEditors() {
    for (const item of document.querySelectorAll(".toc-list li[data-key]")) {
      const editors = document.getElementById(`editors-${item.dataset.key}`);
      const text = editors ? editors.textContent.trim() : "";
      const mark = item.querySelector("[data-toc-editing]");
      if (!mark || mark.dataset.text === text) continue;
      mark.dataset.text = text;
      mark.replaceChildren();
      item.classList.toggle("toc-being-edited", !!text);
      if (!text) continue;
      const glyph = document.createElement("span");
      glyph.setAttribute("aria-hidden", "true");
      glyph.textContent = "✎";
      const words = document.createElement("span");
      words.className = "visually-hidden";
      words.textContent = `, ${text.replace(/^✎\s*/, "")}`;
      mark.title = text.replace(/^✎\s*/, "");
      mark.append(glyph, words);
    }
  }

  // ---- Keys: e edits the section in view, ? shows them all ---------------------------------

  function editLinkInView() {
    const top = (document.getElementById("presence")?.getBoundingClientRect().bottom || 0) + 8;
    const line = top + (window.innerHeight - top) * 0.3;
    let best = null;
    for (const link of document.querySelectorAll("a[data-edit-link]")) {
      const body = link.closest(".section-body");
      const box = (body.closest(".pm-section, .head-section, .review-panel") || body)
        .getBoundingClientRect();
      if (box.bottom <= top || box.top >= window.innerHeight) continue;
      if (box.top <= line) best = link; // the last one starting above the reading line
      else if (!best) best = link;
      else break;
    }
    return best;
  }

  function openHelp() {
    const dialog = document.getElementById("keys-help");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target) || document.querySelector("dialog[open]")) return;
    if (event.key === "?") {
      event.preventDefault();
      openHelp();
    } else if (event.key === "e") {
      const link = editLinkInView();
      if (!link) {
        say("No section to edit in view.");
        return;
      }
      event.preventDefault();
      // A section swapped in a moment ago (just saved) may not be wired by htmx yet: without
      // this the click would follow the link's href and leave the page.
      if (window.htmx) window.htmx.process(link);
      link.click();
    }
  });

  // ---- Drafts: what is typed is kept in localStorage until it is saved ---------------------
  // Key: pm-draft:<form action path>@<version the editor started from>. The action path names
  // the incident and the section (or the row); the version lets a restored text be saved
  // against what it was written on, so a newer save shows as a conflict, not overwritten.

  const pathOf = (form) => new URL(form.getAttribute("action"), location.href).pathname;
  const versionOf = (form) => form.querySelector("input[name=version]")?.value || "";
  const draftKey = (form) => `${DRAFT_PREFIX}${pathOf(form)}@${versionOf(form)}`;

  function storage() {
    try {
      return window.localStorage;
    } catch {
      return null; // storage disabled: editing still works, without drafts
    }
  }

  function draftsFor(path) {
    const store = storage();
    const found = [];
    if (!store) return found;
    for (let i = 0; i < store.length; i++) {
      const key = store.key(i);
      if (!key || !key.startsWith(`${DRAFT_PREFIX}${path}@`)) continue;
      try {
        found.push({ key, ...JSON.parse(store.getItem(key)) });
      } catch {
        store.removeItem(key);
      }
    }
    return found.sort((a, b) => b.saved - a.saved);
  }

  function forgetDrafts(path) {
    const store = storage();
    if (store) for (const draft of draftsFor(path)) store.removeItem(draft.key);
  }

  function fieldsOf(form) {
    return Array.from(form.elements).filter(
      (el) =>
        el.name &&
        !["hidden", "file", "submit", "button", "reset"].includes(el.type) &&
        el.name !== "csrfmiddlewaretoken",
    );
  }

  function valuesOf(form) {
    const values = {};
    for (const el of fieldsOf(form)) {
      if (el.type === "checkbox") values[el.name] = el.checked;
      else if (el.type === "radio") {
        if (el.checked) values[el.name] = el.value;
      } else if (el.multiple) values[el.name] = Array.from(el.selectedOptions, (o) => o.value);
      else values[el.name] = el.value;
    }
    return values;
  }

  function applyValues(form, values) {
    for (const el of fieldsOf(form)) {
      if (!(el.name in values)) continue;
      const value = values[el.name];
      if (el.type === "checkbox") el.checked = !!value;
      else if (el.type === "radio") el.checked = el.value === value;
      else if (el.multiple) for (const o of el.options) o.selected = value.includes(o.value);
      else el.value = value;
    }
  }

  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const isDirty = (form) => form.isConnected && !same(valuesOf(form), JSON.parse(form.dataset.initial || "{}"));

  function keepDraft(form) {
    const store = storage();
    if (!store || !form.dataset.initial) return;
    const path = pathOf(form);
    if (!isDirty(form)) {
      forgetDrafts(path);
      return;
    }
    const previous = draftsFor(path)[0] || {};
    const draft = {
      values: valuesOf(form),
      version: versionOf(form),
      saved: Date.now(),
      // How to open the form again after a reload (a form back from a 409 inherits it).
      open: form.dataset.openPath || previous.open || "",
      target: form.dataset.openTarget || previous.target || "",
      section: form.closest("[data-section]")?.dataset.section || "",
    };
    for (const old of draftsFor(path)) if (old.key !== draftKey(form)) store.removeItem(old.key);
    try {
      store.setItem(draftKey(form), JSON.stringify(draft));
    } catch {
      // Full storage: the beforeunload question still protects the text.
    }
  }

  let restoringPath = null; // a draft being put back: its form opens without an offer
  const timers = new WeakMap();
  document.addEventListener("input", (event) => {
    const form = event.target.closest && event.target.closest("form[data-edit-form]");
    if (!form || !form.dataset.initial) return;
    clearTimeout(timers.get(form));
    timers.set(form, setTimeout(() => keepDraft(form), 250));
  });

  function offer(container, draft, restore) {
    const time = new Date(draft.saved).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const box = document.createElement("div");
    box.className = "draft-offer";
    box.setAttribute("role", "status");
    const text = document.createElement("span");
    text.textContent = `Restore your unsaved text? (typed at ${time}, kept in this browser)`;
    const yes = document.createElement("button");
    yes.type = "button";
    yes.className = "small primary";
    yes.textContent = "Restore";
    const no = document.createElement("button");
    no.type = "button";
    no.className = "small";
    no.textContent = "Discard";
    yes.addEventListener("click", () => {
      box.remove();
      restore();
    });
    no.addEventListener("click", () => {
      box.remove();
      storage()?.removeItem(draft.key);
    });
    box.append(text, " ", yes, " ", no);
    container.prepend(box);
    return box;
  }

  function restoreInto(form, draft) {
    restoringPath = null;
    for (const box of form.querySelectorAll(".draft-offer")) box.remove();
    applyValues(form, draft.values);
    const version = form.querySelector("input[name=version]");
    // Saved against the version it was typed on: a newer save by someone else is a conflict.
    if (version && draft.version !== "" && Number(draft.version) < Number(version.value)) {
      version.value = draft.version;
    }
    keepDraft(form);
    const field = fieldsOf(form).find((el) => el.tagName === "TEXTAREA") || fieldsOf(form)[0];
    if (field) field.focus();
    say("Your unsaved text is back.");
  }

  // A form that just opened (or came back with errors or a conflict).
  function adopt(form, detail) {
    if (form.dataset.initial) return;
    if (detail && detail.requestConfig && detail.requestConfig.verb !== "get") {
      // Back from a save with errors or a conflict: all it holds is still unsaved. Keep it
      // under the version the form now carries.
      form.dataset.initial = "{}";
      keepDraft(form);
      return;
    }
    form.dataset.initial = JSON.stringify(valuesOf(form));
    if (detail) {
      const requestPath = detail.pathInfo && detail.pathInfo.requestPath;
      if (requestPath && detail.requestConfig && detail.requestConfig.verb === "get") {
        form.dataset.openPath = requestPath;
        form.dataset.openTarget = detail.target && detail.target.id ? detail.target.id : "";
      }
    }
    if (restoringPath === pathOf(form)) return;
    const draft = draftsFor(pathOf(form))[0];
    if (!draft) return;
    if (!form.dataset.openPath && draft.open) {
      form.dataset.openPath = draft.open;
      form.dataset.openTarget = draft.target;
    }
    if (same(draft.values, valuesOf(form))) return; // the form already shows it (after a 409)
    offer(form, draft, () => restoreInto(form, draft));
  }

  // After a reload or a crash: drafts of this document whose form is not open.
  function offerDraftsOnLoad() {
    const store = storage();
    const page = article();
    if (!store || !page || !page.dataset.draftPrefix) return;
    const prefix = `${DRAFT_PREFIX}${page.dataset.draftPrefix}`;
    const paths = new Set();
    for (let i = 0; i < store.length; i++) {
      const key = store.key(i);
      if (key && key.startsWith(prefix)) paths.add(key.slice(DRAFT_PREFIX.length, key.lastIndexOf("@")));
    }
    for (const path of paths) {
      const draft = draftsFor(path)[0];
      if (!draft) continue;
      if (Date.now() - draft.saved > DRAFT_MAX_AGE_MS) {
        forgetDrafts(path);
        continue;
      }
      const target = draft.target && document.getElementById(draft.target);
      const home = target || (draft.section && document.getElementById(`body-${draft.section}`));
      if (!home || home.querySelector(`form[action="${path}"]`)) continue;
      offer(home, draft, () => {
        const how = opener(home, target, draft);
        if (!how || !window.htmx) {
          showDraftText(home, draft);
          return;
        }
        restoringPath = path;
        window.htmx
          .ajax("GET", how.url, { target: how.target, swap: "outerHTML" })
          .then(() => {
            const form = document.querySelector(`form[data-edit-form][action="${path}"]`);
            if (form) restoreInto(form, draft);
          });
      });
    }
  }

  // How to open the draft's form again: as it was opened, or else with the Edit link of the
  // section it belongs to (a draft kept before its form learnt how it was opened, which
  // depends on the order in which htmx settles the swaps of a busy page).
  function opener(home, target, draft) {
    if (target && draft.open) return { url: draft.open, target: `#${draft.target}` };
    const link = home.querySelector("a[data-edit-link][hx-get]");
    if (!link) return null;
    const url = link.getAttribute("hx-get");
    if (!url || !url.startsWith(draft.key.slice(DRAFT_PREFIX.length, draft.key.lastIndexOf("@")))) return null;
    return { url, target: link.getAttribute("hx-target") || `#${home.id}` };
  }

  // No form to put it back in: show the text, so it can be copied.
  function showDraftText(home, draft) {
    const box = document.createElement("div");
    box.className = "draft-offer";
    const label = document.createElement("p");
    label.textContent = "Your unsaved text (copy it into the form):";
    const text = document.createElement("pre");
    text.textContent = Object.values(draft.values).filter((v) => typeof v === "string" && v).join("\n\n");
    box.append(label, text);
    home.prepend(box);
  }

  // Saved: the draft has done its job. Cancelled: the writer threw it away. The form is
  // swapped out before htmx:afterRequest fires (on an element still in the page), so the
  // request is matched to its form when it starts.
  const sending = new WeakMap();
  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = event.detail.elt;
    if (form instanceof HTMLFormElement && form.matches("[data-edit-form]") && event.detail.xhr) {
      sending.set(event.detail.xhr, form);
      clearTimeout(timers.get(form));
      keepDraft(form); // what is sent is kept until the answer says it is saved
    }
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.xhr && sending.get(event.detail.xhr);
    if (!form) return;
    const status = event.detail.xhr.status;
    // 409 or 422: the draft stays; the form comes back with the text (see adopt).
    if (status >= 200 && status < 300) forgetDrafts(pathOf(form));
  });
  document.addEventListener("click", (event) => {
    const cancel = event.target.closest && event.target.closest("form[data-edit-form] [data-cancel]");
    if (!cancel) return;
    const form = cancel.closest("form");
    clearTimeout(timers.get(form));
    forgetDrafts(pathOf(form));
    form.dataset.initial = JSON.stringify(valuesOf(form)); // not "unsaved" while it closes
  });

  window.addEventListener("beforeunload", (event) => {
    const dirty = Array.from(document.querySelectorAll("form[data-edit-form]")).filter(
      (form) => form.dataset.initial && isDirty(form),
    );
    if (!dirty.length) return;
    for (const form of dirty) {
      clearTimeout(timers.get(form));
      keepDraft(form);
    }
    event.preventDefault();
    event.returnValue = ""; // older browsers need it set to ask
  });

  // ---- Paste or drop a file into a text field ----------------------------------------------

  function uploadInto(field, file) {
    const url = article()?.dataset.uploadUrl;
    if (!url) return;
    const container = field.closest(".field") || field.parentElement;
    container.querySelector(".upload-error")?.remove();
    const placeholder = `![Uploading ${file.name || "file"}…]()`;
    field.focus();
    field.setRangeText(placeholder, field.selectionStart, field.selectionEnd, "end");
    say(`Uploading ${file.name || "the file"}…`);
    const body = new FormData();
    body.append("file", file, file.name || "pasted");
    const replace = (text) => {
      const at = field.value.indexOf(placeholder);
      if (at < 0) field.setRangeText(text, field.selectionStart, field.selectionEnd, "end");
      else field.setRangeText(text, at, at + placeholder.length, "end");
      field.dispatchEvent(new Event("input", { bubbles: true }));
    };
    fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    })
      .then((response) =>
        response
          .json()
          .catch(() => ({ error: `The upload failed (HTTP ${response.status}).` }))
          .then((data) => ({ ok: response.ok, data })),
      )
      .then(({ ok, data }) => {
        if (!ok) throw new Error(data.error || "The upload failed.");
        replace(data.markdown);
        say(`Attached ${data.name}.`);
      })
      .catch((error) => {
        replace("");
        const message = document.createElement("p");
        message.className = "upload-error errorlist";
        message.setAttribute("role", "alert");
        message.textContent = error.message || "The upload failed.";
        field.insertAdjacentElement("afterend", message);
      });
  }

  const textField = (target) =>
    target && target.tagName === "TEXTAREA" && target.closest("form[data-edit-form]") ? target : null;

  document.addEventListener("paste", (event) => {
    const field = textField(event.target);
    const files = Array.from((event.clipboardData && event.clipboardData.files) || []);
    if (!field || !files.length || !article()?.dataset.uploadUrl) return;
    event.preventDefault();
    for (const file of files) uploadInto(field, file);
  });
  document.addEventListener("dragover", (event) => {
    if (textField(event.target) && event.dataTransfer && event.dataTransfer.types.includes("Files")) {
      event.preventDefault();
    }
  });
  document.addEventListener("drop", (event) => {
    const field = textField(event.target);
    const files = Array.from((event.dataTransfer && event.dataTransfer.files) || []);
    if (!field || !files.length || !article()?.dataset.uploadUrl) return;
    event.preventDefault();
    for (const file of files) uploadInto(field, file);
  });

  // ---- Wiring ---------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    const box = document.querySelector("[data-toc]");
    if (box && window.matchMedia(NARROW).matches) box.open = false;
    for (const form of document.querySelectorAll("form[data-edit-form]")) adopt(form, null);
    offerDraftsOnLoad();
    mirrorEditors();
    document.body.addEventListener("htmx:afterSettle", (event) => {
      const root = event.detail.elt;
      if (root && root.querySelectorAll) {
        const forms = root.matches && root.matches("form[data-edit-form]") ? [root] : root.querySelectorAll("form[data-edit-form]");
        for (const form of forms) adopt(form, event.detail);
      }
      mirrorEditors();
    });
  });
})();
