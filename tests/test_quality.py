"""The quality report without a truth (mtsar2sar.quality) and its sheet: exact on constructed cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from mtsar2sar import quality as qm
from mtsar2sar.methods import boxcar
from mtsar2sar.quality import (
    EDGE_WARN,
    FAIL,
    OK,
    WARNING,
    assess_aoi,
    delta_h,
    first_order,
    homogeneous_areas,
    reference_looks,
    score_date,
    temporal_looks_of,
)
from mtsar2sar.quality_sheet import (
    MARK_FAIL,
    MARK_OK,
    MARK_WARNING,
    OUTLINE,
    panel_size,
    save_quality_sheet,
    sheet_dates,
    sheet_width,
)
from mtsar2sar.simulate import SimulationConfig, simulate_stack

LOOKS = 4


@pytest.fixture(scope="module")
def scene() -> dict[str, np.ndarray]:
    """Two dates of 256 x 256 white 4-look speckle over the simulated scene (parcels, lines, targets), its
    truth, and the homogeneous areas chosen on the truth's temporal mean (a noise-free super-image)."""
    _, truths, noisy, _ = simulate_stack(SimulationConfig(seed=3, height=256, width=256, dates=2, looks=LOOKS,
                                                          speckle="gamma"))
    mean = (truths[0] + truths[1]) / 2
    return {"truth": truths[0], "noisy": noisy[0], "truth1": truths[1], "noisy1": noisy[1], "mean": mean,
            "mask": homogeneous_areas(mean)}


def test_a_perfect_estimate_gives_ratio_mean_1_and_enl_the_looks(scene):
    q = score_date("d", scene["noisy"], scene["truth"], LOOKS, mask=scene["mask"], super_image=scene["mean"])
    n = q.homogeneous_pixels
    assert n == scene["mask"].sum() >= 0.19 * 256 * 256  # the 20 % of 7 x 7 windows, all fully valid
    # the ratio is the speckle itself, Gamma(L, 1/L): its mean's standard error is 1 / sqrt(L n) (white
    # speckle), its ENL's relative one sqrt((2 + 6 / L) / n) (the variance of a sample variance)
    se_mean, se_enl = 1 / math.sqrt(LOOKS * n), math.sqrt((2 + 6 / LOOKS) / n)
    assert abs(q.ratio_mean - 1) < 4 * se_mean
    assert abs(q.ratio_enl / LOOKS - 1) < 4 * se_enl
    # the jackknife over windows finds those standard errors (within sampling)
    assert q.ratio_mean_se == pytest.approx(se_mean, rel=0.25)
    assert q.ratio_enl_se == pytest.approx(se_enl, rel=0.25)
    assert abs(q.edge_correlation) < 0.02 and q.delta_h < 0.5  # no structure left (white speckle)
    assert q.verdict.status == OK
    assert q.verdict.line.startswith(f"ratio mean {q.ratio_mean:.2f}, ENL {q.ratio_enl:.1f} for 4 looks, edge correlation")
    assert q.verdict.line.endswith(": unbiased, speckle removed without visible structure")


def test_first_order_residual_is_exact_where_the_truth_is_constant():
    """Gomez et al.'s ENL term vanishes where the estimate is constant over a window (the ratio is the noisy
    window scaled); what is left is the windows' mean term |1 - mu_r| / 2."""
    rng = np.random.default_rng(1)
    y = 5.0 * rng.gamma(LOOKS, 1 / LOOKS, (70, 70))
    fo = first_order(y, np.full(y.shape, 5.0), np.ones(y.shape, dtype=bool))
    windows = y.reshape(10, 7, 10, 7).mean(axis=(1, 3)) / 5.0
    assert fo.r_enl_mu == pytest.approx(float(np.mean(np.abs(1 - windows))) / 2, rel=1e-12)
    assert fo.pixels == 4900 and math.isinf(fo.despeckled_enl)
    assert fo.noisy_enl == pytest.approx(1 / np.mean(y.reshape(10, 7, 10, 7).transpose(0, 2, 1, 3).reshape(100, 49).var(1)
                                                    / windows.ravel() ** 2 / 25), rel=1e-12)


def test_the_noisy_date_as_estimate_is_flagged(scene):
    q = score_date("d", scene["noisy"], scene["noisy"], LOOKS, super_image=scene["mean"])
    assert q.ratio_mean == 1.0 and math.isinf(q.ratio_enl) and math.isinf(q.m_index)
    assert q.verdict.status == FAIL
    assert "ENL infinite for 4 looks" in q.verdict.line and "nothing was removed" in q.verdict.line
    d = q.to_dict()
    assert d["ratio_enl"] is None and d["constant_ratio"] is True and d["verdict"]["status"] == FAIL
    json.dumps(d, allow_nan=False)  # strict JSON


def test_a_blurred_estimate_leaves_structure_and_is_flagged(scene):
    kw = {"mask": scene["mask"], "super_image": scene["mean"]}
    perfect = score_date("d", scene["noisy"], scene["truth"], LOOKS, **kw)
    blurred = score_date("d", scene["noisy"], boxcar(scene["truth"], 5), LOOKS, **kw)
    assert blurred.delta_h > perfect.delta_h + 5  # Gomez et al.'s second order: structure in the ratio
    assert blurred.m_index > perfect.m_index + 2.5
    assert blurred.edge_correlation > EDGE_WARN > perfect.edge_correlation
    assert blurred.verdict.status in (WARNING, FAIL)
    assert f"edge correlation {round(blurred.edge_correlation, 2):.2f}" in blurred.verdict.line
    assert "edges and targets left in the ratio" in blurred.verdict.line


def test_bias_and_kept_speckle_are_named_with_their_numbers(scene):
    kw = {"mask": scene["mask"], "super_image": scene["mean"]}
    dark = score_date("d", scene["noisy"], 0.8 * scene["truth"], LOOKS, **kw)  # ratio mean 1.25
    assert dark.verdict.status == FAIL
    assert dark.ratio_mean == pytest.approx(1.25, abs=4 * 1.25 * dark.ratio_mean_se)
    assert dark.verdict.line.startswith(f"FAIL: ratio mean {dark.ratio_mean:.2f}, ENL {dark.ratio_enl:.1f} for 4 looks,")
    assert "biased (the estimate is 20% too dark)" in dark.verdict.line
    # keeps half the log-speckle: the ratio is speckle^0.5, its ENL about 4 times the looks
    half = score_date("d", scene["noisy"], np.sqrt(scene["noisy"] * scene["truth"]), LOOKS, **kw)
    assert half.enl_factor > 3 and half.verdict.status == FAIL and "part of the speckle kept" in half.verdict.line


def test_invalid_fractions_are_exact():
    rng = np.random.default_rng(2)
    y = rng.gamma(LOOKS, 1 / LOOKS, (60, 50)) + 0.1
    y[:6] = np.nan  # 300 pixels invalid in the input (10 %)
    e = np.ones_like(y)
    e[:, :5] = np.nan  # 300 invalid in the product, 30 of them already invalid in the input
    e[10, 10] = -1.0  # non-positive: invalid
    q = score_date("d", y, e, LOOKS, mask=np.ones(y.shape, dtype=bool))
    assert q.input_invalid_fraction == 300 / 3000
    assert q.invalid_fraction == 301 / 3000
    assert q.lost_fraction == 271 / 3000  # valid in the input, invalid in the product
    assert q.verdict.status == FAIL and "9.0% of the input's valid pixels invalid in the product" in q.verdict.line


def test_the_permuted_homogeneity_is_its_expectation():
    """delta_h against the exact expectation of the permuted ratio equals it against seeded permutations."""
    rng = np.random.default_rng(4)
    white = rng.gamma(2.0, 0.5, (128, 128))
    smooth = boxcar(white, 3).astype(np.float64)
    ok = np.ones(white.shape, dtype=bool)
    for r in (white, smooth):
        assert delta_h(r, ok) == pytest.approx(delta_h(r, ok, permutations=4), abs=0.6)
    assert delta_h(white, ok) < 1 and delta_h(smooth, ok) > 10


def test_the_change_slope_hook_is_called_on_consecutive_dates(scene):
    calls = []

    def hook(y0, y1, e0, e1):
        calls.append((y0 is scene["noisy"], y1 is scene["noisy1"]))
        return 0.3

    images = {"a": (scene["noisy"], scene["truth"]), "b": (scene["noisy1"], scene["truth1"])}
    q = assess_aoi("aoi", ["a", "b"], images.__getitem__, LOOKS, scene["mean"], change_slope=hook)
    assert calls == [(True, True)]
    assert q.dates[0].change_slope is None and q.dates[1].change_slope == 0.3
    assert q.dates[1].verdict.status == FAIL and "change slope 0.30" in q.dates[1].verdict.line
    assert "changes since the date before shrunk to 30% of their size" in q.dates[1].verdict.line


def test_the_aggregate_ranks_a_good_run_above_degraded_ones(scene):
    def run(estimate):
        images = {"a": (scene["noisy"], estimate(scene["noisy"], scene["truth"])),
                  "b": (scene["noisy1"], estimate(scene["noisy1"], scene["truth1"]))}
        return assess_aoi("aoi", ["a", "b"], images.__getitem__, LOOKS, scene["mean"])

    good = run(lambda y, t: t)
    blurred = run(lambda y, t: boxcar(t, 5))
    mean = run(lambda y, t: scene["mean"])  # the temporal mean as the estimate of every date
    noisy = run(lambda y, t: y)
    assert good.status == OK and good.counts == {OK: 2, WARNING: 0, FAIL: 0}
    assert good.rank_key() < blurred.rank_key() and good.rank_key() < mean.rank_key() and good.rank_key() < noisy.rank_key()
    assert blurred.flagged == ["a", "b"] and noisy.status == FAIL
    d = good.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["aggregate"]["counts"] == {"ok": 2, "warning": 0, "fail": 0} and len(d["dates"]) == 2
    assert d["thresholds"]["enl_warn"] == qm.ENL_WARN
    assert good.line.startswith("2 dates: 2 ok, 0 warning, 0 fail, ratio mean")


def test_reference_looks():
    assert reference_looks(5.0, 6.47) == 6.47 and reference_looks(5.0, 2.4) == 5.0 and reference_looks(1.0) == 1.0
    assert reference_looks(None, 3.0) == 3.0
    with pytest.raises(ValueError):
        reference_looks(None, None)
    assert temporal_looks_of({"temporal_estimate": {"looks_per_date": 2.83}}) == 2.83
    assert temporal_looks_of({"enl": 5}) is None and temporal_looks_of(None) is None


def test_the_sheet_is_a_png_of_one_row_per_date_shown(tmp_path, scene):
    small = {k: v[:64, :96] for k, v in scene.items()}  # 64 x 96: panels enlarged
    dates = [f"2024{m:02d}01" for m in range(1, 9)]
    est = {d: small["truth"] for d in dates}
    est["20240501"] = boxcar(small["truth"], 7).astype(np.float64)  # a flagged date between the evenly spaced ones
    images = {d: (small["noisy"], est[d]) for d in dates}
    report = assess_aoi("aoi", dates, images.__getitem__, LOOKS, small["mean"])
    shown = sheet_dates(report)
    assert "20240501" in report.flagged and "20240501" in shown
    assert shown[0] == dates[0] and shown[-1] == dates[-1] and len(shown) == 4 + len([d for d in report.flagged if d not in
                                                                                    ("20240101", "20240301", "20240601", "20240801")])
    out = tmp_path / "quality.png"
    save_quality_sheet(out, report, {d: images[d] for d in shown}, homogeneous_areas(small["mean"]))
    with Image.open(out) as im:
        assert im.format == "PNG" and im.mode == "P"
        assert im.width == sheet_width((64, 96))
        page = np.asarray(im)
    assert panel_size((64, 96)) == (256, 171)
    side = 13 - 3  # each row's status mark: a (FONT_PX - 3)-pixel square
    marks = sum(int((page == m).sum()) for m in (MARK_OK, MARK_WARNING, MARK_FAIL)) // side**2
    assert marks == len(shown)
    assert (page == MARK_OK).sum() // side**2 == sum(report.dates[dates.index(d)].verdict.status == OK for d in shown)
    assert (page == OUTLINE).any()  # the homogeneous areas outlined
