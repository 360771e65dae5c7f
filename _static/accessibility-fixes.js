// Repairs for markup that the theme and the widget manager generate, so that
// pages pass axe-core's serious and critical checks.
(function () {
  function repair() {
    // The search field's aria-label ("Search") hides its visible text
    // ("Search Ctrl+K"); without it the button is named by its text or title.
    document.querySelectorAll(".search-button__button[aria-label]").forEach(function (button) {
      button.removeAttribute("aria-label");
    });
    // The colour-mode button is named "Color mode"; its icons' titles
    // ("Light", "Dark", ...) must not count as text that contradicts that name.
    document.querySelectorAll(".theme-switch-button > *").forEach(function (icon) {
      icon.setAttribute("aria-hidden", "true");
      icon.removeAttribute("aria-labelledby");
      icon.querySelectorAll("title").forEach(function (title) {
        title.remove();
      });
    });
    // Hidden-cell toggles are labelled "Toggle hidden content" but read "Show
    // code cell source"; let the visible text name them.
    document.querySelectorAll("summary[aria-label]").forEach(function (summary) {
      summary.removeAttribute("aria-label");
    });
    // docutils marks citation lists role="list" without list items inside.
    document.querySelectorAll('.citation-list[role="list"]').forEach(function (list) {
      list.removeAttribute("role");
    });
    // Widget sliders: name each handle after its widget's label.
    document.querySelectorAll(".widget-slider .noUi-handle").forEach(function (handle) {
      if (handle.hasAttribute("aria-label")) return;
      var widget = handle.closest(".widget-slider");
      var label = widget && widget.querySelector(".widget-label");
      if (label && label.textContent.trim()) {
        handle.setAttribute("aria-label", label.textContent.trim());
      }
    });
  }

  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      repair();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    repair();
    // Widgets and icons are drawn after load; repair what they add.
    new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true });
  });
})();
