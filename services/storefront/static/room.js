// The live room: live stock, viewers and the purchase ticker from the room's public
// stream; the yellow cart opens a checkout drawer; every order of this buyer is
// tracked (tracker.js) from one EventSource on the notifier. Plain script, no build step.
"use strict";

(() => {
  const { money, stockText, StockBoard, intOrNull, openRoomStream, Tracker } = window.livecart;
  const COOKIE = "livecart_buyer";
  const TICKER_SIZE = 3;

  const $ = (id) => document.getElementById(id);
  const roomEl = document.querySelector("[data-testid=room]");
  if (!roomEl) return;
  const roomId = roomEl.dataset.roomId;
  const notifierUrl = roomEl.dataset.notifierUrl;

  // The product in the checkout drawer, and the cart button that opened it.
  let drawerProduct = null;
  let opener = null;

  // ---- products and their live stock --------------------------------------------------
  const products = new Map();
  const stock = new StockBoard();
  document.querySelectorAll("[data-testid=product]").forEach((card) => {
    const sku = card.dataset.sku;
    products.set(sku, {
      sku, card,
      title: card.dataset.title,
      priceMinor: Number(card.dataset.priceMinor),
      currency: card.dataset.currency,
      max: Number(card.dataset.max),
      stockEl: card.querySelector("[data-testid=stock]"),
      priceEl: card.querySelector("[data-testid=price]"),
      button: card.querySelector("[data-testid=cart-button]"),
    });
    stock.seed(sku, intOrNull(card.dataset.available), intOrNull(card.dataset.version));
  });

  function titleOf(sku) { return products.has(sku) ? products.get(sku).title : sku; }

  function showStock(product) {
    const available = stock.available(product.sku);
    const soldOut = available === 0;
    product.stockEl.textContent = stockText(available);
    product.stockEl.dataset.available = available === null ? "" : String(available);
    product.card.classList.toggle("sold-out", soldOut);
    product.button.disabled = soldOut;
    product.button.querySelector(".cart-label").textContent =
      soldOut ? `${product.title} is sold out` : `Buy ${product.title}`;
    if (drawerProduct === product) showDrawerStock();
  }

  function applyStock(snapshots) {
    if (!Array.isArray(snapshots)) return;
    for (const snapshot of snapshots) {
      const product = products.get(snapshot.sku);
      if (!product || !stock.offer(snapshot)) continue;
      if (typeof snapshot.price_minor === "number" && snapshot.currency) {
        product.priceMinor = snapshot.price_minor;
        product.currency = snapshot.currency;
        product.priceEl.textContent = money(product.priceMinor, product.currency);
      }
      showStock(product);
    }
  }

  // ---- the room's public stream: stock, viewers, ticker ---------------------------------
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
    const item = document.createElement("li");
    item.className = "ticker-item";
    item.textContent = `Someone bought ${what}`;
    ticker.prepend(item);
    while (ticker.children.length > TICKER_SIZE) ticker.lastElementChild.remove();
  }

  openRoomStream({
    notifierUrl, roomId, skus: [...products.keys()],
    on: {
      snapshot: (data) => { applyStock(data.stock); showViewers(data.viewers); },
      stock: applyStock,
      purchase: addPurchase,
      viewers: (data) => showViewers(data.count),
    },
  });

  // ---- buyer session ------------------------------------------------------------------
  // The room page set the cookie (not HttpOnly: EventSource needs the token in its URL).
  // Without cookies a session is asked for and its token kept in memory for this page.
  let token = (document.cookie.match(new RegExp(`(?:^|;\\s*)${COOKIE}=([^;]+)`)) || [])[1] || null;

  async function newSession() {
    const response = await fetch("/api/sessions", { method: "POST", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`session refused (HTTP ${response.status})`);
    token = (await response.json()).token;
    openBuyerStream();
    return token;
  }

  // ---- order tracker (one EventSource for every order of this buyer) -------------------
  const tracker = new Tracker({ section: $("tracker"), titleOf });
  const note = $("order-note");

  function parsed(handler) {
    return (message) => {
      let data;
      try { data = JSON.parse(message.data); } catch (_) { return; }
      handler(data);
    };
  }

  let buyerSource = null;
  function openBuyerStream() {
    if (buyerSource) buyerSource.close();
    if (!token) return;
    const source = new EventSource(`${notifierUrl}/events/buyers/me?token=${encodeURIComponent(token)}`);
    buyerSource = source;
    source.addEventListener("status", parsed((change) => tracker.status(change)));
    source.addEventListener("reset", () => tracker.reset());
    source.addEventListener("open", () => showUpdates("live"));
    source.addEventListener("error", () => {
      if (source !== buyerSource) return;
      showUpdates(source.readyState === EventSource.CONNECTING ? "reconnecting" : "closed");
    });
  }

  // ---- checkout drawer ----------------------------------------------------------------
  const drawer = $("checkout-drawer");
  const form = $("buy-form");
  const quantity = $("quantity");
  const buyButton = $("buy-button");
  const formMessage = $("form-message");

  function limit(product) {
    const available = stock.available(product.sku);
    return available ? Math.min(product.max, available) : product.max;
  }

  function showDrawerStock() {
    const product = drawerProduct;
    const available = stock.available(product.sku);
    $("selected-stock").textContent = stockText(available);
    $("selected-price").textContent = money(product.priceMinor, product.currency);
    const max = limit(product);
    quantity.max = String(max);
    $("quantity-max").textContent = String(max);
    buyButton.disabled = available === 0;
    buyButton.textContent = available === 0 ? "Sold out" : "Buy now";
    showTotal();
  }

  function showTotal() {
    const count = Number(quantity.value);
    const valid = Number.isInteger(count) && count >= 1;
    $("selected-total").textContent = valid ? money(count * drawerProduct.priceMinor, drawerProduct.currency) : "—";
  }

  function openDrawer(product, button) {
    drawerProduct = product;
    opener = button;
    $("sku").value = product.sku;
    $("selected-title").textContent = product.title;
    $("drawer-thumb").textContent = product.title.slice(0, 1);
    $("drawer-thumb").className = product.card.querySelector(".thumb").className;
    quantity.value = "1";
    formMessage.textContent = "";
    showDrawerStock();
    if (!drawer.open) drawer.showModal();
    quantity.focus();
  }

  function closeDrawer() { if (drawer && drawer.open) drawer.close(); }

  products.forEach((product) => product.button.addEventListener("click", () => openDrawer(product, product.button)));
  if (drawer) {
    $("drawer-close").addEventListener("click", closeDrawer);
    // A tap on the backdrop (outside the sheet) closes it, as on every phone.
    drawer.addEventListener("click", (event) => { if (event.target === drawer) closeDrawer(); });
    drawer.addEventListener("close", () => { if (opener) opener.focus(); });
    quantity.addEventListener("input", showTotal);
    $("quantity-down").addEventListener("click", () => step(-1));
    $("quantity-up").addEventListener("click", () => step(1));
    form.addEventListener("submit", buy);
  }

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

  function problem(status, body) {
    const detail = body && body.detail;
    if (status === 422 && Array.isArray(detail) && detail.length) return `Please check your order: ${detail[0].msg}.`;
    if (status === 413) return "That order is too large to send. Please order fewer items.";
    if (typeof detail === "string") return detail.charAt(0).toUpperCase() + detail.slice(1) + ".";
    return `Something went wrong (HTTP ${status}). Please try again.`;
  }

  async function postCheckout(payload) {
    return fetch("/api/checkouts", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify(payload),
    });
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
      if (!token) await newSession();
      let response = await postCheckout(payload);
      if (response.status === 401) {
        // Expired or unknown token: a new session, then the same tap once more.
        await newSession();
        response = await postCheckout(payload);
      }
      const body = await response.json().catch(() => null);
      if (response.status === 202 && body) {
        attempt = null;
        tracker.accepted(body.checkout_id, items, count * product.priceMinor, product.currency);
        closeDrawer();
        tracker.section.scrollIntoView({ block: "nearest" });
      } else {
        formMessage.textContent = problem(response.status, body);
      }
    } catch (_) {
      formMessage.textContent = "Network problem: we could not reach the shop. Please try again.";
    } finally {
      buyButton.disabled = stock.available(product.sku) === 0;
      buyButton.removeAttribute("aria-busy");
    }
  }

  // `data-order-updates` on the room says how the buyer stream is doing; the note says it
  // in words. The stream reconnects by itself (sending Last-Event-ID): nothing to do here.
  const OFFLINE = "You are offline. Your orders carry on at the shop; updates resume when you are back.";
  function showUpdates(state) {
    roomEl.dataset.orderUpdates = state;
    if (state === "live") note.textContent = "";
    else if (state === "closed") note.textContent = "Live order updates stopped. Reload the page to see where your orders are.";
    else note.textContent = navigator.onLine ? "Connection to your order updates lost. Reconnecting…" : OFFLINE;
  }
  window.addEventListener("offline", () => { note.textContent = OFFLINE; });
  window.addEventListener("online", () => {
    if (roomEl.dataset.orderUpdates !== "live") note.textContent = "Back online. Catching up on your orders…";
  });

  // ---- start ----------------------------------------------------------------------------
  if (token) openBuyerStream();
  else newSession().catch(() => { note.textContent = "Could not start a session; buying will retry it."; });
})();
