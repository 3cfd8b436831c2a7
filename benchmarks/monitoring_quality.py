"""Monitoring (super_image.reference_dates): what a frozen super-image costs the dates after it.

On a simulated stack with truth (temporal changes included), every date after the reference period is
despeckled by the workflow's chain (ratio to the normalized filtered super-image, SAR2SAR, debiasing)
with three super-images: ``frozen`` (the first ``--reference`` dates: monitoring mode), ``until`` (every
date up to and including this one: the full workflow rerun when the date arrives) and ``full`` (every
date of the stack). Prints PSNR on log-intensity (all pixels and the pixels that change over time) per
date and on average, and the differences to ``frozen``.

    .venv/bin/python benchmarks/monitoring_quality.py                            # 256 x 256 x 30, reference 20
    .venv/bin/python benchmarks/monitoring_quality.py --looks 4 --speckle gamma --denoiser bm3d
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mtsar2sar.despeckle import build_denoiser, despeckle_by_ratio
from mtsar2sar.enl import estimate_enl
from mtsar2sar.metrics import psnr_log
from mtsar2sar.simulate import SimulationConfig, simulate_stack
from mtsar2sar.superimage import filter_super_image, temporal_mean

REPO = Path(__file__).resolve().parents[1]


def filtered_mean(dates: list[np.ndarray], denoiser: str) -> np.ndarray:
    mean = temporal_mean(dates)[0]
    return filter_super_image(mean, "mulog", estimate_enl(mean).enl, {"denoiser": denoiser}).astype(np.float64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--dates", type=int, default=30)
    ap.add_argument("--reference", type=int, default=20, help="dates of the reference period (the first N)")
    ap.add_argument("--looks", type=float, default=1.0)
    ap.add_argument("--speckle", default="correlated", choices=["correlated", "gamma"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--denoiser", default="dct", choices=["dct", "bm3d"], help="MuLoG's denoiser (super-image filter)")
    ap.add_argument("--weights", default="auto")
    args = ap.parse_args()

    cfg = SimulationConfig(seed=args.seed, height=args.size, width=args.size, dates=args.dates, looks=args.looks,
                           speckle=args.speckle)
    keys, truths, noisy, changed = simulate_stack(cfg)
    net = build_denoiser({"weights": args.weights, "base": str(REPO), "device": "cpu"}, args.looks, progress=False)
    t0 = time.perf_counter()
    frozen = filtered_mean(noisy[: args.reference], args.denoiser)
    full = filtered_mean(noisy, args.denoiser)
    print(f"{args.dates} dates of {args.size}^2, {args.looks:g} look(s) ({args.speckle}), reference: the first "
          f"{args.reference}; super-image filter MuLoG-{args.denoiser}; weights {args.weights}")
    print("date | PSNR log frozen / until / full (dB) | on changed pixels frozen / until / full")
    rows = []
    for t in range(args.reference, args.dates):
        until = filtered_mean(noisy[: t + 1], args.denoiser)
        row = []
        for s in (frozen, until, full):
            w_hat = despeckle_by_ratio(noisy[t], s, net).despeckled
            row += [psnr_log(w_hat, truths[t]), psnr_log(w_hat, truths[t], changed)]
        rows.append(row)
        print(f"{keys[t]} (date {t + 1}) | {row[0]:.2f} / {row[2]:.2f} / {row[4]:.2f} | "
              f"{row[1]:.2f} / {row[3]:.2f} / {row[5]:.2f}")
    m = np.mean(rows, axis=0)
    print(f"mean | {m[0]:.2f} / {m[2]:.2f} / {m[4]:.2f} | {m[1]:.2f} / {m[3]:.2f} / {m[5]:.2f}")
    print(f"frozen - until: {m[0] - m[2]:+.2f} dB ({m[1] - m[3]:+.2f} on changed pixels); frozen - full: "
          f"{m[0] - m[4]:+.2f} dB ({m[1] - m[5]:+.2f}); {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
