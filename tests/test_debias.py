"""The despeckled ratio is debiased by level, and one extreme pixel does not move a whole date."""

from __future__ import annotations

import numpy as np
import pytest

from mtsar2sar.debias import LevelDebias
from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio
from mtsar2sar.network import load_network
from mtsar2sar.simulate import SimulationConfig, simulate_stack
from mtsar2sar.superimage import temporal_mean


def two_level_ratio(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A true ratio of two levels (1 on the left, 10 on the right), 4-look noisy ratio, and a
    'despeckled' ratio 10 % too dark at level 1 and 10 % too bright at level 10."""
    rng = np.random.default_rng(seed)
    true = np.ones((128, 128))
    true[:, 64:] = 10.0
    noisy = true * rng.gamma(4, 1 / 4, true.shape)
    biased = np.where(true < 5, 0.9, 1.1) * true
    return true, noisy, biased


def test_a_level_dependent_bias_is_corrected_where_a_global_factor_cannot() -> None:
    true, noisy, biased = two_level_ratio()
    valid = np.ones(true.shape, dtype=bool)
    k_global = noisy.mean() / biased.mean()  # the former single factor per date
    left, right = true < 5, true > 5
    assert abs((k_global * biased)[left].mean() / true[left].mean() - 1) > 0.08  # still 10 % off on one side
    corr = LevelDebias(float(np.exp(np.log(noisy).mean())))
    corr.add(noisy, biased, valid)
    fixed = corr.apply(biased)
    assert fixed[left].mean() / true[left].mean() == pytest.approx(1.0, abs=0.01)
    assert fixed[right].mean() / true[right].mean() == pytest.approx(1.0, abs=0.01)


def test_the_level_correction_ignores_an_outlier_and_can_be_switched_off() -> None:
    true, noisy, _ = two_level_ratio(1)
    valid = np.ones(true.shape, dtype=bool)
    clean = LevelDebias(3.0)
    clean.add(noisy, true, valid)
    bad_noisy = noisy.copy()
    bad_noisy[5, 5] = 1e8  # +80 dB
    bad = LevelDebias(3.0)
    bad.add(bad_noisy, true, valid)
    assert bad.overall == pytest.approx(clean.overall, rel=5e-3)  # it counts as 30 speckle samples
    assert np.allclose(bad.factors(), clean.factors(), rtol=5e-3)
    off = LevelDebias(3.0, enabled=False)
    off.add(noisy, 0.5 * true, valid)
    assert off.overall == 1.0 and np.array_equal(off.apply(true), true)
    with pytest.raises(ValueError, match="reference level must be positive"):
        LevelDebias(0.0)


@pytest.mark.parametrize("weights", ["sar2sar-grd", "sar2sar-s1"])
def test_one_extreme_pixel_in_one_date_stays_local(weights: str) -> None:
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
    assert (moved > 1.0).sum() <= 16  # the pixel and a few neighbours, not the date
    assert np.median(moved) < 0.05
