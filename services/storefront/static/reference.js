// Short order references, as contracts/references.py makes them: the first 40 bits of the
// SHA-256 of the checkout id in Crockford base32, "LC-7K3M-9QX2". Computed here rather than
// carried by the status events, so no contract changes; tests/unit/test_order_reference_js.py
// checks both sides agree. SHA-256 comes from the vendored js-sha256 (vendor/sha256.min.js,
// loaded before this file): crypto.subtle is asynchronous and missing on plain-http pages
// other than localhost. Defines window.livecart.orderReference.
"use strict";

(() => {
  const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

  // "b7e2c1f0-…" -> "LC-G73N-GXGV".
  function orderReference(checkoutId) {
    const digest = window.sha256.array(String(checkoutId)); // UTF-8, 32 bytes
    // The first 40 bits (5 bytes), 5 bits at a time.
    const bits = digest.slice(0, 5).reduce((all, byte) => (all << 8n) | BigInt(byte), 0n);
    let symbols = "";
    for (let shift = 35n; shift >= 0n; shift -= 5n) symbols += ALPHABET[Number((bits >> shift) & 31n)];
    return `LC-${symbols.slice(0, 4)}-${symbols.slice(4)}`;
  }

  window.livecart = Object.assign(window.livecart || {}, { orderReference });
})();
