"""The AOI's quality sheet: one PNG page of the scores of :mod:`mtsar2sar.quality`, to see them.

A header with the AOI and its aggregate line; then one row per date shown (:func:`sheet_dates`: a few
evenly spaced dates and every flagged one): the noisy date and the despeckled one in dB in one display
range (the despeckled date's, :func:`mtsar2sar.quicklook.display_range`), the ratio noisy / despeckled
in linear units from 0 to 2 (pure speckle is grey around 1, the same range on every row and every AOI)
with the homogeneous areas its mean and ENL are measured on outlined in colour, and under the row the
date's verdict line with a coloured mark (green ok, orange warning, red fail).

The page is an 8-bit palette PNG: greys for the panels and the text (drawn in greyscale with
:mod:`mtsar2sar.quicklook`'s helpers) and a few colours: 0.7 MB for the 4 rows of a 512 x 512 demo
AOI (speckle does not compress), 0.25 MB for a 100 x 100 OPERA stack; RGB would be three times that, and
JPEG would smear the outlines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from mtsar2sar.io import atomic_path, read_intensity, read_product
from mtsar2sar.quality import (
    FAIL,
    OK,
    STATUS_ORDER,
    WARNING,
    AoiQuality,
    DateQuality,
    homogeneous_areas,
    window_reads,
)
from mtsar2sar.quicklook import (
    BLACK,
    FONT_PX,
    TITLE_PX,
    WHITE,
    bar_width,
    colour_bar,
    display_range,
    fonts,
    grey_levels,
    text_width,
    to_db,
)

Array = NDArray[np.floating]

PANEL_PX = 256  # the panels' largest side (px): images are averaged over k x k blocks, or enlarged, to it
SHEET_DATES = 4  # evenly spaced dates always shown
MAX_ROWS = 10  # at most this many rows: the evenly spaced dates, then the flagged ones, worst first
RATIO_RANGE = (0.0, 2.0)  # the ratio's display range: 1 (pure speckle's mean) is mid-grey
RATIO_LABEL = "ratio noisy / despeckled"
# the palette: indices 0..GREYS-1 are greys from black to white, then the colours
GREYS = 248
OUTLINE, MARK_OK, MARK_WARNING, MARK_FAIL = 248, 249, 250, 251
COLOURS = {OUTLINE: (0, 190, 255), MARK_OK: (0, 150, 0), MARK_WARNING: (230, 140, 0), MARK_FAIL: (210, 0, 0)}
MARKS = {OK: MARK_OK, WARNING: MARK_WARNING, FAIL: MARK_FAIL}


def sheet_dates(report: AoiQuality, count: int = SHEET_DATES, most: int = MAX_ROWS) -> list[str]:
    """The dates a sheet shows, in order: ``count`` evenly spaced ones and every flagged one (warning or
    fail), at most ``most`` in all (the flagged dates worst first, then in order, fill what is left)."""
    dates = [d.date for d in report.dates]
    if not dates:
        return []
    idx = sorted({int(i) for i in np.linspace(0, len(dates) - 1, min(count, len(dates))).round()})
    chosen = [dates[i] for i in idx][:most]
    flagged = sorted((d for d in report.dates if d.verdict.status != OK and d.date not in chosen),
                     key=lambda d: -STATUS_ORDER[d.verdict.status])
    chosen += [d.date for d in flagged[: max(0, most - len(chosen))]]
    return sorted(chosen, key=dates.index)


def panel_size(shape: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of a sheet's panels for images of ``shape``: :data:`PANEL_PX` the longer side."""
    h, w = shape
    return (PANEL_PX, max(1, round(PANEL_PX * h / w))) if w >= h else (max(1, round(PANEL_PX * w / h)), PANEL_PX)


GAP, MARGIN = 8, 6


def sheet_width(shape: tuple[int, int]) -> int:
    """The sheet's width (px) for images of ``shape``: three panels, the dB and the ratio colour bars."""
    font, _ = fonts()
    pw, ph = panel_size(shape)
    return MARGIN + 2 * pw + GAP + 8 + _db_bar_width(ph) + GAP + pw + 8 + bar_width(font, *RATIO_RANGE, ph) + MARGIN


def _db_bar_width(height: int) -> int:
    """Room for a dB colour bar whatever its range: tick labels as wide as "-12.5"."""
    font, _ = fonts()
    return max(bar_width(font, -30.0, 10.0, height), 22 + text_width(font, "-12.5") + FONT_PX + 6)


def _panel(image: NDArray[np.uint8], width: int, height: int) -> Image.Image:
    """Grey levels to a panel: enlarged by nearest pixel, reduced by block means (as quicklook.save_rows)."""
    panel = Image.fromarray(image, "L")
    resample = Image.Resampling.NEAREST if width >= image.shape[1] else Image.Resampling.BOX
    return panel.resize((width, height), resample)


def _outline(mask: NDArray[np.bool_], width: int, height: int) -> NDArray[np.bool_]:
    """The boundary pixels of ``mask`` at the panel's size (inside pixels with an outside 4-neighbour)."""
    small = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255, "L").resize((width, height), Image.Resampling.NEAREST)) > 127
    pad = np.pad(small, 1, constant_values=False)
    inner = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    return small & ~inner


def _wrap(text: str, width: int, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> list[str]:
    """Greedy word wrap of ``text`` to ``width`` pixels in ``font``."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        trial = f"{current} {word}".strip()
        if current and text_width(font, trial) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    return [*lines, current] if current else lines


def _to_palette(grey: Image.Image) -> NDArray[np.uint8]:
    """Grey levels 0..255 to the palette's grey indices."""
    return np.rint(np.asarray(grey, dtype=np.float64) * (GREYS - 1) / 255.0).astype(np.uint8)


def _palette() -> list[int]:
    pal: list[int] = []
    for i in range(256):
        if i < GREYS:
            g = round(i * 255 / (GREYS - 1))
            pal += [g, g, g]
        else:
            pal += list(COLOURS.get(i, (255, 255, 255)))
    return pal


def save_quality_sheet(path: str | Path, report: AoiQuality, images: Mapping[str, tuple[Array, Array]],
                       mask: NDArray[np.bool_] | None = None, title: str | None = None) -> None:
    """Write the sheet of ``report`` as a PNG: one row per date of ``images`` (date -> (noisy, despeckled),
    e.g. those of :func:`sheet_dates`; dates missing from the report are drawn without a verdict), the
    homogeneous areas ``mask`` (of the images' shape) outlined on the ratios."""
    font, title_font = fonts()
    by_date: dict[str, DateQuality] = {d.date: d for d in report.dates}
    rows = sorted(images)
    if not rows:
        raise ValueError(f"{report.aoi}: no date to draw")
    h, w = np.asarray(images[rows[0]][0]).shape
    pw, ph = panel_size((h, w))
    gap, margin, head = GAP, MARGIN, FONT_PX + 8
    db_bar = _db_bar_width(ph)
    width = sheet_width((h, w))
    text_w = width - 2 * margin - 16
    header = [f"Quality of {report.aoi}" if title is None else title]
    summary = _wrap(report.line, width - 2 * margin, font)
    if report.leave_out is not None:  # outputs.quality_leave_out: mtsar2sar.leaveout's line
        summary += _wrap(str(report.leave_out["line"]), width - 2 * margin, font)
    legend = _wrap(f"ratio = noisy / despeckled, {RATIO_RANGE[0]:g} to {RATIO_RANGE[1]:g} (pure speckle: mean 1, mid-grey, no"
                   " structure); outlined: the homogeneous areas of the super-image where the ratio's mean and ENL are"
                   " measured", width - 2 * margin, font)
    hidden = [d for d in report.flagged if d not in images]
    if hidden:
        legend += _wrap(f"{len(hidden)} more flagged dates not shown: {', '.join(hidden)}", width - 2 * margin, font)
    verdicts = {d: _wrap(by_date[d].verdict.line, text_w, font) if d in by_date else [] for d in rows}
    line_px = FONT_PX + 4
    top = margin + TITLE_PX + 8 + (len(summary) + len(legend)) * line_px + gap
    row_heights = [head + ph + 4 + max(1, len(verdicts[d])) * line_px + gap for d in rows]
    height = top + sum(row_heights) + margin
    canvas = Image.new("L", (width, height), WHITE)
    draw = ImageDraw.Draw(canvas)
    draw.text((width // 2, margin), header[0], fill=BLACK, font=title_font, anchor="mt")
    y = margin + TITLE_PX + 8
    for line in summary + legend:
        draw.text((margin, y), line, fill=BLACK, font=font)
        y += line_px
    overlays: list[tuple[int, int, NDArray[np.bool_], int]] = []  # (x, y, pixels, palette index)
    y = top
    for d, rh in zip(rows, row_heights, strict=True):
        noisy = np.asarray(images[d][0], dtype=np.float64)
        est = np.asarray(images[d][1], dtype=np.float64)
        if noisy.shape != (h, w) or est.shape != (h, w):
            raise ValueError(f"{d}: the images of a sheet must all have the shape {(h, w)}")
        n_db, e_db = to_db(noisy), to_db(est)
        vmin, vmax = display_range(e_db, n_db)
        ok = np.isfinite(noisy) & (noisy > 0) & np.isfinite(est) & (est > 0)
        ratio = np.where(ok, noisy / np.where(ok, est, 1.0), np.nan)
        x = margin
        for name, img in ((f"{d} noisy", grey_levels(n_db, vmin, vmax)), ("despeckled", grey_levels(e_db, vmin, vmax))):
            canvas.paste(_panel(img, pw, ph), (x, y + head))
            draw.text((x + pw // 2, y + head - 4), name, fill=BLACK, font=font, anchor="md")
            x += pw + gap
        colour_bar(draw, canvas, x, y + head, ph, vmin, vmax, font)
        x += db_bar + gap + 8
        canvas.paste(_panel(grey_levels(ratio, *RATIO_RANGE), pw, ph), (x, y + head))
        draw.text((x + pw // 2, y + head - 4), "ratio", fill=BLACK, font=font, anchor="md")
        if mask is not None and mask.any():
            overlays.append((x, y + head, _outline(mask, pw, ph), OUTLINE))
        colour_bar(draw, canvas, x + pw + 8, y + head, ph, *RATIO_RANGE, font, label="ratio")
        ty = y + head + ph + 4
        q = by_date.get(d)
        if q is not None:
            mark = np.ones((FONT_PX - 3, FONT_PX - 3), dtype=bool)
            overlays.append((margin, ty + 3, mark, MARKS[q.verdict.status]))
            for i, line in enumerate(verdicts[d]):
                draw.text((margin + 16, ty + i * line_px), line, fill=BLACK, font=font)
        y += rh
    page = _to_palette(canvas)
    for ox, oy, pixels, index in overlays:
        region = page[oy : oy + pixels.shape[0], ox : ox + pixels.shape[1]]
        region[pixels[: region.shape[0], : region.shape[1]]] = index
    out = Image.fromarray(page, "P")
    out.putpalette(_palette())
    with atomic_path(path) as tmp:
        out.save(tmp, format="PNG", optimize=True)


def quality_sheet_files(path: str | Path, report: AoiQuality, date_files: Mapping[str, str | Path], domain: str,
                        band: int | None, despeckled: Mapping[str, str | Path], super_image: str | Path) -> None:
    """:func:`save_quality_sheet` on the files of an AOI: the dates of :func:`sheet_dates`, read in the
    window the report scored (the whole image when it has none)."""
    from mtsar2sar.io import read_grid

    rows, cols = window_reads(report.window, read_grid(super_image).shape)
    s = read_product(super_image, rows)[0][:, cols]
    images = {d: (read_intensity(date_files[d], domain, band, rows)[0][:, cols], read_product(despeckled[d], rows)[0][:, cols])
              for d in sheet_dates(report)}
    save_quality_sheet(path, report, images, homogeneous_areas(s))

