"""False-alarm rate of the co-registration check on perfectly co-registered stacks, and its detection
rate of a shifted date.

Every stack is perfectly co-registered (no shift is applied): every date the check drops as
misregistered is a false alarm. Three kinds of scene: the demo scene of ``mtsar2sar.simulate``
(parcels with texture, roads, river, town; ``changes`` off), a piecewise-constant one (the demo's
parcels, one level each: few edges, nothing else to correlate), both with single-look correlated
speckle, and ``smooth`` (a log-normal field smoothed over 3 px, 24 dB of spread: blobs, no edge) with
Gamma speckle of ``--looks`` looks. With ``--shift S``, the second date of each stack is shifted by S px
(rows, linear interpolation) and the count is of the stacks where the check drops it (detections).

    .venv/bin/python benchmarks/false_alarms.py --stacks 10 --dates 10 --size 128
    .venv/bin/python benchmarks/false_alarms.py --kinds smooth --looks 4 --stacks 25 --dates 6
    .venv/bin/python benchmarks/false_alarms.py --kinds smooth --looks 4 --stacks 25 --dates 6 --shift 1

prints, per kind, the number of false alarms over the non-reference dates and the rate (or the
detections). A short run of it (3 piecewise stacks: 0 of 27 dates) is a test, ``tests/test_coregistration.py``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.ndimage import shift as shift_image

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


def smooth_stack(seed: int, dates: int, size: int, looks: float, shift: float = 0.0) -> list[np.ndarray]:
    """``dates`` dates of a smooth log-normal scene with ``looks``-look Gamma speckle; the second shifted by
    ``shift`` px along the rows."""
    rng = np.random.default_rng(seed)
    scene = np.exp(gaussian_filter(rng.normal(size=(size, size)), 3) * 6) * 0.1
    out = []
    for i in range(dates):
        s = shift_image(scene, (shift, 0), order=1, mode="nearest") if i == 1 and shift else scene
        out.append((s * rng.gamma(looks, 1 / looks, s.shape)).astype(np.float32))
    return out


def false_alarms(kind: str, stacks: int, dates: int, size: int, seed0: int = 100, looks: float = 1.0,
                 shift: float = 0.0) -> tuple[int, int]:
    """(dates dropped as misregistered, non-reference dates checked) with the default settings; with
    ``shift``, (stacks whose shifted second date is dropped, stacks)."""
    dropped = checked = 0
    for s in range(stacks):
        imgs = (smooth_stack(seed0 + s, dates, size, looks, shift) if kind == "smooth"
                else single_look_stack(kind, seed0 + s, dates, size))
        with tempfile.TemporaryDirectory() as tmp:
            keys = [f"2024{m:02d}01" for m in range(1, dates + 1)]
            grid = SimulationConfig(height=size, width=size).grid()
            files = {}
            for key, img in zip(keys, imgs):
                files[key] = Path(tmp) / f"S1_{key}.tif"
                write_float32(files[key], img, grid)
            rep = check_stack(files, "intensity", on_misregistered="drop")
        if shift:
            dropped += keys[1] in rep["dropped_dates"]
            checked += 1
        else:
            dropped += len(rep["dropped_dates"])
            checked += dates - 1
    return dropped, checked


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stacks", type=int, default=10)
    ap.add_argument("--dates", type=int, default=10)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--kinds", nargs="+", default=["piecewise", "demo"], choices=["piecewise", "demo", "smooth"])
    ap.add_argument("--looks", type=float, default=1.0, help="looks of the smooth scene's speckle")
    ap.add_argument("--shift", type=float, default=0.0, help="shift of the second date (px): detections")
    args = ap.parse_args()
    if args.shift and "smooth" not in args.kinds:
        ap.error("--shift applies to --kinds smooth")
    for kind in args.kinds:
        n, total = false_alarms(kind, args.stacks, args.dates, args.size, looks=args.looks,
                                shift=args.shift if kind == "smooth" else 0.0)
        what = "detections of the shifted date" if args.shift and kind == "smooth" else "false alarms"
        print(f"{kind}: {n} {what} / {total} {'stacks' if args.shift else 'dates'} = {n / total:.1%}", flush=True)


if __name__ == "__main__":
    main()
