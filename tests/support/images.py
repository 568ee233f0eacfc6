"""Real, tiny images for upload tests, built byte by byte (no imaging library needed)."""

import struct
import zlib


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (230, 40, 90)) -> bytes:
    """A valid RGB PNG of one colour, `width` x `height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
