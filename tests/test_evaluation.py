"""Metrics and the evaluation table."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

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
    from mtsar2sar.realscore import leftout_nll

    truths, noisy, _ = scene
    stable = mt.stable_pixels(noisy[0], noisy[1])
    nll_truth = leftout_nll(truths[0], noisy[1], stable)
    nll_box = leftout_nll(boxcar(noisy[0], 7), noisy[1], stable)
    nll_noisy = leftout_nll(noisy[0], noisy[1], stable)
    assert nll_truth < nll_box < nll_noisy
    assert leftout_nll(truths[0], noisy[1], stable, looks=4.0) == 4.0 * nll_truth  # the evaluation's: L times


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


def test_method_products_say_what_made_them(tmp_path, tiny_stack):
    """The comparison's products carry the input's tags, units, software, looks and the settings of the
    method: MuLoG's (defaults filled in) or the network's (the weights actually used)."""
    import json

    from conftest import raster_meta

    from mtsar2sar import comparison
    from mtsar2sar.io import read_product, write_float32

    files, _, grid = tiny_stack
    dates = list(files)
    stack = [read_product(f)[0] for f in files.values()]
    mean = tmp_path / "mean.tif"
    write_float32(mean, np.mean(stack, axis=0), grid)
    with rasterio.open(files[dates[0]], "r+", IGNORE_COG_LAYOUT_BREAK="YES") as ds:  # an input tag, as OPERA has
        ds.update_tags(POLARIZATION="VV")
    out = {}
    for method in ("mulog", "sar2sar"):
        out[method] = tmp_path / f"{method}.tif"
        comparison.run_method(method, files[dates[0]], "intensity", None, 1.0, mean, mean,
                            {"denoiser": "dct", "admm_iterations": 2}, {"weights": "auto", "tile": 128, "overlap": 64},
                            out[method], [str(f) for f in files.values()])
    tags = {m: raster_meta(p)["tags"] for m, p in out.items()}
    for m, t in tags.items():
        assert t["POLARIZATION"] == "VV" and t["method"] == m and t["looks"] == "1.0", t
        assert t["units"] == "linear intensity, in the input's units (squared for an amplitude or complex input)" and t["software"].startswith("mtsar2sar ")
    assert json.loads(tags["mulog"]["mulog_settings"]) == {"denoiser": "dct", "admm_iterations": 2,
                                                           "newton_iterations": 10, "block": 1024, "halo": 32}
    assert "weights" not in tags["mulog"]
    assert tags["sar2sar"]["weights"] == "sar2sar-s1" and tags["sar2sar"]["weights_setting"] == "auto"
    assert json.loads(tags["sar2sar"]["network_settings"])["tile"] == 128 and "mulog_settings" not in tags["sar2sar"]
