"""Streamed (bounded-memory) steps give the in-memory results, reading and writing by bands of rows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from conftest import utm_grid, write_dates

from mtsar2sar import io as mio
from mtsar2sar import streaming
from mtsar2sar.denoisers import get_denoiser
from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio
from mtsar2sar.enl import estimate_enl
from mtsar2sar.io import read_intensity_decimated, read_product
from mtsar2sar.mulog import GammaLikelihood, mulog_blocks
from mtsar2sar.network import SAR2SARUNet
from mtsar2sar.superimage import temporal_mean
from mtsar2sar.tiling import tiled_apply, tiled_apply_rows


@pytest.fixture
def small_strips(monkeypatch):
    """Strips of 32 rows, so that the small test images are read and written in many parts."""
    monkeypatch.setattr(streaming, "strip_rows", lambda width, *a, **k: 32)
    monkeypatch.setattr(mio, "strip_rows", lambda width, *a, **k: 32)


@pytest.fixture
def dates(tmp_path):
    rng = np.random.default_rng(3)
    truth = np.exp(rng.normal(0, 0.5, (150, 70)))
    imgs = {f"2024010{i}": (truth * rng.gamma(1, 1, truth.shape)).astype(np.float32) for i in range(1, 5)}
    imgs["20240102"][10:20, 5:9] = np.nan
    return imgs, write_dates(tmp_path, imgs, utm_grid(150, 70))


def test_temporal_mean_file_equals_in_memory_mean_and_enl(dates, tmp_path, small_strips):
    imgs, files = dates
    res = streaming.temporal_mean_file(list(files.values()), "intensity", None, tmp_path / "s.tif", enl_window=15)
    mean, count = temporal_mean(imgs.values())
    got, _ = read_product(tmp_path / "s.tif")
    np.testing.assert_array_equal(got, mean)
    assert res.min_valid_dates == int(count.min()) == 3
    from mtsar2sar.enl import enl_from_log_variances

    assert enl_from_log_variances(res.log_variances, 15).enl == pytest.approx(estimate_enl(mean, 15).enl, rel=1e-12)


def test_pixels_of_no_date_of_the_mean_take_the_dates_left_out_of_it(tmp_path, small_strips, caplog):
    """A date left out of the mean (a radiometric outlier) covering columns no other date covers: there the
    super-image is its mean, not NaN, so that its product keeps those pixels; elsewhere the mean is the mean
    dates' alone, and a warning counts the pixels filled."""
    rng = np.random.default_rng(5)
    imgs = {f"2024010{i}": rng.gamma(4, 0.25, (64, 64)).astype(np.float32) for i in range(1, 4)}
    for d in ("20240101", "20240102"):
        imgs[d][:, 40:] = np.nan  # the mean's dates cover the left 40 columns
    files = write_dates(tmp_path, imgs, utm_grid(64, 64))
    mean_files, outlier = [files["20240101"], files["20240102"]], files["20240103"]
    streaming.temporal_mean_file(mean_files, "intensity", None, tmp_path / "s.tif", fallback=[outlier])
    got, _ = read_product(tmp_path / "s.tif")
    np.testing.assert_array_equal(got[:, :40], temporal_mean([imgs["20240101"], imgs["20240102"]])[0][:, :40])
    np.testing.assert_array_equal(got[:, 40:], imgs["20240103"][:, 40:])
    assert f"{64 * 24} pixels (37.5 %) are valid in no date of the mean" in caplog.text
    streaming.temporal_mean_file(mean_files, "intensity", None, tmp_path / "plain.tif")
    assert np.isnan(read_product(tmp_path / "plain.tif")[0][:, 40:]).all()  # without the fallback: NaN


def test_all_invalid_stack_leaves_no_super_image(tmp_path, small_strips):
    files = write_dates(tmp_path, {d: np.full((40, 40), np.nan, np.float32) for d in ("20240101", "20240102")}, utm_grid(40, 40))
    with pytest.raises(ValueError, match="no pixel is valid at any date"):
        streaming.temporal_mean_file(list(files.values()), "intensity", None, tmp_path / "s.tif")
    assert not list(tmp_path.glob("*s.tif*"))


def test_streamed_mulog_filter_is_bit_identical_to_blocks_in_memory(dates, tmp_path, small_strips):
    imgs, _files = dates
    mean, _ = temporal_mean(imgs.values())
    mio.write_float32(tmp_path / "mean.tif", mean, utm_grid(150, 70))
    settings = {"denoiser": "dct", "block": 48, "halo": 16, "admm_iterations": 2, "newton_iterations": 3}
    streaming.filter_file(tmp_path / "mean.tif", tmp_path / "f.tif", "mulog", 4.0, settings)
    ref = mulog_blocks(mean, GammaLikelihood(4.0), get_denoiser("dct"), block=48, halo=16,
                       admm_iterations=2, newton_iterations=3)
    np.testing.assert_array_equal(read_product(tmp_path / "f.tif")[0], ref)
    streaming.filter_file(tmp_path / "mean.tif", tmp_path / "n.tif", "none", 4.0)
    np.testing.assert_array_equal(read_product(tmp_path / "n.tif")[0], mean)


def test_streamed_despeckling_equals_in_memory(dates, tmp_path, small_strips):
    imgs, files = dates
    mean, _ = temporal_mean(imgs.values())
    mio.write_float32(tmp_path / "mean.tif", mean, utm_grid(150, 70))
    torch.manual_seed(0)
    den = NetworkDenoiser(SAR2SARUNet().eval(), tile=64, overlap=32)
    lam, _, k = streaming.despeckle_file(files["20240102"], "intensity", None, tmp_path / "mean.tif", den, tmp_path / "o.tif")
    ref = despeckle_by_ratio(imgs["20240102"], mean, den)
    got, grid = read_product(tmp_path / "o.tif")
    assert lam == pytest.approx(ref.lam, rel=1e-12)
    assert np.array_equal(np.isnan(got), np.isnan(ref.despeckled)) and np.isnan(got[10:20, 5:9]).all()
    np.testing.assert_allclose(got, ref.despeckled, rtol=1e-5)
    assert grid.differences(utm_grid(150, 70)) == []
    # debiasing by level: the despeckled ratio keeps the mean of the noisy ratio (to the interpolation
    # between levels); the scratch file is gone
    assert k != 1.0 and np.nanmean(ref.ratio_despeckled, dtype=np.float64) == pytest.approx(
        np.nanmean(ref.ratio, dtype=np.float64), rel=5e-3)
    assert not list(tmp_path.glob(".*"))


def test_tiled_rows_hold_one_row_of_tiles_and_match_in_memory():
    rng = np.random.default_rng(0)
    img = rng.random((300, 90)).astype(np.float32)
    net = torch.nn.Conv2d(1, 1, 5, padding=2)
    asked, given = [], []
    out = np.full(img.shape, np.nan, np.float32)

    def source(r0, r1):
        asked.append(r1 - r0)
        return img[r0:r1]

    def sink(r0, r1, rows):
        given.append((r0, r1))
        out[r0:r1] = rows

    tiled_apply_rows(net, source, 300, 90, sink, tile=64, overlap=32)
    assert max(asked) <= 64  # never more than one row of tiles in memory
    assert given[0][0] == 0 and given[-1][1] == 300 and all(a[1] == b[0] for a, b in itertools.pairwise(given))
    np.testing.assert_array_equal(out, tiled_apply(net, img, tile=64, overlap=32))


@pytest.mark.parametrize("failing", ["source", "sink"])
def test_tiled_rows_surface_a_failed_read_or_write(failing):
    """Reads and writes run in background threads (overlapping the network): their errors still reach the caller."""
    img = np.ones((300, 90), np.float32)
    calls = {"source": 0, "sink": 0}

    def source(r0, r1):
        calls["source"] += 1
        if failing == "source" and calls["source"] == 3:
            raise OSError("read error in band 3")
        return img[r0:r1]

    def sink(r0, r1, rows):
        calls["sink"] += 1
        if failing == "sink" and calls["sink"] == 2:
            raise OSError("disk full")

    with pytest.raises(OSError, match="band 3" if failing == "source" else "disk full"):
        tiled_apply_rows(torch.nn.Identity(), source, 300, 90, sink, tile=64, overlap=32)


def test_date_statistics_median_and_invalid_fraction(dates, small_strips):
    imgs, files = dates
    st = streaming.date_statistics(files["20240102"], "intensity", None)
    x = imgs["20240102"]
    assert st.invalid_fraction == pytest.approx(np.isnan(x).mean())
    v = np.sort(10 * np.log10(x[np.isfinite(x)].astype(np.float64)))
    lo, hi = v[(v.size - 1) // 2], v[v.size // 2]  # the middle order statistic(s)
    assert lo - 1e-3 <= 10 * np.log10(st.median) <= hi + 1e-3


def test_decimated_preview_is_the_block_mean(dates, small_strips):
    imgs, files = dates
    prev = read_intensity_decimated(files["20240101"], "intensity", max_size=50)  # k = 3
    x = imgs["20240101"].astype(np.float64)
    ref = x[:150, :69].reshape(50, 3, 23, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(prev, ref, rtol=1e-5)
