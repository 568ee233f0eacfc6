// The seller console works without this script (plain forms, server-rendered pages); it
// only stops a second click from posting a form twice. Plain script, no build step.
"use strict";

(() => {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.dataset.busy === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.busy = "true";
    // After the browser has read the form (a disabled submitter would not be sent).
    setTimeout(() => {
      form.querySelectorAll("button").forEach((button) => {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      });
    }, 0);
  });
  // Back/forward cache: a page shown again must not keep its forms locked.
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-busy]").forEach((form) => {
      delete form.dataset.busy;
      form.querySelectorAll("button").forEach((button) => {
        button.disabled = false;
        button.removeAttribute("aria-busy");
      });
    });
  });
})();
