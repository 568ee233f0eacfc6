// What the room page and the seller dashboard share: money and stock wording, the
// highest-version stock per sku, flash-deal states, the storefront's clock and the
// notifier's public room stream. No build step: this file defines `window.livecart`,
// loaded before the page's own script.
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

  // The buyer's languages, as the Accept-Language the server formats the first paint by.
  const moneyLocales = navigator.languages && navigator.languages.length
    ? [...navigator.languages] : [navigator.language || document.documentElement.lang || "en"];
  const moneyFormats = new Map();

  // 4990, "EUR" -> "€49.90" (en-US), "49,90 €" (de-DE): the buyer's locale, the product's
  // currency, the same wording the server renders (the `money` macro, with Babel).
  function money(minor, currency) {
    const digits = currencyDigits(currency);
    if (!moneyFormats.has(currency)) {
      let format = null;
      try {
        format = new Intl.NumberFormat(moneyLocales, { style: "currency", currency });
      } catch (_) { /* not a currency code: plain digits */ }
      moneyFormats.set(currency, format);
    }
    const format = moneyFormats.get(currency);
    const amount = minor / 10 ** digits;
    return format ? format.format(amount) : `${amount.toFixed(digits)} ${currency}`;
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
    // The latest snapshot heard from the stream (not a seed), or null.
    snapshot(sku) {
      const known = this.products.get(sku);
      return known && typeof known.title === "string" ? known : null;
    }
  }

  // "49.90", "EUR" -> 4990, exactly (no floating point on money).
  function minorOf(price, currency) {
    const digits = currencyDigits(currency);
    const [whole, fraction = ""] = String(price).split(".");
    return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, "0").slice(0, digits) || 0);
  }

  // ---- flash deals ----------------------------------------------------------------------
  // A product's deal as the page shows it at `now` (ms): counting down, running, sold out
  // (cap reached, still running), or none (no deal, or ended). The marketplace prices a
  // checkout by when the storefront received it; this is only what the buyer is told.
  function dealState(deal, now) {
    if (!deal) return "none";
    const startsAt = Date.parse(deal.starts_at);
    const endsAt = deal.ends_at ? Date.parse(deal.ends_at) : Infinity;
    if (Number.isNaN(startsAt) || now >= endsAt) return "none";
    if (now < startsAt) return "countdown";
    return deal.units_taken >= deal.units_cap ? "sold-out" : "running";
  }

  // A well-formed deal of this room, or null: a product's deal may be another room's.
  function roomDeal(deal, roomId) {
    if (!deal || typeof deal !== "object" || deal.room_id !== roomId) return null;
    const counts = ["price_minor", "units_cap", "units_taken", "per_buyer_limit"];
    if (!counts.every((name) => Number.isInteger(deal[name]))) return null;
    return typeof deal.starts_at === "string" ? deal : null;
  }

  // 42_000 ms -> "0:42"; an hour or more -> "1:02:05". Rounded up: "0:01" until it starts.
  function clockText(ms) {
    const seconds = Math.max(0, Math.ceil(ms / 1000));
    const pad = (n) => String(n).padStart(2, "0");
    const [h, m, s] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60];
    return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }

  // The storefront's time: a deal starts by the shop's clock, and a phone's clock may be
  // minutes off. Learnt from the time the page was rendered at, or from the Date header of
  // the storefront's answers (whole seconds, so an offset under a second is noise).
  class ServerClock {
    constructor() { this.offset = 0; }
    now() { return Date.now() + this.offset; }
    // The server's clock read `serverMs` when this page's read `localMs`.
    observe(serverMs, localMs, precisionMs) {
      if (!Number.isFinite(serverMs) || !Number.isFinite(localMs)) return;
      const offset = serverMs - localMs;
      this.offset = Math.abs(offset) < precisionMs ? 0 : Math.round(offset);
    }
    learn(response, sentAt) {
      const date = Date.parse(response.headers.get("Date") || "");
      if (!Number.isNaN(date)) this.observe(date + 500, (sentAt + Date.now()) / 2, 1000);
    }
  }

  function intOrNull(text) {
    return text === undefined || text === "" ? null : Number.parseInt(text, 10);
  }

  // EventSource retries a dropped connection by itself, but gives up for good when the
  // notifier answers with an HTTP error (429 rate limited, 503 full, a proxy's 502): then
  // open a new one, backing off from 1 s to 30 s with jitter, so a crowd refused at once
  // does not come back at once. `open()` makes the EventSource; the answer's close() ends it.
  const FIRST_RETRY_MS = 1000;
  const LAST_RETRY_MS = 30000;
  function keepOpen(open, onState) {
    let source = null;
    let timer = null;
    let delay = FIRST_RETRY_MS;
    let stopped = false;
    function connect() {
      timer = null;
      const current = open();
      source = current;
      current.addEventListener("open", () => {
        delay = FIRST_RETRY_MS;
        if (onState) onState("live");
      });
      current.addEventListener("error", () => {
        if (stopped || current !== source) return;
        if (onState) onState("reconnecting");
        if (current.readyState !== EventSource.CLOSED || timer) return;
        timer = setTimeout(connect, delay * (0.5 + Math.random()));
        delay = Math.min(delay * 2, LAST_RETRY_MS);
      });
    }
    connect();
    return {
      get source() { return source; },
      close() {
        stopped = true;
        clearTimeout(timer);
        if (source) source.close();
      },
    };
  }

  // The room's public stream: `snapshot` first, then `stock`, `purchase`, `sales`,
  // `viewers` and `room` (pins or live state changed). Every reconnect starts with a
  // snapshot.
  function openRoomStream({ notifierUrl, roomId, skus, on, onState }) {
    const query = skus.length ? `?skus=${encodeURIComponent(skus.join(","))}` : "";
    const url = `${notifierUrl}/events/rooms/${encodeURIComponent(roomId)}${query}`;
    return keepOpen(() => {
      const source = new EventSource(url);
      for (const [name, handler] of Object.entries(on)) {
        source.addEventListener(name, (message) => {
          let data;
          try { data = JSON.parse(message.data); } catch (_) { return; }
          handler(data);
        });
      }
      return source;
    }, onState);
  }

  // A new element with its class and text (textContent: never markup).
  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  window.livecart = {
    element, money, minorOf, stockText, StockBoard, intOrNull, openRoomStream, keepOpen,
    dealState, roomDeal, clockText, ServerClock,
  };
})();
