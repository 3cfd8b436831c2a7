"""Does the quality report (mtsar2sar.quality) rank a good run above degraded ones, without a truth?

On every stack, the shipped chain (the default run) and degraded runs are scored date by date as the
``quality`` target scores an AOI (homogeneous areas of the super-image, reference looks = the larger of
the AOI's looks and the temporal estimate per date), and ranked by ``AoiQuality.rank_key`` (fewest failing
dates, then the lowest mean quality index: the M-index plus 1/8 of the despeckled date's residual
variation). The runs:

* ``chain``: the default run. On the demos its products (``results/demo_*/despeckled``, made by ``make
  demo``); on the real stacks computed with the package's functions as the workflow does (the super-image
  filtered by MuLoG with the workflow's settings at L = 0.7 x the larger of its spatial and temporal ENL,
  the ratio to it despeckled by the weights ``auto`` picks for the looks, debiased);
* ``temporal mean``: the unfiltered super-image as the estimate of every date (no date despeckled);
* ``filter none``: the chain with ``super_image.filter: none`` (the network on the ratio to the plain mean);
* ``boxcar 5x5``: the chain's output blurred by a 5 x 5 boxcar (a blurring denoiser);
* ``GRD weights``: the chain with the published ``sar2sar-grd`` weights (trained on multi-look GRD data);
  a degraded run on single-look data only (the demo_1look AOI), a comparison elsewhere;
* ``noisy``: the noisy date itself (nothing removed).

    .venv/bin/python benchmarks/quality_ranking.py                        # the demos (after make demo) and the 10 OPERA stacks
    .venv/bin/python benchmarks/quality_ranking.py --stacks 292319-IW2 --no-demos --sheets /tmp/sheets

Prints one table: per stack and run, the mean quality index and the dates ok / warning / fail, and whether the
chain ranks above every degraded run. About 6 minutes on 2 cores, most of it the network's runs (the sheets: 20 s).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from scipy.stats import kendalltau

from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio
from mtsar2sar.enl import TemporalLooks, estimate_enl
from mtsar2sar.io import read_intensity, read_product
from mtsar2sar.methods import boxcar
from mtsar2sar.metrics import psnr_log
from mtsar2sar.network import auto_weights, load_network
from mtsar2sar.plan import super_image_filter_settings
from mtsar2sar.quality import (
    AoiQuality,
    assess_aoi,
    homogeneous_areas,
    reference_looks,
    temporal_looks_of,
)
from mtsar2sar.quality_sheet import save_quality_sheet, sheet_dates
from mtsar2sar.superimage import filter_looks, filter_super_image, temporal_mean

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "data" / "opera_rtc_s1_10SGD"
DEFAULT_DEMOS = [Path("results/demo_4look"), Path("results/demo_1look")]
LOOKS = {"VV": 5.0, "VH": 3.0}  # the OPERA stacks' looks, as examples/train_multilook.yaml configures them
RUNS = ["chain", "temporal mean", "filter none", "boxcar 5x5", "GRD weights", "noisy"]
GRD_DEGRADED_BELOW = 2.0  # GRD weights count as a degraded run on data of fewer looks (single-look)

Array = np.ndarray


class Stack:
    """One stack's dates, super-images, looks and chain."""

    def __init__(self, name: str, dates: list[str], noisy: list[Array], mean: Array, filtered: Array, looks: float,
                 temporal: float | None, weights: str, chain: list[Array] | None = None,
                 truth: list[Array] | None = None) -> None:
        self.name, self.dates, self.noisy, self.mean, self.filtered = name, dates, noisy, mean, filtered
        self.truth = truth  # simulated stacks: the PSNR of each run, to compare the rankings
        self.looks, self.temporal, self.weights = looks, temporal, weights
        self.reference = reference_looks(looks, temporal)
        self._chain = chain

    def chain(self, nets: dict[str, NetworkDenoiser]) -> list[Array]:
        if self._chain is None:
            self._chain = [run_chain(y, self.filtered, net(nets, self.weights)) for y in self.noisy]
        return self._chain


def net(nets: dict[str, NetworkDenoiser], weights: str) -> NetworkDenoiser:
    if weights not in nets:
        nets[weights] = NetworkDenoiser(load_network(weights, REPO))
    return nets[weights]


def run_chain(noisy: Array, super_image: Array, denoiser: NetworkDenoiser) -> Array:
    return despeckle_by_ratio(noisy, super_image, denoiser).despeckled.astype(np.float64)


def demo_stack(aoi: Path) -> Stack:
    dates = sorted(p.stem for p in (aoi / "despeckled").glob("*.tif"))
    noisy = [read_intensity(aoi / "simulated" / "noisy" / f"{d}.tif", "intensity")[0].astype(np.float64) for d in dates]
    chain = [read_product(aoi / "despeckled" / f"{d}.tif")[0].astype(np.float64) for d in dates]
    enl_report = json.loads((aoi / "super_image_enl.json").read_text())
    with rasterio.open(aoi / "despeckled" / f"{dates[0]}.tif") as ds:
        weights = ds.tags()["weights"]
    truth = [read_product(aoi / "simulated" / "truth" / f"{d}.tif")[0].astype(np.float64) for d in dates]
    return Stack(aoi.name, dates, noisy, read_product(aoi / "super_image.tif")[0].astype(np.float64),
                 read_product(aoi / "super_image_filtered.tif")[0].astype(np.float64), float(enl_report["looks"]),
                 temporal_looks_of(enl_report), weights, chain, truth)


def real_stack(pol_dir: Path) -> Stack:
    files = sorted(pol_dir.glob("*.tif"), key=lambda p: p.name.split("_")[4])
    dates = [p.name.split("_")[4] for p in files]
    noisy = [read_intensity(f, "intensity")[0].astype(np.float64) for f in files]
    mean = temporal_mean(noisy)[0].astype(np.float64)
    tl = TemporalLooks()
    for y in noisy:
        tl.tap(y)
    tl.end_band()
    temporal_enl = float(tl.super_image_enl() or 0.0)
    enl = max(estimate_enl(mean).enl, temporal_enl)  # the workflow's super-image ENL
    settings = super_image_filter_settings({}, {})  # the workflow's defaults
    filtered = filter_super_image(mean.astype(np.float32), "mulog", filter_looks(enl, settings), settings)
    looks = LOOKS[pol_dir.name]
    return Stack(f"{pol_dir.parent.name}_{pol_dir.name}", dates, noisy, mean, filtered.astype(np.float64), looks,
                 temporal_enl / len(noisy) if temporal_enl > 0 else None, auto_weights(looks))


def runs(st: Stack, nets: dict[str, NetworkDenoiser]) -> dict[str, Callable[[int], Array]]:
    """Each run's estimate of date ``k``."""
    chain = st.chain(nets)
    return {
        "chain": lambda k: chain[k],
        "temporal mean": lambda k: st.mean,
        "filter none": lambda k: run_chain(st.noisy[k], st.mean, net(nets, st.weights)),
        "boxcar 5x5": lambda k: boxcar(chain[k], 5).astype(np.float64),
        "GRD weights": lambda k: run_chain(st.noisy[k], st.filtered, net(nets, "sar2sar-grd")),
        "noisy": lambda k: st.noisy[k],
    }


def degraded(st: Stack) -> list[str]:
    """The runs that count as degraded on this stack."""
    out = ["temporal mean", "filter none", "boxcar 5x5", "noisy"]
    return out + (["GRD weights"] if st.looks < GRD_DEGRADED_BELOW else [])


def score_run(st: Stack, estimate: Callable[[int], Array], keep: bool,
              psnr: list[float] | None = None) -> tuple[AoiQuality, dict[str, tuple[Array, Array]]]:
    """The quality report of one run; with ``keep``, every date's images too (for its sheet); ``psnr``: gets
    the PSNR on log-intensity of every date against the truth (a simulated stack)."""
    cache: dict[str, tuple[Array, Array]] = {}

    def load(d: str) -> tuple[Array, Array]:
        k = st.dates.index(d)
        pair = (st.noisy[k], estimate(k))
        if keep:
            cache[d] = pair
        if psnr is not None and st.truth is not None:
            psnr.append(psnr_log(pair[1], st.truth[k]))
        return pair

    return assess_aoi(st.name, st.dates, load, st.reference, st.mean), cache


def ranks(keys: list[tuple[float, ...]]) -> list[int]:
    """The position of each key in ascending order (ties: the same position)."""
    order = sorted(set(keys))
    return [order.index(k) for k in keys]


def cell(q: AoiQuality) -> str:
    c = q.counts
    return f"{q.quality_index:.2f} ({c['ok']}/{c['warning']}/{c['fail']})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demos", type=Path, nargs="*", default=DEFAULT_DEMOS, help="finished simulated AOIs (make demo)")
    ap.add_argument("--no-demos", action="store_true")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real stacks: {site}/{VV,VH}/*.tif")
    ap.add_argument("--stacks", default=None, help="substring of the real stacks' names to keep ('' or none: all)")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--sheets", type=Path, default=None, help="write each stack's and run's quality sheet here")
    ap.add_argument("--json", type=Path, default=None, help="write every report here")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    stacks: list[Callable[[], Stack]] = []
    if not args.no_demos:
        for aoi in args.demos:
            if (aoi / "despeckled").is_dir():
                stacks.append(lambda aoi=aoi: demo_stack(aoi))
            else:
                print(f"{aoi}: not found (make demo first); skipped", file=sys.stderr)
    if not args.no_real:
        for pol_dir in sorted(args.data.glob("*/V?")):
            if not args.stacks or args.stacks in f"{pol_dir.parent.name}_{pol_dir.name}":
                stacks.append(lambda pol_dir=pol_dir: real_stack(pol_dir))
    if not stacks:
        print("no stack to score", file=sys.stderr)
        return 1
    nets: dict[str, NetworkDenoiser] = {}
    table: list[str] = []
    reports: dict[str, dict[str, object]] = {}
    first = 0
    seconds, scored = 0.0, 0
    agreement: list[str] = []
    agreement_head = ""
    for make in stacks:
        st = make()
        mask = homogeneous_areas(st.mean)
        results: dict[str, AoiQuality] = {}
        psnrs: dict[str, list[float]] = {}
        for name, estimate in runs(st, nets).items():
            t0 = time.perf_counter()
            q, cache = score_run(st, estimate, keep=args.sheets is not None, psnr=psnrs.setdefault(name, []))
            seconds += time.perf_counter() - t0  # includes the runs' own estimates (the network): an upper bound
            scored += len(st.dates)
            results[name] = q
            if args.sheets:
                args.sheets.mkdir(parents=True, exist_ok=True)
                shown = {d: cache[d] for d in sheet_dates(q)}
                save_quality_sheet(args.sheets / f"{st.name}_{name.replace(' ', '_')}.png", q, shown, mask,
                                   title=f"Quality of {st.name}: {name}")
        bad = degraded(st)
        key = results["chain"].rank_key()
        below = [r for r in bad if results[r].rank_key() <= key]
        first += not below
        verdict = "yes" if not below else f"no: {', '.join(below)} level or above"
        table.append(f"| {st.name} | {st.reference:.2f} | " + " | ".join(cell(results[r]) + ("" if r in bad or r == "chain"
                     else " ·") for r in RUNS) + f" | {verdict} |")
        print(f"{st.name}: " + "; ".join(f"{r} {results[r].line}" for r in RUNS), file=sys.stderr, flush=True)
        if st.truth is not None:  # the report's ranking of the runs against the truth's (PSNR on log-intensity)
            names = list(results)
            by_report = ranks([tuple(results[r].rank_key()) for r in names])
            by_truth = ranks([(-float(np.mean(psnrs[r])),) for r in names])
            tau = kendalltau(by_report, by_truth).statistic
            agreement.append(f"| {st.name} | " + " | ".join(f"{np.mean(psnrs[r]):.2f}" for r in names)
                             + f" | {tau:.2f} |")
            agreement_head = "| stack | " + " | ".join(names) + " | Kendall tau |"
        reports[st.name] = {r: q.to_dict() for r, q in results.items()}
    print("\n## Quality reports of good and degraded runs: mean quality index (dates ok / warning / fail)\n")
    print("| stack | reference looks | " + " | ".join(RUNS) + " | chain above every degraded run |")
    print("|---|---|" + "---|" * len(RUNS) + "---|")
    print("\n".join(table))
    print(f"\n· not a degraded run on that stack (GRD weights on multi-look data). The chain ranks above every degraded"
          f" run on {first} of {len(stacks)} stacks. Scoring: {seconds / max(scored, 1):.3f} s a date and run"
          " (with the runs' own estimates).")
    if agreement:
        print("\n## Against the truth (simulated stacks): PSNR on log-intensity (dB) of each run, and Kendall's tau"
              " between the report's ranking of the runs and the PSNR's\n")
        print(agreement_head)
        print("|---|" + "---|" * (agreement_head.count("|") - 2))
        print("\n".join(agreement))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(reports, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
