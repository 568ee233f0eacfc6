// The room's video: plays the seller's stream (HLS .m3u8, or a plain video file) muted,
// as browsers allow autoplay only muted, with buttons to unmute and to pause. hls.js
// (vendor/, over MediaSource) where the browser has MediaSource, the browser's own HLS
// where it has only that (Safari on iPhone). A stream that fails shows "stream
// unavailable" over the poster and is tried again, less and less often, until it plays.
// Plays while the room is live; before and after, the poster with the seller's name.
"use strict";

(() => {
  const HLS_TYPE = "application/vnd.apple.mpegurl";
  const FIRST_RETRY_MS = 5000;
  const LAST_RETRY_MS = 60000;
  const box = document.querySelector(".video[data-stream-url]");
  const room = document.querySelector("[data-testid=room]");
  if (!box || !room) return;
  const video = box.querySelector("video");
  const controls = box.querySelector("[data-testid=video-controls]");
  const unmute = box.querySelector("[data-testid=unmute]");
  const pause = box.querySelector("[data-testid=pause]");
  const url = box.dataset.streamUrl;
  let hls = null;
  let retry = null;
  let retryMs = FIRST_RETRY_MS;

  function show(state) {
    box.dataset.player = state;
    box.querySelector("[data-testid=stream-unavailable]").hidden = state !== "unavailable";
    video.hidden = state === "unavailable" || state === "poster";
    controls.hidden = state !== "playing";
  }

  function isHls() {
    try { return new URL(url, location.href).pathname.endsWith(".m3u8"); } catch (_) { return false; }
  }

  function fail() {
    stop();
    show("unavailable");
    retry = setTimeout(() => { retry = null; start(); }, retryMs);
    retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
  }

  function start() {
    if (hls || video.getAttribute("src") || retry) return;
    // While it retries, the buyer keeps reading "unavailable" until it plays.
    if (box.dataset.player !== "unavailable") show("loading");
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
    play();
  }

  function play() {
    const playing = video.play();
    if (playing) playing.catch(() => { /* autoplay refused: the buyer can press play */ });
  }

  function stop() {
    clearTimeout(retry);
    retry = null;
    if (hls) { hls.destroy(); hls = null; }
    video.removeAttribute("src");
    video.load();
  }

  // The stream's shape decides the stage's: 9:16 from a phone, 16:9 from a camera.
  video.addEventListener("loadedmetadata", () => {
    const stage = box.closest(".stage") || box;
    stage.dataset.orientation = video.videoWidth > video.videoHeight ? "landscape" : "portrait";
  });
  video.addEventListener("playing", () => { retryMs = FIRST_RETRY_MS; show("playing"); });
  video.addEventListener("error", () => { if (video.getAttribute("src") && !hls) fail(); });

  unmute.addEventListener("click", () => {
    video.muted = !video.muted;
    if (!video.muted) play();
  });
  video.addEventListener("volumechange", () => {
    unmute.querySelector(".unmute-label").textContent = video.muted ? "Unmute" : "Mute";
  });
  pause.addEventListener("click", () => { if (video.paused) play(); else video.pause(); });
  for (const name of ["play", "pause"]) {
    video.addEventListener(name, () => {
      pause.querySelector(".pause-label").textContent = video.paused ? "Play" : "Pause";
    });
  }

  // room.js moves data-room-state as the seller goes live and ends the live.
  function follow() {
    if (room.dataset.roomState === "live") start();
    else { stop(); show("poster"); }
  }
  new MutationObserver(follow).observe(room, { attributes: true, attributeFilter: ["data-room-state"] });
  follow();
})();
