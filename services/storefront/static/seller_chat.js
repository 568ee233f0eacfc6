// The seller's view of the room's live chat: the room's public stream on the notifier (the
// snapshot's last messages, then `chat` and `chat_deleted`), each message with Delete and
// Mute. Both go to the storefront's seller API with the session's CSRF token; a deleted
// message goes from every open room when the notifier pushes `chat_deleted`.
// Chat text is shown with textContent only.
"use strict";

(() => {
  const panel = document.querySelector("[data-testid=seller-chat]");
  if (!panel) return;
  const { roomId, notifierUrl, csrfToken } = panel.dataset;
  const list = panel.querySelector("[data-testid=seller-chat-messages]");
  const empty = panel.querySelector("[data-testid=seller-chat-empty]");
  const notice = panel.querySelector("[data-testid=seller-chat-notice]");
  const minutes = panel.querySelector("[data-testid=mute-minutes]");
  const api = `/api/seller/rooms/${encodeURIComponent(roomId)}/chat`;
  const MAX_LINES = 200;

  function say(text, kind) {
    notice.textContent = text;
    notice.dataset.kind = kind || "";
  }

  function refreshEmpty() {
    empty.hidden = list.childElementCount > 0;
  }

  function button(label, testid, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link-button";
    b.dataset.testid = testid;
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function addLine(line) {
    if (!line || typeof line.id !== "string" || typeof line.text !== "string") return;
    if (list.querySelector(`[data-id="${CSS.escape(line.id)}"]`)) return;
    const item = document.createElement("li");
    item.className = "seller-chat-line";
    item.dataset.testid = "seller-chat-message";
    item.dataset.id = line.id;
    const name = document.createElement("strong");
    name.className = "chat-name";
    name.textContent = String(line.name || "");
    const text = document.createElement("span");
    text.className = "grow chat-text";
    text.dataset.testid = "chat-text";
    text.textContent = line.text;
    const actions = document.createElement("span");
    actions.className = "seller-chat-actions";
    actions.append(
      button("Delete", "delete-message", () => moderate(item, "DELETE", "", null)),
      button("Mute", "mute-author", () => moderate(item, "POST", "/mute", { minutes: Number(minutes.value) })),
    );
    item.append(name, text, actions);
    list.append(item);
    while (list.childElementCount > MAX_LINES) list.firstElementChild.remove();
    refreshEmpty();
  }

  function removeLine(data) {
    if (!data || typeof data.id !== "string") return;
    const item = list.querySelector(`[data-id="${CSS.escape(data.id)}"]`);
    if (item) item.remove();
    refreshEmpty();
  }

  async function moderate(item, method, suffix, body) {
    const name = item.querySelector(".chat-name").textContent;
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json", "X-CSRF-Token": csrfToken } };
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(`${api}/${encodeURIComponent(item.dataset.id)}${suffix}`, init);
    } catch (_) {
      say("No connection: nothing changed. Please try again.", "error");
      return;
    }
    const answer = await response.json().catch(() => null);
    if (response.status === 204) {
      say(`Deleted a message from ${name}.`, "deleted");
      removeLine({ id: item.dataset.id });
    } else if (response.ok && answer && answer.until) {
      const until = new Date(answer.until).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      say(`Muted ${answer.display_name} until ${until}.`, "muted");
      item.dataset.muted = "true";
    } else {
      const detail = answer && typeof answer.detail === "string" ? answer.detail : `HTTP ${response.status}`;
      say(`Not done: ${detail}.`, "error");
    }
  }

  // The room's public stream; EventSource retries a dropped connection itself, and a
  // refused one (an HTTP error) is opened again after a pause.
  function connect() {
    const source = new EventSource(`${notifierUrl}/events/rooms/${encodeURIComponent(roomId)}`);
    const handlers = {
      snapshot: (data) => {
        list.replaceChildren();
        (Array.isArray(data.chat) ? data.chat : []).forEach(addLine);
        refreshEmpty();
        panel.dataset.stream = "live";
      },
      chat: addLine,
      chat_deleted: removeLine,
    };
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (message) => {
        let data;
        try { data = JSON.parse(message.data); } catch (_) { return; }
        handler(data);
      });
    }
    source.addEventListener("error", () => {
      panel.dataset.stream = "reconnecting";
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    });
  }
  connect();
})();
