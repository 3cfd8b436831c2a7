"""An experiment (not in the product): where the chain's error comes from, and three inference-time ideas
that use the other dates, measured.

On a finished simulated AOI (``results/{aoi}`` with the truth), over all its dates, PSNR on
log-intensity overall and on the pixels that change (dB):

* ``chain``: the workflow's ratio + network on the MuLoG-filtered super-image;
* ``chain, truth's temporal mean as super-image``: the same network on the ratio to the truth's
  temporal mean, the ceiling of a perfect super-image filter;
* ``rabasar`` (the workflow's ``methods/rabasar`` dates, when present), the correlation of its log
  error with the chain's on those dates, and their geometric mean ``chain^a rabasar^(1-a)``;
* ``temporal filter k, h``: each date's estimate replaced by the mean of all dates' estimates weighted
  by ``exp(-D / h^2)``, D the k x k mean squared difference of their logs (the date itself weighs 1);
* ``second pass``: the chain again, with the temporal mean of its first-pass estimates as super-image;
* other super-image filters: the workflow's MuLoG with the ENL scaled by 0.7 and 1.4, and BM3D directly
  on the log super-image (white noise of the log-variance ``psi_1(ENL)``), each scored itself against the
  truth's temporal mean and end to end.

With ``--real``, the temporal filter is also scored on the ten real stacks by the left-out-date NLL
of ``benchmarks/real_stacks.py`` (lower is better).

    .venv/bin/python experiments/error_budget.py results/demo_4look --weights sar2sar-ml
    .venv/bin/python experiments/error_budget.py --real --weights sar2sar-ml
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

import bm3d
import numpy as np
import torch
from scipy.ndimage import uniform_filter
from scipy.special import polygamma

from mtsar2sar.config import defaults
from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio
from mtsar2sar.io import read_product
from mtsar2sar.layout import AoiFolder
from mtsar2sar.metrics import psnr_log
from mtsar2sar.network import load_network
from mtsar2sar.plan import super_image_filter_settings
from mtsar2sar.realscore import leftout_nll
from mtsar2sar.superimage import filter_super_image

FILTERS = ((3, 0.06), (5, 0.06), (5, 0.1), (5, 0.15))  # (window k, h in natural-log units)
MIX = (0.3, 0.5, 0.7)


def temporal_filter(estimates: np.ndarray, k: int, h: float) -> np.ndarray:
    """Each date's estimate averaged over the dates whose k x k neighbourhood is within ~h of its own
    (in log); invalid pixels (NaN) count in no neighbourhood and stay NaN."""
    logs = np.log(estimates.astype(np.float64))
    valid = np.isfinite(logs)
    out = np.full(logs.shape, np.nan)
    for i in range(len(logs)):
        num = np.zeros(logs.shape[1:])
        den = np.zeros(logs.shape[1:])
        for j in range(len(logs)):
            both = valid[i] & valid[j]
            d2 = np.where(both, logs[i] - logs[j], 0.0) ** 2
            n = uniform_filter(both.astype(np.float64), k, mode="reflect")
            dist = uniform_filter(d2, k, mode="reflect") / np.maximum(n, 1e-9)
            weight = np.where(both, 1.0 if i == j else np.exp(-dist / h**2), 0.0)
            num += weight * np.where(both, estimates[j], 0.0)
            den += weight
        out[i] = np.where(valid[i], num / np.where(den > 0, den, 1.0), np.nan)
    return out


def scores(est: np.ndarray, truth: np.ndarray, changed: np.ndarray) -> str:
    a = np.array([(psnr_log(e, t), psnr_log(e, t, changed)) for e, t in zip(est, truth)])
    return f"{a[:, 0].mean():7.3f} {a[:, 1].mean():7.3f}"


def simulated(aoi: Path, den: NetworkDenoiser) -> None:
    d = AoiFolder(aoi)
    dates = json.loads(d.coregistration.read_text())["kept_dates"]
    s, _ = read_product(d.super_image_filtered)
    changed = read_product(d.changed)[0] > 0.5
    w = np.array([read_product(d.noisy(x))[0] for x in dates], dtype=np.float64)
    v = np.array([read_product(d.truth(x))[0] for x in dates], dtype=np.float64)
    chain = np.array([despeckle_by_ratio(x, s, den).despeckled for x in w], dtype=np.float64)
    print(f"AOI {aoi.name}, {len(dates)} dates: PSNR log, PSNR log on changed pixels (dB)")
    print(f"{'chain':<52}{scores(chain, v, changed)}")
    oracle = np.array([despeckle_by_ratio(x, v.mean(0), den).despeckled for x in w])
    print(f"{'chain, truth temporal mean as super-image':<52}{scores(oracle, v, changed)}")
    rab = [i for i, x in enumerate(dates) if (d.methods_dir / "rabasar" / f"{x}.tif").exists()]
    if rab:
        r = np.array([read_product(d.methods_dir / "rabasar" / f"{dates[i]}.tif")[0] for i in rab], dtype=np.float64)
        ec, er = np.log(chain[rab]) - np.log(v[rab]), np.log(r) - np.log(v[rab])
        ok = np.isfinite(ec) & np.isfinite(er)
        print(f"{f'on the {len(rab)} dates of methods/rabasar: chain':<52}{scores(chain[rab], v[rab], changed)}")
        print(f"{'  rabasar':<52}{scores(r, v[rab], changed)}")
        print(f"  correlation of their log errors: {np.corrcoef(ec[ok], er[ok])[0, 1]:.3f}")
        for a in MIX:
            print(f"{f'  chain^{a} rabasar^{1 - a:.1f}':<52}{scores(chain[rab] ** a * r ** (1 - a), v[rab], changed)}")
    for k, h in FILTERS:
        print(f"{f'temporal filter k={k}, h={h}':<52}{scores(temporal_filter(chain, k, h), v, changed)}")
    second = np.array([despeckle_by_ratio(x, np.nanmean(chain, 0), den).despeckled for x in w])
    print(f"{'second pass (super-image: mean of the estimates)':<52}{scores(second, v, changed)}")
    mean, _ = read_product(d.super_image)
    enl = float(json.loads(d.root.joinpath("super_image_enl.json").read_text())["enl"])
    settings = super_image_filter_settings({}, {})
    others: dict[str, Callable[[], np.ndarray]] = {
        f"MuLoG, ENL x {f}": functools.partial(filter_super_image, mean, "mulog", enl * f, settings) for f in (1.0, 0.7, 1.4)}
    others["BM3D on log(s), white"] = lambda: np.exp(bm3d.bm3d(np.log(mean.astype(np.float64)), np.sqrt(polygamma(1, enl))))
    for name, make in others.items():
        alt = make()
        est = np.array([despeckle_by_ratio(x, alt, den).despeckled for x in w])
        print(f"{f'super-image filter {name} (itself {psnr_log(alt, v.mean(0)):.2f})':<52}{scores(est, v, changed)}")


def real(den: NetworkDenoiser) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from real_stacks import DEFAULT_DATA, Stack, find_stacks

    print("| stack | chain | " + " | ".join(f"filter k={k}, h={h}" for k, h in FILTERS) + " |")
    print("|---|---|" + "---|" * len(FILTERS))
    for name, files in find_stacks(DEFAULT_DATA, None).items():
        st = Stack(name, files, Path("results/real_stacks_cache"), "bm3d", "workflow",
                   defaults("super_image")["filter_looks_factor"])  # the workflow's super-image
        chain = np.array([despeckle_by_ratio(x, st.filtered, den).despeckled for x in st.dates], dtype=np.float64)
        vals = [leftout_nll(chain[-1], st.leftout, st.stable)]
        vals += [leftout_nll(temporal_filter(chain, k, h)[-1], st.leftout, st.stable) for k, h in FILTERS]
        best = int(np.nanargmin(vals))
        print(f"| {name} | " + " | ".join(("**{:.4f}**" if i == best else "{:.4f}").format(x) for i, x in enumerate(vals))
              + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("aoi_dir", type=Path, nargs="?")
    ap.add_argument("--weights", default="sar2sar-ml")
    ap.add_argument("--real", action="store_true", help="the temporal filter on the ten real stacks")
    args = ap.parse_args()
    if not args.real and args.aoi_dir is None:
        ap.error("give a finished simulated AOI folder, or --real")
    torch.set_num_threads(2)
    den = NetworkDenoiser(load_network(args.weights, "."), tile=768, overlap=256)
    if args.real:
        real(den)
    else:
        simulated(args.aoi_dir, den)


if __name__ == "__main__":
    main()
