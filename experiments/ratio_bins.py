"""An experiment (not in the product): where despeckling errs on temporal changes, error per bin of a
date's true change.

On a finished simulated AOI, groups the pixels that change over time (the simulation's mask) by the
true ratio of the date to the pixel's temporal mean, ``10 log10(v_t / s)`` with ``s`` the AOI's
temporal mean, and prints per bin the mean error (bias, dB; > 0: too bright) and the mean squared
error (dB^2) of ratio + SAR2SAR for each set of weights and of every workflow method output present
under ``methods/`` (e.g. rabasar). Stable pixels are one more row. Dates: those with an output of
``--method`` (default rabasar), so that all columns cover the same dates.

    .venv/bin/python experiments/ratio_bins.py results/heldout_900 --weights sar2sar-s1
"""

from __future__ import annotations

import argparse
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio
from mtsar2sar.io import read_product
from mtsar2sar.layout import AoiFolder
from mtsar2sar.network import load_network

EDGES = (-np.inf, -9.0, -6.0, -3.0, -1.0, 1.0, 3.0, 6.0, np.inf)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("aoi_dir", type=Path)
    ap.add_argument("--weights", action="append", default=[], help="weights for ratio_sar2sar (repeat)")
    ap.add_argument("--method", default="rabasar", help="workflow method whose dates are scored")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d = args.aoi_dir
    folder = AoiFolder(d)
    mean, _ = read_product(folder.super_image)
    s, _ = read_product(folder.super_image_filtered)
    changed = read_product(folder.changed)[0] > 0.5
    dates = sorted(f.stem for f in (d / "methods" / args.method).glob("*.tif"))
    if not dates:
        raise SystemExit(f"{d / 'methods' / args.method}: no outputs (run the workflow's methods first)")
    nets = {w: NetworkDenoiser(load_network(w, looks=1.0), tile=768, overlap=256) for w in args.weights}
    others = sorted(p.name for p in (d / "methods").iterdir() if p.is_dir() and (p / f"{dates[0]}.tif").exists())
    names = [f"ratio_sar2sar [{Path(w).stem}]" for w in args.weights] + others
    nbins = len(EDGES)  # the bins, then the stable pixels
    count = np.zeros(nbins)
    err_sum = np.zeros((len(names), nbins))
    sq_sum = np.zeros((len(names), nbins))
    for date in dates:
        w, _ = read_product(folder.noisy(date))
        v, _ = read_product(folder.truth(date))
        ests = [despeckle_by_ratio(w, s, den).despeckled for den in nets.values()]
        ests += [read_product(folder.method(m, date))[0] for m in others]
        change = 10 * np.log10(v / mean)
        masks = [changed & (change >= lo) & (change < hi) for lo, hi in pairwise(EDGES)] + [~changed]
        for b, m in enumerate(masks):
            count[b] += m.sum()
            for k, e in enumerate(ests):
                err = 10 * np.log10(e[m] / v[m])
                err_sum[k, b] += err.sum()
                sq_sum[k, b] += (err**2).sum()
    print(f"AOI {d.name}: {len(dates)} dates; changed pixels by true change to the temporal mean (dB): "
          "bias dB / MSE dB^2")
    labels = [f"[{lo:g}, {hi:g})" for lo, hi in pairwise(EDGES)] + ["stable"]
    print(f"{'bin':<14}{'pixels':>10}" + "".join(f"{n[-28:]:>30}" for n in names))
    for b, label in enumerate(labels):
        n = max(count[b], 1)
        print(f"{label:<14}{int(count[b]):>10}"
              + "".join(f"{err_sum[k, b] / n:>+19.2f} / {sq_sum[k, b] / n:>7.2f}" for k in range(len(names))))


if __name__ == "__main__":
    main()
