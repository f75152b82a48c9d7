// Searchable checkbox pickers (incidents/widgets/searchable_checkboxes.html): a filter box
// hides the options whose label does not contain what was typed. Without this script every
// option is listed and the filter box stays hidden. Chosen options are always shown.
(function () {
  "use strict";

  function setUp(picker) {
    if (picker.dataset.pickerReady) return;
    picker.dataset.pickerReady = "1";
    var wrapper = picker.querySelector(".picker-filter");
    var filter = picker.querySelector("[data-picker-filter]");
    var count = picker.querySelector("[data-picker-count]");
    var options = Array.prototype.slice.call(picker.querySelectorAll("[data-picker-option]"));
    if (!wrapper || !filter) return;
    wrapper.hidden = false;

    function apply() {
      var words = filter.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
      var shown = 0;
      options.forEach(function (option) {
        var text = option.textContent.toLowerCase();
        var box = option.querySelector("input");
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        var visible = match || (box && box.checked);
        option.hidden = !visible;
        if (visible) shown += 1;
      });
      if (count) {
        count.textContent = words.length ? shown + " of " + options.length + " shown" : "";
      }
    }

    filter.addEventListener("input", apply);
    // Enter in the filter must not submit the form; it ticks the only match instead.
    filter.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      var visible = options.filter(function (option) { return !option.hidden; });
      if (visible.length === 1) {
        var box = visible[0].querySelector("input");
        if (box) { box.checked = !box.checked; }
      }
    });
  }

  function setUpAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("[data-picker]"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUpAll(document); });
  } else {
    setUpAll(document);
  }
  document.addEventListener("htmx:load", function (event) { setUpAll(event.target); });
})();
