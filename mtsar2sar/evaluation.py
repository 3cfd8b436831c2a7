"""Evaluation of the methods of an AOI: a long table of metrics and a method x metric summary.

With a truth (simulated AOIs): PSNR on amplitude and on log-intensity, SSIM on log-intensity, the
mean bias in dB, and the log-intensity PSNR on the pixels that change over time. Without one (and
with one too): the ENL of the estimate on the most homogeneous windows of the filtered super-image,
the ratio-image statistics (mean, ENL, edge correlation) and the held-out-date NLL (another date of
the stack given the estimate, on pixels stable between the two dates: :func:`mtsar2sar.realscore.leftout_nll`).
See :mod:`mtsar2sar.metrics` and :mod:`mtsar2sar.realscore`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mtsar2sar import metrics as mt
from mtsar2sar.io import atomic_path, read_intensity, read_product
from mtsar2sar.realscore import leftout_nll

# How to rank each metric: "max", "min", "abs" (closest to 0), "one" (closest to 1), "looks".
DIRECTION = {
    "psnr_amplitude": "max", "psnr_log": "max", "ssim_log": "max", "bias_db": "abs", "psnr_log_changed": "max",
    "enl_homogeneous": "max", "ratio_mean": "one", "ratio_enl": "looks", "ratio_edge_correlation": "abs",
    "heldout_nll": "min",
}


def evaluate_date(
    estimate: np.ndarray, noisy: np.ndarray, other: np.ndarray, looks: float,
    windows: list[tuple[slice, slice]], truth: np.ndarray | None, changed: np.ndarray | None,
) -> dict[str, float]:
    out: dict[str, float] = {}
    if truth is not None:
        out["psnr_amplitude"] = mt.psnr_amplitude(estimate, truth)
        out["psnr_log"] = mt.psnr_log(estimate, truth)
        out["ssim_log"] = mt.ssim_log(estimate, truth)
        out["bias_db"] = mt.bias_db(estimate, truth)
        if changed is not None and changed.any():
            out["psnr_log_changed"] = mt.psnr_log(estimate, truth, changed)
    out["enl_homogeneous"] = mt.enl_on_windows(estimate, windows)
    out.update(mt.ratio_statistics(noisy, estimate))
    out["heldout_nll"] = leftout_nll(estimate, other, mt.stable_pixels(noisy, other), looks)
    return out


def evaluate_aoi(
    methods: Mapping[str, Mapping[str, str | Path]],
    files: Mapping[str, str | Path],
    domain: str,
    band: int | None,
    looks: float,
    all_dates: list[str],
    super_image: str | Path,
    truth: Mapping[str, str | Path] | None = None,
    changed: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Rows (method, date, metric, value) for every method (name -> date -> file)."""
    s, _ = read_product(super_image)
    windows = mt.homogeneous_windows(s)
    chg = read_product(changed)[0] > 0.5 if changed else None
    rows = []
    dates = sorted({d for m in methods.values() for d in m})
    for date in dates:
        w, _ = read_intensity(files[date], domain, band)
        k = all_dates.index(date)
        other_date = all_dates[k + 1] if k + 1 < len(all_dates) else all_dates[k - 1]
        other, _ = read_intensity(files[other_date], domain, band)
        v = read_product(truth[date])[0] if truth else None
        for name in ["noisy", *methods]:
            est = w if name == "noisy" else read_product(methods[name][date])[0]
            for metric, value in evaluate_date(est, w, other, looks, windows, v, chg).items():
                rows.append({"method": name, "date": date, "metric": metric, "value": value})
    return rows


def summary_markdown(rows: list[dict[str, Any]], looks: float, title: str) -> str:
    """Method x metric table (mean over dates), the best of each metric in bold."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    metrics = [m for m in DIRECTION if any(r["metric"] == m for r in rows)]
    table: dict[tuple[str, str], float] = {}
    for m in methods:
        for k in metrics:
            vals = [r["value"] for r in rows if r["method"] == m and r["metric"] == k]
            table[m, k] = float(np.mean(vals)) if vals else float("nan")
    def badness(value: float, direction: str) -> float:
        """Lower is better, for every direction of DIRECTION."""
        if direction == "max":
            return -value
        if direction == "min":
            return value
        if direction == "abs":
            return abs(value)
        if direction == "one":
            return abs(value - 1)
        return abs(float(np.log(value / looks)))  # "looks"

    best: dict[str, str | None] = {}
    for k in metrics:
        cands = [m for m in methods if m != "noisy" and np.isfinite(table[m, k])]
        best[k] = min(cands, key=lambda m: badness(table[m, k], DIRECTION[k])) if cands else None
    lines = [f"# {title}", "", f"Mean over dates; best (excluding noisy) in bold; input looks L = {looks:g}.", "",
             "| method | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for m in methods:
        cells = []
        for k in metrics:
            cell = f"{table[m, k]:.3f}"
            cells.append(f"**{cell}**" if best[k] == m else cell)
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(rows: list[dict[str, Any]], csv_path: str | Path, md_path: str | Path, aoi: str, looks: float) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["aoi", "method", "date", "metric", "value"])
    writer.writeheader()
    for r in rows:
        writer.writerow({"aoi": aoi, **r, "value": f"{r['value']:.6g}"})
    with atomic_path(csv_path) as tmp:
        tmp.write_text(buf.getvalue())
    with atomic_path(md_path) as tmp:
        tmp.write_text(summary_markdown(rows, looks, f"Metrics of {aoi}"))
