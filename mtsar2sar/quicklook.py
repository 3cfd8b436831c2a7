"""Quicklooks: noisy and despeckled side by side, in dB, with one display range."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from mtsar2sar.io import atomic_path


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
    """Write a PNG with each intensity image of ``panels`` in dB, sharing the despeckled range."""
    dbs = {k: to_db(v) for k, v in panels.items()}
    vmin, vmax = display_range(*reversed(list(dbs.values())))
    n = len(dbs)
    h, w = next(iter(dbs.values())).shape
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.2 * h / w + 0.6), squeeze=False, constrained_layout=True)
    for ax, (name, img) in zip(axes[0], dbs.items()):
        im = ax.imshow(img, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_axis_off()
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="intensity [dB]")
    if title:
        fig.suptitle(title, fontsize=11)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
