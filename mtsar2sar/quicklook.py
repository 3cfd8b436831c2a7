"""Quicklooks: noisy and despeckled side by side, in dB, with one display range.

Written as greyscale JPEG (quality 85): the noisy panel is speckle, which PNG cannot compress (450 KB
for two 512 x 512 panels; 90 KB as JPEG), and the report embeds every quicklook."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mtsar2sar.io import atomic_path

DPI, JPEG_QUALITY = 90, 85


def to_db(intensity: NDArray[np.floating]) -> NDArray[np.float64]:
    x = np.asarray(intensity, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(x) & (x > 0), 10 * np.log10(x), np.nan)


def display_range(*images_db: NDArray[np.floating]) -> tuple[float, float]:
    """One range for all panels: 1st to 99.5th percentile of the first (despeckled) image's dB values."""
    ref = images_db[0]
    v = ref[np.isfinite(ref)]
    return float(np.percentile(v, 1)), float(np.percentile(v, 99.5))


def save_side_by_side(path: str | Path, panels: dict[str, NDArray[np.floating]], title: str = "") -> None:
    """Write a greyscale JPEG with each intensity image of ``panels`` in dB, sharing the despeckled range."""
    save_rows(path, {"": panels}, title, panel_inches=4.2)


def save_rows(path: str | Path, rows: dict[str, dict[str, NDArray[np.floating]]], title: str = "",
              panel_inches: float = 4.2) -> None:
    """A greyscale JPEG of rows of panels (e.g. one row per date: noisy, despeckled), each row in dB in
    the display range of its last panel; a row's label (when not empty) prefixes its panels' titles."""
    n_rows, n_cols = len(rows), max(len(p) for p in rows.values())
    h, w = next(iter(next(iter(rows.values())).values())).shape
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(panel_inches * n_cols + 0.9, (panel_inches * h / w + 0.3) * n_rows + 0.3),
                             squeeze=False, constrained_layout=True)
    for row_axes, (label, panels) in zip(axes, rows.items()):
        dbs = {k: to_db(v) for k, v in panels.items()}
        vmin, vmax = display_range(*reversed(list(dbs.values())))
        for ax, (name, img) in zip(row_axes, dbs.items()):
            im = ax.imshow(img, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_title(f"{label} {name}".strip(), fontsize=10)
            ax.set_axis_off()
        fig.colorbar(im, ax=row_axes.tolist(), shrink=0.8, label="intensity [dB]")
    if title:
        fig.suptitle(title, fontsize=11)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=DPI, format="png")
    plt.close(fig)
    buf.seek(0)
    with Image.open(buf) as im, atomic_path(path) as tmp:
        im.convert("L").save(tmp, format="JPEG", quality=JPEG_QUALITY, optimize=True)
