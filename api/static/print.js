// Print buttons (data-print): a script file, since the console's CSP allows no inline handler.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
