// The marketplace's payment step in the room: when the buyer's order waits at `reserved`
// with the marketplace's `payment_url`, that page (the marketplace's own, in a frame) opens
// in a dialog over the live; the order's next status (paid, confirmed, rejected, expired)
// closes it. The storefront only embeds the URL: what the buyer picks and approves stays
// between the buyer and the marketplace. tracker.js hands over each newer status
// (`livecart.payment.status(change)`). Loaded after live.js. No build step.
"use strict";

(() => {
  const dialog = document.getElementById("payment-dialog");
  const frame = dialog && dialog.querySelector("[data-testid=payment-frame]");
  const resume = document.getElementById("payment-resume");
  if (!dialog || !frame || !resume || !window.livecart) return;
  // A page opened (or reconnected) replays the buyer's retained statuses in a burst: a
  // reservation opens the dialog only once no newer status followed it for this long.
  const QUIET_MS = 300;
  const waiting = new Map(); // checkout id -> payment page URL, in the order reserved
  let shown = null;
  let timer = null;

  // Only an absolute http(s) URL (the page's CSP frames the marketplace's origin only).
  function pageUrl(value) {
    if (typeof value !== "string") return null;
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function newest() { return [...waiting.keys()].pop() || null; }

  function show(checkoutId) {
    const url = waiting.get(checkoutId);
    if (!url) return;
    if (shown !== checkoutId) {
      shown = checkoutId;
      dialog.dataset.checkoutId = checkoutId;
      frame.src = url;
    }
    resume.hidden = true;
    if (!dialog.open) dialog.showModal();
  }

  function later(checkoutId) {
    clearTimeout(timer);
    timer = setTimeout(() => show(checkoutId), QUIET_MS);
  }

  // The order moved on: its page goes, and the next order still waiting (if any) comes.
  function settled(checkoutId) {
    waiting.delete(checkoutId);
    if (shown === checkoutId) {
      shown = null;
      delete dialog.dataset.checkoutId;
      frame.src = "about:blank";
      if (dialog.open) dialog.close();
    }
    const next = newest();
    if (next) later(next);
    else resume.hidden = true;
  }

  function status(change) {
    if (!change || typeof change.checkout_id !== "string") return;
    const checkoutId = change.checkout_id;
    if (change.status === "reserved") {
      const url = pageUrl(change.payment_url);
      if (!url) return; // charged at once (wallet mode): nothing to approve
      waiting.set(checkoutId, url);
      later(checkoutId);
    } else if (waiting.has(checkoutId)) {
      settled(checkoutId);
    }
  }

  // Put aside (× or Escape), the order still waits until its deadline: a button brings
  // the page back.
  dialog.addEventListener("close", () => { resume.hidden = !(shown && waiting.has(shown)); });
  dialog.querySelector("[data-testid=payment-close]").addEventListener("click", () => dialog.close());
  resume.addEventListener("click", () => {
    const checkoutId = shown && waiting.has(shown) ? shown : newest();
    if (checkoutId) show(checkoutId);
  });

  window.livecart.payment = { status };
})();
