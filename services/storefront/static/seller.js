// The seller pages work without this script (plain forms, times in UTC); it only adds
// comfort: the browser's time zone for the date-time inputs, times shown in local time,
// and a confirmation before ending a live. Plain script, no build step.
"use strict";

(() => {
  // A datetime-local input has no zone: send the offset the browser has at that moment
  // (getTimezoneOffset: minutes to add to local time for UTC), so the server gets an
  // aware time. Without a value, the offset of now.
  function offsetFor(form) {
    const input = [...form.querySelectorAll("input[type=datetime-local]")].find((i) => i.value);
    const when = input ? new Date(input.value) : new Date();
    return Number.isNaN(when.getTime()) ? new Date().getTimezoneOffset() : when.getTimezoneOffset();
  }

  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      const question = form.dataset.confirm;
      if (question && !window.confirm(question)) {
        event.preventDefault();
        return;
      }
      form.querySelectorAll("input[data-tz-offset]").forEach((input) => {
        input.value = String(offsetFor(form));
      });
    });
  });

  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time.local-time[datetime]").forEach((el) => {
    const when = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      el.title = el.textContent;
      el.textContent = format.format(when);
    }
  });
})();
