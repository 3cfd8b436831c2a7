"""Training patches: deterministic random (input date, target) pairs, changes shown on purpose."""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.typing import NDArray

from mtsar2sar.config import TrainingConfig
from mtsar2sar.training.data import SPAN, Stack
from mtsar2sar.training.targets import change_db, departures, make_target


def change_field(rng: np.random.Generator, size: int, sigma_db: float) -> NDArray[np.float32]:
    """A random log-intensity change ``log c`` on a ``size`` x ``size`` patch: fields (Voronoi cells of
    3-12 random seeds, each changing with probability 1/2 by a gain of ``sigma_db`` dB standard deviation)
    and, one time in three, a few bright point or line targets (+10 to +25 dB).

    Used to augment training patches: the input and the target are both multiplied by ``c``. That is a
    change of the scene's reflectivity, not of its speckle, so the noise2noise pair stays valid and no
    clean image is involved; it shows the network, in the ratio domain where real changes are rare,
    piecewise-constant changes with sharp edges that it must keep."""
    k = int(rng.integers(3, 13))
    seeds = rng.uniform(0, size, size=(k, 2))
    rr, cc = np.mgrid[0:size, 0:size]
    label = np.argmin((rr[..., None] - seeds[:, 0]) ** 2 + (cc[..., None] - seeds[:, 1]) ** 2, axis=-1)
    gain_db = np.where(rng.random(k) < 0.5, rng.normal(0.0, sigma_db, k), 0.0)
    out = gain_db[label]
    if rng.random() < 1 / 3:
        for _ in range(int(rng.integers(1, 4))):
            r, c = rng.integers(0, size, 2)
            if rng.random() < 0.5:  # point target, 1-3 px
                h = int(rng.integers(1, 4))
                out[r : r + h, c : c + h] += rng.uniform(10, 25)
            else:  # thin line (road, ditch), 1-2 px wide, bright or dark
                width = int(rng.integers(1, 3))
                sign = 1.0 if rng.random() < 0.5 else -1.0
                if rng.random() < 0.5:
                    out[r : r + width, :] += sign * rng.uniform(3, 10)
                else:
                    out[:, c : c + width] += sign * rng.uniform(3, 10)
    return (out * (math.log(10) / 10)).astype(np.float32)


class PatchSampler:
    """Deterministic random patches of (input date i, target date j), flips and rotations.

    A ``change_patch_share`` of the patches is centred on a change: on a pixel that changes between
    i and j, or with ``change_patch_departure_db`` on a (date i, pixel) whose state departs from the
    pixel's temporal mean (date i drawn with it)."""

    def __init__(self, stacks: list[Stack], cfg: TrainingConfig, rng: np.random.Generator):
        self.stacks, self.cfg, self.rng = stacks, cfg, rng
        self.target = make_target(cfg)
        thr = cfg.change_patch_departure_db
        self.departures = [departures(st, thr) if thr is not None else None for st in stacks]

    def sample(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        cfg, rng, p = self.cfg, self.rng, self.cfg.patch
        xs, gs, ys, ms = [], [], [], []
        for _ in range(cfg.batch):
            k_st = int(rng.integers(len(self.stacks)))
            st, dep = self.stacks[k_st], self.departures[k_st]
            i, j = rng.choice(st.train_dates, size=2, replace=False)
            _, h, w = st.inputs.shape
            if rng.random() < cfg.change_patch_share:
                if dep is None:  # centre the patch on a pixel that changes between i and j (if any)
                    idx = np.flatnonzero(change_db(st.smooth_log[i], st.smooth_log[j]) > cfg.change_threshold_db)
                elif dep.size:  # on a (date, pixel) departing from the pixel's mean: date i drawn with it
                    i, pixel = divmod(int(dep[int(rng.integers(dep.size))]), h * w)
                    if j == i:
                        j = int(rng.choice([c for c in st.train_dates if c != i]))
                    idx = np.array([pixel])
                else:
                    idx = dep
                if idx.size:
                    r, c = divmod(int(idx[int(rng.integers(idx.size))]), w)
                    r0 = int(np.clip(r - p // 2, 0, h - p))
                    c0 = int(np.clip(c - p // 2, 0, w - p))
                else:
                    r0, c0 = int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1))
            else:
                r0, c0 = int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1))
            sl = (slice(r0, r0 + p), slice(c0, c0 + p))
            x = st.inputs[i][sl]
            y, m = self.target(st, int(i), int(j), sl)
            if cfg.synthetic_change_share and rng.random() < cfg.synthetic_change_share:
                c = change_field(rng, p, cfg.synthetic_change_db)  # same reflectivity change on both
                x = x + c / (2 * SPAN)  # normalized log-amplitude: (log A - m) / SPAN, log A = log w / 2
                y = y + c
            k, flip = int(rng.integers(4)), bool(rng.integers(2))
            x, y, m = np.rot90(x, k), np.rot90(y, k), np.rot90(m, k)
            if flip:
                x, y, m = x[:, ::-1], y[:, ::-1], m[:, ::-1]
            xs.append(np.ascontiguousarray(x))
            ys.append(np.ascontiguousarray(np.nan_to_num(y)))
            ms.append(np.ascontiguousarray(m))
            gs.append(st.log_gain[i])
        return (torch.from_numpy(np.stack(xs)[:, None]), torch.tensor(gs, dtype=torch.float32),
                torch.from_numpy(np.stack(ys)[:, None]), torch.from_numpy(np.stack(ms)[:, None]))
