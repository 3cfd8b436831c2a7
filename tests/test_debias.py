"""The despeckled ratio is debiased by level, and one extreme pixel does not move a whole date."""

from __future__ import annotations

import numpy as np
import pytest

from mtsar2sar.debias import OverallFactor, halo, regional_debias
from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio
from mtsar2sar.network import load_network
from mtsar2sar.simulate import SimulationConfig, simulate_stack
from mtsar2sar.superimage import temporal_mean


def two_region_ratio(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A true ratio of two regions (1 on the left, 3 on the right), 4-look noisy ratio, and a
    'despeckled' ratio 10 % too dark on the left and 10 % too bright on the right."""
    rng = np.random.default_rng(seed)
    true = np.ones((256, 256))
    true[:, 128:] = 3.0
    noisy = true * rng.gamma(4, 1 / 4, true.shape)
    biased = np.where(true < 2, 0.9, 1.1) * true
    return true, noisy, biased


def test_a_regional_bias_is_corrected_where_a_global_factor_cannot() -> None:
    true, noisy, biased = two_region_ratio()
    valid = np.ones(true.shape, dtype=bool)
    k_global = noisy.mean() / biased.mean()  # the former single factor per date
    left, right = np.s_[:, :64], np.s_[:, 192:]  # a window's width away from the edge between the regions
    assert abs((k_global * biased)[left].mean() / true[left].mean() - 1) > 0.08  # still 10 % off on one side
    overall = OverallFactor()
    overall.add(noisy, biased, valid)
    fixed = regional_debias(noisy, biased, valid, overall)
    assert fixed[left].mean() / true[left].mean() == pytest.approx(1.0, abs=0.01)
    assert fixed[right].mean() / true[right].mean() == pytest.approx(1.0, abs=0.01)


def test_the_regional_correction_ignores_an_outlier_and_streams_by_bands() -> None:
    true, noisy, _ = two_region_ratio(1)
    valid = np.ones(true.shape, dtype=bool)
    bad_noisy = noisy.copy()
    bad_noisy[5, 5] = 1e8  # +80 dB: counts as 30 speckle samples, not as 1e8
    clean, bad = OverallFactor(), OverallFactor()
    clean.add(noisy, true, valid)
    bad.add(bad_noisy, true, valid)
    assert bad.factor == pytest.approx(clean.factor, rel=1e-3)
    a, b = regional_debias(noisy, true, valid, clean), regional_debias(bad_noisy, true, valid, bad)
    change = np.abs(b / a - 1)
    assert change.max() < 0.03  # in the window around the pixel, at the image corner (fewest pixels)
    far = np.ones(change.shape, dtype=bool)
    far[: 5 + halo() + 1, : 5 + halo() + 1] = False
    assert change[far].max() < 1e-3
    # a band of rows with halo() rows of context gives the rows of the whole image
    r0, r1 = 100, 140
    a0, a1 = r0 - halo(), r1 + halo()
    band = regional_debias(noisy[a0:a1], true[a0:a1], valid[a0:a1], clean)[r0 - a0 : r1 - a0]
    np.testing.assert_allclose(band, a[r0:r1], rtol=1e-10)


@pytest.mark.parametrize(("weights", "most_moved", "median_db"),
                         [("sar2sar-s1", 8, 0.02), ("sar2sar-ml", 8, 0.02), ("sar2sar-grd", 32, 0.1)])
def test_one_extreme_pixel_in_one_date_stays_local(weights: str, most_moved: int, median_db: float) -> None:
    """One pixel at +80 dB in date 2 (an undeclared fill value) moved 4,089 of 4,096 pixels of date 1 by
    more than 1 dB through the global debiasing factor and the network's view of the whole image."""
    cfg = SimulationConfig(seed=7, height=64, width=64, dates=5, looks=4, speckle="gamma")
    _, _, noisy, _ = simulate_stack(cfg)
    den = NetworkDenoiser(load_network(weights), level=1e4)
    bad = [x.copy() for x in noisy]
    bad[1][30, 30] *= 1e8

    def date1(stack: list[np.ndarray]) -> np.ndarray:
        return despeckle_by_ratio(stack[0], temporal_mean(stack)[0], den).despeckled

    moved = np.abs(10 * np.log10(date1(bad) / date1(noisy)))
    assert (moved > 1.0).sum() <= most_moved  # the pixel and a few neighbours, not the date
    assert np.median(moved) < median_db
