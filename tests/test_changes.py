"""The change-preservation scores (mtsar2sar.changes) on constructed stacks whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from mtsar2sar.changes import (
    DEPARTURE_BINS_DB,
    absent_outlines,
    bias_per_bin,
    change_slope,
    departure_slope,
    ghost_contrast,
    truth_change_slope,
)


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


@pytest.mark.parametrize("looks", [1.0, 4.0])
def test_departures_from_the_temporal_mean_kept_at_their_size(scene, looks):
    """The departure slope of each date against the truth's temporal mean: 1 for the truth, k for the
    departures shrunk by k, 0 for the temporal mean itself, whatever the looks (the speckle's log-mean bias
    is taken out)."""
    truth, _ = scene
    rng = np.random.default_rng(7)
    mean = np.exp(np.mean([np.log(v) for v in truth], axis=0))
    full, half, none = [], [], []
    for t, v in enumerate(truth):
        w = v * rng.gamma(looks, 1 / looks, v.shape)
        s = departure_slope(w, v, mean, seed=t)
        if s.pixels < 500:  # a date with hardly a departing block: not judged (as by the quality step)
            continue
        assert 0.75 < s.slope < 1.25, s  # a few blocks depart at each date: scatter
        full.append(s.slope)
        half.append(departure_slope(w, shrunk(truth, 0.5)[t], mean).slope)
        none.append(departure_slope(w, mean, mean).slope)
    assert len(full) >= 3 and np.mean(full) == pytest.approx(1.0, abs=0.03), full
    assert np.mean(half) == pytest.approx(0.5, abs=0.03), half
    assert np.max(np.abs(none)) < 0.01, none


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


# --- ghost contrast ------------------------------------------------------------------------------

def objects_stack(size: int = 128, dates: int = 6) -> list[np.ndarray]:
    """A flat background (-12 dB) with a field on the left half that changes by 2 dB from date to date
    (no outline: below the 6 dB threshold), a dark square (flood, -23 dB) on dates 2-3 only and a bright
    square (+10 dB) from date 3 on."""
    truth = []
    for t in range(dates):
        db = np.full((size, size), -12.0)
        db[:, : size // 2] += 2.0 * (t % 2)
        if t in (2, 3):
            db[20:60, 70:110] = -23.0
        if t >= 3:
            db[80:100, 20:40] = 10.0
        truth.append(10 ** (db / 10))
    return truth


def with_ghosts(truth: list[np.ndarray], k: float) -> list[np.ndarray]:
    """Each date mixed with the truth's geometric temporal mean, its weight ``k`` in log: the outline of
    every object of the other dates pasted, at ``k`` of its contrast, into the dates that lack it."""
    mean = np.exp(np.mean([np.log(v) for v in truth], axis=0))
    return [v ** (1 - k) * mean**k for v in truth]


def smooth_speckle(truth: list[np.ndarray], seed: int = 0, looks: float = 4.0) -> list[np.ndarray]:
    """The truth times spatially smoothed L-look speckle: noisy, but nothing of the other dates."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    return [v * np.exp(gaussian_filter(np.log(rng.gamma(looks, 1 / looks, v.shape)), 1.0)) for v in truth]


def test_the_outlines_are_those_of_the_absent_objects():
    truth = objects_stack()
    masks = absent_outlines(truth)
    outline0, control0 = masks[0]
    # date 0 lacks both squares: their outlines are there, the 2 dB field's edge is not
    assert outline0[19:21, 70:110].all() and outline0[79:81, 20:40].all()
    assert not outline0[:, 60:68].any() and not outline0[62:78, :].any()
    assert control0.any() and not (control0 & outline0).any()
    # date 2 has the flood: its outline is date 2's own edge, not a ghost; the bright square is absent
    outline2, _ = masks[2]
    assert not outline2[15:65, 65:115].any() and outline2[79:81, 20:40].all()


def test_the_truth_scores_zero_and_pasted_outlines_score_high():
    truth = objects_stack()
    g = ghost_contrast(truth, truth)
    assert g.contrast == 0.0 and g.floor == 0.0 and g.excess == 0.0 and g.low == 0.0 == g.high
    # date 3 holds both squares: nothing is absent from it
    assert g.dates == len(truth) - 1 and np.isnan(g.per_date[3]) and g.pixels > 500 and g.control_pixels > 500
    half = ghost_contrast(with_ghosts(truth, 0.5), truth)
    assert half.excess > 0.5 and half.low > 0.3, half
    assert half.floor == pytest.approx(0.0, abs=0.05)
    # the ghost grows with the share of the mean
    assert ghost_contrast(with_ghosts(truth, 0.2), truth).excess < half.excess
    assert ghost_contrast(with_ghosts(truth, 1.0), truth).excess > 1.5 * half.excess


def test_a_noisy_ghost_free_estimate_scores_near_its_floor():
    truth = objects_stack()
    est = smooth_speckle(truth)
    g = ghost_contrast(est, truth)
    assert g.floor > 0.2, g  # the speckle left adds to the gradient
    assert abs(g.excess) < 0.1 * g.floor and g.low <= 0.0 <= g.high, g
    ghosted = ghost_contrast(smooth_speckle(with_ghosts(truth, 0.3)), truth)
    assert ghosted.low > g.high, (g, ghosted)


def test_the_stack_gives_the_objects_of_dates_not_scored():
    """Two dates scored out of six: the flood of dates 2-3 is absent from both; without the whole stack
    it is not seen (nor its ghost)."""
    truth = objects_stack()
    est = with_ghosts(truth, 0.5)
    alone = ghost_contrast([est[0], est[5]], [truth[0], truth[5]])
    whole = ghost_contrast([est[0], est[5]], [truth[0], truth[5]], truth)
    assert whole.pixels > alone.pixels and whole.excess > 0.5
    masks = absent_outlines([truth[0], truth[5]], truth)
    assert ghost_contrast([est[0], est[5]], [truth[0], truth[5]], masks=masks) == whole


def test_ghost_contrast_is_deterministic_leaves_nan_out_and_is_nan_without_objects():
    truth = objects_stack()
    est = smooth_speckle(with_ghosts(truth, 0.3))
    assert ghost_contrast(est, truth, seed=3) == ghost_contrast(est, truth, seed=3)
    holed = [v.copy() for v in est]
    holed[1][:, 100:] = np.nan
    g = ghost_contrast(holed, truth)
    assert np.isfinite(g.excess) and g.pixels < ghost_contrast(est, truth).pixels
    flat = [np.full((64, 64), 0.1)] * 3
    none = ghost_contrast(flat, flat)
    assert none.pixels == 0 and none.dates == 0 and np.isnan(none.excess) and np.isnan(none.low)


def test_ghost_contrast_refuses_bad_input_with_a_message():
    truth = objects_stack()
    with pytest.raises(ValueError, match="6 truth dates but 5 estimate dates"):
        ghost_contrast(truth[:5], truth)
    with pytest.raises(ValueError, match="stack dates have shape"):
        ghost_contrast(truth, truth, [v[:-1] for v in truth])
    with pytest.raises(ValueError, match="threshold_db"):
        ghost_contrast(truth, truth, threshold_db=0.0)
    with pytest.raises(ValueError, match="control"):
        ghost_contrast(truth, truth, control=(6, 4))
    with pytest.raises(ValueError, match="masks: 2"):
        ghost_contrast(truth, truth, masks=absent_outlines(truth[:2]))
