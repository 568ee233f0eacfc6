// "My orders": every order of this buyer, newest first, each with its short reference, room,
// items, total, current status and the statuses it went through, live. The storefront holds
// no orders: this reads the buyer's status stream on the notifier from its beginning (the
// marketplace's retained history, then live) through tracker.js's followBuyer, and words
// statuses as the room does (orderOutcome). Plain script, no build step.
"use strict";

(() => {
  const {
    element, money, orderReference, orderOutcome, recordedAt, followBuyer, ConnectionBanner, STEP_NAMES,
  } = window.livecart;
  const root = document.querySelector("[data-testid=my-orders]");
  if (!root || !root.dataset.notifierUrl) return;
  const list = root.querySelector("[data-testid=orders]");
  const loading = root.querySelector("[data-testid=orders-loading]");
  const empty = root.querySelector("[data-testid=orders-empty]");
  // The stream says nothing when its history is over: quiet this long after it opened (or
  // after the last status) means "that was all".
  const SETTLED_MS = 1500;
  const STATUS_NAMES = {
    received: "Received", reserved: "Reserved", paid: "Paid", confirmed: "Confirmed",
    rejected: "Rejected", expired: "Expired", ...STEP_NAMES,
  };

  const orders = new Map(); // checkout id -> order
  const rooms = new Map(); // room id -> { title, titles: Map(sku -> title) } once read

  function when(ms) {
    const at = new Date(ms);
    const time = at.toLocaleTimeString([], { hour: "numeric", minute: "2-digit", second: "2-digit" });
    if (at.toDateString() === new Date().toDateString()) return time;
    return `${at.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
  }

  // ---- orders from the stream -------------------------------------------------------
  function orderOf(change) {
    let order = orders.get(change.checkout_id);
    if (!order) {
      const el = element("li", "order");
      el.dataset.testid = "order";
      el.dataset.checkoutId = change.checkout_id;
      order = {
        checkoutId: change.checkout_id, el, history: new Map(), sequence: 0, status: "",
        items: [], reason: null, detail: null, trackingRef: null, roomId: null, total: "", placedAt: null,
      };
      orders.set(change.checkout_id, order);
    }
    return order;
  }

  // One status; a replay after a reconnect repeats some: the sequence keeps each once.
  function status(change, eventId) {
    if (!change || typeof change.checkout_id !== "string" || !Number.isInteger(change.sequence)) return;
    const order = orderOf(change);
    if (order.history.has(change.sequence)) return;
    order.history.set(change.sequence, { status: change.status, at: recordedAt(eventId) });
    if (typeof change.room_id === "string") order.roomId = change.room_id;
    if (Array.isArray(change.items) && change.items.length) order.items = change.items;
    if (Number.isInteger(change.total_minor) && change.currency) order.total = money(change.total_minor, change.currency);
    const placed = Date.parse(change.requested_at || "");
    order.placedAt = Number.isNaN(placed) ? order.placedAt || recordedAt(eventId) || Date.now() : placed;
    if (change.sequence > order.sequence) {
      Object.assign(order, {
        sequence: change.sequence, status: change.status, reason: change.reason || null,
        detail: change.detail || null, trackingRef: change.tracking_ref || order.trackingRef,
      });
    }
    place(order);
    render(order);
    learnRoom(order.roomId);
    settleSoon();
  }

  // Newest first, by when the buyer tapped buy.
  function place(order) {
    if (order.el.isConnected && order.el.dataset.placedAt === String(order.placedAt)) return;
    order.el.dataset.placedAt = String(order.placedAt);
    const after = [...list.children].find((el) => el !== order.el && Number(el.dataset.placedAt) < order.placedAt);
    list.insertBefore(order.el, after || null);
  }

  function render(order) {
    const room = rooms.get(order.roomId);
    const titleOf = (sku) => (room && room.titles.get(sku)) || sku;
    const [badge, sentence] = orderOutcome(order, null);
    const el = order.el;
    el.dataset.status = order.status;
    el.dataset.reason = order.reason || "";
    const reference = element("span", "order-ref", orderReference(order.checkoutId));
    reference.dataset.testid = "order-ref";
    const what = element("span", "order-what",
      order.items.map((i) => `${i.quantity} × ${titleOf(i.sku)}`).join(", ") || "Your order");
    const badgeEl = element("span", "badge", badge);
    badgeEl.dataset.testid = "order-badge";
    const where = element("span", "order-room");
    if (order.roomId) {
      const link = element("a", "", room && room.title ? room.title : order.roomId);
      link.href = `/rooms/${encodeURIComponent(order.roomId)}`;
      where.append("in ", link, " · ");
    }
    where.append(element("time", "", when(order.placedAt)));
    const total = element("span", "order-total", order.total);
    total.dataset.testid = "order-total";
    const why = element("span", "order-why", sentence);
    why.dataset.testid = "order-sentence";
    const history = element("ol", "history");
    history.dataset.testid = "order-history";
    history.setAttribute("aria-label", "What happened to this order");
    [...order.history.entries()].sort(([a], [b]) => a - b).forEach(([, step]) => {
      const item = element("li", "", `${STATUS_NAMES[step.status] || step.status} `);
      item.dataset.status = step.status;
      if (step.at) item.append(element("time", "", when(step.at)));
      history.append(item);
    });
    el.replaceChildren(reference, what, badgeEl, where, total, why, history);
  }

  // Titles of the room's pinned products and the room's title, read once per room (the
  // storefront's public room API); unpinned products keep their sku.
  function learnRoom(roomId) {
    if (!roomId || rooms.has(roomId)) return;
    rooms.set(roomId, null);
    fetch(`/api/rooms/${encodeURIComponent(roomId)}`, { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((room) => {
        if (!room) return;
        const titles = new Map((room.products || []).map((p) => [p.sku, p.title]));
        rooms.set(roomId, { title: typeof room.title === "string" ? room.title : roomId, titles });
        orders.forEach((order) => { if (order.roomId === roomId) render(order); });
      })
      .catch(() => { rooms.delete(roomId); }); // read again with the room's next status
  }

  // The notifier no longer has what this page saw: what follows is all it keeps.
  function reset() {
    orders.clear();
    list.replaceChildren();
    settleSoon();
  }

  let settleTimer = null;
  function settleSoon() {
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => {
      loading.hidden = true;
      empty.hidden = orders.size > 0;
      root.dataset.loaded = "true";
    }, SETTLED_MS);
    if (orders.size) {
      empty.hidden = true;
      loading.hidden = true;
    }
  }

  const connection = new ConnectionBanner({
    root, region: root.querySelector("[data-testid=connection]"),
    text: "Your orders may be out of date for a moment; what you missed follows by itself.",
  });
  followBuyer({
    notifierUrl: root.dataset.notifierUrl,
    onStatus: status,
    onReset: reset,
    onState: (state) => {
      root.dataset.orderUpdates = state;
      connection.set("orders", state);
      if (state === "live") settleSoon();
    },
  });
})();
