"""Markdown tables of reference.py's JSON results: PSNR log (all, changed, stable), the paired difference to
the first variant per date with a 95 % t interval over dates, the change slopes and the reference's cost.

    python experiments/state_reference/tables.py results/state_reference/final_4look.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import t as student


def ci(d: np.ndarray) -> str:
    if d.size < 2:
        return f"{d.mean():+.2f}"
    h = student.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return f"{d.mean():+.2f} [{d.mean() - h:+.2f}, {d.mean() + h:+.2f}]"


def main() -> None:
    for path in sys.argv[1:]:
        rows = json.loads(Path(path).read_text())
        base = np.array(rows[0]["per_date"])
        print(f"\n{path} ({len(base)} dates; differences vs {rows[0]['variant']}, paired over dates, 95 % t interval)\n")
        print("| variant | PSNR log | changed | stable | d PSNR log | d changed | change slope, products (split, 95 % CI)"
              " | slope vs truth (window 9) | slope vs truth (pixel) | reference s/date |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            pd = np.array(r["per_date"])
            print(f"| {r['variant']} | {r['psnr_log']:.2f} | {r['psnr_changed']:.2f} | {r['psnr_stable']:.2f} |"
                  f" {ci(pd[:, 0] - base[:, 0])} | {ci(pd[:, 1] - base[:, 1])} |"
                  f" {r['slope']:.3f} [{r['slope_lo']:.3f}, {r['slope_hi']:.3f}] | {r['window_truth_slope']:.3f} |"
                  f" {r['truth_slope']:.3f} | {r['ref_s']:.3f} |")
        print("\nbias (dB) / RMSE (dB) of the consecutive log-ratio per bin of true change (dB):\n")
        bins = [tuple(b["bin_db"]) for b in rows[0]["bins"]]
        print("| variant | " + " | ".join(f"[{lo:g}, {hi:g})" for lo, hi in bins) + " |")
        print("|---|" + "---|" * len(bins))
        for r in rows:
            by = {tuple(b["bin_db"]): b for b in r["bins"]}
            print(f"| {r['variant']} | " + " | ".join(
                f"{by[b]['bias_db']:+.2f} / {by[b]['rmse_db']:.2f}" if b in by else "" for b in bins) + " |")
        print("\npixels per bin: " + ", ".join(f"[{b['bin_db'][0]:g}, {b['bin_db'][1]:g}): {b['n']}" for b in rows[0]["bins"]))


if __name__ == "__main__":
    main()
