"""Compare despeckling methods on a finished simulated AOI (with truth), date by date.

Reads the AOI's products (coregistration.json, super_image.tif, super_image_filtered.tif, the
truth and changed-pixel mask of the simulation, and results/{aoi}/methods/*/ when present) and
computes in this process the network-based methods for each set of weights given. Prints, mean
over the dates: PSNR on log-intensity (peak = the truth's log dynamic range), PSNR on amplitude
(peak = 99th percentile of the truth amplitude), PSNR on log-intensity over the pixels that change
over time, and seconds per megapixel per date. Then, per method, how it keeps the changes of each date
(``mtsar2sar.changes``): the change-preservation slope from the products alone over the successive
scored dates with its 95 % interval, the same slope measured with the truth at the same window, and
per bin of the true departure of a date from the truth's temporal mean, the bias and RMSE (dB) of the
estimate against the truth; and the ghost contrast of each method (``mtsar2sar.changes.ghost_contrast``):
on the outline of the objects that other dates of the stack hold and a scored date lacks, where that
date's truth is flat, the estimate's log-gradient magnitude minus the truth's (dB per pixel), the same on
a control band 4-6 px away (the floor: the speckle left) and their difference, the excess, with its 95 %
interval and the spread of the dates' excesses.

``--compute METHOD`` runs a comparison method of ``snakemake methods`` (``mtsar2sar.comparison``, the
schema's settings) in this process on the scored dates, for an AOI without its ``methods/`` folder.

    .venv/bin/python benchmarks/compare_methods.py results/demo_1look --dates 4 \
        --weights sar2sar-s1 --weights sar2sar-s1-ratio --weights sar2sar-grd
    .venv/bin/python benchmarks/compare_methods.py results/demo_4look --weights sar2sar-ml --self-ensemble 1 --self-ensemble 8
    .venv/bin/python benchmarks/compare_methods.py results/demo_4look --weights sar2sar-ml --precision float32 --precision bfloat16
    .venv/bin/python benchmarks/compare_methods.py results/demo_4look --dates 5 --weights sar2sar-ml --compute rabasar
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import torch

from mtsar2sar.changes import absent_outlines, bias_per_bin, change_slope, ghost_contrast, truth_change_slope
from mtsar2sar.comparison import run_method
from mtsar2sar.config import defaults
from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio
from mtsar2sar.io import read_product
from mtsar2sar.layout import AoiFolder
from mtsar2sar.methods import boxcar
from mtsar2sar.metrics import psnr_amplitude, psnr_log
from mtsar2sar.network import load_network
from mtsar2sar.plan import method_dates


def scores(est: np.ndarray, truth: np.ndarray, changed: np.ndarray) -> tuple[float, float, float, float]:
    """PSNR on log-intensity, on amplitude, and on log-intensity over the changed and the unchanged pixels."""
    return (psnr_log(est, truth), psnr_amplitude(est, truth), psnr_log(est, truth, changed),
            psnr_log(est, truth, ~changed))


COMPUTABLE = ("rabasar", "rabasar_down2", "quegan", "quegan_sar2sar", "mulog", "mulog_down2", "sar2sar")


def bin_label(lo: float, hi: float) -> str:
    return f"< {hi:g}" if lo == -np.inf else f">= {lo:g}" if hi == np.inf else f"[{lo:g}, {hi:g})"


def change_table(noisy: list[np.ndarray], truth: list[np.ndarray], truth_mean: np.ndarray,
                 estimates: dict[str, list[np.ndarray]]) -> None:
    """The change-preservation scores of every method (mtsar2sar.changes) over the scored dates."""
    bins = bias_per_bin(truth, truth, truth_mean=truth_mean)
    print("\nchange preservation over the successive scored dates: slope from the products alone [95 %],"
          " the same with the truth (9 x 9 window); per bin of the true departure from the truth's temporal"
          " mean (dB, pixels of all scored dates), bias / RMSE of the estimate (dB)\n")
    print("| method | slope, products | slope, truth | " + " | ".join(bin_label(b.low_db, b.high_db) for b in bins) + " |")
    print("|---|---|---|" + "---|" * len(bins))
    print("| pixels | | | " + " | ".join(str(b.pixels) for b in bins) + " |")
    for name, est in estimates.items():
        if len(est) != len(truth):  # a method of the workflow's that lacks some of the scored dates
            continue
        cells = [f"{b.bias_db:+.2f} / {np.sqrt(b.mse_db2):.2f}" if b.pixels else "–"
                 for b in bias_per_bin(est, truth, truth_mean=truth_mean)]
        slope = change_slope(noisy, est) if len(est) > 1 else None
        truth_slope = truth_change_slope(truth, est) if len(est) > 1 else float("nan")
        print(f"| {name} | {slope if slope is not None else '–'} | {truth_slope:.3f} | " + " | ".join(cells) + " |")


def ghost_table(truth: list[np.ndarray], stack: list[np.ndarray], estimates: dict[str, list[np.ndarray]]) -> None:
    """The ghost contrast of every method (mtsar2sar.changes) on the scored dates, the objects from the
    truth of every kept date (``stack``)."""
    masks = absent_outlines(truth, stack)
    lacking = [k for k, (o, c) in enumerate(masks) if o.any() and c.any()]
    print("\nghosts: on the outline of the objects a scored date lacks and other dates hold (> 6 dB apart), where"
          " the date's truth is flat, the estimate's log-gradient magnitude minus the truth's (dB/px, Gaussian"
          " 1 px); floor: the same 4-6 px away where every date is flat; excess = contrast - floor [95 %], and"
          " its range over the dates\n")
    print("outline / control pixels per scored date: "
          + ", ".join(f"{int(o.sum())} / {int(c.sum())}" for o, c in masks) + f" ({len(lacking)} dates lack an object)\n")
    print("| method | contrast | floor | excess [95 %] | dates, min – max |")
    print("|---|---|---|---|---|")
    for name, est in estimates.items():
        if len(est) != len(truth):
            continue
        g = ghost_contrast(est, truth, masks=masks)
        per = [x for x in g.per_date if np.isfinite(x)]
        spread = f"{min(per):+.3f} – {max(per):+.3f}" if per else "–"
        print(f"| {name} | {g.contrast:.3f} | {g.floor:.3f} | {g} | {spread} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("aoi_dir", type=Path)
    ap.add_argument("--dates", type=int, default=4, help="evenly spaced dates (0: all)")
    ap.add_argument("--weights", action="append", default=[], help="weights for sar2sar / ratio_sar2sar (repeat)")
    ap.add_argument("--self-ensemble", type=int, action="append", default=None, choices=[1, 2, 4, 8],
                    help="network.self_ensemble sizes to compare for each weights (repeat; default: 1)")
    ap.add_argument("--precision", action="append", default=None, choices=["float32", "bfloat16"],
                    help="network.precision to compare for each weights (repeat; default: float32)")
    ap.add_argument("--compute", action="append", default=[], choices=COMPUTABLE,
                    help="a comparison method of `snakemake methods` computed here on the scored dates (repeat;"
                         " the schema's settings, the AOI's looks)")
    ap.add_argument("--no-changes", action="store_true", help="without the change-preservation and ghost tables")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d = AoiFolder(args.aoi_dir)
    report = json.loads(d.coregistration.read_text())
    kept = report["kept_dates"]
    dates = method_dates(kept, args.dates or None)
    mean, _ = read_product(d.super_image)
    s, _ = read_product(d.super_image_filtered)
    changed = read_product(d.changed)[0] > 0.5
    looks = float(json.loads((d.simulated_dir / "simulation.json").read_text())["config"]["looks"])
    rows: dict[str, list[tuple[float, ...]]] = {}
    estimates: dict[str, list[np.ndarray]] = {}

    def add(name: str, est: np.ndarray, truth: np.ndarray, seconds: float) -> None:
        rows.setdefault(name, []).append((*scores(est, truth, changed), seconds / (est.size / 1e6)))
        estimates.setdefault(name, []).append(np.asarray(est, dtype=np.float32))

    nets = {w + ("" if n == 1 else f" x{n}") + ("" if p == "float32" else f" {p}"):
            NetworkDenoiser(load_network(w, looks=1.0), tile=768, overlap=256, self_ensemble=n, precision=p)
            for w in args.weights for n in (args.self_ensemble or [1]) for p in (args.precision or ["float32"])}
    noisy_dates: list[np.ndarray] = []
    truth_dates: list[np.ndarray] = []
    tmp = tempfile.TemporaryDirectory()
    for date in dates:
        w, _ = read_product(d.noisy(date))
        v, _ = read_product(d.truth(date))
        noisy_dates.append(w)
        truth_dates.append(v)
        add("noisy", w, v, 0.0)
        add("mean", mean, v, 0.0)
        add("mean (filtered)", s, v, 0.0)
        t0 = time.perf_counter()
        add("boxcar7", boxcar(w, 7), v, time.perf_counter() - t0)
        for name, den in nets.items():
            t0 = time.perf_counter()
            add(f"ratio_sar2sar [{name}]", despeckle_by_ratio(w, s, den).despeckled, v, time.perf_counter() - t0)
            t0 = time.perf_counter()
            add(f"sar2sar [{name}]", den(w.astype(np.float64)), v, time.perf_counter() - t0)
        for method in args.compute:
            out = Path(tmp.name) / f"{method}_{date}.tif"
            run_method(method, d.noisy(date), "intensity", None, looks, d.super_image, d.super_image_filtered,
                       defaults("mulog"), defaults("network"), out, [d.noisy(k) for k in kept])
            with rasterio.open(out) as ds:
                sec = float(ds.tags().get("seconds", "nan"))
            add(f"{method} (here)", read_product(out)[0], v, sec)
        for mdir in sorted(d.methods_dir.glob("*")) if d.methods_dir.exists() else []:
            f = mdir / f"{date}.tif"
            if f.exists() and mdir.name not in ("mean", "boxcar7"):
                with rasterio.open(f) as ds:
                    sec = float(ds.tags().get("seconds", "nan"))
                add(f"{mdir.name} (workflow)", read_product(f)[0], v, sec)
    tmp.cleanup()
    print(f"AOI {d.root.name}: dates {', '.join(dates)}; {int(changed.sum())} changed pixels ({changed.mean():.1%})")
    print(f"{'method':<34}{'PSNR log':>10}{'PSNR ampl':>11}{'PSNR log chg':>14}{'unchanged':>11}{'s/Mpx':>8}")
    for name, vals in rows.items():
        a = np.array(vals)
        print(f"{name:<34}{a[:, 0].mean():>10.2f}{a[:, 1].mean():>11.2f}{a[:, 2].mean():>14.2f}{a[:, 3].mean():>11.2f}"
              f"{a[:, 4].mean():>8.1f}")
    if not args.no_changes:
        stack = [read_product(d.truth(k))[0].astype(np.float64) for k in kept]
        change_table(noisy_dates, truth_dates, np.mean(stack, axis=0), estimates)
        ghost_table(truth_dates, stack, estimates)


if __name__ == "__main__":
    main()
