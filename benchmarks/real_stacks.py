"""Real Sentinel-1 stacks without a truth: left-out-date NLL, change preservation and ratio statistics,
per stack and method.

The protocol of ``mtsar2sar.realscore``: the last date of each stack is removed before anything is
computed; every method estimates date T - 1 from the other 21 dates and is scored against the left-out
date on the pixels stable between the two. ``--pairs N`` (default 4) scores N pairs in turn (pair j: the
last j dates removed as well, date T - j left out) and ranks the methods by the mean NLL over the pairs
(the wins count). The change-preservation slope (``mtsar2sar.changes.change_slope``, with its 95 %
interval) is measured on each method's estimates of the last ``--change-dates`` dates of the 21 (default:
all of them) against the noisy dates (1: the changes between consecutive dates kept at full size, 0:
none). The ratio mean and ENL are measured on the homogeneous windows of the super-image, over
``--ratio-dates`` evenly spaced dates of the 21.

    .venv/bin/python benchmarks/real_stacks.py                       # the 10 OPERA stacks of data/opera_rtc_s1_10SGD
    .venv/bin/python benchmarks/real_stacks.py --method ratio:sar2sar-grd --method rabasar --stacks 292319 --pairs 1

Methods (``--method``, repeatable; default: the comparison of docs/results.md, ``DEFAULT_METHODS``):
  ``ratio:WEIGHTS[:filter=none][:debias=off][:level=X][:ensemble=N][:precision=P]`` ratio to the normalized super-image + SAR2SAR
  (the workflow's chain; WEIGHTS a shipped name, a path, or ``aoi``: the stack's own network,
  ``results/rtc_<site>_<pol>/model.pt`` made by ``snakemake results/rtc_<site>_<pol>/model.pt
  --configfile examples/train_multilook.yaml``, trained on the stack's first 21 dates), ``sar2sar:WEIGHTS`` the network on the date
  alone, ``rabasar`` / ``rabasar_down2`` (MuLoG-BM3D on the ratio to the filtered super-image, at full
  resolution / decimated by 2), ``mean`` (the temporal mean; ``mean:filtered``: the filtered super-image), ``quegan`` (Quegan-Yu with 7 x 7 boxcar
  local means), ``quegan:WEIGHTS`` (Quegan with SAR2SAR single-date local means, Meraoumia et al. 2022).
The filtered super-image and the RABASAR estimates are cached under ``--cache`` (they do not depend on
the network). Prints one table per score and the count of stacks where each method is best (the mean NLL
over the pairs). The sites' roles for the shipped weights (``role``): T137-292319-IW2 validation,
T137-292320-IW1 test, the others training sites of ``sar2sar-ml``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from mtsar2sar import methods as m
from mtsar2sar.changes import ChangeSlope, change_slope
from mtsar2sar.comparison import single_date_network
from mtsar2sar.config import defaults
from mtsar2sar.denoisers import get_denoiser
from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio
from mtsar2sar.enl import TemporalLooks, estimate_enl
from mtsar2sar.io import read_intensity
from mtsar2sar.metrics import stable_pixels
from mtsar2sar.network import load_network
from mtsar2sar.realscore import STABLE_DB, homogeneous_mask, leftout_nll, ratio_stats
from mtsar2sar.superimage import filter_looks, filter_super_image, temporal_mean

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data" / "opera_rtc_s1_10SGD"  # in the repository
# the chain (the weights `auto` picks at these looks) and the strongest variant of every peer: RABASAR at
# full and half resolution, Quegan with boxcar and with SAR2SAR local means (our weights and the published
# ones), the published weights in the chain, and the filtered super-image
DEFAULT_METHODS = ["ratio:sar2sar-ml", "ratio:sar2sar-grd", "rabasar", "rabasar_down2", "quegan", "quegan:sar2sar-ml",
                   "quegan:sar2sar-grd", "mean:filtered"]
# SAR2SAR's single-date estimates, shared by the stacks of the pairs: (network, stack, date) -> estimate
SINGLE_DATE: dict[tuple[tuple[str, float | None, int, str], str, int], np.ndarray] = {}


def find_stacks(data: Path, pattern: str | None) -> dict[str, list[Path]]:
    out = {}
    for pol_dir in sorted(data.glob("*/V?")):
        name = f"{pol_dir.parent.name}_{pol_dir.name}"
        if pattern and pattern not in name:
            continue
        files = sorted(pol_dir.glob("*.tif"), key=lambda p: p.name.split("_")[4])
        out[name] = files
    return out


class Stack:
    """One real stack with its last date left out: dates, super-image (plain and filtered), looks."""

    def __init__(self, name: str, files: list[Path], cache: Path, mulog_denoiser: str, super_enl: str = "spatial",
                 enl_factor: float = 1.0) -> None:
        """``enl_factor``: MuLoG's L on the super-image is its ENL times this (super_image.filter_looks_factor)."""
        self.name = name
        imgs = [read_intensity(f, "intensity")[0].astype(np.float64) for f in files]
        self.dates, self.leftout = imgs[:-1], imgs[-1]
        self.mean = temporal_mean(self.dates)[0].astype(np.float64)
        self.looks = float(np.median([estimate_enl(d).enl for d in self.dates]))
        spatial = estimate_enl(self.mean).enl
        temporal = temporal_enl_of(self.dates)
        self.super_enl = super_enl if enl_factor == 1.0 else f"{super_enl}x{enl_factor:g}"  # names the cached files
        enl = {"spatial": spatial, "temporal": temporal, "workflow": max(spatial, temporal)}[super_enl]
        self.enl = filter_looks(enl, {"looks_factor": enl_factor})  # MuLoG's L on the super-image
        cache.mkdir(parents=True, exist_ok=True)
        path = cache / f"{name}_super_{mulog_denoiser}_{self.super_enl}.npy"
        if path.exists():
            self.filtered = np.load(path)
        else:
            self.filtered = filter_super_image(self.mean.astype(np.float32), "mulog", self.enl,
                                               {"denoiser": mulog_denoiser}).astype(np.float64)
            np.save(path, self.filtered)
        self.cache = cache
        self.homogeneous = homogeneous_mask(self.mean)
        self.stable = stable_pixels(self.dates[-1], self.leftout, threshold_db=STABLE_DB)


def temporal_enl_of(dates: list[np.ndarray]) -> float:
    """The temporal estimate of the super-image's ENL, as the workflow's super_image step."""
    tl = TemporalLooks()
    for d in dates:
        tl.tap(d)
    tl.end_band()
    value = tl.super_image_enl()
    return float(value) if value is not None else 0.0


def network(weights: str, level: float | None, self_ensemble: int = 1, precision: str = "auto") -> NetworkDenoiser:
    return NetworkDenoiser(load_network(weights, "."), level=level, self_ensemble=self_ensemble, precision=precision)


def aoi_model_path(stack: str) -> Path:
    """``T137-292319-IW2_VV`` -> ``results/rtc_292319_iw2_vv/model.pt`` (the AOIs of examples/train_multilook.yaml)."""
    burst, pol = stack.split("_")
    return Path("results") / f"rtc_{burst.split('-', 1)[1].replace('-', '_').lower()}_{pol.lower()}" / "model.pt"


def parse(spec: str) -> tuple[str, str | None, dict[str, str]]:
    parts = spec.split(":")
    kind = parts[0]
    weights = parts[1] if len(parts) > 1 else None
    opts = dict(p.split("=", 1) for p in parts[2:])
    return kind, weights, opts


def estimate(spec: str, st: Stack, k: int, nets: dict[tuple[str, float | None, int, str], NetworkDenoiser]) -> np.ndarray:
    """Method ``spec``'s estimate of date ``k`` of the (left-out) stack."""
    kind, weights, opts = parse(spec)
    if weights == "aoi":  # the stack's own network (rule train_aoi of examples/train_multilook.yaml)
        weights = str(aoi_model_path(st.name))
        if not Path(weights).exists():
            return np.full(st.dates[k].shape, np.nan)
    w = st.dates[k]
    valid = np.isfinite(w) & (w > 0)
    level = None if opts.get("level") == "none" else float(opts.get("level", 1e4))
    ensemble = int(opts.get("ensemble", 1))
    precision = opts.get("precision", "auto")

    def net() -> NetworkDenoiser:
        key = (str(weights), level, ensemble, precision)
        if key not in nets:
            nets[key] = network(str(weights), level, ensemble, precision)
        return nets[key]

    def single(img: np.ndarray) -> np.ndarray:
        return single_date_network(net(), img)

    def single_of(j: int) -> np.ndarray:  # the single-date estimate of date j of this stack
        key = ((str(weights), level, ensemble, precision), st.name.split("~")[0], j)
        if key not in SINGLE_DATE:
            SINGLE_DATE[key] = single(st.dates[j])
        return SINGLE_DATE[key]

    if kind == "ratio":
        s = st.mean if opts.get("filter") == "none" else st.filtered
        return despeckle_by_ratio(w, s, net(), debias=opts.get("debias", "on") != "off").despeckled
    if kind == "sar2sar":
        return single(w)
    if kind == "mean":  # mean:filtered: the MuLoG-filtered super-image (the strongest variant of the mean)
        if weights not in (None, "filtered"):
            raise SystemExit(f"unknown method {spec!r}: mean or mean:filtered")
        return np.where(valid, st.filtered if weights == "filtered" else st.mean, np.nan)
    if kind in ("rabasar", "rabasar_down2"):
        path = st.cache / f"{st.name}_{kind}_{st.super_enl}_{k}.npy"
        if path.exists():
            return np.load(path)
        looks_super = estimate_enl(st.filtered).enl
        fn = m.run_rabasar if kind == "rabasar" else m.run_rabasar_down2
        out = np.where(valid, fn(w, st.filtered, st.looks, looks_super, get_denoiser("bm3d")), np.nan)
        np.save(path, out)
        return out
    if kind == "quegan":
        if weights is None:
            local = [m.boxcar(d, 7) for d in st.dates]
        else:
            local = [single_of(j) for j in range(len(st.dates))]
        return m.quegan(st.dates, local, k)
    raise SystemExit(f"unknown method {spec!r}")


PERSISTENCE_WINDOW = 15  # px: a boxcar of 225 pixels of about 2.5-5.5 looks leaves little speckle
PERSISTENCE_EXPONENTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def persistence(stacks: dict[str, list[Path]], cache: Path, mulog_denoiser: str, super_enl: str,
                enl_factor: float = 1.0) -> int:
    """Does the left-out date T share date T - 1's own departure from the temporal mean? No network and
    no speckle filter: ``g = B(y_{T-1}) / B(mean)``, B a 15 x 15 boxcar (the large-scale departure of date
    T - 1, nearly free of speckle), and the estimates ``filtered super-image x g^a`` are scored like the
    methods (left-out NLL on the stable pixels). ``a = 0`` is the filtered super-image, ``a = 1`` keeps date T - 1's
    own level at that scale, as a faithful estimate of date T - 1 does. Where the best ``a`` is 0, the
    scene's departures do not persist from one date to the next (wind on the sea), and the score ranks
    an estimate of date T - 1 below the mean by about ``var(log g) / 2`` however well it removes speckle.
    Also printed: the variance of the log departure of date T - 1 (``log g``) and of date T against the
    mean, and their correlation."""
    print("| stack | stable | var log g (T-1) | corr(log g T-1, log g T) | " + " | ".join(
        f"NLL a={a:g}" for a in PERSISTENCE_EXPONENTS) + " | best a |\n|---|" + "---|" * (len(PERSISTENCE_EXPONENTS) + 4))
    for name, files in stacks.items():
        st = Stack(name, files, cache, mulog_denoiser, super_enl, enl_factor)
        b_mean = m.boxcar(st.mean, PERSISTENCE_WINDOW)
        g_prev = m.boxcar(st.dates[-1], PERSISTENCE_WINDOW) / b_mean
        g_next = m.boxcar(st.leftout, PERSISTENCE_WINDOW) / b_mean
        ok = st.stable & np.isfinite(g_prev) & (g_prev > 0) & np.isfinite(g_next) & (g_next > 0)
        if ok.sum() < 2:
            print(f"| {name} | {st.stable.mean():.0%} | no stable pixel to score |", flush=True)
            continue
        lp, ln = np.log(g_prev[ok]), np.log(g_next[ok])
        nll = [leftout_nll(st.filtered * g_prev**a, st.leftout, st.stable) for a in PERSISTENCE_EXPONENTS]
        best = PERSISTENCE_EXPONENTS[int(np.nanargmin(nll))]
        print(f"| {name} | {st.stable.mean():.0%} | {lp.var():.4f} | {np.corrcoef(lp, ln)[0, 1]:+.2f} | "
              + " | ".join(f"{v:.4f}" for v in nll) + f" | {best:g} |", flush=True)
    return 0


SITE_ROLES = {"T137-292319-IW2": "validation", "T137-292320-IW1": "test"}  # the others: training sites of sar2sar-ml


def role(stack: str) -> str:
    """The stack's role for the shipped weights: ``validation``, ``test`` or ``training`` (sar2sar-ml was
    trained on the first 21 dates of every site but the test site)."""
    return SITE_ROLES.get(stack.split("_")[0], "training")


def slope_cell(s: ChangeSlope) -> str:
    def two(v: float) -> str:
        return f"{v if abs(v) >= 0.005 else 0.0:.2f}"  # no "-0.00"

    return "–" if not np.isfinite(s.slope) else f"{two(s.slope)} [{two(s.low)}, {two(s.high)}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--stacks", default=None, help="substring of the stack names to keep")
    ap.add_argument("--method", action="append", default=None)
    ap.add_argument("--ratio-dates", type=int, default=4)
    ap.add_argument("--cache", type=Path, default=Path("results/real_stacks_cache"))
    ap.add_argument("--mulog-denoiser", default="bm3d")
    ap.add_argument("--super-enl", default="workflow", choices=["workflow", "spatial", "temporal"],
                    help="the super-image's ENL for its MuLoG filter: the workflow's (the larger of the spatial"
                         " and the temporal estimates) or one of them")
    ap.add_argument("--super-enl-factor", type=float, default=defaults("super_image")["filter_looks_factor"],
                    help="MuLoG's L on the super-image = its ENL x this (super_image.filter_looks_factor; default:"
                         " the workflow's, %(default)s)")
    ap.add_argument("--json", type=Path, default=None, help="write every score to this file")
    ap.add_argument("--pairs", type=int, default=4,
                    help="score N pairs of consecutive dates (pair j: the last j dates removed as well, date T - j"
                         " left out) and rank by the mean NLL over them (default %(default)s); 1: the last pair only")
    ap.add_argument("--change-dates", type=int, default=None,
                    help="the change-preservation slope over each method's estimates of the last N dates of the"
                         " stack (N - 1 consecutive pairs; default: all its dates); 0: not measured")
    ap.add_argument("--threads", type=int, default=2, help="torch's threads (default %(default)s)")
    ap.add_argument("--persistence", action="store_true",
                    help="no method: how much of date T - 1's own large-scale departure from the temporal mean"
                         " the left-out date shares (see persistence())")
    args = ap.parse_args()
    if args.pairs < 1 or args.change_dates is not None and (args.change_dates < 0 or args.change_dates == 1):
        ap.error("--pairs must be >= 1 and --change-dates 0 or >= 2")
    specs = args.method or DEFAULT_METHODS
    stacks = find_stacks(args.data, args.stacks)
    if not stacks:
        print(f"no stack under {args.data}", file=sys.stderr)
        return 1
    if args.persistence:
        if args.method:
            ap.error("--persistence scores no method and one pair: without --method")
        return persistence(stacks, args.cache, args.mulog_denoiser, args.super_enl, args.super_enl_factor)
    import torch

    torch.set_num_threads(args.threads)
    nets: dict[tuple[str, float | None, int, str], NetworkDenoiser] = {}
    scores: dict[str, dict[str, dict[str, float]]] = {}
    pair_nll: dict[str, dict[str, list[float]]] = {}
    slopes: dict[str, dict[str, ChangeSlope]] = {}
    seconds: dict[str, float] = {s: 0.0 for s in specs}
    for name, files in stacks.items():
        st = Stack(name, files, args.cache, args.mulog_denoiser, args.super_enl, args.super_enl_factor)
        t = len(st.dates)
        ratio_dates = sorted(set(np.linspace(0, t - 1, args.ratio_dates).round().astype(int).tolist()))
        n_change = t if args.change_dates is None else min(args.change_dates, t)
        change_dates = list(range(t - n_change, t)) if n_change else []
        scores[name], slopes[name] = {}, {}
        for spec in specs:
            t0 = time.perf_counter()
            est = {k: estimate(spec, st, k, nets) for k in sorted({*ratio_dates, *change_dates})}
            seconds[spec] += time.perf_counter() - t0
            rs = [ratio_stats(st.dates[k], est[k], st.homogeneous) for k in ratio_dates]
            scores[name][spec] = {
                "nll": leftout_nll(est[t - 1], st.leftout, st.stable),
                "ratio_mean": float(np.mean([r.mean for r in rs])),
                "ratio_enl": float(np.mean([r.enl for r in rs])),
            }
            if change_dates:
                slopes[name][spec] = change_slope([st.dates[k] for k in change_dates], [est[k] for k in change_dates])
        scores[name]["noisy (date T-1)"] = {"nll": leftout_nll(st.dates[-1], st.leftout, st.stable),
                                            "ratio_mean": 1.0, "ratio_enl": float("inf")}
        print(f"{name}: L={st.looks:.2f}, super-image ENL {st.enl:.1f}, stable {st.stable.mean():.0%}, "
              + ", ".join(f"{s} {v['nll']:.4f}" for s, v in scores[name].items()), file=sys.stderr, flush=True)
        pair_nll[name] = {spec: [scores[name][spec]["nll"]] for spec in specs}
        for j in range(1, args.pairs):  # date T - j left out, the dates after it removed too: nothing sees them
            earlier = Stack(f"{name}~{j}", files[: len(files) - j], args.cache, args.mulog_denoiser, args.super_enl,
                            args.super_enl_factor)
            for spec in specs:
                t0 = time.perf_counter()
                pair_nll[name][spec].append(leftout_nll(estimate(spec, earlier, len(earlier.dates) - 1, nets),
                                                        earlier.leftout, earlier.stable))
                seconds[spec] += time.perf_counter() - t0
    names = list(scores)
    cols = [*specs]
    label = {n: f"{n} ({role(n)})" for n in names}
    # a pair whose left-out date has no pixel stable with the date before (or none valid) scores nothing
    scored = {n: [j for j in range(args.pairs) if all(np.isfinite(pair_nll[n][c][j]) for c in cols)] for n in names}
    mean_nll = {n: {c: float(np.mean([pair_nll[n][c][j] for j in scored[n]])) if scored[n] else float("nan")
                    for c in cols} for n in names}
    print(f"\n## left-out NLL, mean over {args.pairs} pair(s) of consecutive dates (the last {args.pairs} dates in turn)\n")
    print("| stack | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    for n in names:
        vals = [mean_nll[n][c] for c in cols]
        best = int(np.nanargmin(vals)) if scored[n] else -1
        print(f"| {label[n]}, {len(scored[n])} pairs | "
              + " | ".join(("**{:.4f}**" if i == best else "{:.4f}").format(v) for i, v in enumerate(vals)) + " |")
    wins = {c: sum(bool(scored[n]) and int(np.nanargmin([mean_nll[n][x] for x in cols])) == i for n in names)
            for i, c in enumerate(cols)}
    if args.change_dates != 0:
        n_pairs = max(s.pairs for d in slopes.values() for s in d.values())
        print(f"\n## change-preservation slope [95 % interval], the last {n_pairs + 1} dates "
              f"({n_pairs} consecutive pairs; 1: changes kept at full size, 0: none)\n")
        print("| stack | pixels | " + " | ".join(cols) + " |\n|---|---|" + "---|" * len(cols))
        for n in names:
            print(f"| {label[n]} | {max(slopes[n][c].pixels for c in cols)} | "
                  + " | ".join(slope_cell(slopes[n][c]) for c in cols) + " |")
    for metric, fmt in (("nll", "{:.4f}"), ("ratio_mean", "{:.3f}"), ("ratio_enl", "{:.2f}")):
        title = "left-out NLL of the last pair (date T - 1)" if metric == "nll" else metric
        print(f"\n## {title}\n\n| stack | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
        for n in names:
            vals = [scores[n][c][metric] for c in cols]
            if metric == "nll":
                best = int(np.nanargmin(vals))
            elif metric == "ratio_mean":
                best = int(np.nanargmin([abs(v - 1) for v in vals]))
            else:
                best = -1
            cells = [("**" + fmt.format(v) + "**") if i == best else fmt.format(v) for i, v in enumerate(vals)]
            print(f"| {label[n]} | " + " | ".join(cells) + " |")
    baselines = [c for c in cols if parse(c)[0] in ("rabasar", "rabasar_down2", "mean", "quegan")]
    if baselines:
        print(f"\n## stacks where a network method beats every baseline ({', '.join(baselines)})\n")
        for c in cols:
            if parse(c)[0] in ("ratio", "sar2sar"):
                won = [n for n in names if scored[n] and mean_nll[n][c] < min(mean_nll[n][b] for b in baselines)]
                each = sum(pair_nll[n][c][j] < min(pair_nll[n][b][j] for b in baselines) for n in names for j in scored[n])
                print(f"- {c}: mean of the pairs on {len(won)} of {len(names)} stacks ({', '.join(won)}),"
                      f" {each} of {sum(map(len, scored.values()))} single pairs")
    print("\n## stacks where each method is best (mean NLL over the pairs); seconds of estimates in all\n")
    for c in cols:
        print(f"- {c}: {wins[c]} of {len(names)}; {seconds[c]:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)

        def finite(v: float) -> float | None:
            return v if np.isfinite(v) else None

        out = {
            "scores": {n: {c: {k: finite(v) for k, v in d.items()} for c, d in sc.items()} for n, sc in scores.items()},
            "pair_nll": {n: {c: [finite(v) for v in vs] for c, vs in d.items()} for n, d in pair_nll.items()},
            "mean_nll": {n: {c: finite(v) for c, v in d.items()} for n, d in mean_nll.items()},
            "change_slope": {n: {c: {k: v if isinstance(v, int) else finite(v) for k, v in vars(s).items()}
                                 for c, s in d.items()} for n, d in slopes.items()},
            "roles": {n: role(n) for n in names}, "wins": wins, "seconds": seconds, "pairs": args.pairs,
            "change_dates": args.change_dates,
        }
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
