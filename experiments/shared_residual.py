"""An experiment (not in the product): correct what every date's estimate misses the same way.

The chain's error has a share common to all dates: the filtered super-image's (a perfect super-image
would add 1.9 dB on ``demo_4look``, ``error_budget.py``). Quegan's idea applied to the chain's own
estimates ``E_i``: ``F = mean_i w_i / E_i`` is, per pixel, the temporal mean of each date's residual
ratio, a unit-mean speckle of ENL about N x L where the estimates are right and the shared miss where
they are not. ``F`` is filtered (a boxcar, or BM3D on ``log F`` at the noise of its ENL, re-levelled to
``mean F``) and every estimate multiplied by it.

Validation scene ``demo_4look``, all 20 dates, the workflow's products (``make demo``); overall /
changed / unchanged PSNR on log-intensity, dB:

    chain                          43.140  43.542  42.709
    boxcar 5                       43.165  43.563  42.736
    bm3d log F, sigma x 1.0        43.181  43.588  42.744
    bm3d log F, sigma x 2.0        43.159  43.557  42.730

ENL(F) = 98; after BM3D the correction's standard deviation in log is 0.007: the estimates' shared
miss is not in ``F`` (the network keeps what the super-image's texture puts into the ratio). +0.04 dB
at most, below what a product change needs. **Not kept.**

    .venv/bin/python experiments/shared_residual.py results/demo_4look
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter
from scipy.special import polygamma

from mtsar2sar.denoisers import bm3d_denoiser
from mtsar2sar.io import read_product
from mtsar2sar.layout import AoiFolder
from mtsar2sar.metrics import psnr_log


def main() -> None:
    d = AoiFolder(Path(sys.argv[1]))
    dates = json.loads(d.coregistration.read_text())["kept_dates"]
    changed = read_product(d.changed)[0] > 0.5
    w = np.array([read_product(d.noisy(x))[0] for x in dates], dtype=np.float64)
    v = np.array([read_product(d.truth(x))[0] for x in dates], dtype=np.float64)
    e = np.array([read_product(d.root / "despeckled" / f"{x}.tif")[0] for x in dates], dtype=np.float64)
    f = np.mean(w / e, axis=0)
    enl_f = f.mean() ** 2 / f.var()
    print(f"{len(dates)} dates; mean F {f.mean():.4f}, ENL(F) {enl_f:.1f}, std log F {np.log(f).std():.4f}")

    def score(est: np.ndarray) -> str:
        a = np.array([(psnr_log(x, t), psnr_log(x, t, changed), psnr_log(x, t, ~changed)) for x, t in zip(est, v)])
        return " ".join(f"{m:7.3f}" for m in a.mean(0))

    print(f"{'chain':<30}{score(e)}")
    for k in (3, 5, 9, 15):
        print(f"{f'boxcar {k}':<30}{score(e * uniform_filter(f, k, mode='reflect'))}")
    sigma = float(np.sqrt(polygamma(1, enl_f)))
    for factor in (0.5, 1.0, 2.0):
        ft = np.exp(bm3d_denoiser(np.log(f), sigma * factor))
        ft *= f.mean() / ft.mean()
        print(f"{f'bm3d log F, sigma x {factor}':<30}{score(e * ft)}   (std log of the correction {np.log(ft).std():.4f})")


if __name__ == "__main__":
    main()
