"""How well ``mtsar2sar.enl.amplitude_evidence`` tells an amplitude from an intensity (``mtsar2sar init``'s
guess of the domain of positive real values).

Simulated: ``--seeds`` dates of ``--size`` x ``--size`` px of i.i.d. Gamma speckle of 1, 2 and 4 looks, as an
intensity and as its square root (an amplitude). Real: every date of the repository's OPERA RTC-S1 stacks
(intensities, about 2 to 6 looks). Prints the score's range per case; above ``AMPLITUDE_EVIDENCE`` the guess
is amplitude.

    .venv/bin/python benchmarks/amplitude_evidence.py --seeds 40 --size 256
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mtsar2sar.enl import AMPLITUDE_EVIDENCE, amplitude_evidence
from mtsar2sar.io import read_product

DATA = Path(__file__).resolve().parents[1] / "data" / "opera_rtc_s1_10SGD"


def spread(values: list[float | None]) -> str:
    v = np.array([x for x in values if x is not None])
    none = len(values) - v.size
    text = f"min {v.min():+.3f}  median {np.median(v):+.3f}  max {v.max():+.3f}" if v.size else "no score"
    return text + (f"  ({none} too small to tell)" if none else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=40, help="simulated dates per case")
    ap.add_argument("--size", type=int, default=256, help="side of a simulated date (px)")
    args = ap.parse_args()
    print(f"threshold: above {AMPLITUDE_EVIDENCE:+.2f} the values are guessed an amplitude\n")
    for kind in ("intensity", "amplitude"):
        for looks in (1, 2, 4):
            scores = []
            for seed in range(args.seeds):
                x = np.random.default_rng(100 + seed).gamma(looks, 1 / looks, (args.size, args.size))
                scores.append(amplitude_evidence(x if kind == "intensity" else np.sqrt(x)))
            print(f"simulated {kind:<9} {looks} look(s), {args.size}²: {spread(scores)}")
    print()
    for folder in sorted(p for p in DATA.glob("*/*") if p.is_dir()):
        scores = [amplitude_evidence(read_product(f)[0].astype(np.float64)) for f in sorted(folder.glob("*.tif"))]
        print(f"real intensity {folder.parent.name}/{folder.name} ({len(scores)} dates): {spread(scores)}")


if __name__ == "__main__":
    main()
