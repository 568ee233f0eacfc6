// What the room page and the seller dashboard share: money and stock wording, the
// highest-version stock per sku, and the notifier's public room stream. No build step:
// this file defines `window.livecart`, loaded before the page's own script.
"use strict";

(() => {
  const digitsCache = new Map();

  // Minor units of a currency (EUR 2, JPY 0), as the browser's Intl data knows them.
  function currencyDigits(currency) {
    if (!digitsCache.has(currency)) {
      let digits = 2;
      try {
        digits = new Intl.NumberFormat("en", { style: "currency", currency })
          .resolvedOptions().maximumFractionDigits;
      } catch (_) { /* unknown code: assume cents */ }
      digitsCache.set(currency, digits);
    }
    return digitsCache.get(currency);
  }

  // 4990, "EUR" -> "49.90 EUR": the same wording the server renders.
  function money(minor, currency) {
    const digits = currencyDigits(currency);
    return `${(minor / 10 ** digits).toFixed(digits)} ${currency}`;
  }

  function stockText(available) {
    if (available === null || available === undefined) return "Stock —";
    if (available === 0) return "Sold out";
    if (available <= 5) return `Only ${available} left`;
    return `${available} left`;
  }

  // Snapshots of one sku can arrive out of order (several marketplace replicas, a
  // reconnect's fresh snapshot): keep the highest version.
  class StockBoard {
    constructor() { this.products = new Map(); }
    seed(sku, available, version) {
      if (Number.isInteger(available) && Number.isInteger(version)) {
        this.products.set(sku, { sku, available, version });
      }
    }
    offer(snapshot) {
      if (!snapshot || typeof snapshot.sku !== "string" || !Number.isInteger(snapshot.version)) return false;
      const known = this.products.get(snapshot.sku);
      if (known && known.version >= snapshot.version) return false;
      this.products.set(snapshot.sku, snapshot);
      return true;
    }
    available(sku) {
      const known = this.products.get(sku);
      return known ? known.available : null;
    }
  }

  function intOrNull(text) {
    return text === undefined || text === "" ? null : Number.parseInt(text, 10);
  }

  // The room's public stream: `snapshot` first, then `stock`, `purchase`, `sales` and
  // `viewers`. EventSource reconnects by itself; each reconnect starts with a snapshot.
  function openRoomStream({ notifierUrl, roomId, skus, on, onState }) {
    const query = skus.length ? `?skus=${encodeURIComponent(skus.join(","))}` : "";
    const source = new EventSource(`${notifierUrl}/events/rooms/${encodeURIComponent(roomId)}${query}`);
    for (const [name, handler] of Object.entries(on)) {
      source.addEventListener(name, (message) => {
        let data;
        try { data = JSON.parse(message.data); } catch (_) { return; }
        handler(data);
      });
    }
    source.addEventListener("open", () => onState && onState("live"));
    source.addEventListener("error", () => {
      if (!onState) return;
      onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
    });
    return source;
  }

  window.livecart = { money, stockText, StockBoard, intOrNull, openRoomStream };
})();
