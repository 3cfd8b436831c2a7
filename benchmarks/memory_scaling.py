"""Peak memory (RSS) and time of each workflow rule against the scene size: the rules stream.

For each size (default 1024, 2048, 4096 and 8192 pixels a side) this script generates a stack of
single-look dates (default 20) written strip by strip (a 512 x 512 tile of the project's simulated
scene, with its temporal changes, repeated with a random rotation/flip per tile so that the scene is not
periodic; fresh Gamma speckle everywhere), runs the workflow on it
with Snakemake up to one despeckled date and its quicklook (``--whole``: every date, the AOI's whole run,
timed end to end, e.g. 2048^2 x 20), and prints the peak RSS and wall time that
Snakemake's ``benchmark:`` recorded for every rule (``results/{aoi}/benchmarks/*.tsv``). The data and
the results of each size are deleted after it (``--keep`` keeps them).

    .venv/bin/python benchmarks/memory_scaling.py [--sizes 1024 2048 4096 8192] [--dates 20]
        [--denoiser dct|bm3d] [--filter mulog|none] [--workdir /tmp/mtsar2sar-memory]
    .venv/bin/python benchmarks/memory_scaling.py --sizes 2048 --denoiser bm3d --whole --cores 2   # about 20 min

The super-image filter is MuLoG with the DCT denoiser by default: MuLoG-BM3D costs about 15 min per
megapixel here, which would make the largest sizes a matter of days; its memory is bounded the same way
(blocks of ``mulog.block`` + halo).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from mtsar2sar.io import Grid, open_writer, strips
from mtsar2sar.simulate import SimulationConfig, build_scene, reflectivity

REPO = Path(__file__).resolve().parents[1]
TILE = 512
RULES = ["check_coregistration", "super_image", "filter_super_image_block", "filter_super_image", "despeckle",
         "despeckle_batch", "quicklook", "quicklook_sheet", "stac"]


def generate(folder: Path, size: int, dates: int, seed: int = 0) -> list[str]:
    """Write ``dates`` single-look dates of ``size`` x ``size`` strip by strip; returns the date keys."""
    cfg = SimulationConfig(seed=seed, height=TILE, width=TILE, dates=dates, looks=1, speckle="gamma")
    scene = build_scene(cfg, np.random.default_rng(seed))
    base = cfg.grid()
    grid = Grid(size, size, base.crs, base.transform, None)
    folder.mkdir(parents=True, exist_ok=True)
    keys = cfg.date_keys()
    reps = -(-size // TILE)
    transforms = np.random.default_rng(seed).integers(0, 8, (reps, reps))  # one dihedral transform per tile
    for t, key in enumerate(keys):
        tile = reflectivity(scene, cfg, t)
        views = [np.rot90(tile, k)[:, :: (1 - 2 * f)] for f in (0, 1) for k in range(4)]
        with open_writer(folder / f"S1_{key}.tif", grid, "simulated single-look intensity") as dst:
            for i, (r0, r1) in enumerate(strips(size, TILE)):
                truth = np.concatenate([views[k] for k in transforms[i]], axis=1)[: r1 - r0, :size]
                rng = np.random.default_rng([seed, t, r0])
                rows = truth * rng.gamma(1.0, 1.0, (r1 - r0, size))
                dst.write(rows.astype(np.float32), r0)
    return keys


def run(size: int, dates: int, denoiser: str, filt: str, workdir: Path, keep: bool, whole: bool = False,
        cores: int = 2) -> list[dict[str, str]]:
    aoi = f"scale_{size}"
    data = workdir / "data" / aoi
    t0 = time.perf_counter()
    keys = generate(data, size, dates)
    gen_s = time.perf_counter() - t0
    config = {
        "aois": {aoi: {"inputs": str(data / "*.tif"), "date_regex": r"_(\d{8})\.tif$", "input_domain": "intensity", "looks": 1}},
        "mulog": {"denoiser": denoiser},
        "super_image": {"filter": filt},
        "outputs": {"quicklooks": True},
    }
    cfg_path = workdir / f"{aoi}.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    date = keys[len(keys) // 2]
    targets = [f"results/{aoi}/despeckled/{date}.tif", f"results/{aoi}/quicklooks/{date}.jpg"]
    if whole:  # the AOI's default targets (rule all, this AOI only)
        targets = [f"results/{aoi}/{t}" for t in ("despeckled.done", "stac/collection.json", "quicklooks.jpg")]
    snakemake = Path(sys.executable).with_name("snakemake")
    cmd = [str(snakemake), *targets, "--cores", str(cores), "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(REPO / "config.yaml"), str(cfg_path), "--quiet", "rules"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    rows = []
    for rule in RULES:
        bdir = workdir / "results" / aoi / "benchmarks"
        for tsv in sorted([*bdir.glob(f"{rule}.tsv"), *bdir.glob(f"{rule}/*.tsv")]):
            with tsv.open() as f:
                rec = next(csv.DictReader(f, delimiter="\t"))
            rows.append({"size": str(size), "rule": rule, "s": rec["s"], "max_rss_mb": rec["max_rss"]})
    print(f"# {size}^2 x {dates} dates: generated in {gen_s:.0f} s, workflow {wall:.0f} s"
          f" ({'every date' if whole else 'one date'}, {cores} cores, {denoiser})", flush=True)
    if not keep:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(workdir / "results" / aoi, ignore_errors=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096, 8192])
    ap.add_argument("--dates", type=int, default=20)
    ap.add_argument("--denoiser", choices=["dct", "bm3d"], default="dct")
    ap.add_argument("--filter", choices=["mulog", "none"], default="mulog", help="super-image filter")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mtsar2sar-memory"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--whole", action="store_true", help="despeckle every date (the AOI's whole run), not one")
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    table = []
    for size in args.sizes:
        table += run(size, args.dates, args.denoiser, args.filter, args.workdir, args.keep, args.whole, args.cores)
        print(f"{'size':>6} {'rule':<22}{'time s':>9}{'peak RSS MB':>13}{'Mpx':>7}{'s/Mpx':>8}")
        for r in table:
            mpx = int(r["size"]) ** 2 / 1e6
            print(f"{r['size']:>6} {r['rule']:<22}{float(r['s']):>9.1f}{float(r['max_rss_mb']):>13.0f}{mpx:>7.1f}"
                  f"{float(r['s']) / mpx:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
