"""ENL of the super-image on homogeneous areas, the temporal mean, and finding the dates of a stack."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mtsar2sar.enl import estimate_enl, inverse_trigamma
from mtsar2sar.errors import InputError
from mtsar2sar.simulate import SimulationConfig, simulate_stack
from mtsar2sar.stack import find_dates
from mtsar2sar.superimage import temporal_mean


def test_inverse_trigamma():
    for L in (0.7, 1.0, 4.0, 20.0, 150.0):
        from scipy.special import polygamma

        assert inverse_trigamma(float(polygamma(1, L))) == pytest.approx(L, rel=1e-8)


@pytest.mark.parametrize("looks, speckle, dates", [(1, "correlated", 20), (4, "gamma", 20), (1, "gamma", 10)])
def test_super_image_enl_within_15_percent_of_T_times_L(looks, speckle, dates):
    cfg = SimulationConfig(seed=11, height=384, width=384, dates=dates, looks=looks, speckle=speckle, changes=False)
    _, _, noisy, _ = simulate_stack(cfg)
    mean, count = temporal_mean(noisy)
    assert count.min() == dates
    est = estimate_enl(mean)
    assert est.enl == pytest.approx(dates * looks, rel=0.15)
    single = estimate_enl(noisy[0])
    assert single.enl == pytest.approx(looks, rel=0.15)


def test_temporal_mean_of_valid_values_and_nodata():
    a = np.array([[1.0, np.nan], [np.nan, 4.0]])
    b = np.array([[3.0, 2.0], [np.nan, np.inf]])
    mean, count = temporal_mean([a, b])
    assert mean[0, 0] == 2.0 and mean[0, 1] == 2.0 and np.isnan(mean[1, 0]) and mean[1, 1] == 4.0
    assert count.tolist() == [[2, 1], [0, 1]]


def test_find_dates(tmp_path):
    for name in ("S1A_20240113_VV.tif", "S1B_20240101_VV.tif"):
        (tmp_path / name).write_text("x")
    files = find_dates(str(tmp_path / "*.tif"), r"_(\d{8})_")
    assert list(files) == ["20240101", "20240113"]
    with pytest.raises(InputError, match=r"S1A_20240113_VV\.tif: date_regex '_\(2023\)' matches nothing in the file name"):
        find_dates(str(tmp_path / "*.tif"), r"_(2023)")
    with pytest.raises(InputError, match=r"inputs: the pattern .*nothing\*\.tif' matches no file"):
        find_dates(str(tmp_path / "nothing*.tif"), r"(\d{8})")
    (tmp_path / "S1A_20240113_VH.tif").write_text("x")
    with pytest.raises(InputError, match=r"date key '20240113' is also the key of"):
        find_dates(str(tmp_path / "*.tif"), r"_(\d{8})_")


# --- issue 15, class 4: small or sparse stacks; class 5: ENL far from T*L, outliers not averaged ---

def super_image_run(tmp_path, imgs, looks=1.0, settings=None, domain="intensity", grid=None):
    import json

    from conftest import utm_grid, write_dates

    from mtsar2sar import steps

    h, w = next(iter(imgs.values())).shape
    files = write_dates(tmp_path, imgs, grid or utm_grid(h, w))
    out = tmp_path / "results" / "site"
    out.mkdir(parents=True)
    rep = out / "coregistration.json"
    rep.write_text(json.dumps({"kept_dates": list(imgs)}))
    res = steps.super_image(files, rep, domain, None, looks, settings or {}, out / "super_image.tif",
                               out / "super_image_enl.json")
    return res, out


def sparse(shape, invalid=0.0, seed=0, dates=3):
    rng = np.random.default_rng(seed)
    imgs = {}
    for i in range(dates):
        img = rng.gamma(1, 1, shape).astype(np.float32)
        img[rng.random(shape) < invalid] = np.nan
        imgs[f"2024010{i + 1}"] = img
    return imgs


@pytest.mark.parametrize("shape, invalid, temporal", [((8, 8), 0.0, True), ((1, 100), 0.0, True), ((64, 64), 0.97, False)])
def test_given_enl_needs_no_estimate_and_a_failed_estimate_is_clear(tmp_path, shape, invalid, temporal):
    imgs = sparse(shape, invalid)
    res, out = super_image_run(tmp_path / "given", imgs, settings={"enl": 3.0})
    assert res["enl"] == 3.0 and res["source"] == "config" and res["estimate"] is None
    assert (out / "super_image.tif").exists() and (out / "super_image_enl.json").exists()
    h, w = shape
    if temporal:  # no 15 x 15 window, but every pixel has 3 dates: the temporal estimate (3 one-look dates)
        res, out = super_image_run(tmp_path / "auto", imgs)
        assert res["estimate"] is None and res["source"] == "estimated"
        assert res["enl"] == res["temporal_estimate"]["enl"] and 1.5 < res["enl"] < 6
        return
    with pytest.raises(InputError, match=rf"super_image\.tif: cannot estimate the ENL of the super-image \({h} x {w} px, 3 dates\):"
                       rf" too few fully valid 15x15 windows \(0\) to estimate the ENL, and too few pixels have 3 valid dates"
                       rf" for the temporal estimate; set super_image.enl \(about 3 = dates x looks"):
        super_image_run(tmp_path / "auto", imgs)
    assert list((tmp_path / "auto" / "results" / "site").iterdir()) == [tmp_path / "auto" / "results" / "site" / "coregistration.json"]


@pytest.mark.parametrize("declared, stored, warn", [
    ("intensity", "amplitude", r"is 3\.\d x T\*L = 8 dates x 1 looks: .* Likely amplitude declared as intensity"),
    ("amplitude", "intensity-squared", r"is only 0\.\d+ x T\*L = 8 dates x 1 looks: .* Likely intensity declared as amplitude"),
    ("intensity", "intensity", None),
])
def test_enl_far_from_dates_times_looks_warns(tmp_path, caplog, declared, stored, warn):
    cfg = SimulationConfig(seed=4, height=192, width=192, dates=8, looks=1, speckle="gamma", changes=False)
    _, _, noisy, _ = simulate_stack(cfg)
    if stored == "amplitude":
        noisy = [np.sqrt(x) for x in noisy]
    elif stored == "intensity-squared":
        noisy = [x * x for x in noisy]  # read as amplitude: squared again
    imgs = dict(zip([f"2024010{i}" for i in range(1, 9)], [x.astype(np.float32) for x in noisy]))
    with caplog.at_level("WARNING", logger="mtsar2sar"):
        res, _ = super_image_run(tmp_path, imgs, domain=declared)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if warn is None:
        assert warnings == [] and res["warnings"] == [] and 0.8 < res["estimate_over_dates_times_looks"] < 1.2
    else:
        assert len(warnings) == 1 and re.search(warn, warnings[0]) and "super_image.tif" in warnings[0]
        assert res["warnings"] == [warnings[0].split("super_image.tif: ", 1)[1]]


def test_radiometric_outlier_not_averaged_into_the_super_image(tmp_path):
    """One date 40 dB off (e.g. other units): the other dates' super-image is their own mean (before:
    it was averaged in and made the super-image, hence every despeckled date, far too bright)."""
    from conftest import utm_grid, write_dates

    from mtsar2sar import steps
    from mtsar2sar.io import read_product

    cfg = SimulationConfig(seed=5, height=64, width=64, dates=5, looks=4, speckle="gamma", changes=False)
    _, _, noisy, _ = simulate_stack(cfg)
    imgs = dict(zip([f"2024010{i}" for i in range(1, 6)], [x.astype(np.float32) for x in noisy]))
    imgs["20240102"] = imgs["20240102"] * np.float32(1e4)
    files = write_dates(tmp_path, imgs, utm_grid())
    out = tmp_path / "results"
    rep = steps.check_coregistration(files, "intensity", None, {}, out / "coregistration.json")
    assert rep["kept_dates"] == list(imgs) and rep["mean_dates"] == [d for d in imgs if d != "20240102"]
    res = steps.super_image(files, out / "coregistration.json", "intensity", None, 4.0, {"enl": 16.0},
                               out / "super_image.tif", out / "super_image_enl.json")
    s, _ = read_product(out / "super_image.tif")
    good = np.mean([imgs[d] for d in rep["mean_dates"]], axis=0)
    np.testing.assert_allclose(s, good, rtol=1e-6)
    assert res["dates"] == 4 and res["excluded_from_mean"] == ["20240102"]


def test_textured_scene_gets_the_temporal_enl_not_the_spatial_one(tmp_path):
    """No homogeneous window (a stable texture of 6 dB everywhere): the spatial estimate takes the
    texture for speckle (real land stack: 6.4 instead of about 130); the temporal one sees T x L."""
    rng = np.random.default_rng(3)
    texture = 10 ** (rng.normal(0, 0.6, (96, 96)))  # stable over time
    imgs = {f"2024010{i + 1}": (texture * rng.gamma(4, 1 / 4, texture.shape)).astype(np.float32) for i in range(8)}
    res, _ = super_image_run(tmp_path, imgs, looks=4.0)
    assert res["estimate"]["enl"] < 0.5 * 32
    assert res["enl"] == res["temporal_estimate"]["enl"] == pytest.approx(32, rel=0.15)
    assert res["temporal_estimate"]["looks_per_date"] == pytest.approx(4, rel=0.15)


@pytest.mark.parametrize("enl, warn", [(1.0, r"super_image\.enl = 1 is 0\.1\d? x the estimate \d+\.\d from the data: the super-image filter will over-smooth"),
                                       (400.0, r"super_image\.enl = 400 is \d+ x the estimate .*will under-smooth"),
                                       (8.0, None)])
def test_a_given_enl_far_from_the_estimate_warns(tmp_path, caplog, enl, warn):
    # hostile-input review: super_image.enl 0.1 gave a super-image 570 x too bright with no word (0.01: all +inf);
    # below 1 it is now a config error, and a given ENL far from the data's estimate is said
    cfg = SimulationConfig(seed=4, height=192, width=192, dates=8, looks=1, speckle="gamma", changes=False)
    _, _, noisy, _ = simulate_stack(cfg)
    imgs = dict(zip([f"2024010{i}" for i in range(1, 9)], [x.astype(np.float32) for x in noisy]))
    with caplog.at_level("WARNING", logger="mtsar2sar"):
        res, _ = super_image_run(tmp_path, imgs, settings={"enl": enl})
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert res["enl"] == enl and res["source"] == "config"
    if warn is None:
        assert warnings == [] and res["warnings"] == []
    else:
        assert len(warnings) == 1 and re.search(warn, warnings[0]), warnings


def test_a_given_enl_is_not_said_to_mis_smooth_an_unfiltered_super_image(tmp_path, caplog):
    """`super_image.filter: none` with `enl: 400`: no filter uses the ENL, so no warning that it will
    under-smooth (new-user review)."""
    cfg = SimulationConfig(seed=4, height=192, width=192, dates=8, looks=1, speckle="gamma", changes=False)
    _, _, noisy, _ = simulate_stack(cfg)
    imgs = dict(zip([f"2024010{i}" for i in range(1, 9)], [x.astype(np.float32) for x in noisy]))
    with caplog.at_level("WARNING", logger="mtsar2sar"):
        res, _ = super_image_run(tmp_path, imgs, settings={"enl": 400.0, "filter": "none"})
    assert res["enl"] == 400.0 and not [r for r in caplog.records if "smooth" in r.getMessage()]


def test_an_enl_below_one_is_a_config_error():
    from conftest import REPO

    from mtsar2sar.config import validate_config
    from mtsar2sar.errors import InputError

    c = {"aois": {"a": {"inputs": "x/*.tif"}}, "super_image": {"enl": 0.1}}
    with pytest.raises(InputError, match=r"config: super_image\.enl: 0\.1 must be auto or a number of looks, at least 1"):
        validate_config(c, REPO / "schemas" / "config.schema.yaml")


def test_one_dates_spike_is_left_out_of_the_super_image_and_speckle_never_is():
    """A corrupt value (or a ship) at one date and one pixel, 2500 times its other dates: formerly in the
    mean, and from there in every other date's estimate (about +24 dB; hostile-input review)."""
    cfg = SimulationConfig(seed=12, height=256, width=256, dates=20, looks=1, changes=False)
    _, _, noisy, _ = simulate_stack(cfg)
    plain, _ = temporal_mean(noisy)
    left: list[int] = []
    clean, count = temporal_mean(noisy, left)
    assert left == [0] and count.min() == 20 and clean.tobytes() == plain.tobytes()  # speckle alone: no pixel left out
    spiked = [d.copy() for d in noisy]
    others = np.mean([d[60, 60] for i, d in enumerate(noisy) if i != 2])
    spiked[2][60, 60] = 2500 * others
    left = []
    mean, count = temporal_mean(spiked, left)
    assert left == [1] and count[60, 60] == 19
    assert mean[60, 60] == pytest.approx(others, rel=1e-6)
    mask = np.ones(mean.shape, bool)
    mask[60, 60] = False
    assert mean[mask].tobytes() == plain[mask].tobytes()
    # a bright target at 2 dates stays in (a change the dates share is not an outlier)
    spiked[5][60, 60] = 2500 * others
    left = []
    mean, _ = temporal_mean(spiked, left)
    assert left == [0] and mean[60, 60] > 200 * others


def test_a_spike_of_any_size_leaves_the_other_dates_mean_exact():
    """1e15 against 0.01-0.02: formerly the mean of the others lost every digit (total - peak) and
    the pixel was 0, then NaN in every date (second review)."""
    dates = [np.full((1, 1), v, dtype=np.float32) for v in (0.01, 0.02, 0.015, 1e15)]
    left: list[int] = []
    mean, count = temporal_mean(dates, left)
    assert left == [1] and count[0, 0] == 3
    assert mean[0, 0] == pytest.approx(0.015, rel=1e-6)


@pytest.mark.parametrize("pol", ["VV", "VH"])
def test_a_short_real_stack_at_its_nominal_looks_does_not_warn(tmp_path, caplog, pol):
    """Hostile-input review of stop 20: 5 dates of the OPERA RTC-S1 example at its documented looks: 5
    gave an ENL estimate of 2.5 x T*L and the warning "Likely amplitude declared as intensity"."""
    from conftest import REPO

    from mtsar2sar.io import read_intensity

    site = REPO / "data" / "opera_rtc_s1_10SGD" / "T137-292319-IW2" / pol  # the validation site, in the repository
    assert site.is_dir(), f"{site}: the example data of the repository (data/README.md) are missing"
    files = sorted(site.glob("*.tif"), key=lambda p: p.name.split("_")[4])[:5]
    imgs = {p.name.split("_")[4][:8]: read_intensity(p, "intensity")[0].astype(np.float32) for p in files}
    with caplog.at_level("WARNING", logger="mtsar2sar"):
        res, _ = super_image_run(tmp_path, imgs, looks=5.0)
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []
    assert 1.0 < res["estimate_over_dates_times_looks"] < 3.0, res
    as_amplitude = {k: np.sqrt(v) for k, v in imgs.items()}  # amplitude declared as intensity: still named
    with caplog.at_level("WARNING", logger="mtsar2sar"):
        res, _ = super_image_run(tmp_path / "amp", as_amplitude, looks=5.0)
    assert res["estimate_over_dates_times_looks"] > 3.0 and "Likely amplitude declared as intensity" in caplog.text
