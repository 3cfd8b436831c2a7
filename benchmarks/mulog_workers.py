"""MuLoG by blocks in 1 vs N worker processes, side by side in one run: wall time and identical bytes.

    .venv/bin/python benchmarks/mulog_workers.py --size 1024 --block 512 --denoiser dct --workers 1 2
"""

from __future__ import annotations

import argparse
import time

from mtsar2sar.denoisers import get_denoiser
from mtsar2sar.enl import estimate_enl
from mtsar2sar.mulog import GammaLikelihood, mulog_blocks
from mtsar2sar.simulate import SimulationConfig, simulate_stack
from mtsar2sar.superimage import temporal_mean


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--dates", type=int, default=10, help="dates averaged into the super-image")
    ap.add_argument("--block", type=int, default=512)
    ap.add_argument("--halo", type=int, default=32)
    ap.add_argument("--denoiser", default="dct", choices=["dct", "bm3d"])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    _, _, noisy, _ = simulate_stack(SimulationConfig(seed=5, height=args.size, width=args.size, dates=args.dates))
    s = temporal_mean(noisy)[0]
    enl = estimate_enl(s).enl
    print(f"super-image of {args.dates} dates, {args.size}^2, ENL {enl:.1f}; blocks {args.block} + halo {args.halo};"
          f" MuLoG-{args.denoiser}")
    ref = None
    for w in args.workers:
        t0 = time.perf_counter()
        out = mulog_blocks(s, GammaLikelihood(enl), get_denoiser(args.denoiser), args.block, args.halo, workers=w)
        dt = time.perf_counter() - t0
        ref = out if ref is None else ref
        print(f"workers {w}: {dt:.1f} s ({dt / (args.size**2 / 1e6):.1f} s/Mpx); identical to workers "
              f"{args.workers[0]}: {out.tobytes() == ref.tobytes()}")


if __name__ == "__main__":
    main()
