// The "Reconnecting…" banner of the buyer's pages: while any of the page's live streams is
// down (keepOpen said "reconnecting"), a banner says so in a role=status region and the
// page root carries data-connection="reconnecting"; once every stream is back and has
// resynced, the banner goes. Defines window.livecart.ConnectionBanner; no build step.
"use strict";

(() => {
  class ConnectionBanner {
    // `root` gets data-connection; `region` is an always-present role=status element the
    // banner is put into (a live region must exist before what it announces).
    constructor({ root, region, text }) {
      Object.assign(this, { root, region, text });
      this.states = new Map();
    }

    // `name`: which stream ("room", "orders"); `state`: "live" or "reconnecting".
    set(name, state) {
      this.states.set(name, state);
      const down = [...this.states.values()].includes("reconnecting");
      this.root.dataset.connection = down ? "reconnecting" : "live";
      let banner = this.region.querySelector("[data-testid=reconnecting]");
      if (down && !banner) {
        banner = document.createElement("p");
        banner.className = "reconnecting";
        banner.dataset.testid = "reconnecting";
        const strong = document.createElement("strong");
        strong.textContent = "Reconnecting…";
        banner.append(strong, ` ${this.text}`);
        this.region.append(banner);
      } else if (!down && banner) {
        banner.remove();
      }
    }

    get reconnecting() { return this.root.dataset.connection === "reconnecting"; }
  }

  window.livecart = Object.assign(window.livecart || {}, { ConnectionBanner });
})();
