"""False-alarm rate of the co-registration check on perfectly co-registered single-look stacks.

Every stack is perfectly co-registered (no shift is applied): every date the check drops as
misregistered is a false alarm. Two kinds of scene, both from ``mtsar2sar.simulate``: the demo scene
(parcels with texture, roads, river, town; ``changes`` off) and a piecewise-constant one (the demo's
parcels, one level each: few edges, nothing else to correlate), with single-look correlated speckle.

    .venv/bin/python benchmarks/false_alarms.py --stacks 10 --dates 10 --size 128

prints, per kind, the number of false alarms over the non-reference dates and the rate. A short run of it
(3 piecewise stacks: 0 of 27 dates) is a test, ``tests/test_coregistration.py``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from mtsar2sar.coregistration import check_stack
from mtsar2sar.io import write_float32
from mtsar2sar.simulate import SimulationConfig, build_scene, db, reflectivity, speckle


def single_look_stack(kind: str, seed: int, dates: int, size: int) -> list[np.ndarray]:
    """``dates`` co-registered single-look dates (correlated speckle) of a ``kind`` scene (demo | piecewise)."""
    cfg = SimulationConfig(seed=seed, height=size, width=size, dates=dates, looks=1, speckle="correlated",
                           changes=False)
    rng = np.random.default_rng(seed)
    scene = build_scene(cfg, rng)
    if kind == "piecewise":
        levels = rng.uniform(-20.0, -8.0, int(scene.parcel.max()) + 1)
        truth = db(levels[scene.parcel])
    else:
        truth = reflectivity(scene, cfg, 0)
    return [(truth * speckle(cfg, rng)).astype(np.float32) for _ in range(dates)]


def false_alarms(kind: str, stacks: int, dates: int, size: int, seed0: int = 100) -> tuple[int, int]:
    """(dates dropped as misregistered, non-reference dates checked) with the default settings."""
    dropped = checked = 0
    for s in range(stacks):
        imgs = single_look_stack(kind, seed0 + s, dates, size)
        with tempfile.TemporaryDirectory() as tmp:
            keys = [f"2024{m:02d}01" for m in range(1, dates + 1)]
            grid = SimulationConfig(height=size, width=size).grid()
            files = {}
            for key, img in zip(keys, imgs):
                files[key] = Path(tmp) / f"S1_{key}.tif"
                write_float32(files[key], img, grid)
            rep = check_stack(files, "intensity", on_misregistered="drop")
        dropped += len(rep["dropped_dates"])
        checked += dates - 1
    return dropped, checked


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stacks", type=int, default=10)
    ap.add_argument("--dates", type=int, default=10)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--kinds", nargs="+", default=["piecewise", "demo"])
    args = ap.parse_args()
    for kind in args.kinds:
        n, total = false_alarms(kind, args.stacks, args.dates, args.size)
        print(f"{kind}: {n} false alarms / {total} dates = {n / total:.1%}", flush=True)


if __name__ == "__main__":
    main()
