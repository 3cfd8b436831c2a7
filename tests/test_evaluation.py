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


def test_quegan_averages_the_normalized_dates_and_leaves_invalid_ones_out():
    """J_k = E_k / N sum I_i / E_i: with the true reflectivity as E it averages N speckle samples (ENL
    N x L on a flat scene, mean kept); an invalid pixel of one date is left out of that pixel's sum."""
    from mtsar2sar.methods import quegan

    rng = np.random.default_rng(0)
    v = np.full((64, 64), 3.0)
    dates = [v * rng.gamma(4, 1 / 4, v.shape) for _ in range(8)]
    dates[2][5, 5] = np.nan
    out = quegan(dates, [v] * 8, 0)
    assert out.mean() == pytest.approx(3.0, rel=0.01)
    assert out.mean() ** 2 / out.var() == pytest.approx(32, rel=0.15)
    expected = v[5, 5] / 7 * sum(d[5, 5] / v[5, 5] for i, d in enumerate(dates) if i != 2)
    assert out[5, 5] == pytest.approx(expected, rel=1e-6)
    assert np.isnan(quegan(dates, [v] * 8, 2)[5, 5])


def test_real_data_scores_pick_the_flat_windows_and_read_pure_speckle_as_unbiased():
    from mtsar2sar.realscore import homogeneous_mask, leftout_nll, ratio_stats

    rng = np.random.default_rng(1)
    s = 10 ** rng.normal(0, 0.5, (70, 70))
    s[:35, :35] = 2.0  # the flat quarter: the 20 % lowest-CV 7 x 7 windows are all in it
    mask = homogeneous_mask(s)
    assert mask.sum() == 20 * 49 and mask[:35, :35].sum() == mask.sum()
    truth = np.full((70, 70), 2.0)
    noisy = truth * rng.gamma(5, 1 / 5, truth.shape)
    rs = ratio_stats(noisy, truth, mask)
    assert rs.mean == pytest.approx(1.0, abs=0.03) and rs.enl == pytest.approx(5, rel=0.15)
    # the NLL log(w) + y / w is lowest at the true reflectivity
    everywhere = np.ones(truth.shape, dtype=bool)
    assert leftout_nll(truth, noisy, everywhere) < min(leftout_nll(truth * f, noisy, everywhere) for f in (0.8, 1.25))
