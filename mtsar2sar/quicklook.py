"""Quicklooks: noisy and despeckled side by side, in dB, with one display range.

Written as greyscale JPEG (quality 85): the noisy panel is speckle, which PNG cannot compress (450 KB
for two 512 x 512 panels; 90 KB as JPEG), and the report embeds every quicklook. Drawn with Pillow
alone: matplotlib took 0.45 s to import and 0.07-0.2 s a quicklook, more than despeckling a small date."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont, features

from mtsar2sar.io import atomic_path

DPI, JPEG_QUALITY = 90, 85  # a panel of ``panel_inches`` is panel_inches x DPI pixels wide
FONT_PX, TITLE_PX = 13, 15
WHITE, BLACK = 255, 0  # invalid pixels are white, as the page
MIN_RANGE_DB = 1.0  # the narrowest display range: a constant image is drawn mid-grey
MAX_PANEL_ASPECT = 4  # a panel at most 4 times as tall as the nominal panel width (JPEG: 65,500 px at most)
BAR_LABEL = "intensity [dB]"


def to_db(intensity: NDArray[np.floating]) -> NDArray[np.float64]:
    x = np.asarray(intensity, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(x) & (x > 0), 10 * np.log10(x), np.nan)


def display_range(*images_db: NDArray[np.floating]) -> tuple[float, float]:
    """One range for all panels: 1st to 99.5th percentile of the first (despeckled) image's dB values
    (of the next image with any where it has none; 0-1 dB where none has), at least ``MIN_RANGE_DB`` wide
    (a constant image is shown mid-grey, its value in the middle of the colour bar)."""
    lo, hi = 0.0, 1.0
    for image in images_db:
        v = image[np.isfinite(image)]
        if v.size:
            lo, hi = float(np.percentile(v, 1)), float(np.percentile(v, 99.5))
            break
    if hi - lo < MIN_RANGE_DB:
        mid = (lo + hi) / 2
        lo, hi = mid - MIN_RANGE_DB / 2, mid + MIN_RANGE_DB / 2
    return lo, hi


def save_side_by_side(path: str | Path, panels: dict[str, NDArray[np.floating]], title: str = "") -> None:
    """Write a greyscale JPEG with each intensity image of ``panels`` in dB, sharing the despeckled range."""
    save_rows(path, {"": panels}, title, panel_inches=4.2)


def grey_levels(image_db: NDArray[np.floating], vmin: float, vmax: float) -> NDArray[np.uint8]:
    """dB values to grey levels: ``vmin`` black, ``vmax`` white, clipped; invalid (NaN) white."""
    span = max(vmax - vmin, 1e-12)
    with np.errstate(invalid="ignore"):
        g = np.clip(np.rint((image_db - vmin) / span * 255.0), 0, 255)
    return np.where(np.isfinite(image_db), g, WHITE).astype(np.uint8)


def nice_ticks(vmin: float, vmax: float, most: int = 6) -> list[float]:
    """Round values (steps of 1, 2, 2.5 or 5 x 10^k) inside [vmin, vmax], at most ``most`` (>= 2) of them;
    none for an empty or non-finite range."""
    span = vmax - vmin
    if not (np.isfinite(span) and span > 0):
        return []
    most = max(2, most)
    exponent = np.floor(np.log10(span / most))
    for k in (exponent, exponent + 1):
        for m in (1, 2, 2.5, 5):
            step = m * 10.0**k
            first, last = int(np.ceil(vmin / step)), int(np.floor(vmax / step))
            if last - first + 1 <= most:
                decimals = max(0, int(-np.floor(np.log10(step))) + (1 if m == 2.5 else 0))
                return [float(round(i * step, decimals)) + 0.0 for i in range(first, last + 1)]
    return [vmin, vmax]


def _text_width(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> int:
    left, _, right, _ = font.getbbox(text)
    return int(np.ceil(right - left))


def _fonts() -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, ImageFont.FreeTypeFont | ImageFont.ImageFont]:
    """Pillow's own font at the text and title sizes; its fixed bitmap font where Pillow has no FreeType."""
    if features.check("freetype2"):
        return ImageFont.load_default(FONT_PX), ImageFont.load_default(TITLE_PX)
    bitmap = ImageFont.load_default_imagefont()
    return bitmap, bitmap


def _colour_bar(draw: ImageDraw.ImageDraw, canvas: Image.Image, x: int, y: int, height: int, vmin: float,
                vmax: float, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, label: str = BAR_LABEL) -> None:
    """A vertical grey ramp from ``vmax`` (top) to ``vmin``, its ticks (as many as fit) and its ``label``."""
    ramp = np.linspace(255, 0, height).astype(np.uint8)[:, None].repeat(12, axis=1)
    canvas.paste(Image.fromarray(ramp, "L"), (x, y))
    draw.rectangle([x, y, x + 11, y + height - 1], outline=BLACK)
    widest = 0
    for t in nice_ticks(vmin, vmax, most=height // (3 * FONT_PX)):
        ty = y + round((vmax - t) / (vmax - vmin) * (height - 1))
        draw.line([x + 12, ty, x + 15, ty], fill=BLACK)
        tick = f"{t:g}"
        draw.text((x + 18, ty), tick, fill=BLACK, font=font, anchor="lm")
        widest = max(widest, _text_width(font, tick))
    box = Image.new("L", (_text_width(font, label) + 2, FONT_PX + 4), WHITE)
    ImageDraw.Draw(box).text((1, 0), label, fill=BLACK, font=font)
    box = box.rotate(90, expand=True)
    canvas.paste(box, (x + 22 + widest, y + (height - box.height) // 2))


def save_rows(path: str | Path, rows: dict[str, dict[str, NDArray[np.floating]]], title: str = "",
              panel_inches: float = 4.2) -> None:
    """A greyscale JPEG of rows of panels (e.g. one row per date: noisy, despeckled), each row in dB in
    the display range of its last panel, with its colour bar; a row's label (when not empty) prefixes
    its panels' titles. Images are resized to the panel by nearest pixel (enlarged) or by block means
    of their grey levels (reduced); a panel is ``panel_inches`` x ``DPI`` pixels wide, or narrower for
    an image more than ``MAX_PANEL_ASPECT`` times as tall as wide."""
    font, title_font = _fonts()
    n_rows, n_cols = len(rows), max(len(p) for p in rows.values())
    h, w = next(iter(next(iter(rows.values())).values())).shape
    nominal = round(panel_inches * DPI)
    pw, ph = nominal, max(1, round(nominal * h / w))
    if ph > MAX_PANEL_ASPECT * nominal:
        ph = MAX_PANEL_ASPECT * nominal
        pw = max(1, round(ph * w / h))
    row_height = max(ph, _text_width(font, BAR_LABEL) + 12)  # room for the colour bar's label
    gap, head, margin, bar = 8, FONT_PX + 8, 5, 12 + 22 + 6 * FONT_PX
    top = margin + (TITLE_PX + 10 if title else 0)
    width = margin + n_cols * pw + (n_cols - 1) * gap + 10 + bar
    height = top + n_rows * (head + row_height) + (n_rows - 1) * gap + margin
    canvas = Image.new("L", (width, height), WHITE)
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((width // 2, margin), title, fill=BLACK, font=title_font, anchor="mt")
    for r, (label, panels) in enumerate(rows.items()):
        dbs = {k: to_db(v) for k, v in panels.items()}
        vmin, vmax = display_range(*reversed(list(dbs.values())))
        y = top + r * (head + row_height + gap)
        for c, (name, img) in enumerate(dbs.items()):
            x = margin + c * (pw + gap)
            panel = Image.fromarray(grey_levels(img, vmin, vmax), "L")
            resample = Image.Resampling.NEAREST if pw >= img.shape[1] else Image.Resampling.BOX
            canvas.paste(panel.resize((pw, ph), resample), (x, y + head))
            draw.text((x + pw // 2, y + head - 4), f"{label} {name}".strip(), fill=BLACK, font=font, anchor="md")
        bar_height = max(2, round(0.8 * row_height))
        _colour_bar(draw, canvas, margin + n_cols * pw + (n_cols - 1) * gap + 10,
                    y + head + (row_height - bar_height) // 2, bar_height, vmin, vmax, font)
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="JPEG", quality=JPEG_QUALITY, optimize=True)


# The helpers above, for other sheets drawn with the same look (mtsar2sar.quality_sheet).
fonts = _fonts
text_width = _text_width
colour_bar = _colour_bar


def bar_width(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, vmin: float, vmax: float, height: int) -> int:
    """The width (px) :func:`colour_bar` draws: the ramp, its tick labels and its rotated label."""
    widest = max((_text_width(font, f"{t:g}") for t in nice_ticks(vmin, vmax, most=height // (3 * FONT_PX))), default=0)
    return 22 + widest + FONT_PX + 6
