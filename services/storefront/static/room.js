// The live room's buy flow: choose a pinned product, buy, and follow the order live (SSE)
// without leaving the page. Plain script, no build step.
"use strict";

(() => {
  const BUYER_KEY = "livecart.buyer_id";
  const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
  const STEPS = ["received", "reserved", "paid", "confirmed"];
  const FINAL = new Set(["confirmed", "rejected", "expired"]);
  const SENTENCES = {
    accepted: "Order sent to the shop. Waiting for it to be received…",
    received: "The shop received your order and is reserving your items…",
    reserved: "Your items are reserved. Taking payment…",
    paid: "Payment received. Confirming your order…",
    confirmed: "Confirmed! Your order is placed.",
    expired: "Payment was not completed in time, so your reservation was released. You have not been charged.",
  };
  const REJECTIONS = {
    out_of_stock: "Sorry, this item sold out before it could be reserved for you. You have not been charged.",
    payment_failed: "Your payment did not go through, so the order was cancelled. You have not been charged.",
    invalid: "The shop could not accept this order: the product or quantity is no longer available. You have not been charged.",
  };

  const $ = (id) => document.getElementById(id);
  const room = document.querySelector("[data-room-id]");
  const form = $("buy-form");
  if (!room || !form) return;
  const roomId = room.dataset.roomId;
  const quantity = $("quantity");
  const buyButton = $("buy-button");
  const formMessage = $("form-message");
  const tracker = $("tracker");
  const statusText = $("order-status");
  const note = $("order-note");

  function randomHex(bytes) {
    const buffer = new Uint8Array(bytes);
    crypto.getRandomValues(buffer);
    return Array.from(buffer, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // localStorage can throw (private mode, disabled storage): then the id lives for this page only.
  function buyerId() {
    let id = null;
    try { id = localStorage.getItem(BUYER_KEY); } catch (_) { /* no storage */ }
    if (!id || !ID_PATTERN.test(id)) {
      id = `buyer-${randomHex(16)}`;
      try { localStorage.setItem(BUYER_KEY, id); } catch (_) { /* no storage */ }
    }
    return id;
  }
  const buyer = buyerId();

  function choose(button) {
    document.querySelectorAll("[data-testid=cart-button]").forEach((b) =>
      b.setAttribute("aria-pressed", String(b === button)));
    $("sku").value = button.dataset.sku;
    $("selected-title").textContent = button.dataset.title;
    $("selected-price").textContent = button.dataset.price;
    quantity.max = button.dataset.max;
    $("quantity-max").textContent = button.dataset.max;
    if (Number(quantity.value) > Number(button.dataset.max)) quantity.value = button.dataset.max;
    formMessage.textContent = "";
    quantity.focus();
  }
  document.querySelectorAll("[data-testid=cart-button]").forEach((button) =>
    button.addEventListener("click", () => choose(button)));

  // One key per intended purchase, reused when the buyer retries it (after a 503 or a
  // network error), so the retry maps to the same checkout and can never double-order.
  let attempt = null;
  function idempotencyKey(sku, count) {
    if (!attempt || attempt.sku !== sku || attempt.count !== count) {
      attempt = { key: randomHex(16), sku, count };
    }
    return attempt.key;
  }

  function problem(status, body) {
    const detail = body && body.detail;
    if (status === 422 && Array.isArray(detail) && detail.length) return `Please check your order: ${detail[0].msg}.`;
    if (status === 413) return "That order is too large to send. Please order fewer items.";
    if (typeof detail === "string") return detail.charAt(0).toUpperCase() + detail.slice(1) + ".";
    return `Something went wrong (HTTP ${status}). Please try again.`;
  }

  async function buy(event) {
    event.preventDefault();
    const sku = $("sku").value;
    const count = Number(quantity.value);
    const max = Number(quantity.max);
    if (!Number.isInteger(count) || count < 1 || count > max) {
      formMessage.textContent = `Choose a quantity from 1 to ${max}.`;
      quantity.focus();
      return;
    }
    const payload = { room_id: roomId, buyer_id: buyer, items: [{ sku, quantity: count }],
                      idempotency_key: idempotencyKey(sku, count) };
    buyButton.disabled = true;
    buyButton.setAttribute("aria-busy", "true");
    formMessage.textContent = "";
    try {
      const response = await fetch("/api/checkouts", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
      });
      const body = await response.json().catch(() => null);
      if (response.status === 202 && body) {
        attempt = null;
        follow(body.checkout_id, body.events_url);
      } else {
        formMessage.textContent = problem(response.status, body);
      }
    } catch (_) {
      formMessage.textContent = "Network problem: we could not reach the shop. Please try again.";
    } finally {
      buyButton.disabled = false;
      buyButton.removeAttribute("aria-busy");
    }
  }
  form.addEventListener("submit", buy);

  function showStatus(status, sentence) {
    statusText.dataset.status = status;
    statusText.textContent = sentence;
    tracker.dataset.status = status;
    const reached = STEPS.indexOf(status);
    // Rejected and expired keep the steps reached so far; only a new order resets them.
    if (reached < 0 && status !== "accepted") return;
    tracker.querySelectorAll("[data-step]").forEach((step, index) => {
      step.classList.toggle("done", reached >= 0 && index <= reached);
      if (index === reached) step.setAttribute("aria-current", "step");
      else step.removeAttribute("aria-current");
    });
  }

  function sentenceFor(change) {
    if (change.status !== "rejected") return SENTENCES[change.status] || `Order status: ${change.status}.`;
    const sentence = REJECTIONS[change.reason] || "The shop could not accept this order. You have not been charged.";
    return change.detail ? `${sentence} (${change.detail})` : sentence;
  }

  let source = null;
  function follow(checkoutId, eventsUrl) {
    if (source) source.close();
    let lastSequence = 0;
    tracker.hidden = false;
    $("checkout-id").textContent = checkoutId;
    note.textContent = "";
    showStatus("accepted", SENTENCES.accepted);
    tracker.scrollIntoView({ block: "nearest" });
    const stream = new EventSource(eventsUrl);
    source = stream;
    stream.addEventListener("status", (message) => {
      let change;
      try { change = JSON.parse(message.data); } catch (_) { return; }
      if (change.checkout_id !== checkoutId) return;
      // After a reconnect the notifier replays from Last-Event-ID; never step backwards.
      if (typeof change.sequence === "number") {
        if (change.sequence <= lastSequence) return;
        lastSequence = change.sequence;
      }
      note.textContent = "";
      showStatus(change.status, sentenceFor(change));
      if (FINAL.has(change.status)) stream.close();
    });
    stream.addEventListener("open", () => { note.textContent = ""; });
    stream.addEventListener("error", () => {
      if (stream.readyState === EventSource.CONNECTING) {
        note.textContent = "Connection to order updates lost. Reconnecting…";
      } else if (stream.readyState === EventSource.CLOSED && !FINAL.has(statusText.dataset.status)) {
        note.textContent = "Order updates are unavailable. Your order is still being processed; reload the page later to check.";
      }
    });
  }
})();
