"""A stack prepared for training: network inputs, targets and change-test images of every date."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from mtsar2sar.despeckle import geometric_mean, normalize_log_amplitude
from mtsar2sar.methods import boxcar
from mtsar2sar.network import LOG_AMPLITUDE_MAX, LOG_AMPLITUDE_MIN

if TYPE_CHECKING:
    from mtsar2sar.config import TrainingConfig

SPAN = LOG_AMPLITUDE_MAX - LOG_AMPLITUDE_MIN  # of the network's normalized log-amplitude


@dataclass
class Stack:
    """One AOI prepared for training: network inputs, log targets and change-test images per date."""

    name: str
    inputs: NDArray[np.float32]  # (T, H, W) normalized log-amplitude at the working level
    log_gain: NDArray[np.float64]  # (T,) log of the gain applied to each date
    targets: NDArray[np.float32]  # (T, H, W) log-intensity in the training domain (NaN invalid)
    smooth_log: NDArray[np.float32]  # (T, H, W) log of the boxcar-filtered intensities (change test)
    train_dates: list[int] = field(default_factory=list)
    val_dates: list[int] = field(default_factory=list)
    pre_log: NDArray[np.float32] | None = None  # (T, H, W) log pre-estimates (compensated_mean targets)


def prepare_stack(
    name: str, dates: list[NDArray[np.floating]], super_image: NDArray[np.floating], cfg: TrainingConfig,
    domain: str | None = None, pre_estimator: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None,
) -> Stack:
    """Network inputs, targets and change-test images of one AOI (in ``domain``, default the config's).

    The change test compares the ``change_window`` boxcars of the dates. (Comparing the estimates of
    an earlier model instead was tried: the estimate of date i depends on its own speckle, so the
    dates selected as "stable" follow the earlier model's errors and training reinforces them:
    -3 dB on changed pixels of the held-out scene.) ``pre_estimator`` (an intensity despeckler applied
    to each date in the training domain) gives the pre-estimates of the ``compensated_mean`` targets."""
    s = np.asarray(super_image, dtype=np.float64)
    s_norm = s / geometric_mean(s)
    ins, gains, tgts, smooth, pre = [], [], [], [], []
    for w in dates:
        w = np.asarray(w, dtype=np.float64)
        img = w / s_norm if (domain or cfg.domain) == "ratio" else w
        ok = np.isfinite(img) & (img > 0)
        filled = np.where(ok, img, geometric_mean(img))
        gain = cfg.level / geometric_mean(filled)
        ins.append(normalize_log_amplitude(filled * gain))
        gains.append(math.log(gain))
        tgts.append(np.where(ok, np.log(np.where(ok, img, 1.0)), np.nan).astype(np.float32))
        smooth.append(np.log(boxcar(w, cfg.change_window)).astype(np.float32))
        if pre_estimator is not None:
            pre.append(np.log(pre_estimator(filled)).astype(np.float32))
    t = len(dates)
    nval = min(cfg.validation_dates, max(0, t - 2))
    val = list(range(t - nval, t)) if nval >= 2 else []
    return Stack(name, np.stack(ins), np.array(gains), np.stack(tgts), np.stack(smooth),
                 [i for i in range(t) if i not in val], val, np.stack(pre) if pre else None)
