// The room's video: plays the seller's stream (HLS .m3u8, or a plain video file) muted,
// as browsers allow autoplay only muted, with a button to unmute. hls.js (vendor/, over
// MediaSource) where the browser has MediaSource, the browser's own HLS where it has only
// that (Safari on iPhone). A stream that fails shows "stream unavailable" over the poster.
// Plays while the room is live; before and after, the poster with the seller's name.
"use strict";

(() => {
  const HLS_TYPE = "application/vnd.apple.mpegurl";
  const box = document.querySelector(".video[data-stream-url]");
  const room = document.querySelector("[data-testid=room]");
  if (!box || !room) return;
  const video = box.querySelector("video");
  const unmute = box.querySelector("[data-testid=unmute]");
  const url = box.dataset.streamUrl;
  let hls = null;

  function show(state) {
    box.dataset.player = state;
    box.querySelector("[data-testid=stream-unavailable]").hidden = state !== "unavailable";
    video.hidden = state === "unavailable" || state === "poster";
    unmute.hidden = state !== "playing";
  }

  function isHls() {
    try { return new URL(url, location.href).pathname.endsWith(".m3u8"); } catch (_) { return false; }
  }

  function fail() {
    stop();
    show("unavailable");
  }

  function start() {
    if (hls || video.getAttribute("src")) return;
    show("loading");
    video.muted = true;
    if (isHls() && window.Hls && window.Hls.isSupported()) {
      // No worker: the page's Content-Security-Policy allows no blob: scripts.
      hls = new window.Hls({ enableWorker: false, manifestLoadingMaxRetry: 2, fragLoadingMaxRetry: 3 });
      hls.on(window.Hls.Events.ERROR, (_, data) => { if (data.fatal) fail(); });
      hls.loadSource(url);
      hls.attachMedia(video);
    } else if (!isHls() || video.canPlayType(HLS_TYPE)) {
      video.src = url;
    } else {
      fail();
      return;
    }
    const playing = video.play();
    if (playing) playing.catch(() => { /* autoplay refused: the native controls remain */ });
  }

  function stop() {
    if (hls) { hls.destroy(); hls = null; }
    video.removeAttribute("src");
    video.load();
  }

  // The stream's shape decides the stage's: 9:16 from a phone, 16:9 from a camera.
  video.addEventListener("loadedmetadata", () => {
    const stage = box.closest(".stage") || box;
    stage.dataset.orientation = video.videoWidth > video.videoHeight ? "landscape" : "portrait";
  });
  video.addEventListener("playing", () => show("playing"));
  video.addEventListener("error", () => { if (video.getAttribute("src") && !hls) fail(); });

  unmute.addEventListener("click", () => {
    video.muted = !video.muted;
    if (!video.muted) video.play().catch(() => {});
  });
  video.addEventListener("volumechange", () => {
    unmute.setAttribute("aria-pressed", String(!video.muted));
    unmute.querySelector(".unmute-label").textContent = video.muted ? "Unmute" : "Mute";
  });

  // room.js moves data-room-state as the seller goes live and ends the live.
  function follow() {
    if (room.dataset.roomState === "live") start();
    else { stop(); show("poster"); }
  }
  new MutationObserver(follow).observe(room, { attributes: true, attributeFilter: ["data-room-state"] });
  follow();
})();
