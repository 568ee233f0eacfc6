"""Make the demo room's video: a few seconds of a generated test pattern as HLS (H.264 in
fragmented MP4), committed under services/storefront/static/demo-stream/. `make up` does
not run this; the files are in git. Run it again only to change the loop:

    python3 -m venv /tmp/avenv && /tmp/avenv/bin/pip install av
    /tmp/avenv/bin/python infra/local/make_demo_stream.py

PyAV (`av`) bundles FFmpeg, so no ffmpeg binary is needed; it is not a livecart
dependency. H.264 because every browser plays it: Chromium and Firefox through hls.js
(MediaSource), Safari natively.
"""

import importlib
import math
import shutil
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[2] / "services/storefront/static/demo-stream"
WIDTH, HEIGHT = 360, 640  # a phone's vertical live, 9:16
FPS = 24
SECONDS = 6
SEGMENT_SECONDS = 2

# A 5x7 pixel font for just the letters the pattern writes.
GLYPHS = {
    "l": ["01100", "00100", "00100", "00100", "00100", "00100", "01110"],
    "i": ["00100", "00000", "01100", "00100", "00100", "00100", "01110"],
    "v": ["00000", "00000", "10001", "10001", "10001", "01010", "00100"],
    "e": ["00000", "00000", "01110", "10001", "11111", "10000", "01110"],
    "c": ["00000", "00000", "01110", "10000", "10000", "10001", "01110"],
    "a": ["00000", "00000", "01110", "00001", "01111", "10001", "01111"],
    "r": ["00000", "00000", "10110", "11001", "10000", "10000", "10000"],
    "t": ["01000", "01000", "11100", "01000", "01000", "01001", "00110"],
    "d": ["00001", "00001", "01101", "10011", "10001", "10001", "01111"],
    "m": ["00000", "00000", "11010", "10101", "10101", "10001", "10001"],
    "o": ["00000", "00000", "01110", "10001", "10001", "10001", "01110"],
    " ": ["00000"] * 7,
}
YELLOW = (255, 212, 59)
WHITE = (244, 244, 246)
BARS = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192), (192, 0, 0)]


def background() -> bytearray:
    """Colour bars on top, a dark purple gradient below (the room's palette)."""
    rows = bytearray()
    bar_width = WIDTH // len(BARS) + 1
    bars_row = bytes(
        channel for x in range(WIDTH) for channel in BARS[min(x // bar_width, len(BARS) - 1)]
    )
    for y in range(HEIGHT):
        if y < HEIGHT // 6:
            rows += bars_row
        else:
            f = y / HEIGHT
            rows += bytes((int(58 - 43 * f), int(28 - 13 * f), int(113 - 94 * f))) * WIDTH
    return rows


def fill(frame: bytearray, x0: int, y0: int, w: int, h: int, rgb: tuple[int, int, int]) -> None:
    x0, y0 = max(x0, 0), max(y0, 0)
    w, h = min(w, WIDTH - x0), min(h, HEIGHT - y0)
    if w <= 0 or h <= 0:
        return
    line = bytes(rgb) * w
    for y in range(y0, y0 + h):
        start = (y * WIDTH + x0) * 3
        frame[start : start + w * 3] = line


def write(frame: bytearray, text: str, *, y: int, scale: int, rgb: tuple[int, int, int]) -> None:
    """`text` centred at row `y`, each font pixel a `scale`-sized square."""
    x = (WIDTH - len(text) * 6 * scale) // 2
    for char in text:
        for row, bits in enumerate(GLYPHS[char]):
            for col, bit in enumerate(bits):
                if bit == "1":
                    fill(frame, x + col * scale, y + row * scale, scale, scale, rgb)
        x += 6 * scale


def disc(frame: bytearray, cx: int, cy: int, r: int, rgb: tuple[int, int, int]) -> None:
    for dy in range(-r, r + 1):
        half = int(math.sqrt(r * r - dy * dy))
        fill(frame, cx - half, cy + dy, 2 * half + 1, 1, rgb)


def frames() -> list[bytes]:
    base = background()
    write(base, "livecart", y=HEIGHT // 2 - 50, scale=5, rgb=YELLOW)
    write(base, "demo", y=HEIGHT // 2 + 4, scale=5, rgb=WHITE)
    out = []
    total = FPS * SECONDS
    for n in range(total):
        frame = bytearray(base)
        # One full swing per loop, so the loop's end meets its start.
        phase = 2 * math.pi * n / total
        disc(frame, WIDTH // 2 + int(100 * math.sin(phase)), HEIGHT - 190, 26, YELLOW)
        disc(frame, WIDTH // 2 - int(100 * math.sin(phase)), HEIGHT - 250, 12, WHITE)
        fill(frame, 0, HEIGHT - 8, WIDTH * (n + 1) // total, 8, YELLOW)  # where in the loop
        out.append(bytes(frame))
    return out


def main() -> None:
    av: Any = importlib.import_module("av")
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    options = {
        "hls_time": str(SEGMENT_SECONDS),
        "hls_playlist_type": "vod",
        "hls_segment_type": "fmp4",
        "hls_fmp4_init_filename": "init.mp4",
        "hls_segment_filename": str(OUT / "segment%d.m4s"),
    }
    container = av.open(str(OUT / "index.m3u8"), mode="w", format="hls", options=options)
    stream = container.add_stream("libx264", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    # Main profile, a key frame at every segment start, small: a low-motion pattern.
    stream.options = {"profile": "main", "crf": "30", "preset": "slow",
                      "g": str(FPS * SEGMENT_SECONDS), "keyint_min": str(FPS * SEGMENT_SECONDS),
                      "sc_threshold": "0"}  # fmt: skip
    for picture in frames():
        frame = av.VideoFrame(WIDTH, HEIGHT, "rgb24")
        plane, row = frame.planes[0], WIDTH * 3
        pad = bytes(plane.line_size - row)  # FFmpeg aligns each row of the plane
        plane.update(b"".join(picture[y * row : (y + 1) * row] + pad for y in range(HEIGHT)))
        for packet in stream.encode(frame.reformat(format="yuv420p")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    size = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"{OUT}: {sorted(f.name for f in OUT.iterdir())}, {size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
