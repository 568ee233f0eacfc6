// The seller's live dashboard: every figure comes from the room's public stream on the
// notifier (`sales` snapshots, `stock`, `viewers`). Checkouts per second are the growth
// of the `checkouts` count over the last few seconds. Plain script, no build step.
"use strict";

(() => {
  const { money, stockText, StockBoard, intOrNull, openRoomStream } = window.livecart;
  const WINDOW_MS = 5000;
  const TICK_MS = 1000;
  const STATES = { live: "Live", reconnecting: "Reconnecting…" };

  const root = document.querySelector("[data-testid=dashboard]");
  if (!root) return;
  const figure = (testid, sku) =>
    root.querySelector(`[data-testid="${testid}"]${sku ? `[data-sku="${CSS.escape(sku)}"]` : ""}`);

  const products = new Map();
  const stock = new StockBoard();
  root.querySelectorAll("tr[data-testid=product]").forEach((row) => {
    const sku = row.dataset.sku;
    products.set(sku, { sku, priceMinor: Number(row.dataset.priceMinor), currency: row.dataset.currency });
    const remaining = figure("remaining", sku);
    stock.seed(sku, intOrNull(remaining.dataset.available), intOrNull(remaining.dataset.version));
  });

  function showStock(snapshots) {
    if (!Array.isArray(snapshots)) return;
    for (const snapshot of snapshots) {
      const product = products.get(snapshot.sku);
      if (!product || !stock.offer(snapshot)) continue;
      const remaining = figure("remaining", snapshot.sku);
      remaining.textContent = stockText(snapshot.available);
      remaining.dataset.available = String(snapshot.available);
      remaining.classList.toggle("sold-out", snapshot.available === 0);
      if (typeof snapshot.price_minor === "number" && snapshot.currency) {
        product.priceMinor = snapshot.price_minor;
        product.currency = snapshot.currency;
        row(snapshot.sku).querySelector("[data-testid=price]").textContent =
          money(product.priceMinor, product.currency);
      }
    }
    if (lastSales) showSales(lastSales);
  }

  function row(sku) { return root.querySelector(`tr[data-sku="${CSS.escape(sku)}"]`); }

  function setNumber(el, value) {
    el.textContent = value.toLocaleString("en");
    el.dataset.value = String(value);
  }

  // ---- sales ----------------------------------------------------------------------------
  let lastSales = null;
  function showSales(sales) {
    lastSales = sales;
    const revenue = Object.entries(sales.revenue_minor || {});
    figure("revenue").textContent = revenue.length
      ? revenue.map(([currency, minor]) => money(minor, currency)).join(" + ")
      : "0.00";
    setNumber(figure("checkouts"), sales.checkouts || 0);
    setNumber(figure("confirmed"), sales.confirmed || 0);
    setNumber(figure("expired"), sales.expired || 0);
    setNumber(figure("cancelled"), sales.cancelled || 0); // v2: confirmed, then cancelled
    for (const product of products.values()) {
      const units = (sales.units_sold || {})[product.sku] || 0;
      setNumber(figure("units-sold", product.sku), units);
      // v2 counts each product's confirmed revenue (deal prices included); v1 only units.
      const counted = (sales.revenue_minor_by_sku || {})[product.sku];
      const revenue = Number.isInteger(counted) ? counted : units * product.priceMinor;
      figure("product-revenue", product.sku).textContent = money(revenue, product.currency);
    }
    showRejections(sales.rejected || {});
    observe(sales.checkouts || 0);
  }

  function showRejections(rejected) {
    const list = document.getElementById("rejections");
    for (const [reason, count] of Object.entries(rejected)) {
      let cell = list.querySelector(`[data-reason="${CSS.escape(reason)}"]`);
      if (!cell) {
        // A reason this page does not know yet: still shown, under its code.
        const group = document.createElement("div");
        group.innerHTML = "<dt></dt><dd data-testid=\"rejections\"></dd>";
        group.querySelector("dt").textContent = reason.replaceAll("_", " ");
        cell = group.querySelector("dd");
        cell.dataset.reason = reason;
        list.append(group);
      }
      setNumber(cell, count);
    }
  }

  // ---- checkouts per second -------------------------------------------------------------
  // Samples of (time, checkouts so far); the rate is their growth over the window. A tick
  // adds a sample even when nothing arrives, so a quiet room falls back to 0.
  let samples = [];
  let checkoutsSoFar = null;
  function observe(count) {
    checkoutsSoFar = count;
    sample();
  }
  function sample() {
    if (checkoutsSoFar === null) return;
    const now = performance.now();
    samples.push([now, checkoutsSoFar]);
    samples = samples.filter(([at], i) => at >= now - WINDOW_MS || i === samples.length - 1);
    const [firstAt, firstCount] = samples[0];
    const rate = now > firstAt ? ((checkoutsSoFar - firstCount) * 1000) / (now - firstAt) : 0;
    const cps = figure("checkouts-per-second");
    cps.textContent = Math.max(rate, 0).toFixed(1);
    cps.dataset.value = String(Math.max(rate, 0));
  }
  setInterval(sample, TICK_MS);

  // ---- viewers and connection -----------------------------------------------------------
  function showViewers(count) {
    if (!Number.isInteger(count)) return;
    const el = figure("viewer-count");
    el.dataset.count = String(count);
    el.textContent = count.toLocaleString("en");
  }

  function showState(state) {
    const el = document.getElementById("connection");
    el.dataset.state = state;
    el.textContent = STATES[state] || state;
  }

  openRoomStream({
    notifierUrl: root.dataset.notifierUrl,
    roomId: root.dataset.roomId,
    skus: [...products.keys()],
    on: {
      snapshot: (data) => {
        showStock(data.stock);
        if (data.sales) showSales(data.sales);
        else showSales({ checkouts: 0, confirmed: 0, expired: 0, cancelled: 0, rejected: {}, units_sold: {}, revenue_minor: {} });
        showViewers(data.viewers);
      },
      stock: showStock,
      sales: showSales,
      viewers: (data) => showViewers(data.count),
    },
    onState: showState,
  });
})();
