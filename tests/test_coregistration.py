"""Co-registration check: grids, sub-pixel shifts, dropping, radiometric flags, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from conftest import REPO, utm_grid, write_dates
from rasterio.crs import CRS
from scipy.ndimage import fourier_shift

from mtsar2sar.coregistration import check_stack, estimate_shift
from mtsar2sar.errors import InputError
from mtsar2sar.io import Grid
from mtsar2sar.simulate import SimulationConfig, build_scene, speckle


def shifted_stack(shifts, size=256, looks=4, speckle_kind="gamma", seed=3):
    """Reflectivity of the demo kind, shifted (log domain, Fourier) by known amounts, independent speckle."""
    cfg = SimulationConfig(seed=seed, height=size, width=size, speckle=speckle_kind, looks=looks)
    rng = np.random.default_rng(seed)
    log_v = np.log(10 ** (build_scene(cfg, rng).base_db / 10))
    out = []
    for dy, dx in shifts:
        moved = np.fft.ifft2(fourier_shift(np.fft.fft2(log_v), (dy, dx))).real
        out.append(np.exp(moved) * speckle(cfg, rng))
    return out


def test_subpixel_shift_error_below_0_05_px():
    shifts = [(0.0, 0.0), (0.3, -0.2), (-0.45, 0.15), (0.12, 0.37), (-0.05, -0.4), (1.25, -0.6)]
    imgs = shifted_stack(shifts)
    for (dy, dx), img in zip(shifts[1:], imgs[1:]):
        ey, ex = estimate_shift(imgs[0], img)
        # the estimate registers the date onto the reference: the opposite of the applied shift
        assert np.hypot(ey + dy, ex + dx) < 0.05, ((dy, dx), (ey, ex))


def test_report_drops_or_fails_on_misregistered_date(tmp_path):
    shifts = [(0.0, 0.0), (0.1, 0.0), (0.0, 0.0), (0.9, 0.4), (0.0, -0.1)]
    imgs = shifted_stack(shifts, size=128)
    dates = [f"2024010{i}" for i in range(1, 6)]
    files = write_dates(tmp_path, dict(zip(dates, imgs)), utm_grid(128, 128))
    rep = check_stack(files, "intensity", on_misregistered="drop", reference_date=dates[0])
    assert rep["dropped_dates"] == [dates[3]]
    assert rep["kept_dates"] == [d for d in dates if d != dates[3]]
    bad = rep["dates"][3]
    assert bad["status"] == "dropped" and "exceeds max_shift_px = 0.5" in bad["reasons"][0]
    assert abs(bad["shift_px"][0] + 0.9) < 0.1 and abs(bad["shift_px"][1] + 0.4) < 0.1
    with pytest.raises(InputError, match=rf"S1_{dates[3]}\.tif: date {dates[3]} rejected: residual shift"):
        check_stack(files, "intensity", on_misregistered="fail", reference_date=dates[0])


@pytest.mark.parametrize(
    "other, what",
    [
        (Grid(64, 60, CRS.from_epsg(32631), Affine(10, 0, 600000, 0, -10, 4800000), None), r"shape \(64, 60\) instead of \(64, 64\)"),
        (Grid(64, 64, CRS.from_epsg(32632), Affine(10, 0, 600000, 0, -10, 4800000), None), "CRS EPSG:32632 instead of EPSG:32631"),
        (Grid(64, 64, CRS.from_epsg(32631), Affine(10, 0, 600005, 0, -10, 4800000), None), "transform"),
    ],
)
def test_dates_on_different_grids(tmp_path, other, what):
    rng = np.random.default_rng(0)
    files = write_dates(tmp_path, {"20240101": rng.gamma(1, 1, (64, 64)), "20240113": rng.gamma(1, 1, (64, 64))}, utm_grid())
    write_dates(tmp_path, {"20240125": rng.gamma(1, 1, other.shape)}, other)
    files["20240125"] = tmp_path / "S1_20240125.tif"
    with pytest.raises(InputError, match=rf"S1_20240125\.tif: not on the grid of the reference date .*S1_20240101\.tif: {what}"):
        check_stack(files, "intensity")


def test_a_dropped_date_is_a_warning_that_names_its_file(tmp_path, caplog):
    """on_misregistered: drop goes on with fewer dates: the workflow's check says so on the console (a
    warning), not only in coregistration.json."""
    import logging

    from mtsar2sar.steps import check_coregistration

    shifts = [(0.0, 0.0), (0.1, 0.0), (0.0, 0.0), (0.9, 0.4), (0.0, -0.1)]
    dates = [f"2024010{i}" for i in range(1, 6)]
    files = write_dates(tmp_path, dict(zip(dates, shifted_stack(shifts, size=128))), utm_grid(128, 128))
    with caplog.at_level(logging.WARNING, logger="mtsar2sar"):
        rep = check_coregistration(files, "intensity", None, {"on_misregistered": "drop"},
                                   tmp_path / "out" / "coregistration.json", remove_stale=False)
    assert rep["dropped_dates"] == [dates[3]]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and warned[0].startswith(f"{files[dates[3]]}: date {dates[3]} dropped: residual shift"), warned


def test_single_date_is_refused(tmp_path):
    files = write_dates(tmp_path, {"20240101": np.ones((32, 32))}, utm_grid(32, 32))
    with pytest.raises(InputError, match=r"at least 2 dates; found 1 \(.*S1_20240101\.tif\)"):
        check_stack(files, "intensity")


def test_radiometric_outlier_flagged_and_invalid_fraction(tmp_path):
    imgs = dict(zip([f"2024010{i}" for i in range(1, 6)], shifted_stack([(0.0, 0.0)] * 5, size=64)))
    imgs["20240103"] = imgs["20240103"] * 10.0  # +10 dB
    imgs["20240104"][:16] = np.nan
    files = write_dates(tmp_path, imgs, utm_grid())
    rep = check_stack(files, "intensity")
    flags = {r["date"]: r["radiometric_outlier"] for r in rep["dates"]}
    assert flags == {"20240101": False, "20240102": False, "20240103": True, "20240104": False, "20240105": False}
    assert rep["dates"][3]["invalid_fraction"] == pytest.approx(0.25)
    assert abs(rep["dates"][2]["median_db"] - rep["stack_median_db"] - 10.0) < 1.0


def test_all_invalid_date(tmp_path):
    imgs = dict(zip([f"2024010{i}" for i in range(1, 4)], shifted_stack([(0.0, 0.0)] * 3, size=64)))
    imgs["20240102"][:] = 0.0
    files = write_dates(tmp_path, imgs, utm_grid())
    with pytest.raises(InputError, match=r"S1_20240102\.tif: date 20240102 rejected: no valid pixel"):
        check_stack(files, "intensity", reference_date="20240101")
    rep = check_stack(files, "intensity", on_misregistered="drop", reference_date="20240101")
    assert rep["kept_dates"] == ["20240101", "20240103"]


def test_shift_not_measurable_without_stable_structure(tmp_path):
    # independent speckle on a flat scene: nothing to correlate; the date is kept and reported
    rng = np.random.default_rng(2)
    files = write_dates(tmp_path, {f"2024010{i}": rng.gamma(1, 1, (96, 96)) for i in range(1, 4)}, utm_grid(96, 96))
    rep = check_stack(files, "intensity", reference_date="20240101")
    assert rep["kept_dates"] == list(files)
    for r in rep["dates"][1:]:
        assert not r["shift_measurable"] and r["correlation"] < 0.2
        assert "shift not measurable" in r["reasons"][0]


# --- issue 15, class 3: no valid pixel in the shift window --------------------------------------

def edge_stack(size: int = 128) -> dict[str, np.ndarray]:
    return dict(zip([f"2024010{i}" for i in range(1, 6)], shifted_stack([(0.0, 0.0)] * 5, size=size)))


@pytest.mark.parametrize(
    "case",
    ["edge-only date", "hole in the middle date", "all-NaN middle date", "all-zero middle date", "hole in every date"],
)
def test_shift_window_without_valid_pixels(tmp_path, case):
    """The check never crashes on a window without valid data: it moves the window to valid data,
    picks another reference, or reports the shift as not measurable."""
    imgs = edge_stack()
    if case == "edge-only date":  # date 4 covers only the left 20 columns of the AOI
        imgs["20240104"][:, 20:] = np.nan
    elif case == "hole in the middle date":  # the default reference (middle date) has a nodata hole in its centre
        imgs["20240103"][24:104, 24:104] = np.nan
    elif case == "all-NaN middle date":
        imgs["20240103"][:] = np.nan
    elif case == "all-zero middle date":
        imgs["20240103"][:] = 0.0
    else:
        for img in imgs.values():
            img[16:112, 16:112] = np.nan
    files = write_dates(tmp_path, imgs, utm_grid(128, 128))
    rep = check_stack(files, "intensity", on_misregistered="drop", shift_window=64)
    by_date = {r["date"]: r for r in rep["dates"]}
    if case in ("all-NaN middle date", "all-zero middle date"):
        assert rep["reference_date"] != "20240103" and rep["dropped_dates"] == ["20240103"]
        assert by_date["20240103"]["reasons"] == ["no valid pixel (all NaN, inf, <= 0 or nodata)"]
        with pytest.raises(InputError, match=r"S1_20240103\.tif: date 20240103 rejected: no valid pixel"):
            check_stack(files, "intensity", shift_window=64)
        return
    assert rep["dropped_dates"] == []
    if case == "edge-only date":
        r = by_date["20240104"]
        assert not r["shift_measurable"] and r["shift_px"] is None
        assert "shift not measurable: only" in r["reasons"][0] and "valid in both this date and the reference" in r["reasons"][0]
    if case == "hole in the middle date":
        # another date is the reference; for the date with the hole, the window moves off the hole
        assert rep["reference_date"] in ("20240102", "20240104")
        for d, r in by_date.items():
            if d != rep["reference_date"]:
                assert r["shift_measurable"] and r["shift_norm_px"] < 0.2, r
        row, col, h, w = by_date["20240103"]["shift_window"]
        assert (h, w) == (64, 64) and (row, col) != (32, 32)  # not the central window, all in the hole
    if case == "hole in every date":
        for d, r in by_date.items():
            if d != rep["reference_date"]:
                assert not r["shift_measurable"] and "shift not measurable: only" in r["reasons"][0]


def test_unusable_reference_date_given(tmp_path):
    imgs = edge_stack(64)
    imgs["20240102"][:] = np.nan
    files = write_dates(tmp_path, imgs, utm_grid())
    with pytest.raises(InputError, match=r"S1_20240102\.tif: the reference date 20240102 is unusable: no valid pixel"):
        check_stack(files, "intensity", reference_date="20240102")


# --- issue 15, class 6: false misregistration on co-registered single-look stacks ---------------

def test_no_false_misregistration_on_single_look_piecewise_constant_stacks(monkeypatch):
    """Co-registered single-look stacks of a piecewise-constant scene (few edges): the default check
    (fail) must pass. Before: 27 of 90 dates (30 %) had spurious shifts of 0.6-2 px (benchmarks/false_alarms.py,
    of which this is a short run)."""
    monkeypatch.syspath_prepend(REPO / "benchmarks")
    from false_alarms import false_alarms

    dropped, checked = false_alarms("piecewise", stacks=3, dates=10, size=128)
    assert (dropped, checked) == (0, 27)


def test_real_shift_on_single_look_stack_still_detected(tmp_path):
    shifts = [(0.0, 0.0), (0.0, 0.0), (0.8, 0.5), (0.0, 0.0)]
    imgs = shifted_stack(shifts, size=128, looks=1, speckle_kind="correlated", seed=4)
    dates = [f"2024010{i}" for i in range(1, 5)]
    files = write_dates(tmp_path, dict(zip(dates, imgs)), utm_grid(128, 128))
    rep = check_stack(files, "intensity", on_misregistered="drop", reference_date=dates[0])
    assert rep["dropped_dates"] == [dates[2]]
    bad = rep["dates"][2]
    assert bad["shift_se_px"] < 0.2 and "(standard error" in bad["reasons"][0]
    for r in rep["dates"][1:]:
        assert r["shift_se_px"] is not None


# --- issue 15, class 5: a date far from the stack's radiometry is not averaged ------------------

@pytest.mark.parametrize("setting, in_mean, status", [("exclude", False, "kept"), ("drop", False, "dropped"), ("keep", True, "kept")])
def test_radiometric_outlier_kept_out_of_the_mean(tmp_path, setting, in_mean, status):
    imgs = edge_stack(64)
    imgs["20240102"] = imgs["20240102"] * 1e4  # +40 dB: e.g. a date in other units
    files = write_dates(tmp_path, imgs, utm_grid())
    rep = check_stack(files, "intensity", on_radiometric_outlier=setting)
    r = rep["dates"][1]
    assert r["radiometric_outlier"] and r["in_mean"] is in_mean and r["status"] == status
    action = {"exclude": "left out of the super-image mean", "drop": "dropped", "keep": "flag only"}[setting]
    assert abs(r["level_db"] - 40.0) < 0.01
    assert r["reasons"][-1] == (
        f"level {r['level_db']:+.2f} dB from the other dates' on the 32 x 32 px blocks it shares with them (its median"
        f" {r['median_db']:.2f} dB, the stack median {rep['stack_median_db']:.2f} dB) ({action})")
    assert ("20240102" in rep["mean_dates"]) is in_mean
    assert [d for d in rep["mean_dates"]] == [d for d in files if d != "20240102" or in_mean]


def test_dates_of_other_footprints_are_compared_where_they_overlap(tmp_path):
    """Dates covering the left or the right part of a scene brighter on its right (a swath edge, half a
    scene): their medians differ by 5 dB over different ground, but where they overlap they agree, so no
    date is a radiometric outlier and every date stays in the super-image mean (new-user review: the right
    halves were left out of the mean, and their products lost the pixels no other date covered)."""
    rng = np.random.default_rng(4)
    seeds = rng.uniform(0, 128, (16, 2))
    rr, cc = np.mgrid[0:128, 0:128]
    parcels = np.exp(rng.normal(0, 0.7, 16))[np.argmin((rr[..., None] - seeds[:, 0]) ** 2 + (cc[..., None] - seeds[:, 1]) ** 2, axis=-1)]
    scene = parcels * np.where(cc < 64, 1.0, 10.0)  # +10 dB on the right
    imgs = {}
    for i in range(6):
        img = scene * rng.gamma(4, 0.25, scene.shape)
        img[:, (cc[0] >= 96) if i % 2 == 0 else (cc[0] < 32)] = np.nan  # the left or the right 96 columns
        imgs[f"2024010{i + 1}"] = img.astype(np.float32)
    files = write_dates(tmp_path, imgs, utm_grid(128, 128))
    rep = check_stack(files, "intensity")
    medians = [r["median_db"] for r in rep["dates"]]
    assert max(medians) - min(medians) > 4.0  # the medians alone would flag the right halves
    assert not any(r["radiometric_outlier"] for r in rep["dates"])
    assert rep["mean_dates"] == list(files)
    assert all(abs(r["level_db"]) < 0.2 for r in rep["dates"])


@pytest.mark.parametrize("policy", ["drop", "fail"])
def test_a_shifted_reference_date_is_not_the_reference(tmp_path, policy):
    """The middle date (the automatic reference) shifted by whole pixels: formerly every good date was measured as
    shifted, and `drop` kept only the shifted dates (hostile-input review). The dates that agree with most of
    the stack are the reference now, and only the shifted ones are dropped (or named by `fail`)."""
    shifts = [(0.0, 0.0)] * 7
    shifts[3] = shifts[5] = (2.0, 1.0)  # the middle date (index 3 of 7) and another
    imgs = shifted_stack(shifts, size=128, looks=4, seed=5)
    dates = [f"2024010{i}" for i in range(1, 8)]
    files = write_dates(tmp_path, dict(zip(dates, imgs)), utm_grid(128, 128))
    if policy == "fail":
        with pytest.raises(InputError, match=rf"S1_({dates[3]}|{dates[5]})\.tif: date .* rejected: residual shift"):
            check_stack(files, "intensity")
        return
    rep = check_stack(files, "intensity", on_misregistered="drop")
    assert rep["reference_date"] not in (dates[3], dates[5])
    assert rep["dropped_dates"] == [dates[3], dates[5]]
    assert sorted(rep["kept_dates"]) == sorted(set(dates) - {dates[3], dates[5]})


def test_a_whole_pixel_shift_of_a_structured_date_is_significant(tmp_path):
    """A 4-look date of a piecewise-constant scene shifted by (3, 2) px, correlation 0.55 with the reference:
    its flat sub-windows gave a standard error of 2.6 px and the shift was kept as "not significant"
    (hostile-input review). Sub-windows without structure of their own are left out of the spread now."""
    rng = np.random.default_rng(0)
    seeds = rng.uniform(0, 128, (12, 2))
    rr, cc = np.mgrid[0:128, 0:128]
    scene = np.exp(rng.normal(0, 1.0, 12))[np.argmin((rr[..., None] - seeds[:, 0]) ** 2 + (cc[..., None] - seeds[:, 1]) ** 2, axis=-1)]
    imgs = {"20240101": scene * rng.gamma(4, 0.25, scene.shape),
            "20240102": np.roll(scene, (3, 2), axis=(0, 1)) * rng.gamma(4, 0.25, scene.shape),
            "20240103": scene * rng.gamma(4, 0.25, scene.shape)}
    files = write_dates(tmp_path, {k: v.astype(np.float32) for k, v in imgs.items()}, utm_grid(128, 128))
    rep = check_stack(files, "intensity", on_misregistered="drop", reference_date="20240101", shift_window=128)
    assert rep["dropped_dates"] == ["20240102"], rep["dates"][1]["reasons"]
    assert "residual shift 3.6" in rep["dates"][1]["reasons"][0]
    assert rep["dates"][2]["status"] == "kept"


def test_vv_and_vh_in_one_stack_are_refused(tmp_path):
    """A glob taking the VV and VH files of a site, their keys made unique by the date_regex: the VH dates were
    despeckled with the mixed super-image, with only a warning about the mean (hostile-input review)."""
    import glob
    import shutil

    from mtsar2sar.stack import find_dates

    site = REPO / "data" / "opera_rtc_s1_10SGD" / "T137-292319-IW2"  # the validation site, in the repository
    assert site.is_dir(), f"{site}: the example data of the repository (data/README.md) are missing"
    for f in sorted(glob.glob(str(site / "V?" / "*_2021*.tif"))):
        shutil.copy(f, tmp_path)
    files = find_dates(str(tmp_path / "*.tif"), r"_(\d{8}_S1._30_v1\.0_V.)")  # e.g. 20211119_S1A_30_v1.0_VV
    assert {k[-2:] for k in files} == {"VV", "VH"}
    with pytest.raises(InputError, match=r"_V[VH]\.tif: polarization V[VH], but .*_V[VH]\.tif is V[VH]: a stack is one polarization"):
        check_stack(files, "intensity")
    vv = {k: f for k, f in files.items() if k.endswith("VV")}
    assert check_stack(vv, "intensity")["kept_dates"] == list(vv)  # one polarization: as before


def simple_scene(h: int, w: int) -> np.ndarray:
    """Two half-planes, a dark band and a bright disc: few edges, as a user's small crop may have."""
    y, x = np.mgrid[0:h, 0:w]
    s = np.full((h, w), 0.05)
    s[:, w // 2 :] *= 4
    s[h // 3 : h // 2, :] *= 0.3
    s[(x - w // 4) ** 2 + (y - h // 4) ** 2 < (min(h, w) // 8) ** 2] = 1.0
    return s


def simple_stack(h: int, w: int, roll: dict[int, tuple[int, int]] | None = None) -> dict[str, np.ndarray]:
    dates = ["20240106", "20240118", "20240206", "20240218", "20240306"]
    out = {}
    for i, d in enumerate(dates):
        img = np.random.default_rng(i).gamma(4, 0.25, (h, w)) * simple_scene(h, w)
        out[d] = (np.roll(img, roll[i], axis=(0, 1)) if roll and i in roll else img).astype(np.float32)
    return out


@pytest.mark.parametrize("policy", ["drop", "fail"])
def test_a_shifted_reference_date_of_a_small_crop_is_the_one_named(tmp_path, policy):
    """A 64 x 64 crop of few edges whose middle date (the automatic reference) is shifted by (3, 4) px: each
    other date's shift from it is above max_shift_px but, alone, only one is significant. The four agree,
    so the shifted date is the one named (new-user review: the good date 20240118 was blamed)."""
    files = write_dates(tmp_path, simple_stack(64, 64, {2: (3, 4)}), utm_grid(64, 64))
    if policy == "fail":
        with pytest.raises(InputError, match=r"S1_20240206\.tif: date 20240206 rejected: residual shift 5\.0\d+ px "
                                             r"\(standard error 0\.\d+ px, from the 4 dates that agree on it\)"):
            check_stack(files, "intensity")
        return
    rep = check_stack(files, "intensity", on_misregistered="drop")
    assert rep["dropped_dates"] == ["20240206"] and rep["reference_date"] != "20240206"


def test_a_coregistered_thin_strip_is_not_misregistered(tmp_path):
    """A co-registered 16 x 400 strip: its window was too narrow for sub-windows, so a 0.68 px shift
    measured on speckle had no standard error and failed the run (new-user review). The strip is cut
    into 1 x 9 sub-windows: every date is kept, with a standard error."""
    files = write_dates(tmp_path, simple_stack(16, 400), utm_grid(16, 400))
    rep = check_stack(files, "intensity")
    assert rep["dropped_dates"] == []
    others = [r for r in rep["dates"] if r["date"] != rep["reference_date"]]
    assert all(r["shift_se_px"] is not None and r["shift_se_px"] > 0 for r in others)
    assert max(r["shift_norm_px"] for r in others) > 0.5  # the spurious shift that failed the run


def test_an_unshifted_date_just_beyond_the_tolerance_is_kept(tmp_path):
    """5 aligned 4-look dates of a smooth scene: one measures 0.57 px (standard error 0.18 px) from the
    reference, 3.2 standard errors, and stopped the run as misregistered (new-user review). A shift within
    half a standard error of max_shift_px is not beyond it: kept, with the reason."""
    from scipy.ndimage import gaussian_filter

    scene = np.exp(gaussian_filter(np.random.default_rng(5).normal(size=(128, 128)), 3) * 6) * 0.1
    imgs = {f"2024010{i + 1}": (np.random.default_rng(200 + i).gamma(4, 0.25, (128, 128)) * scene).astype(np.float32)
            for i in range(5)}
    rep = check_stack(write_dates(tmp_path, imgs, utm_grid(128, 128)), "intensity")
    assert rep["dropped_dates"] == []
    r = next(r for r in rep["dates"] if r["date"] == "20240104")
    assert 0.5 < r["shift_norm_px"] < 0.6 and r["shift_norm_px"] > 3 * r["shift_se_px"], r
    assert r["reasons"][-1].endswith("by less than half its standard error"
                                     f" {r['shift_se_px']:.3f} px: not beyond the tolerance; kept")
