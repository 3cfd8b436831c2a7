"""Speed of the per-date despeckling on one large date, against the machine's compute limit.

Prints: megapixels per second end to end (read -> ratio -> network -> write, the `despeckle` step),
the network's FLOPs per pixel (counted by torch's FlopCounterMode, not guessed), the fp32 matrix-multiply
rate of this machine with the same thread count, the fraction of that limit reached, and the effect of
the tile/overlap setting. Data are generated here and deleted after.

    .venv/bin/python benchmarks/speed.py [--size 2048] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from mtsar2sar.io import write_float32
from mtsar2sar.network import SAR2SARUNet
from mtsar2sar.simulate import SimulationConfig
from mtsar2sar.tiling import tiled_apply
from mtsar2sar.workflow import despeckle


def matmul_gflops(threads: int, n: int = 2048, repeats: int = 5) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    t0 = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * n**3 * repeats / (time.perf_counter() - t0) / 1e9


def flops_per_pixel(side: int = 256) -> float:
    net = SAR2SARUNet().eval()
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        net(torch.zeros(1, 1, side, side))
    return counter.get_total_flops() / side**2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n = args.size
    fpp = flops_per_pixel()
    peak = matmul_gflops(args.threads)
    print(f"network FLOPs per pixel (counted): {fpp / 1e3:.1f} kFLOP; fp32 matmul rate, {args.threads} threads: {peak:.1f} GFLOP/s")
    cfg = SimulationConfig(height=n, width=n)
    grid = cfg.grid()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        s = np.exp(rng.normal(-2.5, 1.0, (n, n))).astype(np.float32)
        w = (s * rng.exponential(1.0, (n, n))).astype(np.float32)
        write_float32(d / "date.tif", w, grid)
        write_float32(d / "super.tif", s, grid)
        print(f"{'tile':>6}{'overlap':>9}{'network Mpx/s':>15}{'end-to-end Mpx/s':>18}{'fraction of matmul rate':>25}")
        for tile, overlap in ((768, 256), (1024, 256), (512, 128)):
            settings = {"weights": "sar2sar-grd", "tile": tile, "overlap": overlap, "batch": 1, "device": "cpu",
                        "threads": args.threads}
            x = rng.random((n, n)).astype(np.float32)
            net = SAR2SARUNet().eval()
            t0 = time.perf_counter()
            tiled_apply(net, x, tile, overlap, 1)
            t_net = time.perf_counter() - t0
            t0 = time.perf_counter()
            despeckle(d / "date.tif", "intensity", None, d / "super.tif", settings, d / "out.tif", looks=4.0)
            t_all = time.perf_counter() - t0
            mpx = n * n / 1e6
            frac = mpx / t_net * 1e6 * fpp / (peak * 1e9)
            print(f"{tile:>6}{overlap:>9}{mpx / t_net:>15.3f}{mpx / t_all:>18.3f}{frac:>25.2f}")


if __name__ == "__main__":
    main()
