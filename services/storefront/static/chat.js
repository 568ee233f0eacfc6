// The live room's chat and reactions. Messages and reactions arrive on the room's own
// stream (the notifier's `chat`, `chat_deleted` and `reaction` events, and the snapshot's
// last messages): this script adds its handlers to the stream room.js opens, so the page
// keeps one connection. It must load after live.js and before room.js.
// Every text from the chat is shown with textContent, never parsed as HTML.
"use strict";

(() => {
  const chat = document.querySelector("[data-testid=chat]");
  const lc = window.livecart;
  if (!chat || !lc) return;

  const roomId = chat.dataset.roomId;
  const list = chat.querySelector("[data-testid=chat-messages]");
  const notice = chat.querySelector("[data-testid=chat-notice]");
  const form = chat.querySelector("[data-testid=chat-form]");
  const input = chat.querySelector("[data-testid=chat-input]");
  const floats = chat.querySelector("[data-testid=reaction-float]");
  const buttons = [...chat.querySelectorAll("[data-testid=reaction], [data-testid=chat-send]")];
  const KINDS = ["heart", "fire", "clap", "laugh"];
  const SVG = "http://www.w3.org/2000/svg";
  const MAX_LINES = 50;
  const MAX_FLOATING = 24;
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  // Reactions this page sent and already floated: the room's next counts include them.
  const ownPending = {};

  // ---- messages -----------------------------------------------------------------------
  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  function addLine(line, own) {
    if (!line || typeof line.id !== "string" || typeof line.text !== "string") return;
    const known = list.querySelector(`[data-id="${CSS.escape(line.id)}"]`);
    if (known) { // the stream was quicker than the answer
      if (own) known.classList.add("own");
      return;
    }
    const follow = own || nearBottom();
    const item = document.createElement("li");
    item.className = own ? "chat-line own" : "chat-line";
    item.dataset.testid = "chat-message";
    item.dataset.id = line.id;
    const name = document.createElement("span");
    name.className = "chat-name";
    name.textContent = String(line.name || "");
    const text = document.createElement("span");
    text.className = "chat-text";
    text.dataset.testid = "chat-text";
    text.textContent = line.text;
    item.append(name, " ", text);
    list.append(item);
    while (list.children.length > MAX_LINES) list.firstElementChild.remove();
    if (follow) list.scrollTop = list.scrollHeight;
  }

  function removeLine(data) {
    if (!data || typeof data.id !== "string") return;
    const item = list.querySelector(`[data-id="${CSS.escape(data.id)}"]`);
    if (item) item.remove();
  }

  function showSnapshot(data) {
    if (!data || !Array.isArray(data.chat)) return;
    // A (re)connection's snapshot is the room's chat as it stands: deletions included.
    list.replaceChildren();
    data.chat.forEach((line) => addLine(line, false));
    list.scrollTop = list.scrollHeight;
  }

  function say(text, reason) {
    notice.textContent = text;
    notice.dataset.reason = reason || "";
    notice.hidden = !text;
  }

  // ---- reactions ------------------------------------------------------------------------
  function float(kind) {
    if (!KINDS.includes(kind) || floats.childElementCount >= MAX_FLOATING) return;
    const bubble = document.createElement("span");
    bubble.className = "reaction-bubble";
    bubble.dataset.kind = kind;
    const icon = document.createElementNS(SVG, "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    const use = document.createElementNS(SVG, "use");
    use.setAttribute("href", `#reaction-${kind}`);
    icon.append(use);
    bubble.append(icon);
    bubble.style.setProperty("--drift", `${Math.round((Math.random() - 0.5) * 3 * 10) / 10}rem`);
    floats.append(bubble);
    const done = () => bubble.remove();
    bubble.addEventListener("animationend", done);
    // Without animation (reduced motion) it shows briefly, still.
    setTimeout(done, reducedMotion.matches ? 900 : 2600);
  }

  function showReactions(data) {
    if (!data || typeof data.counts !== "object" || data.counts === null) return;
    for (const [kind, count] of Object.entries(data.counts)) {
      if (!Number.isInteger(count) || count < 1) continue;
      const mine = Math.min(ownPending[kind] || 0, count);
      ownPending[kind] = (ownPending[kind] || 0) - mine;
      for (let n = 0; n < Math.min(count - mine, 8); n += 1) float(kind);
    }
  }

  // ---- live state -------------------------------------------------------------------------
  function setState(state) {
    if (!["scheduled", "live", "ended"].includes(state)) return;
    chat.dataset.chatState = state;
    const open = state === "live";
    input.disabled = !open;
    buttons.forEach((button) => { button.disabled = !open; });
    input.placeholder = open ? "Say something…" : "Chat opens while live";
    if (open && notice.dataset.reason === "room_not_live") say("");
  }

  // ---- sending --------------------------------------------------------------------------
  async function post(path, body) {
    const request = () => fetch(`/api/rooms/${encodeURIComponent(roomId)}/${path}`, {
      method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let response = await request();
    if (response.status === 401) { // the session expired while the page was open
      await fetch("/api/sessions", { method: "POST", credentials: "same-origin" });
      response = await request();
    }
    const answer = await response.json().catch(() => null);
    return { status: response.status, answer, retryAfter: response.headers.get("Retry-After") };
  }

  function refusal({ status, answer, retryAfter }) {
    const reason = answer && answer.reason;
    if (status === 403 && reason === "muted") {
      const until = new Date(answer.until);
      const when = Number.isNaN(until.getTime()) ? "a while" : until.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      return [`The seller muted you in this chat until ${when}.`, "muted"];
    }
    if (status === 409) return ["The chat is open while the live is on.", "room_not_live"];
    if (status === 429) return [`You're sending too fast: try again in ${retryAfter || "a few"} s.`, "rate_limited"];
    if (status === 422 && answer && Array.isArray(answer.detail) && answer.detail.length) {
      const msg = String(answer.detail[0].msg || "").replace(/^Value error, /, "");
      return [`Not sent: ${msg}.`, "invalid"];
    }
    return [`Not sent (HTTP ${status}). Please try again.`, "error"];
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.disabled = true;
    try {
      const result = await post("chat", { text });
      if (result.status === 201 && result.answer) {
        input.value = "";
        say("");
        addLine({ id: result.answer.message_id, name: result.answer.display_name, text: result.answer.text }, true);
      } else {
        say(...refusal(result));
      }
    } catch (_) {
      say("Not sent: no connection. Please try again.", "error");
    } finally {
      input.disabled = chat.dataset.chatState !== "live";
      if (!input.disabled) input.focus();
    }
  });

  chat.querySelectorAll("[data-testid=reaction]").forEach((button) => {
    button.addEventListener("click", async () => {
      const kind = button.dataset.kind;
      float(kind);
      ownPending[kind] = (ownPending[kind] || 0) + 1;
      try {
        const result = await post("reactions", { kind });
        if (result.status !== 202) {
          ownPending[kind] = Math.max(0, ownPending[kind] - 1);
          say(...refusal(result));
        }
      } catch (_) {
        ownPending[kind] = Math.max(0, ownPending[kind] - 1);
      }
    });
  });

  // ---- the room's stream --------------------------------------------------------------------
  // room.js opens the stream with its own handlers; ours are added beside them.
  const open = lc.openRoomStream;
  lc.openRoomStream = (options) => {
    const on = { ...(options.on || {}) };
    const theirs = { snapshot: on.snapshot, room: on.room };
    on.snapshot = (data) => { if (theirs.snapshot) theirs.snapshot(data); showSnapshot(data); };
    on.room = (change) => {
      if (theirs.room) theirs.room(change);
      if (change && change.room_id === roomId) setState(change.state);
    };
    on.chat = (line) => addLine(line, false);
    on.chat_deleted = removeLine;
    on.reaction = showReactions;
    return open({ ...options, on });
  };
})();
