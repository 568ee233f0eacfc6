// The live room: live stock, flash deals, viewers and the purchase ticker from the room's
// public stream; the seller's pins and live state (`room` events) redraw the shelf; the
// yellow cart opens a checkout drawer; every order of this buyer is tracked (tracker.js)
// from one EventSource on the notifier. Plain script, no build step.
"use strict";

(() => {
  const {
    element, money, minorOf, stockText, StockBoard, intOrNull, openRoomStream, keepOpen, Tracker,
    dealState, roomDeal, clockText, ServerClock,
  } = window.livecart;
  const TICKER_SIZE = 3;
  const ROOM_STATES = ["scheduled", "live", "ended"];
  const ROOM_HINTS = {
    scheduled: "Buying opens when the live starts.",
    live: "Tap the yellow cart to buy without leaving the live.",
    ended: "The live has ended: buying is closed.",
  };

  const $ = (id) => document.getElementById(id);
  const roomEl = document.querySelector("[data-testid=room]");
  if (!roomEl) return;
  const roomId = roomEl.dataset.roomId;
  const notifierUrl = roomEl.dataset.notifierUrl;
  const clock = new ServerClock();
  const rendered = performance.getEntriesByType("navigation")[0];
  if (roomEl.dataset.now && rendered) {
    clock.observe(Date.parse(roomEl.dataset.now), performance.timeOrigin + rendered.responseStart, 1000);
  }

  // The product in the checkout drawer, and the cart button that opened it.
  let drawerProduct = null;
  let opener = null;

  // An https:// or same-origin image, or one a seller uploaded to the marketplace (its
  // /media/products/ address, data-marketplace-media; _macros.html's safe_image checks the same).
  const marketplaceMedia = roomEl.dataset.marketplaceMedia || "";
  const MEDIA_NAME = /^[0-9a-f]{64}\.(?:png|jpg|webp|gif)$/;
  function safeImage(url) {
    if (typeof url !== "string") return "";
    if (url.startsWith("https://") || (url.startsWith("/") && !url.startsWith("//"))) return url;
    const uploaded = marketplaceMedia && url.startsWith(marketplaceMedia)
      && MEDIA_NAME.test(url.slice(marketplaceMedia.length));
    return uploaded ? url : "";
  }

  // ---- products: what each card shows, from the page, the room API and the stream -------
  // sku -> product, in display order. A product's title, price, image and deal come from
  // the stream once it spoke of the sku (the marketplace's word), else from the page or
  // the room API (the storefront's copy).
  let products = new Map();
  const stock = new StockBoard();
  const shelf = $("products");
  const shelfEmpty = document.querySelector("[data-testid=shelf-empty]");

  function dealOfCard(data) {
    if (!data.dealId) return null;
    return roomDeal({
      deal_id: data.dealId, room_id: data.dealRoomId,
      price_minor: intOrNull(data.dealPriceMinor), units_cap: intOrNull(data.dealUnitsCap),
      units_taken: intOrNull(data.dealUnitsTaken), per_buyer_limit: intOrNull(data.dealPerBuyerLimit),
      starts_at: data.dealStartsAt, ends_at: data.dealEndsAt || null,
    }, roomId);
  }

  function productOf(card, index) {
    const data = card.dataset;
    return {
      sku: data.sku, card, index, streamed: false,
      title: data.title, priceMinor: Number(data.priceMinor), currency: data.currency,
      max: Number(data.max), imageUrl: data.imageUrl || "", deal: dealOfCard(data),
      dealState: data.dealState || "none", failedImage: "",
      titleEl: card.querySelector(".product-title"),
      priceBox: card.querySelector(".price"),
      stockEl: card.querySelector("[data-testid=stock]"),
      dealBox: card.querySelector("[data-testid=deal]"),
      button: card.querySelector("[data-testid=cart-button]"),
    };
  }

  function newProduct(sku, index) {
    const card = $("product-card").content.firstElementChild.cloneNode(true);
    card.dataset.sku = sku;
    card.querySelector("[data-testid=stock]").dataset.sku = sku;
    card.querySelector("[data-testid=cart-button]").dataset.sku = sku;
    const product = productOf(card, index);
    product.button.addEventListener("click", () => openDrawer(product, product.button));
    return product;
  }

  // A stream snapshot's details (a v1 producer sends no image nor deal: those stay).
  function takeSnapshot(product, snapshot) {
    product.streamed = true;
    if (typeof snapshot.title === "string") product.title = snapshot.title;
    if (Number.isInteger(snapshot.price_minor) && snapshot.currency) {
      product.priceMinor = snapshot.price_minor;
      product.currency = snapshot.currency;
    }
    if ("image_url" in snapshot) product.imageUrl = safeImage(snapshot.image_url);
    if ("deal" in snapshot) product.deal = roomDeal(snapshot.deal, roomId);
  }

  // The room API's copy, for what the stream has not spoken of yet.
  function takeRoomProduct(product, item) {
    if (Number.isInteger(item.max_per_checkout)) product.max = item.max_per_checkout;
    if (product.streamed) return;
    product.title = item.title;
    product.currency = item.currency;
    product.priceMinor = Number.isInteger(item.price_minor) ? item.price_minor : minorOf(item.price, item.currency);
    product.imageUrl = safeImage(item.image_url);
    product.deal = roomDeal(item.deal, roomId);
  }

  function titleOf(sku) { return products.has(sku) ? products.get(sku).title : sku; }

  function unitPrice(product) {
    return product.dealState === "running" ? product.deal.price_minor : product.priceMinor;
  }

  function showProduct(product) {
    const data = product.card.dataset;
    data.title = product.title;
    data.priceMinor = String(product.priceMinor);
    data.currency = product.currency;
    data.max = String(product.max);
    data.imageUrl = product.imageUrl;
    product.titleEl.textContent = product.title;
    showThumb(product);
    showDeal(product, { redraw: true });
    showStock(product);
  }

  // The product's image (alt: its title), or its initial on a coloured tile.
  function showThumb(product) {
    const url = product.imageUrl === product.failedImage ? "" : product.imageUrl;
    let thumb = product.card.querySelector(".thumb");
    if (url) {
      if (thumb.tagName !== "IMG") {
        const img = element("img", "thumb");
        Object.assign(img, { width: 52, height: 52, loading: "lazy", referrerPolicy: "no-referrer" });
        img.addEventListener("error", () => { product.failedImage = img.getAttribute("src"); showThumb(product); });
        thumb.replaceWith(img);
        thumb = img;
      }
      if (thumb.getAttribute("src") !== url) thumb.src = url;
      thumb.alt = product.title;
    } else {
      if (thumb.tagName === "IMG") {
        const tile = element("span");
        tile.setAttribute("aria-hidden", "true");
        thumb.replaceWith(tile);
        thumb = tile;
      }
      thumb.className = `thumb thumb-${product.index % 4}`;
      thumb.textContent = product.title.slice(0, 1);
    }
  }

  // The storefront takes checkouts only while the room is live.
  const onAir = () => roomEl.dataset.roomState === "live";
  const OFF_AIR = { scheduled: "buying opens when the live starts", ended: "the live has ended" };

  function showStock(product) {
    const available = stock.available(product.sku);
    const soldOut = available === 0;
    product.stockEl.textContent = stockText(available);
    product.stockEl.dataset.available = available === null ? "" : String(available);
    product.card.dataset.available = product.stockEl.dataset.available;
    product.card.classList.toggle("sold-out", soldOut);
    product.button.disabled = soldOut || !onAir();
    let label = soldOut ? `${product.title} is sold out` : `Buy ${product.title}`;
    if (!onAir()) label = `${product.title}: ${OFF_AIR[roomEl.dataset.roomState]}`;
    product.button.querySelector(".cart-label").textContent = label;
    if (product.dealState === "running") drawDeal(product);
    if (drawerProduct === product) showDrawerStock();
  }

  function applyStock(snapshots) {
    if (!Array.isArray(snapshots)) return;
    for (const snapshot of snapshots) {
      const product = products.get(snapshot.sku);
      if (!product || !stock.offer(snapshot)) continue;
      takeSnapshot(product, snapshot);
      showProduct(product);
    }
    scheduleTick();
  }

  // ---- flash deals: countdown, running, sold out; redrawn when the state changes -----------
  function showDeal(product, { redraw = false } = {}) {
    const now = clock.now();
    const state = dealState(product.deal, now);
    if (redraw || state !== product.dealState) {
      product.dealState = state;
      product.card.dataset.dealState = state;
      drawPrice(product);
      drawDeal(product);
      if (drawerProduct === product) showDrawerStock();
    }
    if (state === "countdown") {
      product.dealBox.querySelector(".deal-clock").textContent = clockText(Date.parse(product.deal.starts_at) - now);
    }
  }

  function drawPrice(product) {
    const price = element("span", "", money(unitPrice(product), product.currency));
    price.dataset.testid = "price";
    product.priceBox.replaceChildren(price);
    if (product.dealState === "running") {
      const was = element("s", "was-price");
      was.dataset.testid = "was-price";
      was.append(element("span", "visually-hidden", "was "), money(product.priceMinor, product.currency));
      product.priceBox.append(" ", was);
    }
  }

  // The lines under the price, as room.html's deal_lines() draws them.
  function drawDeal(product) {
    const { deal, dealState: state, currency } = product;
    const flag = () => element("span", "deal-flag", "Flash deal");
    let line = null;
    if (state === "countdown") {
      line = element("p", "deal-line deal-countdown");
      line.dataset.testid = "deal-countdown";
      // Screen readers get the start time, not a number that changes every second.
      const ticking = element("span", "", "in ");
      ticking.setAttribute("aria-hidden", "true");
      ticking.append(element("span", "deal-clock"));
      const startsAt = new Date(Date.parse(deal.starts_at));
      const at = startsAt.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
      line.append(flag(), " ", ticking, element("span", "visually-hidden deal-at", `starting at ${at}`),
        ` — ${money(deal.price_minor, currency)} (was ${money(product.priceMinor, currency)}),` +
        ` limit ${deal.per_buyer_limit} per buyer`);
    } else if (state === "running") {
      const available = stock.available(product.sku);
      let left = deal.units_cap - deal.units_taken;
      if (available !== null) left = Math.min(left, available);
      line = element("p", "deal-line deal-running");
      const leftEl = element("span", "", `${Math.max(left, 0)} left at this price`);
      leftEl.dataset.testid = "deal-left";
      const limitEl = element("span", "", `limit ${deal.per_buyer_limit} per buyer`);
      limitEl.dataset.testid = "deal-limit";
      line.append(flag(), " ", leftEl, " · ", limitEl);
    } else if (state === "sold-out") {
      line = element("p", "deal-line deal-sold-out", "Flash deal sold out");
      line.dataset.testid = "deal-sold-out";
    }
    product.dealBox.replaceChildren(...(line ? [line] : []));
    if (state === "countdown") {
      line.querySelector(".deal-clock").textContent = clockText(Date.parse(deal.starts_at) - clock.now());
    }
  }

  // One timer for every card, due when the next countdown digit, start or end is.
  let tickTimer = null;
  function scheduleTick() {
    clearTimeout(tickTimer);
    const now = clock.now();
    let next = Infinity;
    for (const { deal } of products.values()) {
      if (!deal) continue;
      const startsAt = Date.parse(deal.starts_at);
      const endsAt = deal.ends_at ? Date.parse(deal.ends_at) : Infinity;
      if (now < startsAt) next = Math.min(next, (startsAt - now) % 1000 || 1000);
      else if (now < endsAt) next = Math.min(next, endsAt - now);
    }
    // A little late rather than early: the digit has changed when it runs. Capped, so a
    // far-off end never overflows the timer and the clock is looked at now and then.
    if (next < Infinity) tickTimer = setTimeout(tick, Math.min(next, 60_000) + 5);
  }
  function tick() {
    products.forEach((product) => showDeal(product));
    scheduleTick();
  }
  // A hidden tab's timers are slowed down: catch up when it shows again.
  document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); });

  // ---- the room itself: live state, and the shelf redrawn after the seller changed it ---
  const stateEl = document.querySelector("[data-testid=room-state]");

  function showRoomState(state, scheduledAt) {
    if (!ROOM_STATES.includes(state)) return;
    roomEl.dataset.roomState = state;
    stateEl.dataset.state = state;
    stateEl.dataset.scheduledAt = scheduledAt || "";
    let text = state === "ended" ? "The live has ended" : "Live";
    if (state === "scheduled") {
      const at = Date.parse(scheduledAt || "");
      text = Number.isNaN(at) ? "Starting soon"
        : `Starts ${new Date(at).toLocaleString([], { weekday: "short", hour: "numeric", minute: "2-digit" })}`;
    }
    if (stateEl.textContent !== text) stateEl.textContent = text;
    $("room-hint").textContent = ROOM_HINTS[state];
    products.forEach(showStock);
  }

  async function fetchRoom() {
    const sentAt = Date.now();
    const response = await fetch(`/api/rooms/${encodeURIComponent(roomId)}`, {
      headers: { Accept: "application/json" }, cache: "no-store",
    });
    clock.learn(response, sentAt);
    if (!response.ok) throw new Error(`room not read (HTTP ${response.status})`);
    return response.json();
  }

  // `state`: the live state a `room` event just announced, newer than a cached answer.
  function drawRoom(room, state) {
    showRoomState(state || room.state, room.scheduled_at);
    if (typeof room.title === "string") $("room-title").textContent = room.title;
    const items = Array.isArray(room.products) ? room.products : [];
    const next = new Map();
    items.forEach((item, index) => {
      let product = products.get(item.sku);
      if (!product) {
        product = newProduct(item.sku, index);
        const known = stock.snapshot(item.sku);
        if (known) takeSnapshot(product, known);
        else if (stock.available(item.sku) === null) stock.seed(item.sku, item.available, -1);
      }
      takeRoomProduct(product, item);
      next.set(item.sku, product);
    });
    for (const [sku, product] of products) {
      if (!next.has(sku)) product.card.remove();
    }
    // Only cards out of place move: a moved element loses the keyboard focus.
    [...next.values()].forEach((product, index) => {
      const there = shelf.children[index];
      if (there !== product.card) shelf.insertBefore(product.card, there || null);
      showProduct(product);
    });
    const unpinned = drawerProduct && !next.has(drawerProduct.sku);
    products = next;
    if (unpinned) showDrawerStock();
    shelfEmpty.hidden = products.size > 0;
    openRoom();
    scheduleTick();
  }

  const sameList = (a, b) => a.length === b.length && a.every((value, i) => value === b[i]);

  // Room events coalesce: while one reload runs, only the newest change waits for it. A
  // storefront replica may answer from its room cache for a moment: until the room
  // matches what the event said, it is read again, a few times, backing off.
  let wantedChange = null;
  let reloading = false;
  async function reloadRoom(change) {
    wantedChange = change || {};
    if (wantedChange.state) showRoomState(wantedChange.state, stateEl.dataset.scheduledAt);
    if (reloading) return;
    reloading = true;
    try {
      for (let attempt = 0; wantedChange && attempt < 6; attempt += 1) {
        const change = wantedChange;
        try {
          const room = await fetchRoom();
          drawRoom(room, change.state);
          const skus = (room.products || []).map((p) => p.sku);
          const fresh = (!change.state || change.state === room.state) &&
            (!Array.isArray(change.skus) || sameList(change.skus, skus));
          if (fresh && wantedChange === change) wantedChange = null;
        } catch (_) { /* read again below */ }
        if (wantedChange) await new Promise((done) => setTimeout(done, 300 * 2 ** attempt));
      }
    } finally {
      reloading = false;
      wantedChange = null;
    }
  }

  // ---- the room's public stream: stock, deals, viewers, ticker, room changes -----------
  const viewerCount = document.querySelector("[data-testid=viewer-count]");
  const ticker = document.querySelector("[data-testid=ticker]");

  function showViewers(count) {
    if (!Number.isInteger(count)) return;
    viewerCount.dataset.count = String(count);
    viewerCount.textContent = count.toLocaleString("en");
  }

  function addPurchase(purchase) {
    if (!purchase || !Array.isArray(purchase.items) || !purchase.items.length) return;
    const what = purchase.items.map((i) => `${i.quantity} × ${titleOf(i.sku)}`).join(", ");
    const item = element("li", "ticker-item", `Someone bought ${what}`);
    ticker.prepend(item);
    while (ticker.children.length > TICKER_SIZE) ticker.lastElementChild.remove();
  }

  // While either stream is down: a "Reconnecting…" banner; the stock greyed as stale
  // (data-stock="stale") until the room stream's reconnect snapshot redraws it. Buying stays
  // open meanwhile: the checkout goes to the storefront, not the notifier, and the
  // marketplace checks stock when it reserves; a buyer in a flash sale would rather try
  // than be held back by a hiccup of the live updates (the drawer says the stock may be old).
  const connection = new window.livecart.ConnectionBanner({
    root: roomEl, region: document.querySelector("[data-testid=connection]"),
    text: "Stock and your orders may be out of date for a moment; they catch up by themselves.",
  });

  // The stream names the skus it carries: a new pin needs a new stream.
  let roomSource = null;
  let streamSkus = null;
  function openRoom() {
    const skus = [...products.keys()];
    const key = [...skus].sort().join(",");
    if (roomSource && key === streamSkus) return;
    if (roomSource) roomSource.close();
    streamSkus = key;
    let snapshots = 0;
    roomSource = openRoomStream({
      notifierUrl, roomId, skus,
      // `data-room-stream` on the room: live, or reconnecting (then a snapshot resyncs it).
      onState: (state) => {
        roomEl.dataset.roomStream = state;
        if (state !== "reconnecting") return;
        roomEl.dataset.stock = "stale";
        connection.set("room", state);
      },
      on: {
        snapshot: (data) => {
          applyStock(data.stock);
          showViewers(data.viewers);
          delete roomEl.dataset.stock;
          connection.set("room", "live");
          // A reconnect's snapshot: a room change may have gone by while it was away.
          snapshots += 1;
          if (snapshots > 1) reloadRoom(null);
        },
        stock: applyStock,
        purchase: addPurchase,
        viewers: (data) => showViewers(data.count),
        room: (change) => { if (change && change.room_id === roomId) reloadRoom(change); },
      },
    });
  }

  // ---- buyer session ------------------------------------------------------------------
  // The room page set the buyer cookie. It is HttpOnly: this script never sees the token.
  // The browser sends it with our own fetches (same origin) and with the buyer stream's
  // EventSource (`withCredentials`), so no token is ever put in a URL.
  async function newSession() {
    const response = await fetch("/api/sessions", { method: "POST", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`session refused (HTTP ${response.status})`);
    openBuyerStream(); // a new cookie, so a new buyer: their stream
  }

  function authorised(method, body) {
    const headers = { Accept: "application/json" };
    if (body === undefined) return { method, headers, credentials: "same-origin" };
    return {
      method, headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify(body), credentials: "same-origin",
    };
  }

  function problem(status, body) {
    const detail = body && body.detail;
    if (status === 422 && Array.isArray(detail) && detail.length) return `Please check your order: ${detail[0].msg}.`;
    if (status === 413) return "That order is too large to send. Please order fewer items.";
    if (typeof detail === "string") return detail.charAt(0).toUpperCase() + detail.slice(1) + ".";
    return `Something went wrong (HTTP ${status}). Please try again.`;
  }

  // ---- order tracker (one EventSource for every order of this buyer) -------------------
  // The buyer asks; the marketplace decides within its window and answers on the stream.
  async function requestCancellation(checkoutId) {
    const sentAt = Date.now();
    const response = await fetch(`/api/checkouts/${encodeURIComponent(checkoutId)}/cancellation`,
      authorised("POST")); // no body: the buyer comes from the token, the order from the path
    clock.learn(response, sentAt);
    if (response.status === 202) return null;
    return problem(response.status, await response.json().catch(() => null));
  }

  const tracker = new Tracker({
    section: $("tracker"), titleOf, roomId, clock,
    dealLimitOf: (sku) => (products.has(sku) && products.get(sku).deal ? products.get(sku).deal.per_buyer_limit : null),
    requestCancellation,
    cancelWindowSeconds: intOrNull(roomEl.dataset.cancelWindowSeconds),
  });
  const note = $("order-note");

  // One stream per buyer; reopened (without Last-Event-ID: the whole retained history,
  // which the tracker never steps back on) when the notifier refused it outright.
  let buyerStream = null;
  function openBuyerStream() {
    if (buyerStream) buyerStream.close();
    buyerStream = window.livecart.followBuyer({
      notifierUrl,
      onStatus: (change, eventId) => tracker.status(change, eventId),
      onReset: () => tracker.reset(),
      onState: (state) => { showUpdates(state); connection.set("orders", state); },
    });
  }

  // ---- checkout drawer ----------------------------------------------------------------
  const drawer = $("checkout-drawer");
  const form = $("buy-form");
  const quantity = $("quantity");
  const buyButton = $("buy-button");
  const formMessage = $("form-message");
  const drawerDeal = $("drawer-deal");

  // The stepper goes up to the room's cap and the stock, never down to a deal's limit:
  // the marketplace decides that one, the drawer only says it.
  function limit(product) {
    const available = stock.available(product.sku);
    return available ? Math.min(product.max, available) : product.max;
  }

  const pinned = (product) => products.get(product.sku) === product;
  const canBuy = (product) => onAir() && pinned(product) && stock.available(product.sku) !== 0;

  function showDrawerStock() {
    const product = drawerProduct;
    const available = stock.available(product.sku);
    $("selected-title").textContent = product.title;
    $("selected-stock").textContent = stockText(available);
    $("selected-price").textContent = money(unitPrice(product), product.currency);
    const max = limit(product);
    quantity.max = String(max);
    $("quantity-max").textContent = String(max);
    buyButton.disabled = !canBuy(product);
    buyButton.textContent = available === 0 ? "Sold out" : "Buy now";
    // Why buying is closed, until it opens again (an error of a failed buy stays).
    const closed = !pinned(product) ? "This product is no longer on offer in this live."
      : !onAir() ? `Not now: ${OFF_AIR[roomEl.dataset.roomState]}.` : "";
    if (closed) formMessage.textContent = closed;
    else if (formMessage.dataset.closed) formMessage.textContent = "";
    formMessage.dataset.closed = closed ? "true" : "";
    showTotal();
  }

  function showTotal() {
    const product = drawerProduct;
    const count = Number(quantity.value);
    const valid = Number.isInteger(count) && count >= 1;
    $("selected-total").textContent = valid ? money(count * unitPrice(product), product.currency) : "—";
    showDrawerDeal(product, valid ? count : 1);
  }

  function showDrawerDeal(product, count) {
    const { deal, dealState: state } = product;
    let text = "";
    if (state === "running") {
      text = `Flash deal price: limit ${deal.per_buyer_limit} per buyer.`;
      if (count > deal.per_buyer_limit) text += ` More than ${deal.per_buyer_limit} and the shop will refuse the order.`;
    } else if (state === "countdown") {
      text = `Flash deal soon: ${money(deal.price_minor, product.currency)} each, limit ${deal.per_buyer_limit} per buyer.`;
    }
    drawerDeal.textContent = text;
    drawerDeal.hidden = !text;
    drawerDeal.classList.toggle("over", state === "running" && count > deal.per_buyer_limit);
  }

  function showDrawerThumb(product) {
    const thumb = $("drawer-thumb");
    const image = product.card.querySelector("img.thumb");
    thumb.className = image ? "thumb" : product.card.querySelector(".thumb").className;
    if (image) {
      const copy = element("img");
      copy.src = image.src;
      copy.alt = "";
      thumb.replaceChildren(copy);
    } else {
      thumb.textContent = product.title.slice(0, 1);
    }
  }

  function openDrawer(product, button) {
    drawerProduct = product;
    opener = button;
    $("sku").value = product.sku;
    showDrawerThumb(product);
    quantity.value = "1";
    formMessage.textContent = "";
    showDrawerStock();
    if (!drawer.open) drawer.showModal();
    quantity.focus();
  }

  function closeDrawer() { if (drawer.open) drawer.close(); }

  $("drawer-close").addEventListener("click", closeDrawer);
  // A tap on the backdrop (outside the sheet) closes it, as on every phone.
  drawer.addEventListener("click", (event) => { if (event.target === drawer) closeDrawer(); });
  drawer.addEventListener("close", () => { if (opener && opener.isConnected) opener.focus(); });
  quantity.addEventListener("input", showTotal);
  $("quantity-down").addEventListener("click", () => step(-1));
  $("quantity-up").addEventListener("click", () => step(1));
  form.addEventListener("submit", buy);

  function step(delta) {
    const next = Math.min(Math.max((Number(quantity.value) || 0) + delta, 1), Number(quantity.max));
    quantity.value = String(next);
    showTotal();
  }

  // One key per intended purchase, reused when the buyer retries it (after a 503 or a
  // network error), so the retry maps to the same checkout and can never double-order.
  let attempt = null;
  function idempotencyKey(sku, count) {
    if (!attempt || attempt.sku !== sku || attempt.count !== count) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      attempt = { key: Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""), sku, count };
    }
    return attempt.key;
  }

  async function postCheckout(payload) {
    const sentAt = Date.now();
    const response = await fetch("/api/checkouts", authorised("POST", payload));
    clock.learn(response, sentAt);
    return response;
  }

  async function buy(event) {
    event.preventDefault();
    const product = drawerProduct;
    const count = Number(quantity.value);
    const max = Number(quantity.max);
    if (!Number.isInteger(count) || count < 1 || count > max) {
      formMessage.textContent = `Choose a quantity from 1 to ${max}.`;
      quantity.focus();
      return;
    }
    const items = [{ sku: product.sku, quantity: count }];
    const payload = { room_id: roomId, items, idempotency_key: idempotencyKey(product.sku, count) };
    buyButton.disabled = true;
    buyButton.setAttribute("aria-busy", "true");
    formMessage.textContent = "";
    try {
      let response = await postCheckout(payload);
      if (response.status === 401) {
        // Expired, unknown or no cookie: a new session, then the same tap once more.
        await newSession();
        response = await postCheckout(payload);
      }
      const body = await response.json().catch(() => null);
      if (response.status === 202 && body) {
        attempt = null;
        tracker.accepted(body.checkout_id, items, count * unitPrice(product), product.currency);
        closeDrawer();
        tracker.section.scrollIntoView({ block: "nearest" });
      } else {
        formMessage.textContent = problem(response.status, body);
      }
    } catch (_) {
      formMessage.textContent = "Network problem: we could not reach the shop. Please try again.";
    } finally {
      buyButton.disabled = !canBuy(product);
      buyButton.removeAttribute("aria-busy");
    }
  }

  // `data-order-updates` on the room says how the buyer stream is doing; the note says it
  // in words. The stream reconnects by itself (sending Last-Event-ID): nothing to do here.
  const OFFLINE = "You are offline. Your orders carry on at the shop; updates resume when you are back.";
  function showUpdates(state) {
    roomEl.dataset.orderUpdates = state;
    if (state === "live") note.textContent = "";
    else note.textContent = navigator.onLine ? "Connection to your order updates lost. Reconnecting…" : OFFLINE;
  }
  window.addEventListener("offline", () => { note.textContent = OFFLINE; });
  window.addEventListener("online", () => {
    if (roomEl.dataset.orderUpdates !== "live") note.textContent = "Back online. Catching up on your orders…";
  });

  // ---- start ----------------------------------------------------------------------------
  shelf.querySelectorAll("[data-testid=product]").forEach((card, index) => {
    const product = productOf(card, index);
    products.set(product.sku, product);
    stock.seed(product.sku, intOrNull(card.dataset.available), intOrNull(card.dataset.version));
    product.button.addEventListener("click", () => openDrawer(product, product.button));
    const image = card.querySelector("img.thumb");
    if (image) {
      const failed = () => { product.failedImage = product.imageUrl; showThumb(product); };
      image.addEventListener("error", failed);
      if (image.complete && image.naturalWidth === 0) failed(); // failed before this ran
    }
  });
  showRoomState(roomEl.dataset.roomState, stateEl.dataset.scheduledAt);
  // The server drew each card a moment ago; the page's clock takes it from here.
  products.forEach((product) => showDeal(product, { redraw: product.deal !== null }));
  scheduleTick();
  openRoom();
  // Without the render time, a deal's start is judged by the storefront's Date header.
  if (!roomEl.dataset.now && [...products.values()].some((p) => p.deal)) {
    fetchRoom().then(() => products.forEach((product) => showDeal(product))).catch(() => {});
  }
  openBuyerStream();
})();
