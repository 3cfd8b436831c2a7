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


@pytest.mark.slow
def test_blocks_as_jobs_give_the_bytes_of_one_job(tmp_path, tiny_stack):
    """mulog.block_jobs: the super-image's MuLoG blocks as jobs of their own (scatter/gather) write the
    file that one job writes, byte for byte; one log per block; the block files are temporary."""
    from test_workflow import run_workflow, sha256, tiny_config

    target = "results/tiny/super_image_filtered.tif"
    out = {}
    for jobs in (False, True):  # (auto: the same jobs as true here, more than one block)
        work = tmp_path / f"jobs_{jobs}"
        work.mkdir()
        cfg = tiny_config(tmp_path / "stack")
        cfg["mulog"] = {"denoiser": "dct", "block": 64, "halo": 8, "admm_iterations": 2, "block_jobs": jobs}
        res = run_workflow(work, cfg, target)
        assert res.returncode == 0, res.stderr[-3000:]
        n = sum(line.strip() in ("rule filter_super_image_block:", "localrule filter_super_image_block:")
                for line in res.stderr.splitlines())
        assert n == (0 if jobs is False else 4), res.stderr[-3000:]  # 80 x 96 by 64 x 64: 4 blocks
        out[jobs] = sha256(work / target)
        if jobs is True:
            logs = sorted((work / "results/tiny/logs/filter_super_image_block").glob("*.log"))
            assert [p.name for p in logs] == ["0.log", "1.log", "2.log", "3.log"]
            assert "MuLoG block 4 of 4 (rows 64-80, columns 64-96)" in logs[3].read_text()
            assert not list((work / "results/tiny/.super_image_blocks").glob("*.npy"))
    assert out[True] == out[False]


def test_bm3d_strips_do_not_depend_on_the_threads_and_keep_the_whole_images_numbers():
    """BM3D by bands of rows (super_image.filter_bm3d_strips): the same bytes in 1 or 2 threads, the
    error of BM3D on the whole image within 1 %, and another result (the split is really made)."""
    rng = np.random.default_rng(4)
    clean = np.kron(rng.random((16, 12)), np.ones((8, 8))) * 10
    noisy = clean + rng.normal(0, 1, clean.shape)  # 128 x 96
    whole = bm3d_denoiser(noisy, 1.0, step=4)
    one, two = (bm3d_denoiser(noisy, 1.0, step=4, strips=2, workers=w) for w in (1, 2))
    assert one.tobytes() == two.tobytes()
    assert not np.array_equal(one, whole)
    rmse = [float(np.sqrt(np.mean((x - clean) ** 2))) for x in (whole, one)]
    assert abs(rmse[1] - rmse[0]) < 0.01 * rmse[0], rmse
    assert float(np.sqrt(np.mean((one - whole) ** 2))) < 0.1 * rmse[0]  # the difference: at the strips' seam


def test_only_a_super_image_of_one_mulog_block_is_denoised_by_strips(tmp_path):
    """The rule is the image's size (one MuLoG block) and not the threads: the block job of a one-block
    super-image writes the numbers of the filter in one job with 2 threads; a larger image's blocks run whole."""
    from mtsar2sar.io import read_product, write_float32
    from mtsar2sar.streaming import filter_block_file, filter_file
    from mtsar2sar.superimage import super_image_denoiser

    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (128, 96))
    st = {"denoiser": "bm3d", "bm3d_step": 4, "bm3d_strips": 2, "admm_iterations": 1}
    striped = super_image_denoiser(st, 128, 96, workers=2)(x, 1.0)
    np.testing.assert_array_equal(striped, bm3d_denoiser(x, 1.0, step=4, strips=2))
    whole = super_image_denoiser({**st, "block": 64, "halo": 8}, 128, 96, workers=2)(x, 1.0)
    np.testing.assert_array_equal(whole, bm3d_denoiser(x, 1.0, step=4))

    _, noisy, _ = simulate_stack(SimulationConfig(seed=6, height=128, width=96, dates=1, looks=4))[1:]
    grid = SimulationConfig(height=128, width=96).grid()
    write_float32(tmp_path / "s.tif", noisy[0].astype(np.float32), grid)
    filter_file(tmp_path / "s.tif", tmp_path / "one_job.tif", "mulog", 4.0, st, workers=2)
    filter_block_file(tmp_path / "s.tif", 0, 4.0, st, tmp_path / "block.npy")
    one_job = read_product(tmp_path / "one_job.tif")[0]
    assert np.load(tmp_path / "block.npy").tobytes() == one_job.tobytes()
