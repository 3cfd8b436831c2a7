"""Metrics and the evaluation table."""

from __future__ import annotations

import numpy as np
import pytest

from mtsar2sar import metrics as mt
from mtsar2sar.evaluation import evaluate_date, summary_markdown
from mtsar2sar.methods import boxcar
from mtsar2sar.simulate import SimulationConfig, simulate_stack


@pytest.fixture(scope="module")
def scene():
    _, truths, noisy, changed = simulate_stack(SimulationConfig(seed=13, height=96, width=96, dates=3, looks=1, speckle="gamma"))
    return truths, noisy, changed


def test_psnr_conventions():
    v = np.full((10, 10), 4.0)
    assert mt.psnr_amplitude(v * 1.21, v) == pytest.approx(10 * np.log10(4.0 / 0.04))  # peak 2, error 0.2
    e = v * np.exp(0.1)
    v2 = v.copy()
    v2[0, 0] = 4.0 * np.exp(2.0)  # log dynamic range 2
    assert mt.psnr_log(e, v2, np.ones_like(v2, bool) & (v2 == 4.0)) == pytest.approx(10 * np.log10(4.0 / 0.01))
    assert mt.bias_db(v * 2, v) == pytest.approx(10 * np.log10(2))


def test_ratio_statistics_of_a_perfect_and_a_bad_filter(scene):
    truths, noisy, _ = scene
    good = mt.ratio_statistics(noisy[0], truths[0])
    assert good["ratio_mean"] == pytest.approx(1.0, abs=0.03)
    assert good["ratio_enl"] == pytest.approx(1.0, rel=0.1)
    assert abs(good["ratio_edge_correlation"]) < 0.05
    bad = mt.ratio_statistics(noisy[0], boxcar(noisy[0], 7))  # blurs edges: structure left in the ratio
    assert bad["ratio_edge_correlation"] > good["ratio_edge_correlation"] + 0.05


def test_heldout_nll_ranks_truth_first(scene):
    truths, noisy, _ = scene
    stable = mt.stable_pixels(noisy[0], noisy[1])
    nll_truth = mt.heldout_nll(truths[0], noisy[1], 1.0, stable)
    nll_box = mt.heldout_nll(boxcar(noisy[0], 7), noisy[1], 1.0, stable)
    nll_noisy = mt.heldout_nll(noisy[0], noisy[1], 1.0, stable)
    assert nll_truth < nll_box < nll_noisy


def test_summary_bolds_the_best(scene):
    truths, noisy, changed = scene
    win = mt.homogeneous_windows(truths[0])
    rows = []
    near_truth = truths[0] * np.exp(0.01 * np.random.default_rng(0).standard_normal(truths[0].shape))
    for name, est in (("noisy", noisy[0]), ("boxcar7", boxcar(noisy[0], 7)), ("truth", near_truth)):
        for k, v in evaluate_date(est, noisy[0], noisy[1], 1.0, win, truths[0], changed).items():
            rows.append({"method": name, "date": "d0", "metric": k, "value": v})
    md = summary_markdown(rows, 1.0, "t")
    truth_line = next(line for line in md.splitlines() if line.startswith("| truth |"))
    assert truth_line.count("**") >= 2 * 4  # best in PSNRs, SSIM, held-out NLL at least
    assert "| noisy |" in md and "**" not in next(line for line in md.splitlines() if line.startswith("| noisy |"))
