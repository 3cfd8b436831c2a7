"""Print the quality of the despeckled dates of a finished AOI.

With a truth (simulated AOIs): PSNR on amplitude (peak = 99th percentile of the truth amplitude) and
on log-intensity, mean over dates, for the noisy dates, a 7 x 7 boxcar, the super-image and the
despeckled dates. Without a truth: ENL on the most homogeneous 15 x 15 window of the super-image,
before and after, and the mean of the ratio noisy / despeckled.

    .venv/bin/python benchmarks/despeckling_quality.py results/demo_4look
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from mtsar2sar.enl import enl_moments
from mtsar2sar.io import read_product
from mtsar2sar.layout import AoiFolder
from mtsar2sar.methods import boxcar
from mtsar2sar.metrics import most_homogeneous_window, psnr_amplitude, psnr_log, ratio_mean


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("aoi_dir", type=Path)
    ap.add_argument("--window", type=int, default=15)
    args = ap.parse_args()
    d = AoiFolder(args.aoi_dir)
    report = json.loads(d.coregistration.read_text())
    files = {r["date"]: Path(r["file"]) for r in report["dates"] if r["status"] == "kept"}
    s, _ = read_product(d.super_image_filtered)
    truth_dir = d.simulated_dir / "truth"
    rows: dict[str, list[tuple[float, float]]] = {"noisy": [], "boxcar 7x7": [], "super-image": [], "ratio + SAR2SAR": []}
    enl_rows: dict[str, list[float]] = {"noisy": [], "despeckled": []}
    ratios = []
    win = most_homogeneous_window(s, args.window)
    for date, f in files.items():
        w, _ = read_product(f)
        w_hat, _ = read_product(d.despeckled(date))
        ratios.append(ratio_mean(w, w_hat))
        enl_rows["noisy"].append(enl_moments(w[win]))
        enl_rows["despeckled"].append(enl_moments(w_hat[win]))
        if truth_dir.exists():
            v, _ = read_product(d.truth(date))
            for name, est in (("noisy", w), ("boxcar 7x7", boxcar(w)), ("super-image", s), ("ratio + SAR2SAR", w_hat)):
                rows[name].append((psnr_amplitude(est, v), psnr_log(est, v)))
    print(f"AOI {d.root.name}: {len(files)} dates")
    if truth_dir.exists():
        print(f"{'method':<18}{'PSNR amplitude [dB]':>22}{'PSNR log-intensity [dB]':>26}")
        for name, vals in rows.items():
            a = np.array(vals)
            print(f"{name:<18}{a[:, 0].mean():>22.2f}{a[:, 1].mean():>26.2f}")
    print(f"most homogeneous {args.window}x{args.window} window of the super-image: rows {win[0].start}-{win[0].stop}, "
          f"cols {win[1].start}-{win[1].stop}")
    for name, vals in enl_rows.items():
        print(f"ENL there, {name:<11}: mean {np.mean(vals):8.2f} over dates (min {np.min(vals):.2f}, max {np.max(vals):.2f})")
    print(f"mean of the ratio noisy/despeckled: {np.mean(ratios):.4f} (per date {np.min(ratios):.4f} to {np.max(ratios):.4f})")


if __name__ == "__main__":
    main()
