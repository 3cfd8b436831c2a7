"""A small stack end to end against RABASAR, same machine, same run.

Simulates a 256 x 256 x 20 single-look stack (the demo's generator, seed 5) in a fresh working folder,
then runs the workflow with the defaults (``snakemake --cores 2``, the simulation not timed) ``--runs``
times from the simulated dates, and prints each run's wall time, the seconds of each rule (Snakemake's
benchmark files) and the PSNR on log-intensity of the products against the truth (mean of the 20 dates).

With ``--rabasar-python``, a Python that has the authors' packages (PyPI ``rabasar`` 0.0.1 and ``mulog``
0.0.4; not a dependency of this project) runs their ``run_rabasar`` (its own super-image, MuLoG with
BM3D, 1 look) on the same 20 dates in a process of its own: its wall time and its PSNR are printed
beside ours, and the ratio of the wall times.

    python3.11 -m venv /tmp/rabvenv && /tmp/rabvenv/bin/pip install rabasar==0.0.1 mulog==0.0.4
    .venv/bin/python benchmarks/small_stack.py --runs 2 --rabasar-python /tmp/rabvenv/bin/python
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from mtsar2sar.io import read_product
from mtsar2sar.layout import AoiFolder
from mtsar2sar.metrics import psnr_log

REPO = Path(__file__).resolve().parents[1]
AOI = "s256"
RULES = ("check_coregistration", "super_image", "filter_super_image", "despeckle_batch", "quicklook_sheet", "stac")

RABASAR = """
import sys, time
import numpy as np
from mulog import PREDEFINED_GAUSSIAN_DENOISER_NAMES_TO_DENOISER as D, PredefinedGaussianDenoiserNames as N
from rabasar import run_rabasar
stack = np.load(sys.argv[1])
t0 = time.perf_counter()
out, _ = run_rabasar(sar_stack=stack, number_looks=1.0, denoiser=D[N.BM3D])
print(f"run_rabasar {time.perf_counter() - t0:.1f} s", file=sys.stderr)
np.save(sys.argv[2], np.asarray(out, dtype=np.float32))
"""


def snakemake(work: Path, *targets: str) -> float:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", str(work / "config.yaml"), "--cores", "2", *targets, "--quiet", "all"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, env=dict(os.environ, PYTHONPATH=str(REPO)))
    wall = time.perf_counter() - t0
    if res.returncode:
        sys.exit(res.stderr[-3000:])
    return wall


def rule_seconds(folder: AoiFolder, rule: str) -> float:
    files = [folder.root / "benchmarks" / f"{rule}.tsv", *sorted((folder.root / "benchmarks" / rule).glob("*.tsv"))]
    return sum(float(f.read_text().splitlines()[1].split("\t")[0]) for f in files if f.is_file())


def mean_psnr(estimates: dict[str, np.ndarray], folder: AoiFolder) -> float:
    return float(np.mean([psnr_log(e, read_product(folder.truth(d))[0]) for d, e in estimates.items()]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--rabasar-python", default=None, help="a Python with the authors' rabasar and mulog")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mtsar2sar-small-"))
    cfg = {"aois": {AOI: {"simulate": {"seed": 5, "height": 256, "width": 256, "dates": 20, "looks": 1}}}}
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    folder = AoiFolder(work / "results" / AOI)
    snakemake(work, f"results/{AOI}/simulated")
    walls = []
    for i in range(args.runs):
        for p in folder.root.iterdir():
            if p.name != "simulated":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        walls.append(snakemake(work))
        print(f"run {i + 1}: {walls[-1]:.2f} s; " + ", ".join(f"{r} {rule_seconds(folder, r):.2f} s" for r in RULES))
    dates = sorted(p.stem for p in (folder.root / "despeckled").glob("*.tif"))
    ours = mean_psnr({d: read_product(folder.root / "despeckled" / f"{d}.tif")[0] for d in dates}, folder)
    print(f"mtsar2sar (defaults): {min(walls):.2f}-{max(walls):.2f} s, PSNR log {ours:.3f} dB over {len(dates)} dates")
    if args.rabasar_python:
        stack = np.stack([read_product(folder.noisy(d))[0] for d in dates]).astype(np.float64)
        np.save(work / "stack.npy", stack)
        t0 = time.perf_counter()
        res = subprocess.run([args.rabasar_python, "-c", RABASAR, str(work / "stack.npy"), str(work / "rabasar.npy")],
                             capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if res.returncode:
            sys.exit(res.stderr[-3000:])
        out = np.load(work / "rabasar.npy")
        theirs = mean_psnr(dict(zip(dates, out, strict=True)), folder)
        inner = next((line for line in res.stderr.splitlines() if line.startswith("run_rabasar")), "")
        print(f"RABASAR (authors' package, BM3D): {wall:.1f} s ({inner}), "
              f"PSNR log {theirs:.3f} dB")
        print(f"mtsar2sar is {wall / max(walls):.1f}-{wall / min(walls):.1f} times faster, "
              f"{ours - theirs:+.2f} dB PSNR log")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
