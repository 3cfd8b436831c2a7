"""Figures: the layout of the paper's Fig. 1, metrics per date, and the ratio images of each method."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from mtsar2sar.io import atomic_path
from mtsar2sar.quicklook import to_db

FIG1_PANELS = [
    ("mulog", "(a) MuLoG-BM3D"),
    ("mulog_down2", "(b) MuLoG-BM3D, down-sampled by 2"),
    ("sar2sar", "(c) SAR2SAR"),
    ("rabasar", "(d) RABASAR (MuLoG-BM3D on the ratio)"),
    ("rabasar_down2", "(e) RABASAR, down-sampled by 2"),
    ("ratio_sar2sar", "(f) ratio + SAR2SAR (this workflow)"),
]


def _save(fig: plt.Figure, path: str | Path) -> None:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip("."), metadata={"CreationDate": None} if path.suffix == ".pdf" else None)


def zoom_box(shape: tuple[int, int], size: int | None = None) -> tuple[slice, slice]:
    """A central window of about a quarter of the image side, for the insets."""
    h, w = shape
    s = size or max(16, min(h, w) // 4)
    r0, c0 = (h - s) // 2, (w - s) // 2
    return slice(r0, r0 + s), slice(c0, c0 + s)


def figure1(images: Mapping[str, NDArray[np.floating]], date: str, aoi: str, paths: list[str | Path]) -> None:
    """Left column: the single date and the super-image; then the six strategies (a)-(f), one dB
    display range (that of the date's ratio + SAR2SAR result), each with a zoomed inset."""
    ref = to_db(images.get("ratio_sar2sar", images["noisy"]))
    v = ref[np.isfinite(ref)]
    vmin, vmax = float(np.percentile(v, 1)), float(np.percentile(v, 99.5))
    box = zoom_box(ref.shape)
    fig, axes = plt.subplots(2, 4, figsize=(16, 8.4), constrained_layout=True)
    layout = [("noisy", f"date {date} (noisy)"), *FIG1_PANELS[:3], ("super_image", "super-image (filtered)"), *FIG1_PANELS[3:]]
    for ax, (key, label) in zip(axes.ravel(), layout):
        ax.set_axis_off()
        if key not in images:
            ax.set_title(f"{label}\n(not computed)", fontsize=9)
            continue
        img = to_db(images[key])
        ax.imshow(img, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ins = ax.inset_axes([0.62, 0.0, 0.38, 0.38])
        ins.imshow(img[box], cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
        ins.set_xticks([])
        ins.set_yticks([])
        for sp in ins.spines.values():
            sp.set_edgecolor("yellow")
        ax.add_patch(plt.Rectangle((box[1].start, box[0].start), box[1].stop - box[1].start,
                                   box[0].stop - box[0].start, fill=False, edgecolor="yellow", lw=0.8))
    fig.suptitle(f"{aoi}: strategies of the comparison, {date} (display {vmin:.0f} to {vmax:.0f} dB)")
    for p in paths:
        _save(fig, p)
    plt.close(fig)


def metric_per_date(metrics_csv: str | Path, metric: str, path: str | Path, aoi: str) -> None:
    """One line per method: ``metric`` against the date."""
    with open(metrics_csv, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["metric"] == metric]
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    for m in dict.fromkeys(r["method"] for r in rows):
        pts = sorted((r["date"], float(r["value"])) for r in rows if r["method"] == m)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=m)
    ax.set_xlabel("date")
    ax.set_ylabel(metric)
    ax.set_title(f"{aoi}: {metric} per date and method")
    ax.legend(fontsize=8, ncol=2)
    _save(fig, path)
    plt.close(fig)


def ratio_images(noisy: NDArray[np.floating], estimates: Mapping[str, NDArray[np.floating]], path: str | Path, title: str) -> None:
    """The ratio images ``w / w_hat`` of each method, in dB (pure speckle = no structure)."""
    n = len(estimates)
    cols = min(4, n)
    rows_ = -(-n // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(4 * cols, 4 * rows_), constrained_layout=True, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, (name, est) in zip(axes.ravel(), estimates.items()):
        r = to_db(np.asarray(noisy, dtype=np.float64) / np.asarray(est, dtype=np.float64))
        ax.imshow(r, cmap="gray", vmin=-10, vmax=5, interpolation="nearest")
        ax.set_title(f"{name}: w / w_hat", fontsize=9)
    fig.suptitle(title)
    _save(fig, path)
    plt.close(fig)
