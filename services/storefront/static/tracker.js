// The order tracker of the room page: every order of this buyer, newest first, moving
// through its statuses (from the notifier's `/events/buyers/me`), worded for people, and
// a confirmed order's "Cancel order" while the marketplace's cancel window is open.
// Defines `livecart.Tracker`; loaded after live.js, before room.js. No build step.
"use strict";

(() => {
  const { money, keepOpen, orderReference } = window.livecart;
  const STEPS = ["received", "reserved", "paid", "confirmed"];
  // After the sale an order goes on one of two ways; the steps grow to show it.
  const AFTER_SALE = { cancelled: ["cancelled", "refunded"], refunded: ["cancelled", "refunded"], shipped: ["shipped"] };
  const STEP_NAMES = { cancelled: "Cancelled", refunded: "Refunded", shipped: "Shipped" };
  // The marketplace's ORDERS_BUYER_CANCEL_WINDOW_SECONDS default, unless the page says.
  const CANCEL_WINDOW_SECONDS = 600;
  // How long "Cancellation requested…" waits for the marketplace before saying it did not.
  const CANCEL_ANSWER_MS = 20_000;
  const NOT_CHARGED = "You have not been charged.";
  const DEAL_SOLD_OUT = "flash deal sold out"; // the marketplace's detail (orders/deals.py)
  // status -> [badge, sentence]
  const OUTCOMES = {
    accepted: ["Sent", "Order sent to the shop. Waiting for it to be received…"],
    received: ["Received", "The shop received your order and is reserving your items…"],
    reserved: ["Reserved", "Your items are reserved. Waiting for the payment…"],
    paid: ["Paid", "Payment received. Confirming your order…"],
    confirmed: ["Confirmed", "Confirmed! Your order is placed."],
    expired: ["Expired", `Expired: the payment was not completed in time, so your reserved items were released. ${NOT_CHARGED}`],
    cancelled: ["Cancelled", "Cancelled — your items went back to the shop. Refund on its way."],
    refunded: ["Refunded", "Refunded: the money is back in your wallet."],
  };
  // rejection reason -> [badge, sentence]
  const REJECTIONS = {
    out_of_stock: ["Sold out", `Sold out: the last units went to other buyers before yours could be reserved. ${NOT_CHARGED}`],
    invalid: ["Not accepted", `The shop could not accept this order: the product or quantity is no longer on offer. ${NOT_CHARGED}`],
    payment_failed: ["Payment failed", `Your payment did not go through, so the order was cancelled. ${NOT_CHARGED}`],
  };
  // payment_failed detail -> [badge, sentence]
  const PAYMENT_FAILURES = {
    declined: ["Payment declined", `Payment declined by your wallet, so the order was cancelled. ${NOT_CHARGED}`],
    insufficient_funds: ["Payment declined", `Payment declined: not enough funds in your wallet. The order was cancelled. ${NOT_CHARGED}`],
    declined_by_buyer: ["Payment declined", `You declined the payment, so the order was cancelled. ${NOT_CHARGED}`],
    timeout: ["Payment timed out", `The payment provider did not answer in time, so the order was cancelled. ${NOT_CHARGED}`],
  };
  const DEAL_GONE = ["Deal sold out", `Flash deal sold out: its units went to other buyers before yours could be reserved. ${NOT_CHARGED}`];

  // Statuses whose sentence stays on the order's row after newer orders took the top.
  const EXPLAINED = new Set(["rejected", "expired", "cancelled", "refunded", "shipped"]);

  function failed(order) { return order.status === "rejected" || order.status === "expired"; }

  // A Redis stream entry id ("1712345678901-0") is when the status was recorded there.
  function recordedAt(eventId) {
    const match = /^(\d+)-\d+$/.exec(eventId || "");
    return match ? Number(match[1]) : null;
  }

  // [badge, sentence] for an order's status; `dealLimitOf(sku)` is the per-buyer limit of a
  // deal the page shows (or null), for a refusal whose detail does not say it.
  function orderOutcome(order, dealLimitOf) {
    if (order.status === "shipped") {
      return ["Shipped", order.trackingRef ? `Shipped — tracking ${order.trackingRef}` : "Shipped: your order is on its way."];
    }
    if (order.status !== "rejected") return OUTCOMES[order.status] || [order.status, `Order status: ${order.status}.`];
    if (order.reason === "payment_failed" && PAYMENT_FAILURES[order.detail]) return PAYMENT_FAILURES[order.detail];
    if (order.reason === "out_of_stock" && order.detail === DEAL_SOLD_OUT) return DEAL_GONE;
    if (order.reason === "limit_exceeded") return ["Limit reached", limitSentence(order, dealLimitOf)];
    return REJECTIONS[order.reason] || ["Not accepted", `The shop could not accept this order. ${NOT_CHARGED}`];
  }

  // The limit from the marketplace's detail ("flash deal limit is 1 per buyer"), else
  // from the deal the page shows.
  function limitSentence(order, dealLimitOf) {
    const said = /(\d+) per buyer/.exec(order.detail || "");
    const shown = order.items.map((i) => dealLimitOf && dealLimitOf(i.sku)).find(Number.isInteger);
    const limit = said ? Number(said[1]) : shown;
    return limit
      ? `Limit reached: this flash deal allows ${limit} per buyer. ${NOT_CHARGED}`
      : `Limit reached: you asked for more than this flash deal allows per buyer. ${NOT_CHARGED}`;
  }

  // The buyer's own status stream on the notifier (the HttpOnly cookie goes with it), kept
  // open by keepOpen: a reconnect sends Last-Event-ID and gets what it missed; a new
  // EventSource after a refusal starts from the whole retained history (statuses carry a
  // sequence, so a reader never steps back). `onStatus(change, eventId)`, `onReset()`,
  // `onState("live" | "reconnecting")`.
  function followBuyer({ notifierUrl, onStatus, onReset, onState }) {
    const parsed = (handler) => (message) => {
      let data;
      try { data = JSON.parse(message.data); } catch (_) { return; }
      handler(data, message.lastEventId);
    };
    return keepOpen(() => {
      const source = new EventSource(`${notifierUrl}/events/buyers/me`, { withCredentials: true });
      source.addEventListener("status", parsed(onStatus));
      source.addEventListener("reset", () => onReset());
      return source;
    }, onState);
  }

  class Tracker {
    // `titleOf(sku)` names a product and `dealLimitOf(sku)` gives its deal's per-buyer limit
    // (or null); `requestCancellation(checkoutId)` asks the shop, resolving to null when
    // accepted or to a sentence saying why not; `clock.now()` is the shop's time.
    constructor({ section, titleOf, roomId, clock, dealLimitOf, requestCancellation, cancelWindowSeconds }) {
      Object.assign(this, { section, titleOf, roomId, clock, dealLimitOf, requestCancellation });
      this.cancelWindowMs = 1000 * (cancelWindowSeconds || CANCEL_WINDOW_SECONDS);
      this.latestBox = section.querySelector("#latest");
      this.steps = section.querySelector(".steps");
      this.statusText = section.querySelector("[data-testid=order-status]");
      this.checkoutIdText = section.querySelector("[data-testid=checkout-id]");
      this.referenceText = section.querySelector("[data-testid=order-reference]");
      this.list = section.querySelector("[data-testid=orders]");
      this.orders = new Map();
      this.latestId = null;
    }

    // The storefront accepted a checkout (202): shown at once, before any status.
    accepted(checkoutId, items, totalMinor, currency) {
      const known = this.orders.has(checkoutId);
      const order = this.order(checkoutId);
      if (!known) Object.assign(order, { items, total: money(totalMinor, currency), roomId: this.roomId });
      this.makeLatest(checkoutId);
    }

    // One OrderStatusChanged, with its event id. After a reconnect the notifier replays from
    // Last-Event-ID, and a checkout may be heard of before its 202 arrives: never step
    // backwards.
    status(change, eventId) {
      if (!change || typeof change.checkout_id !== "string") return;
      const isNew = !this.orders.has(change.checkout_id);
      const order = this.order(change.checkout_id);
      if (typeof change.sequence === "number" && change.sequence <= order.sequence) return;
      Object.assign(order, {
        status: change.status, sequence: change.sequence || order.sequence + 1,
        previous: change.previous_status, reason: change.reason || null, detail: change.detail || null,
        trackingRef: change.tracking_ref || null,
      });
      // The marketplace's payment dialog (payment.js) follows the same newer-only statuses.
      if (window.livecart.payment) window.livecart.payment.status(change);
      if (typeof change.room_id === "string") order.roomId = change.room_id;
      if (change.status === "confirmed") order.confirmedAt = recordedAt(eventId) || this.clock.now();
      if (Array.isArray(change.items) && change.items.length) order.items = change.items;
      if (typeof change.total_minor === "number" && change.currency) order.total = money(change.total_minor, change.currency);
      if (isNew) this.makeLatest(order.checkoutId);
      else this.render(order);
    }

    // The notifier's history no longer reaches back to what this page saw: start over
    // from what follows, keeping only orders just sent and not heard of yet.
    reset() {
      for (const [checkoutId, order] of this.orders) {
        if (order.sequence > 0) {
          clearTimeout(order.timer);
          order.el.remove();
          this.orders.delete(checkoutId);
        }
      }
      const newest = this.list.firstElementChild;
      this.latestId = null;
      if (newest) this.makeLatest(newest.dataset.checkoutId);
      else this.section.hidden = true;
    }

    order(checkoutId) {
      let order = this.orders.get(checkoutId);
      if (!order) {
        const el = document.createElement("li");
        el.className = "order";
        el.dataset.testid = "order";
        el.dataset.checkoutId = checkoutId;
        el.innerHTML = '<span class="order-ref" data-testid="order-ref"></span>' +
          '<span class="order-what"></span><span class="order-total"></span>' +
          '<span class="badge"></span><span class="order-why"></span>' +
          '<span class="order-actions" aria-live="polite"></span>';
        this.list.prepend(el);
        order = {
          checkoutId, status: "accepted", sequence: 0, items: [], reason: null, detail: null, total: "", el,
          roomId: null, trackingRef: null, confirmedAt: null, cancel: null, cancelNote: "", timer: null,
        };
        this.orders.set(checkoutId, order);
      }
      return order;
    }

    makeLatest(checkoutId) {
      const previous = this.orders.get(this.latestId);
      this.latestId = checkoutId;
      if (previous) this.render(previous);
      this.render(this.orders.get(checkoutId));
    }

    outcome(order) { return orderOutcome(order, this.dealLimitOf); }

    render(order) {
      const [badge, sentence] = this.outcome(order);
      const el = order.el;
      el.dataset.status = order.status;
      el.dataset.reason = order.reason || "";
      el.querySelector(".order-ref").textContent = orderReference(order.checkoutId);
      el.querySelector(".order-what").textContent =
        order.items.map((i) => `${i.quantity} × ${this.titleOf(i.sku)}`).join(", ") || "Your order";
      el.querySelector(".order-total").textContent = order.total;
      el.querySelector(".badge").textContent = badge;
      // Why an order did not go through (or what became of it) stays readable after newer
      // orders took the top.
      el.querySelector(".order-why").textContent = EXPLAINED.has(order.status) ? sentence : "";
      el.setAttribute("aria-current", String(order.checkoutId === this.latestId));
      this.renderCancel(order);
      this.section.hidden = false;
      if (order.checkoutId === this.latestId) this.renderLatest(order, sentence);
    }

    // ---- cancel: a confirmed order of this room, within the window after confirmation ----
    cancellable(order) {
      return order.status === "confirmed" && order.roomId === this.roomId && !!this.requestCancellation &&
        order.confirmedAt !== null && this.clock.now() < order.confirmedAt + this.cancelWindowMs;
    }

    renderCancel(order) {
      clearTimeout(order.timer);
      const actions = order.el.querySelector(".order-actions");
      if (order.status !== "confirmed") order.cancel = null;
      const open = this.cancellable(order);
      const asking = order.cancel === "sending" || order.cancel === "sent";
      const note = order.status === "confirmed" ? order.cancelNote : "";
      if (!open && !asking) {
        if (note) actions.replaceChildren(this.cancelNote(note));
        else actions.replaceChildren();
        return;
      }
      let button = actions.querySelector("[data-testid=cancel-order]");
      if (!button) {
        button = document.createElement("button");
        button.type = "button";
        button.className = "cancel-button";
        button.dataset.testid = "cancel-order";
        button.addEventListener("click", () => this.cancel(order));
      }
      // Kept (not disabled) while asking, so the keyboard focus stays where it was.
      button.textContent = asking ? "Cancellation requested…" : "Cancel order";
      button.setAttribute("aria-disabled", String(asking));
      // Moved or removed, a focused button would lose the focus: only its neighbours change.
      if (button.parentNode !== actions) actions.prepend(button);
      [...actions.children].forEach((child) => { if (child !== button) child.remove(); });
      if (open && !asking) {
        const until = new Date(order.confirmedAt + this.cancelWindowMs - this.clock.offset);
        const hint = document.createElement("span");
        hint.className = "cancel-until";
        hint.textContent = `until ${until.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })}`;
        actions.prepend(hint);
      }
      if (note) actions.append(this.cancelNote(note));
      // The button goes when the window closes.
      if (open && !asking) {
        order.timer = setTimeout(() => this.render(order), order.confirmedAt + this.cancelWindowMs - this.clock.now() + 50);
      }
    }

    cancelNote(text) {
      const note = document.createElement("span");
      note.className = "cancel-note";
      note.dataset.testid = "cancel-note";
      note.textContent = text;
      return note;
    }

    async cancel(order) {
      if (order.cancel === "sending" || order.cancel === "sent" || !this.cancellable(order)) return;
      order.cancel = "sending";
      order.cancelNote = "";
      this.render(order);
      let refused;
      try {
        refused = await this.requestCancellation(order.checkoutId);
      } catch (_) {
        refused = "Network problem: the cancellation did not reach the shop. Please try again.";
      }
      if (order.cancel !== "sending") return; // a newer status came first
      order.cancel = refused ? null : "sent";
      order.cancelNote = refused || "";
      this.render(order);
      if (refused) return;
      // The marketplace answers with `cancelled`, or with nothing when its window had closed.
      setTimeout(() => {
        if (order.status !== "confirmed" || order.cancel !== "sent") return;
        order.cancel = null;
        order.cancelNote = `The shop did not cancel this order: orders can be cancelled for ${Math.round(this.cancelWindowMs / 60_000)} minutes after confirmation.`;
        this.render(order);
      }, CANCEL_ANSWER_MS);
    }

    // ---- the latest order, with its steps ------------------------------------------------
    renderLatest(order, sentence) {
      this.statusText.dataset.status = order.status;
      this.statusText.dataset.reason = order.reason || "";
      this.statusText.textContent = sentence;
      this.checkoutIdText.textContent = order.checkoutId;
      this.referenceText.textContent = orderReference(order.checkoutId);
      this.latestBox.dataset.status = order.status;
      const path = [...STEPS, ...(AFTER_SALE[order.status] || [])];
      this.showSteps(path);
      // Rejected and expired keep the steps reached before (their previous status).
      const reached = path.indexOf(failed(order) ? order.previous || "" : order.status);
      this.steps.querySelectorAll("[data-step]").forEach((step, index) => {
        step.classList.toggle("done", reached >= 0 && index <= reached);
        if (index === reached) step.setAttribute("aria-current", "step");
        else step.removeAttribute("aria-current");
      });
    }

    // The four steps of every order, then the ones after the sale this order took.
    showSteps(path) {
      this.steps.querySelectorAll("[data-after-sale]").forEach((step) => {
        if (!path.includes(step.dataset.step)) step.remove();
      });
      for (const name of path.slice(STEPS.length)) {
        if (this.steps.querySelector(`[data-step="${name}"]`)) continue;
        const step = document.createElement("li");
        step.dataset.step = name;
        step.dataset.afterSale = "";
        step.textContent = STEP_NAMES[name];
        this.steps.append(step);
      }
      this.steps.dataset.count = String(path.length);
    }
  }

  Object.assign(window.livecart, {
    Tracker, followBuyer, orderOutcome, recordedAt, ORDER_STEPS: STEPS, AFTER_SALE_STEPS: AFTER_SALE, STEP_NAMES,
  });
})();
