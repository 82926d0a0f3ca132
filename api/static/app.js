// Every console page: the phone menu, and ready-made text buttons (评语) that fill a field.
(function () {
  "use strict";
  var toggle = document.getElementById("menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = document.body.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  document.querySelectorAll("[data-fill]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-target"));
      if (!field) return;
      var text = button.getAttribute("data-fill");
      field.value = field.value ? field.value.replace(/\s+$/, "") + " " + text : text;
      field.focus();
    });
  });
})();
