"""Cost of the per-date references against the chain on a 256 x 256 x 20 stack (a crop of demo_4look), 1 thread.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/state_reference/timing.py results/demo_4look
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real import filtered_super_image
from reference import StateContext, network_for, state_reference

SPECS = ["soft2-guided5_0.5:a0.5", "guided3_0.5:a0.5", "sigma11", "soft2-guided5_0.5"]


def main() -> None:
    from mtsar2sar.despeckle import despeckle_by_ratio
    from mtsar2sar.io import read_product

    torch.set_num_threads(1)
    aoi = Path(sys.argv[1])
    dates = json.loads((aoi / "coregistration.json").read_text())["kept_dates"]
    stack = [read_product(aoi / "simulated" / "noisy" / f"{d}.tif")[0][:256, :256].astype(np.float64) for d in dates]
    t0 = time.perf_counter()
    filtered, _ = filtered_super_image(stack)
    t_filter = time.perf_counter() - t0
    den = network_for(4.0)
    despeckle_by_ratio(stack[0], filtered, den)  # warm-up
    t0 = time.perf_counter()
    for w in stack:
        despeckle_by_ratio(w, filtered, den)
    t_net = (time.perf_counter() - t0) / len(stack)
    t0 = time.perf_counter()
    ctx = StateContext(stack, filtered)
    t_setup = time.perf_counter() - t0
    total = t_filter + len(stack) * t_net
    print(f"256 x 256 x {len(stack)}: super-image (mean + MuLoG filter) {t_filter:.2f} s, chain {t_net:.3f} s/date,"
          f" end to end {total:.1f} s; state test setup (boxcar logs of all dates) {t_setup:.2f} s")
    for spec in SPECS:
        t0 = time.perf_counter()
        for t in range(len(stack)):
            state_reference(ctx, t, spec, 4.0)
        per = (time.perf_counter() - t0) / len(stack)
        extra = t_setup + len(stack) * per
        print(f"{spec:<24} reference {per:.3f} s/date ({per / t_net:.0%} of the chain's per-date time);"
              f" extra end to end {extra:.1f} s = {extra / total:+.0%}")


if __name__ == "__main__":
    main()
