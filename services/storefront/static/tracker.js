// The order tracker of the room page: every order of this buyer, newest first, moving
// through its statuses (from the notifier's `/events/buyers/me`), worded for people.
// Defines `livecart.Tracker`; loaded after live.js, before room.js. No build step.
"use strict";

(() => {
  const { money } = window.livecart;
  const STEPS = ["received", "reserved", "paid", "confirmed"];
  const NOT_CHARGED = "You have not been charged.";
  // status -> [badge, sentence]
  const OUTCOMES = {
    accepted: ["Sent", "Order sent to the shop. Waiting for it to be received…"],
    received: ["Received", "The shop received your order and is reserving your items…"],
    reserved: ["Reserved", "Your items are reserved. Taking payment…"],
    paid: ["Paid", "Payment received. Confirming your order…"],
    confirmed: ["Confirmed", "Confirmed! Your order is placed."],
    expired: ["Expired", `Expired: the payment was not completed in time, so your reserved items were released. ${NOT_CHARGED}`],
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
    timeout: ["Payment timed out", `The payment provider did not answer in time, so the order was cancelled. ${NOT_CHARGED}`],
  };

  function outcome(order) {
    if (order.status !== "rejected") return OUTCOMES[order.status] || [order.status, `Order status: ${order.status}.`];
    if (order.reason === "payment_failed" && PAYMENT_FAILURES[order.detail]) return PAYMENT_FAILURES[order.detail];
    return REJECTIONS[order.reason] || ["Not accepted", `The shop could not accept this order. ${NOT_CHARGED}`];
  }

  function failed(order) { return order.status === "rejected" || order.status === "expired"; }

  class Tracker {
    // `titleOf(sku)` names a product; the elements are the room page's tracker section.
    constructor({ section, titleOf }) {
      this.section = section;
      this.titleOf = titleOf;
      this.latestBox = section.querySelector("#latest");
      this.statusText = section.querySelector("[data-testid=order-status]");
      this.checkoutIdText = section.querySelector("[data-testid=checkout-id]");
      this.list = section.querySelector("[data-testid=orders]");
      this.orders = new Map();
      this.latestId = null;
    }

    // The storefront accepted a checkout (202): shown at once, before any status.
    accepted(checkoutId, items, totalMinor, currency) {
      const known = this.orders.has(checkoutId);
      const order = this.order(checkoutId);
      if (!known) Object.assign(order, { items, total: money(totalMinor, currency) });
      this.makeLatest(checkoutId);
    }

    // One OrderStatusChanged. After a reconnect the notifier replays from Last-Event-ID,
    // and a checkout may be heard of before its 202 arrives: never step backwards.
    status(change) {
      if (!change || typeof change.checkout_id !== "string") return;
      const isNew = !this.orders.has(change.checkout_id);
      const order = this.order(change.checkout_id);
      if (typeof change.sequence === "number" && change.sequence <= order.sequence) return;
      Object.assign(order, {
        status: change.status, sequence: change.sequence || order.sequence + 1,
        previous: change.previous_status, reason: change.reason || null, detail: change.detail || null,
      });
      if (Array.isArray(change.items) && change.items.length) order.items = change.items;
      if (typeof change.total_minor === "number" && change.currency) order.total = money(change.total_minor, change.currency);
      if (isNew) this.makeLatest(order.checkoutId);
      else this.render(order);
    }

    // The notifier's history no longer reaches back to what this page saw: start over
    // from what follows, keeping only orders just sent and not heard of yet.
    reset() {
      for (const [checkoutId, order] of this.orders) {
        if (order.sequence > 0) { order.el.remove(); this.orders.delete(checkoutId); }
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
        el.innerHTML = '<span class="order-what"></span><span class="order-total"></span>' +
          '<span class="badge"></span><span class="order-why"></span>';
        this.list.prepend(el);
        order = { checkoutId, status: "accepted", sequence: 0, items: [], reason: null, detail: null, total: "", el };
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

    render(order) {
      const [badge, sentence] = outcome(order);
      const el = order.el;
      el.dataset.status = order.status;
      el.dataset.reason = order.reason || "";
      el.querySelector(".order-what").textContent =
        order.items.map((i) => `${i.quantity} × ${this.titleOf(i.sku)}`).join(", ") || "Your order";
      el.querySelector(".order-total").textContent = order.total;
      el.querySelector(".badge").textContent = badge;
      // Why an order did not go through stays readable after newer orders took the top.
      el.querySelector(".order-why").textContent = failed(order) ? sentence : "";
      el.setAttribute("aria-current", String(order.checkoutId === this.latestId));
      this.section.hidden = false;
      if (order.checkoutId === this.latestId) this.renderLatest(order, sentence);
    }

    renderLatest(order, sentence) {
      this.statusText.dataset.status = order.status;
      this.statusText.dataset.reason = order.reason || "";
      this.statusText.textContent = sentence;
      this.checkoutIdText.textContent = order.checkoutId;
      this.latestBox.dataset.status = order.status;
      // Rejected and expired keep the steps reached before (their previous status).
      const reached = STEPS.indexOf(failed(order) ? order.previous || "" : order.status);
      this.latestBox.querySelectorAll("[data-step]").forEach((step, index) => {
        step.classList.toggle("done", reached >= 0 && index <= reached);
        if (index === reached) step.setAttribute("aria-current", "step");
        else step.removeAttribute("aria-current");
      });
    }
  }

  window.livecart.Tracker = Tracker;
})();
