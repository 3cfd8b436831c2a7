"""The super-image filter: quality and time of its variants, and its blocks as jobs on 1 and 2 cores.

Quality (default): on a finished simulated AOI (``results/{aoi}`` with ``super_image.tif`` and the
simulation's truth), each variant filters the same super-image (MuLoG, L = its ENL) and is scored by the
PSNR on log-intensity of the filtered super-image against the temporal mean of the truth, and end to end
(ratio + the network ``weights: auto`` picks for ``--looks``, mean over 4 evenly spaced dates) against
each date's truth. Variants: ``bm3d:N`` (BM3D, N ADMM iterations), ``bm3d_ht:N`` (BM3D's hard-thresholding
stage only), ``dct:N``; a third field names ADMM's start (``bm3d`` or ``dct``), a fourth the factor of
the ENL that gives MuLoG's L (``super_image.filter_looks_factor``; default 1 here).

    .venv/bin/python benchmarks/super_image_filter.py results/demo_4look --looks 4 --variant bm3d:6 --variant bm3d:3
    .venv/bin/python benchmarks/super_image_filter.py results/demo_1look --looks 1 --variant bm3d:6 --variant bm3d:3

Jobs (``--jobs``): the workflow's filter on a simulated AOI of ``--size``² with ``mulog.block`` =
``--block`` (blocks as jobs), run to ``super_image_filtered.tif`` with ``--cores 1`` and then ``2`` in fresh
folders, side by side: wall time, the number of block jobs, and whether both files are byte-identical.

    .venv/bin/python benchmarks/super_image_filter.py --jobs --size 512 --block 256
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

from mtsar2sar.denoisers import bm3d_denoiser, dct_denoiser
from mtsar2sar.io import read_product
from mtsar2sar.layout import AoiFolder
from mtsar2sar.metrics import psnr_log
from mtsar2sar.mulog import GammaLikelihood, mulog
from mtsar2sar.superimage import filter_looks

REPO = Path(__file__).resolve().parents[1]

DENOISERS = {"bm3d": bm3d_denoiser, "bm3d_ht": functools.partial(bm3d_denoiser, hard_thresholding_only=True),
             "dct": dct_denoiser}


def denoiser_of(spec: str) -> Callable[[np.ndarray, float], np.ndarray]:
    """``bm3d``, ``bm3d_ht`` (BM3D's first stage alone), ``dct``, or ``bm3d+FIELD=VALUE+...`` /
    ``bm3d_ht+FIELD=VALUE+...`` (BM3D with fields of its profile changed, e.g. ``step_ht=4``, or
    ``strips=N`` / ``workers=N``: BM3D by bands of rows, in threads, ``mtsar2sar.denoisers.strip_layout``)."""
    name, *changes = spec.split("+")
    if not changes:
        return DENOISERS[name]
    fields = {k: int(v) for k, v in (c.split("=") for c in changes)}
    split = {k: fields.pop(k) for k in ("strips", "workers") if k in fields}  # not profile fields
    return functools.partial(bm3d_denoiser, profile_fields=fields, hard_thresholding_only=name == "bm3d_ht", **split)


def quality(aoi: Path, looks: float, variants: list[str]) -> None:
    import torch

    from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio
    from mtsar2sar.network import load_network
    from mtsar2sar.plan import method_dates

    torch.set_num_threads(2)
    folder = AoiFolder(aoi)
    s, _ = read_product(folder.super_image)
    enl = float(json.loads(folder.super_image_enl.read_text())["enl"])
    dates = json.loads(folder.coregistration.read_text())["kept_dates"]
    truths = {d: read_product(folder.truth(d))[0] for d in dates}
    truth_mean = np.mean(list(truths.values()), axis=0)
    net = NetworkDenoiser(load_network("auto", looks=looks))
    print(f"AOI {aoi.name}: super-image of {len(dates)} dates, ENL {enl:.1f}; end to end on 4 dates, weights auto "
          f"for {looks:g} looks")
    changed = read_product(folder.changed)[0] > 0.5
    print(f"{'variant':<34}{'super-image PSNR log':>22}{'end-to-end PSNR log':>21}{'(changed)':>14}{'filter s':>10}")
    for v in variants:
        name, iterations, *rest = v.split(":")
        start = rest[0] if rest and rest[0] else None
        looks = filter_looks(enl, {"looks_factor": float(rest[1]) if len(rest) > 1 else 1.0})
        t0 = time.perf_counter()
        f = mulog(s, GammaLikelihood(looks), denoiser_of(name), admm_iterations=int(iterations), start_denoiser=start)
        seconds = time.perf_counter() - t0
        ests = {d: despeckle_by_ratio(read_product(folder.noisy(d))[0], f, net).despeckled for d in method_dates(dates, 4)}
        e2e = np.mean([psnr_log(e, truths[d]) for d, e in ests.items()])
        e2e_changed = np.mean([psnr_log(e, truths[d], changed) for d, e in ests.items()])
        print(f"{v:<34}{psnr_log(f, truth_mean):>22.3f}{e2e:>21.3f}{e2e_changed:>14.3f}{seconds:>10.1f}")


def jobs(size: int, block: int, cores: list[int]) -> None:
    config = {
        "aois": {"bench": {"simulate": {"seed": 7, "height": size, "width": size, "dates": 10, "looks": 1},
                           "looks": 1}},
        "mulog": {"block": block, "block_jobs": True},
    }
    target = "results/bench/super_image_filtered.tif"
    digests = []
    for n in cores:
        with tempfile.TemporaryDirectory(prefix="mtsar2sar-filter-") as tmp:
            work = Path(tmp)
            (work / "config.yaml").write_text(yaml.safe_dump(config))
            cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
                   "--configfile", str(work / "config.yaml"), "--cores", str(n)]
            pre = subprocess.run([*cmd, "results/bench/super_image.tif"], capture_output=True, text=True, check=False,
                                 env=dict(os.environ, PYTHONPATH=str(REPO)))
            if pre.returncode:
                sys.exit(pre.stderr[-3000:])
            t0 = time.perf_counter()
            res = subprocess.run([*cmd, target], capture_output=True, text=True, check=False,
                                 env=dict(os.environ, PYTHONPATH=str(REPO)))
            wall = time.perf_counter() - t0
            if res.returncode:
                sys.exit(res.stderr[-3000:])
            n_blocks = sum(line.strip().endswith("rule filter_super_image_block:") for line in res.stderr.splitlines())
            digests.append(hashlib.sha256((work / target).read_bytes()).hexdigest())
            print(f"--cores {n}: {n_blocks} block jobs + 1 assembly, filter wall time {wall:.1f} s")
    print(f"{size}^2 single-look super-image (10 dates), MuLoG-BM3D, block {block}: files identical: "
          f"{len(set(digests)) == 1}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("aoi", type=Path, nargs="?", help="a finished simulated AOI (quality)")
    ap.add_argument("--looks", type=float, default=1.0)
    ap.add_argument("--variant", action="append", default=[],
                    help="denoiser:iterations[:bm3d|dct, ADMM's start[:F, L = ENL x F]] (repeat)")
    ap.add_argument("--jobs", action="store_true", help="time the blocks as jobs on 1 and 2 cores instead")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    if args.jobs:
        jobs(args.size, args.block, args.cores)
    else:
        if args.aoi is None:
            ap.error("give a finished simulated AOI folder, or --jobs")
        quality(args.aoi, args.looks, args.variant or ["bm3d:6", "bm3d:3"])


if __name__ == "__main__":
    main()
