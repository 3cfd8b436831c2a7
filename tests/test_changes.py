"""The change-preservation scores (mtsar2sar.changes) on constructed stacks whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from mtsar2sar.changes import DEPARTURE_BINS_DB, bias_per_bin, change_slope, truth_change_slope


def blocks_stack(seed: int = 0, size: int = 128, dates: int = 6, looks: float = 4.0, block: int = 32,
                 changed: float = 0.25, low_db: float = 4.0, high_db: float = 10.0
                 ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(truth, noisy): blocks of one level each; at each date a fraction ``changed`` of them is off its
    level by ``low_db``-``high_db`` either way; L-look Gamma speckle."""
    rng = np.random.default_rng(seed)
    nb = size // block
    base = 10 ** rng.uniform(-2, 0, (nb, nb))
    truth = []
    for _ in range(dates):
        step = rng.choice([-1.0, 1.0], (nb, nb)) * rng.uniform(low_db, high_db, (nb, nb))
        level = np.where(rng.random((nb, nb)) < changed, base * 10 ** (step / 10), base)
        truth.append(np.kron(level, np.ones((block, block))))
    noisy = [v * rng.gamma(looks, 1 / looks, v.shape) for v in truth]
    return truth, noisy


def shrunk(truth: list[np.ndarray], k: float) -> list[np.ndarray]:
    """Each date's departure from the truth's (geometric) temporal mean, times ``k`` in log."""
    mean = np.exp(np.mean([np.log(v) for v in truth], axis=0))
    return [mean * (v / mean) ** k for v in truth]


@pytest.fixture(scope="module")
def scene() -> tuple[list[np.ndarray], list[np.ndarray]]:
    return blocks_stack()


def test_the_truth_keeps_changes_at_full_size(scene):
    truth, noisy = scene
    s = change_slope(noisy, truth)
    assert s.low <= 1.0 <= s.high, s
    assert abs(s.slope - 1.0) < 0.02, s
    assert s.low <= s.slope <= s.high
    assert s.pairs == len(truth) - 1 and s.pixels > 1000
    assert truth_change_slope(truth, truth) == pytest.approx(1.0)


@pytest.mark.parametrize("k", [0.3, 0.7])
def test_shrunk_changes_give_their_factor(scene, k):
    truth, noisy = scene
    s = change_slope(noisy, shrunk(truth, k))
    assert s.slope == pytest.approx(k, abs=0.02), s
    assert s.low <= k <= s.high, s
    assert truth_change_slope(truth, shrunk(truth, k)) == pytest.approx(k, abs=1e-9)


def test_a_constant_estimate_keeps_no_change(scene):
    truth, noisy = scene
    s = change_slope(noisy, shrunk(truth, 0.0))
    assert abs(s.slope) < 1e-9 and abs(s.low) < 1e-9 and abs(s.high) < 1e-9


def test_single_look_the_split_score_is_unbiased_where_the_plain_one_is_not():
    """Moderate changes and a small window on single-look speckle: many pixels pass 3 dB by noise alone
    (their y is 0) and the plain score reads far below 1 for the truth itself; the split score does not."""
    truth, noisy = blocks_stack(seed=1, size=192, dates=8, looks=1.0, changed=0.3, low_db=3.0, high_db=6.0)
    plain = change_slope(noisy, truth, window=5, split=False)
    split = change_slope(noisy, truth, window=5)
    assert plain.slope < 0.9 and plain.high < 0.9, plain
    assert abs(split.slope - 1.0) < 0.05, split
    assert abs(change_slope(noisy, shrunk(truth, 0.5), window=5).slope - 0.5) < 0.05


def test_the_interval_narrows_with_more_pixels():
    small = change_slope(*reversed(blocks_stack(seed=1, size=64, looks=2.0)))
    large = change_slope(*reversed(blocks_stack(seed=1, size=256, looks=2.0)))
    assert small.pixels < large.pixels
    assert large.high - large.low < 0.7 * (small.high - small.low), (small, large)
    for s in (small, large):
        assert s.low <= s.slope <= s.high


def test_the_interval_is_deterministic_and_follows_the_seed(scene):
    truth, noisy = scene
    est = shrunk(truth, 0.8)
    a, b = change_slope(noisy, est, seed=4), change_slope(noisy, est, seed=4)
    assert a == b
    c = change_slope(noisy, est, seed=5)
    assert c.slope == a.slope and (c.low, c.high) != (a.low, a.high)


def test_nan_pixels_are_left_out(scene):
    truth, noisy = scene
    holed = [v.copy() for v in noisy]
    for v in holed:
        v[:, :16] = np.nan
    est = [v.copy() for v in truth]
    est[2][40:50, 40:50] = np.nan
    s = change_slope(holed, est)
    assert np.isfinite(s.slope) and abs(s.slope - 1.0) < 0.03, s
    assert s.pixels < change_slope(noisy, truth).pixels


def test_no_change_gives_nan_and_no_pixel():
    rng = np.random.default_rng(0)
    truth = [np.full((64, 64), 0.1)] * 4
    s = change_slope(truth, [v * rng.gamma(4.0, 0.25, v.shape) for v in truth])
    assert s.pixels == 0 and np.isnan(s.slope) and np.isnan(s.low) and s.pairs == 3


def test_bias_per_bin_of_the_truth_is_zero(scene):
    truth, _ = scene
    bins = bias_per_bin(truth, truth)
    assert len(bins) == len(DEPARTURE_BINS_DB) - 1
    filled = [b for b in bins if b.pixels]
    assert len(filled) >= 4 and sum(b.pixels for b in bins) == sum(v.size for v in truth)
    for b in filled:
        assert b.bias_db == 0.0 and b.mse_db2 == 0.0
        assert b.low_db <= b.true_db < b.high_db


def test_bias_per_bin_measures_the_shrinkage(scene):
    """Departures shrunk by k: the error in each bin is about (k - 1) x its departure (in dB, with the
    geometric mean; the bins are of the departure from the arithmetic mean, hence about)."""
    truth, _ = scene
    bins = bias_per_bin(shrunk(truth, 0.5), truth)
    far = [b for b in bins if b.pixels and abs(b.true_db) > 3]
    assert far
    for b in far:
        assert np.sign(b.bias_db) == -np.sign(b.true_db)
        assert b.mse_db2 >= b.bias_db**2
    one = bias_per_bin([truth[0] * 2.0], [truth[0]], truth_mean=np.mean(truth, axis=0))
    assert all(b.bias_db == pytest.approx(10 * np.log10(2.0)) for b in one if b.pixels)


def test_bad_input_is_refused_with_a_message(scene):
    truth, noisy = scene
    with pytest.raises(ValueError, match="at least 2 dates"):
        change_slope(noisy[:1], truth[:1])
    with pytest.raises(ValueError, match="shape"):
        change_slope(noisy, [v[:, :-1] for v in truth])
    with pytest.raises(ValueError, match="6 noisy dates but 5 estimate dates"):
        change_slope(noisy, truth[:5])
    with pytest.raises(ValueError, match="date 2 has shape"):
        change_slope([*noisy[:2], noisy[2][:10], *noisy[3:]], truth)
    with pytest.raises(ValueError, match="2-D"):
        change_slope([v[None] for v in noisy], [v[None] for v in truth])
    with pytest.raises(ValueError, match="shape"):
        bias_per_bin(truth, [v[:-1] for v in truth])
    with pytest.raises(ValueError, match="truth_mean"):
        bias_per_bin(truth[:1], truth[:1])
    with pytest.raises(ValueError, match="increasing"):
        bias_per_bin(truth, truth, bins=(3.0, 1.0))
