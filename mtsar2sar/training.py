"""Self-supervised SAR2SAR training on stacks (noise2noise between dates), in two domains.

* ``ratio``: the network learns the ratio domain it sees at inference in the multi-temporal method:
  input ``tau'_i = w_i / s'``, target ``tau'_j`` of another date of the same AOI.
* ``image``: the classic SAR2SAR: input ``w_i``, target ``w_j``.

The loss is the negative log-likelihood of the target under L-look speckle, on log-intensity
``y_j`` and the estimate ``x_hat``: ``L (x_hat - y_j + exp(y_j - x_hat))`` (its minimum is at
``exp(x_hat) = E[w_j]``: the estimate is unbiased in intensity). Temporal changes between dates i
and j must not be learnt as noise: pixels where a 7 x 7 boxcar ratio test says the two dates differ
are masked out of the loss, and a share of the patches is drawn on such changes so the network
learns to keep them (it sees the changed input and is not asked to erase it).

Targets (``targets``):

* ``pair``: one other date j per patch (the classic noise2noise pair), changed pixels masked;
* ``stable_mean``: per pixel, the mean intensity of *every* other training date that the change test
  finds stable with respect to date i. Still self-supervised (only noisy dates), but the target has
  up to T - 1 looks instead of one, and a pixel that changed between i and some dates is still
  supervised by the dates that share its state at i (a harvested field, a new building), so the
  network learns to denoise temporal changes instead of only passing them through. The NLL of a
  mean of n L-look intensities has its minimum at the same place (the mean), so the estimate stays
  unbiased; pixels count equally in the loss.

The network sees every image at the working level of :class:`mtsar2sar.despeckle.NetworkDenoiser`
(gain ``level / geometric_mean``), exactly as at inference. Training is deterministic for a seed,
checkpoints every ``checkpoint_every`` steps and resumes from the last checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter
from tqdm import tqdm

from mtsar2sar.despeckle import geometric_mean, normalize_log_amplitude
from mtsar2sar.io import atomic_path
from mtsar2sar.logs import log
from mtsar2sar.methods import boxcar
from mtsar2sar.network import LOG_AMPLITUDE_MAX, LOG_AMPLITUDE_MIN, SAR2SARUNet, load_network

SPAN = LOG_AMPLITUDE_MAX - LOG_AMPLITUDE_MIN


@dataclass(frozen=True)
class TrainingConfig:
    domain: str = "ratio"  # ratio | image | both (each stack twice: ratios and images)
    init: str = "sar2sar-grd"  # sar2sar-grd | scratch | path to a state dict
    steps: int = 3000
    patch: int = 96
    batch: int = 8
    lr: float = 3e-4
    lr_milestones: tuple[int, ...] = (2000,)
    lr_gamma: float = 0.3
    seed: int = 0
    looks: float = 1.0
    level: float = 1e4
    change_window: int = 7
    change_threshold_db: float = 3.0
    change_patch_share: float = 0.3
    change_patch_departure_db: float | None = None  # centre change patches on dates departing from their mean
    targets: str = "pair"  # pair | stable_mean | compensated_mean
    pre_estimator: str = ""  # compensated_mean: "rabasar", or weights of the pre-estimates (default: init)
    pre_denoiser: str = "dct"  # pre_estimator rabasar: MuLoG's Gaussian denoiser (dct | bm3d)
    compensation_gate_db: tuple[float, float] | None = None  # compensate only changes above (soft ramp, dB)
    pre_neighbour_share: float = 0.0  # share of x_i taken from the pre-estimates of dates i - 1 and i + 1
    pre_neighbour_db: float | None = None  # ... scaled down where a neighbour's state differs (5 x 5 rms, dB)
    compensation_weight_db: float | None = None  # weight dates j by how close their state is to date i's (dB)
    synthetic_change_share: float = 0.0  # share of patches given a synthetic change (see change_field)
    synthetic_change_db: float = 6.0  # standard deviation of the synthetic changes' gains, dB
    validation_dates: int = 2
    checkpoint_every: int = 250
    validate_every: int = 250
    threads: int = 2

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingConfig:
        d = dict(d)
        if "lr_milestones" in d:
            d["lr_milestones"] = tuple(d["lr_milestones"])
        if d.get("compensation_gate_db") is not None:
            lo, hi = (float(x) for x in d["compensation_gate_db"])
            if not 0 <= lo < hi:
                raise ValueError(f"training: compensation_gate_db must be [low, high] with 0 <= low < high dB, got {[lo, hi]}")
            d["compensation_gate_db"] = (lo, hi)
        if not 0 <= float(d.get("pre_neighbour_share", 0.0)) <= 1:
            raise ValueError(f"training: pre_neighbour_share must be in [0, 1], got {d['pre_neighbour_share']}")
        for key in ("pre_neighbour_db", "compensation_weight_db", "change_patch_departure_db"):
            if d.get(key) is not None and not float(d[key]) > 0:
                raise ValueError(f"training: {key} must be a positive number of dB, got {d[key]}")
        return cls(**d)


# The AOI's own network (``training.aoi_model``, rule ``train_aoi``, ``network.weights: aoi``): a short
# fine-tune of the weights ``auto`` picks for the AOI, in the ratio domain, on the AOI's own dates.
AOI_MODEL_DEFAULTS: dict[str, Any] = {
    "init": "auto", "domain": "ratio", "targets": "compensated_mean", "pre_estimator": "rabasar",
    "pre_denoiser": "dct", "compensation_weight_db": 1.3, "pre_neighbour_share": 1.0, "pre_neighbour_db": 1.74,
    "steps": 200, "patch": 96, "batch": 8, "lr": 1e-4, "lr_milestones": [150], "seed": 0, "validate_every": 100,
}


def aoi_model_settings(user: dict[str, Any], looks: float) -> dict[str, Any]:
    """The training settings of an AOI's own network: the defaults, the user's ``training.aoi_model``
    over them, ``init: auto`` resolved for the AOI's ``looks`` and the loss at those looks."""
    from mtsar2sar.network import auto_weights

    if "aois" in user:
        raise ValueError("training.aoi_model: 'aois' is not a setting here (the model is trained on its own AOI)")
    st = {**AOI_MODEL_DEFAULTS, **user}
    if st["init"] == "auto":
        st["init"] = auto_weights(looks)
    st.setdefault("looks", looks)
    TrainingConfig.from_dict(st)  # fails here, naming the setting, rather than in the job
    return st


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


def nll_loss(out: torch.Tensor, log_gain: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, looks: float) -> torch.Tensor:
    """Masked mean L-look speckle NLL of the target log-intensity given the network output."""
    x_hat = 2.0 * (out * SPAN + LOG_AMPLITUDE_MIN) - log_gain.view(-1, 1, 1, 1)
    diff = torch.where(mask, target - x_hat, torch.zeros_like(x_hat))
    nll = looks * (-diff + torch.exp(diff) - 1.0)  # minus its minimum, so a perfect fit scores 0
    return (nll * mask).sum() / mask.sum().clamp(min=1)


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


class PatchSampler:
    """Deterministic random patches of (input date i, target date j), flips and rotations.

    A ``change_patch_share`` of the patches is centred on a change: on a pixel that changes between
    i and j, or with ``change_patch_departure_db`` on a (date i, pixel) whose state departs from the
    pixel's temporal mean (date i drawn with it)."""

    def __init__(self, stacks: list[Stack], cfg: TrainingConfig, rng: np.random.Generator):
        self.stacks, self.cfg, self.rng = stacks, cfg, rng
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
            if cfg.targets == "stable_mean":
                y, m = stable_mean_target(st, int(i), sl, cfg.change_threshold_db)
            elif cfg.targets == "compensated_mean":
                y, m = compensated_mean_target(st, int(i), sl, cfg.compensation_gate_db, cfg.pre_neighbour_share,
                                               cfg.pre_neighbour_db, cfg.compensation_weight_db)
            else:
                y, m = st.targets[j][sl], change_mask(st, i, j, sl, cfg.change_threshold_db)
            if cfg.synthetic_change_share and rng.random() < cfg.synthetic_change_share:
                c = change_field(rng, p, cfg.synthetic_change_db)  # same reflectivity change on both
                x = x + c / (2 * SPAN)  # normalized log-amplitude: (log A - m) / SPAN, log A = log w / 2
                y = y + c
            k, flip = int(rng.integers(4)), bool(rng.integers(2))
            x, y, m = (np.rot90(a, k) for a in (x, y, m))
            if flip:
                x, y, m = (a[:, ::-1] for a in (x, y, m))
            xs.append(np.ascontiguousarray(x))
            ys.append(np.ascontiguousarray(np.nan_to_num(y)))
            ms.append(np.ascontiguousarray(m))
            gs.append(st.log_gain[i])
        return (torch.from_numpy(np.stack(xs)[:, None]), torch.tensor(gs, dtype=torch.float32),
                torch.from_numpy(np.stack(ys)[:, None]), torch.from_numpy(np.stack(ms)[:, None]))


def validation_nll(net: torch.nn.Module, stacks: list[Stack], cfg: TrainingConfig) -> float:
    """Mean masked NLL over the held-out date pairs (both directions), whole images (cropped to /32)."""
    total, count = 0.0, 0
    net.eval()
    with torch.inference_mode():
        for st in stacks:
            if len(st.val_dates) < 2:
                continue
            _, h, w = st.inputs.shape
            hh, ww = h - h % 32, w - w % 32
            sl = (slice(0, hh), slice(0, ww))
            for i in st.val_dates:
                for j in st.val_dates:
                    if i == j:
                        continue
                    x = torch.from_numpy(np.ascontiguousarray(st.inputs[i][sl]))[None, None]
                    y = torch.from_numpy(np.nan_to_num(st.targets[j][sl]))[None, None]
                    m = torch.from_numpy(change_mask(st, i, j, sl, cfg.change_threshold_db))[None, None]
                    out = net(x)
                    total += float(nll_loss(out, torch.tensor([st.log_gain[i]], dtype=torch.float32), y, m, cfg.looks))
                    count += 1
    net.train()
    return total / max(count, 1)


def initial_network(init: str, base: str | Path = ".") -> SAR2SARUNet:
    if init == "scratch":
        return SAR2SARUNet()
    return load_network(init, base)


def save_loss_plot(history: dict[str, list[Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    steps = np.array(history["step"])
    loss = np.array(history["loss"])
    if loss.size:
        k = max(1, loss.size // 100)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax.plot(steps, loss, color="0.8", lw=0.5, label="training loss (batch)")
        ax.plot(steps[k - 1 :], smooth, color="C0", label=f"training loss (mean of {k})")
    if history["val_step"]:
        ax.plot(history["val_step"], history["val_nll"], "o-", color="C3", label="validation NLL (held-out dates)")
    ax.set_xlabel("step")
    ax.set_ylabel("NLL - min (log-intensity)")
    ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def train(
    stacks: list[Stack], cfg: TrainingConfig, output: str | Path, workdir: str | Path, base: str | Path = "."
) -> dict[str, Any]:
    """Train, checkpointing in ``workdir`` (resumes there), and write the final state dict to ``output``."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True)
    net = initial_network(cfg.init, base)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(cfg.lr_milestones), cfg.lr_gamma)
    rng = np.random.default_rng(cfg.seed)
    history: dict[str, list[Any]] = {"step": [], "loss": [], "val_step": [], "val_nll": []}
    start, elapsed = 0, 0.0
    ckpt = workdir / "checkpoint.pt"
    cfg_json = json.dumps(asdict(cfg), sort_keys=True)
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        if state["config"] == cfg_json:
            net.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            rng.bit_generator.state = json.loads(state["numpy_rng"])
            torch.set_rng_state(state["torch_rng"])
            history = json.loads(state["history"])
            start, elapsed = int(state["step"]), float(state["elapsed"])
            log.info("resumed from %s at step %d", ckpt, start)
        else:
            log.info("checkpoint %s is for another configuration: starting over", ckpt)
    sampler = PatchSampler(stacks, cfg, rng)
    if start == 0:
        v = validation_nll(net, stacks, cfg)
        history["val_step"].append(0)
        history["val_nll"].append(v)
        log.info("step 0: validation NLL %.5f", v)
    t0 = time.perf_counter() - elapsed
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc="training", mininterval=5.0)
    for step in bar:
        x, g, y, m = sampler.sample()
        loss = nll_loss(net(x), g, y, m, cfg.looks)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        sched.step()
        history["step"].append(step + 1)
        history["loss"].append(float(loss.detach()))
        done = step + 1
        if done % cfg.validate_every == 0 or done == cfg.steps:
            v = validation_nll(net, stacks, cfg)
            history["val_step"].append(done)
            history["val_nll"].append(v)
            log.info("step %d: loss %.5f, validation NLL %.5f, %.0f s", done, history["loss"][-1], v, time.perf_counter() - t0)
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            with atomic_path(ckpt) as tmp:
                torch.save({
                    "model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "numpy_rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state(),
                    "history": json.dumps(history), "step": done, "elapsed": time.perf_counter() - t0,
                    "config": cfg_json,
                }, tmp)
    bar.close()
    seconds = time.perf_counter() - t0
    with atomic_path(output) as tmp:
        torch.save(net.state_dict(), tmp)
    save_loss_plot(history, workdir / "loss.png")
    summary = {
        "config": asdict(cfg), "stacks": [s.name for s in stacks], "seconds": seconds,
        "final_validation_nll": history["val_nll"][-1], "initial_validation_nll": history["val_nll"][0],
        "history": history,
    }
    with atomic_path(workdir / "training.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
    return summary
