"""Parity of our MuLoG with the authors' reference (PyPI ``mulog`` 0.0.4), same inputs, denoiser, L.

The reference runs in its own virtual environment (``.venv-reference``, created on first use with
``mulog==0.0.4``; not a dependency of the project or of CI). Prints both PSNRs against the truth
(log-intensity and amplitude) and both run times, one run each, on this machine.

    .venv/bin/python benchmarks/mulog_parity.py [--size 256] [--looks 1] [--denoiser bm3d]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mtsar2sar.denoisers import get_denoiser
from mtsar2sar.metrics import psnr_amplitude, psnr_log
from mtsar2sar.mulog import GammaLikelihood, mulog
from mtsar2sar.simulate import SimulationConfig, simulate_stack

ROOT = Path(__file__).resolve().parents[1]
REF_VENV = ROOT / ".venv-reference"

REFERENCE_RUNNER = """
import sys, time, numpy as np
from mulog import run_mulog
from mulog.gaussian_denoisers import run_autoscaled_bm3d, run_tv_denoising
data = np.load(sys.argv[1]); looks = float(sys.argv[2]); name = sys.argv[3]
den = {"bm3d": run_autoscaled_bm3d, "tv": run_tv_denoising}[name]
t0 = time.perf_counter(); out = run_mulog(data, number_looks=looks, denoiser=den); dt = time.perf_counter() - t0
np.save(sys.argv[4], np.real(out)); print(dt)
"""


def ensure_reference_env() -> Path:
    py = REF_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(REF_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "mulog==0.0.4"], check=True)
    return py


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--looks", type=float, default=1.0)
    ap.add_argument("--denoiser", default="bm3d", choices=["bm3d"])
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    cfg = SimulationConfig(seed=args.seed, height=args.size, width=args.size, dates=2, looks=args.looks, speckle="gamma")
    _, truths, noisy, _ = simulate_stack(cfg)
    v, w = truths[0], noisy[0]
    t0 = time.perf_counter()
    ours = mulog(w, GammaLikelihood(args.looks), get_denoiser(args.denoiser))
    t_ours = time.perf_counter() - t0
    py = ensure_reference_env()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npy", Path(tmp) / "out.npy"
        np.save(src, w)
        res = subprocess.run([str(py), "-c", REFERENCE_RUNNER, str(src), str(args.looks), args.denoiser, str(dst)],
                             check=True, capture_output=True, text=True)
        t_ref = float(res.stdout.strip().splitlines()[-1])
        ref = np.load(dst)
    print(f"{args.size}x{args.size}, L={args.looks:g} ({'Gamma' if True else ''} speckle), denoiser {args.denoiser}, seed {args.seed}")
    print(f"{'':<22}{'PSNR log [dB]':>14}{'PSNR ampl. [dB]':>17}{'time [s]':>10}")
    print(f"{'noisy':<22}{psnr_log(w, v):>14.2f}{psnr_amplitude(w, v):>17.2f}")
    print(f"{'mulog 0.0.4 (authors)':<22}{psnr_log(ref, v):>14.2f}{psnr_amplitude(ref, v):>17.2f}{t_ref:>10.1f}")
    print(f"{'mtsar2sar.mulog':<22}{psnr_log(ours, v):>14.2f}{psnr_amplitude(ours, v):>17.2f}{t_ours:>10.1f}")
    print(f"difference (ours - reference), log: {psnr_log(ours, v) - psnr_log(ref, v):+.2f} dB; speed ratio "
          f"(reference time / ours): {t_ref / t_ours:.2f}")


if __name__ == "__main__":
    main()
