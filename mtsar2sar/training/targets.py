"""Training targets: what the network is asked to predict from date i, and where (the loss mask).

Each target type owns its options (``options``; :class:`mtsar2sar.config.TrainingConfig`
refuses them with another type) and is called as ``target(stack, i, j, sl) -> (log target, mask)``:

* ``pair``: the other date j, changed pixels (7 x 7 boxcar ratio test) masked;
* ``stable_mean``: per pixel, the mean of every other training date the change test finds stable
  with respect to date i;
* ``compensated_mean``: SAR2SAR's change compensation by pre-estimates, averaged over the other dates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter

from mtsar2sar.config.training import TARGET_OPTIONS
from mtsar2sar.training.data import Stack

if TYPE_CHECKING:
    from mtsar2sar.config import TrainingConfig

Patch = tuple[slice, slice]
TargetFn = Callable[[Stack, int, int, Patch], tuple[NDArray[np.float32], NDArray[np.bool_]]]


def change_db(log_a: NDArray[np.float32], log_b: NDArray[np.float32]) -> NDArray[np.float32]:
    """Absolute difference in dB of two log-intensity images (the change test's statistic)."""
    return np.abs(log_a - log_b) * (10 / math.log(10))


def change_mask(stack: Stack, i: int, j: int, sl: tuple[slice, slice], threshold_db: float) -> NDArray[np.bool_]:
    """True where dates i and j do NOT differ by more than ``threshold_db`` (7 x 7 boxcar test) and the target is valid."""
    d = change_db(stack.smooth_log[i][sl], stack.smooth_log[j][sl])
    return (d <= threshold_db) & np.isfinite(stack.targets[j][sl]) & np.isfinite(d)


def log_mean_intensity(
    logs: NDArray[np.floating], ok: NDArray[np.bool_], weights: NDArray[np.floating] | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Per pixel, the log of the mean intensity of the dates (axis 0) where ``ok`` (weighted by
    ``weights`` if given), and where there is one."""
    if weights is None:
        n = ok.sum(axis=0)
        total = np.where(ok, np.exp(np.where(ok, logs, 0.0)), 0.0).sum(axis=0)
    else:
        wt = np.where(ok, weights, 0.0)
        n = wt.sum(axis=0)
        total = (wt * np.exp(np.where(ok, logs, 0.0))).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(n > 0, np.log(total / np.where(n > 0, n, 1)), np.nan)
    return y.astype(np.float32), n > 0


def stable_mean_target(
    stack: Stack, i: int, sl: tuple[slice, slice], threshold_db: float
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Log of the mean intensity of the other training dates that are stable w.r.t. date i, and where there is one."""
    others = [c for c in stack.train_dates if c != i]
    d = change_db(stack.smooth_log[:, sl[0], sl[1]][others], stack.smooth_log[i][sl])
    tg = stack.targets[:, sl[0], sl[1]][others]
    return log_mean_intensity(tg, (d <= threshold_db) & np.isfinite(tg) & np.isfinite(d))


def compensated_mean_target(
    stack: Stack, i: int, sl: tuple[slice, slice], gate_db: tuple[float, float] | None = None,
    neighbour_share: float = 0.0, neighbour_db: float | None = None, weight_db: float | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """SAR2SAR's change compensation, averaged over dates: log of the mean over the other training
    dates j of ``w_j * exp(g (x_i - x_j))``, with ``x`` the log pre-estimates (a previous model's or
    RABASAR's output), and where there is one. A change between i and j is carried by the
    pre-estimates instead of being learnt as noise, so every date supervises every pixel, changed or
    not; what the pre-estimator gets wrong the same way on every date (texture it smooths away) is
    corrected by the average of the dates' residuals ``y_j - x_j``.

    ``g = 1`` everywhere by default. With ``gate_db = (low, high)``, ``g`` ramps from 0 to 1 as
    ``|x_i - x_j|`` goes from ``low`` to ``high`` dB: where the pre-estimates see no change, date j
    supervises date i as it is (its speckle is independent of the input's, the pre-estimates' errors
    are not), and only real changes are compensated.

    ``weight_db`` weights date j by ``exp(-(|x_i - x_j| / weight_db)^2)`` (|.| in dB): the dates in
    the same state as date i (the other dates of a flood, the dates after a harvest) supervise it
    most, and the compensation's errors, which grow with the change it carries (the pre-estimator
    shrinks changes towards the temporal mean), count least.

    ``neighbour_share`` takes that share of ``x_i`` from the mean of the pre-estimates of the
    neighbouring training dates (i - 1, i + 1) instead of date i's own. Date i's own pre-estimate is a
    function of the network's input, so its errors are learnable and the network learns to copy them
    (it ends up as good as the pre-estimator, no better); the neighbours' errors come from other
    speckle and are averaged away, at the cost of the changes between neighbouring dates. With
    ``neighbour_db``, a neighbour's share is scaled by ``exp(-(d / neighbour_db)^2)``, ``d`` the 5 x 5
    rms of its difference to date i's pre-estimate (dB): it is not taken across a change."""
    if stack.pre_log is None:
        raise ValueError(f"{stack.name}: compensated_mean targets need pre-estimates (pre_estimator)")
    others = [c for c in stack.train_dates if c != i]
    tg = stack.targets[:, sl[0], sl[1]][others]
    pre = stack.pre_log[:, sl[0], sl[1]]
    x_i = pre[i]
    near = [k for k in (i - 1, i + 1) if k in stack.train_dates]
    if neighbour_share and near:
        share = np.full((len(near), *x_i.shape), neighbour_share / len(near), dtype=np.float32)
        if neighbour_db is not None:
            d2 = uniform_filter(change_db(pre[near], x_i[None]) ** 2, size=(1, 5, 5), mode="nearest")
            share *= np.exp(-d2 / neighbour_db**2)
        x_i = (1 - share.sum(axis=0)) * x_i + (share * pre[near]).sum(axis=0)
    pre_others = pre[others]
    shift = x_i - pre_others
    change = change_db(x_i, pre_others)  # dB, for the gate and the weights
    if gate_db is not None:
        lo, hi = gate_db
        shift = shift * np.clip((change - lo) / (hi - lo), 0.0, 1.0)
    comp = tg + shift
    weights = None if weight_db is None else np.exp(-(change / weight_db) ** 2)
    return log_mean_intensity(comp, np.isfinite(comp), weights)


def departures(stack: Stack, threshold_db: float) -> NDArray[np.int64]:
    """Flat indices into (T, H, W) of the (training date, pixel) pairs where the date's boxcar departs
    from the pixel's temporal mean (boxcars of the training dates) by more than ``threshold_db``: the
    abrupt changes at the input date (a flood, a harvest) that random patches rarely show."""
    sm = stack.smooth_log[stack.train_dates]
    mean, _ = log_mean_intensity(sm, np.isfinite(sm))
    d = np.zeros(stack.smooth_log.shape, dtype=bool)
    d[stack.train_dates] = change_db(sm, mean[None]) > threshold_db
    return np.flatnonzero(d)


@dataclass(frozen=True)
class PairTarget:
    options: ClassVar[frozenset[str]] = TARGET_OPTIONS["pair"]
    threshold_db: float

    def __call__(self, stack: Stack, i: int, j: int, sl: Patch) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
        return stack.targets[j][sl], change_mask(stack, i, j, sl, self.threshold_db)


@dataclass(frozen=True)
class StableMeanTarget:
    options: ClassVar[frozenset[str]] = TARGET_OPTIONS["stable_mean"]
    threshold_db: float

    def __call__(self, stack: Stack, i: int, j: int, sl: Patch) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
        return stable_mean_target(stack, int(i), sl, self.threshold_db)


@dataclass(frozen=True)
class CompensatedMeanTarget:
    options: ClassVar[frozenset[str]] = TARGET_OPTIONS["compensated_mean"]
    gate_db: tuple[float, float] | None
    neighbour_share: float
    neighbour_db: float | None
    weight_db: float | None

    def __call__(self, stack: Stack, i: int, j: int, sl: Patch) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
        return compensated_mean_target(stack, int(i), sl, self.gate_db, self.neighbour_share, self.neighbour_db,
                                       self.weight_db)


TARGETS: dict[str, type[PairTarget | StableMeanTarget | CompensatedMeanTarget]] = {
    "pair": PairTarget, "stable_mean": StableMeanTarget, "compensated_mean": CompensatedMeanTarget,
}


def make_target(cfg: TrainingConfig) -> TargetFn:
    """The target of ``cfg.targets`` with its options."""
    if cfg.targets == "compensated_mean":
        return CompensatedMeanTarget(cfg.compensation_gate_db, cfg.pre_neighbour_share, cfg.pre_neighbour_db,
                                     cfg.compensation_weight_db)
    if cfg.targets == "stable_mean":
        return StableMeanTarget(cfg.change_threshold_db)
    return PairTarget(cfg.change_threshold_db)
