// The hosted payment page: the countdown to the payment deadline, and Approve / Decline
// sent with fetch (one answer at a time) so the page stays in the live room's frame and
// says the outcome. Without this script the form posts and the page redraws. No build step.
"use strict";

(() => {
  const form = document.getElementById("pay-form");
  const outcome = document.querySelector("[data-testid=pay-outcome]");
  const page = document.querySelector("[data-testid=payment-page]");
  if (!form || !outcome || !page) return;
  const buttons = [...form.querySelectorAll("button[type=submit]")];
  const countdown = form.querySelector("[data-testid=pay-countdown]");
  const clock = countdown && countdown.querySelector(".clock");
  let busy = false;
  let over = false;

  function say(state, message) {
    page.dataset.state = state;
    outcome.dataset.state = state;
    outcome.textContent = message;
  }

  function close(state, message) {
    over = true;
    buttons.forEach((button) => { button.disabled = true; });
    form.hidden = true;
    say(state, message);
  }

  // Counted from the seconds the server gave (the phone's clock may be off).
  const secondsLeft = Number((countdown && countdown.dataset.secondsLeft) || 0);
  const started = performance.now();
  function tick() {
    if (over || !clock) return;
    const left = Math.max(0, Math.ceil(secondsLeft - (performance.now() - started) / 1000));
    clock.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    if (left <= 10) countdown.dataset.urgent = "";
    if (left === 0 && !busy) {
      close("expired", "The time to pay ran out: your reserved items went back on sale. You were not charged.");
      return;
    }
    setTimeout(tick, 250);
  }
  tick();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy || over) return;
    const button = event.submitter || buttons[0];
    busy = true;
    buttons.forEach((b) => b.setAttribute("aria-disabled", "true"));
    say("sending", button.classList.contains("decline") ? "Declining…" : "Paying…");
    let answer = null;
    let status = 0;
    try {
      const response = await fetch(button.formAction || form.action, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)),
        credentials: "omit",
      });
      status = response.status;
      answer = await response.json().catch(() => null);
    } catch (_) {
      answer = null;
    }
    busy = false;
    buttons.forEach((b) => b.removeAttribute("aria-disabled"));
    if (status === 200 && answer && answer.state) {
      close(answer.state, answer.message || "");
    } else if (status && answer && typeof answer.detail === "string" && status !== 422) {
      close(answer.reason === "payment_expired" ? "expired" : "refused", answer.detail);
    } else {
      say("waiting", (answer && answer.detail) || "Network problem: nothing was sent. Please try again.");
    }
  });
})();
