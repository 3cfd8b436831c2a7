"""MuLoG's blocks in worker processes: the bytes of the sequential run, and one log line per block."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from mtsar2sar.denoisers import bm3d_denoiser, dct_denoiser
from mtsar2sar.mulog import GammaLikelihood, mulog_blocks
from mtsar2sar.simulate import SimulationConfig, simulate_stack


@pytest.mark.parametrize("denoiser", [dct_denoiser, bm3d_denoiser])
def test_parallel_blocks_are_bit_identical(denoiser, caplog):
    _, noisy, _ = simulate_stack(SimulationConfig(seed=3, height=72, width=66, dates=1, looks=1))[1:]
    img = noisy[0].copy()
    img[:34, :34] = np.nan  # the first block and its halo: no valid pixel
    kw = {"block": 28, "halo": 6, "admm_iterations": 2, "newton_iterations": 3}
    seq = mulog_blocks(img, GammaLikelihood(1.0), denoiser, workers=1, **kw)
    with caplog.at_level(logging.INFO):
        par = mulog_blocks(img, GammaLikelihood(1.0), denoiser, workers=2, **kw)
    assert par.tobytes() == seq.tobytes()
    assert np.isnan(seq[:34, :34]).all() and np.isfinite(seq[34:]).all() and np.isfinite(seq[:, 34:]).all()
    blocks = [r.getMessage() for r in caplog.records if r.getMessage().startswith("MuLoG block")]
    assert len(blocks) == 9 and blocks[-1].startswith("MuLoG block 9 of 9"), blocks
