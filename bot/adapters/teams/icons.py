"""The Teams app icons, drawn in code: 192x192 colour and 32x32 white-on-transparent.

An upright hexagon (one side per strategy conversation) with a "typing" ellipsis inside,
rendered from signed distance functions with anti-aliasing and encoded with zlib and
struct, so no imaging library is needed for two small PNGs.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable, Iterable

ACCENT_RGB = (0x1F, 0x4E, 0x79)
ACCENT_COLOR = "#{:02X}{:02X}{:02X}".format(*ACCENT_RGB)
COLOR_SIZE = 192
OUTLINE_SIZE = 32


def color_icon() -> bytes:
    """The 192x192 full-colour icon: the white mark on an accent-coloured rounded square.

    The mark stays inside the central 120x120 pixels that Teams keeps clear of cropping.
    """
    size = COLOR_SIZE
    half = size / 2

    def pixel(x: float, y: float) -> tuple[int, int, int, int]:
        background = _coverage(_rounded_square(x, y, half, radius=size * 0.19))
        mark = _mark_coverage(x, y, size * 0.28, size * 0.065, size * 0.036, size * 0.12)
        red, green, blue = (round(c + (255 - c) * mark) for c in ACCENT_RGB)
        return red, green, blue, round(255 * background)

    return _png(size, _raster(size, pixel))


def outline_icon() -> bytes:
    """The 32x32 outline icon: the mark in white on a transparent background.

    Teams tints this icon itself, so every pixel is white and only alpha varies.
    """
    size = OUTLINE_SIZE

    def pixel(x: float, y: float) -> tuple[int, int, int, int]:
        mark = _mark_coverage(x, y, size * 0.44, size * 0.085, size * 0.065, size * 0.19)
        return 255, 255, 255, round(255 * mark)

    return _png(size, _raster(size, pixel))


def _mark_coverage(
    x: float, y: float, radius: float, stroke: float, dot: float, gap: float
) -> float:
    """How much of the pixel at (x, y) the mark covers: a hexagon ring and three dots.

    Args:
        x: pixel centre, relative to the icon's centre.
        y: pixel centre, relative to the icon's centre.
        radius: the hexagon's circumradius (centre to corner).
        stroke: the ring's width.
        dot: the radius of each dot.
        gap: the distance between the dots' centres.
    """
    ring = abs(_hexagon(y, x, radius * math.sqrt(3) / 2)) - stroke / 2  # x/y swapped: upright
    dots = min(math.hypot(x - k * gap, y) - dot for k in (-1, 0, 1))
    return max(_coverage(ring), _coverage(dots))


def _hexagon(x: float, y: float, apothem: float) -> float:
    """Signed distance to a regular hexagon with flat sides at y = ±apothem (after Quilez)."""
    kx, ky, kz = -math.sqrt(3) / 2, 0.5, 1 / math.sqrt(3)
    px, py = abs(x), abs(y)
    fold = 2 * min(kx * px + ky * py, 0.0)
    px, py = px - fold * kx, py - fold * ky
    px -= min(max(px, -kz * apothem), kz * apothem)
    py -= apothem
    return math.copysign(math.hypot(px, py), py)


def _rounded_square(x: float, y: float, half: float, radius: float) -> float:
    """Signed distance to a square of half-width `half` with corners rounded by `radius`."""
    qx, qy = abs(x) - half + radius, abs(y) - half + radius
    return math.hypot(max(qx, 0.0), max(qy, 0.0)) + min(max(qx, qy), 0.0) - radius


def _coverage(distance: float) -> float:
    """A pixel's coverage from its centre's signed distance in pixels (anti-aliasing)."""
    return min(max(0.5 - distance, 0.0), 1.0)


def _raster(
    size: int, pixel: Callable[[float, float], tuple[int, int, int, int]]
) -> Iterable[bytes]:
    """RGBA rows of a square image, `pixel` taking coordinates from the image's centre."""
    half = size / 2
    for row in range(size):
        y = row + 0.5 - half
        yield bytes(channel for column in range(size) for channel in pixel(column + 0.5 - half, y))


def _png(size: int, rows: Iterable[bytes]) -> bytes:
    """A square 8-bit RGBA PNG from its rows (filter type 0 on every row)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8 bits, RGBA
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
