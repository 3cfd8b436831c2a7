"""ENL of the super-image on homogeneous areas, the temporal mean, and finding the dates of a stack."""

from __future__ import annotations

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
