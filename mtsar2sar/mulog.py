"""MuLoG for intensity images (Deledalle, Denis, Tabti, Tupin, IEEE TIP 2017), and its ratio variant.

Plug-and-play ADMM in the log domain. With ``u = log`` of the reflectivity, written
``u = sigma * x + t`` so that the speckle's log-fluctuation has unit variance in ``x``
(``sigma = sqrt(psi_1(L))``, ``t`` the mean log), it alternates

    x <- argmin 1/2 ||x - (z + e)||^2 + (1/beta) NLL(sigma x + t)    (Newton iterations)
    z <- D(x - e, sqrt(1/beta))                                      (Gaussian denoiser)
    e <- e + z - x

with ``beta`` starting at ``1 + 2/L`` and growing by ``gamma`` whenever the iterates stop
contracting by ``eta`` (Chan et al.'s safeguard). The result is ``exp(sigma x + t)`` of the last
likelihood step; there is no post-hoc debiasing (the likelihood handles the log bias).

Two likelihoods: ``GammaLikelihood`` (Fisher-Tippett of L-look speckle, for an intensity image) and
``FisherRatioLikelihood`` (the ratio of an L-look date to a super-image of finite ENL ``L_s``, as in
RABASAR's RuLoG). Invalid pixels (NaN, inf, <= 0) carry no likelihood: the denoiser fills them, and
they are NaN in the output. Large images are processed by overlapping blocks (bounded memory).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, Unpack

import numpy as np
from numpy.typing import NDArray
from scipy.special import polygamma, psi

from mtsar2sar.denoisers import GaussianDenoiser, get_denoiser

Array = NDArray[np.float64]


class Likelihood(Protocol):
    def log_std(self) -> float: ...
    def beta0(self) -> float: ...
    def debiased(self, data: Array) -> Array: ...
    def gradient_hessian(self, u: Array, data: Array) -> tuple[Array, Array]: ...


@dataclass(frozen=True)
class GammaLikelihood:
    """NLL of L-look intensity ``C`` given ``u = log R``: ``L (u + C e^-u)``."""

    looks: float

    def log_std(self) -> float:
        return float(np.sqrt(polygamma(1, self.looks)))

    def beta0(self) -> float:
        return 1.0 + 2.0 / self.looks

    def debiased(self, data: Array) -> Array:
        return data * self.looks / np.exp(psi(self.looks))

    def gradient_hessian(self, u: Array, data: Array) -> tuple[Array, Array]:
        ce = data * np.exp(-u)
        return self.looks * (1.0 - ce), self.looks * ce


@dataclass(frozen=True)
class FisherRatioLikelihood:
    """NLL of the ratio ``r = w / s`` (w: L-look date, s: super-image of ENL ``L_s``) given
    ``u = log rho``: ``L u + (L + L_s) log(1 + (L / L_s) r e^-u)``."""

    looks: float
    looks_super: float

    def log_std(self) -> float:
        return float(np.sqrt(polygamma(1, self.looks) + polygamma(1, self.looks_super)))

    def beta0(self) -> float:
        return 1.0 + 2.0 / self.looks + 2.0 / self.looks_super

    def debiased(self, data: Array) -> Array:
        l, ls = self.looks, self.looks_super
        return data * (l / ls) * np.exp(psi(ls) - psi(l))

    def gradient_hessian(self, u: Array, data: Array) -> tuple[Array, Array]:
        l, ls = self.looks, self.looks_super
        q = (l / ls) * data * np.exp(-u)
        return l - (l + ls) * q / (1.0 + q), (l + ls) * q / (1.0 + q) ** 2


def _prox(z: Array, data: Array, valid: NDArray[np.bool_], lik: Likelihood, sigma: float, t: float,
          step: float, start: Array, newton: int) -> Array:
    """argmin_x 1/2 (x - z)^2 + step * NLL(sigma x + t), per pixel, by Newton iterations."""
    x = (z + step * start) / (1.0 + step)  # between z and the data: a good starting point
    for _ in range(newton):
        g_u, h_u = lik.gradient_hessian(sigma * x + t, data)
        g = x - z + np.where(valid, step * sigma * g_u, 0.0)
        h = 1.0 + np.where(valid, step * sigma**2 * h_u, 0.0)
        x = x - g / h
    return x


class MulogOptions(TypedDict, total=False):
    """The optional keyword arguments of :func:`mulog`, passed on unchanged by the block drivers
    (:func:`mulog_block`, :func:`mulog_rows`, :func:`mulog_blocks`)."""

    admm_iterations: int
    newton_iterations: int
    beta: float | None
    eta: float
    gamma: float
    start_denoiser: str | None


class MulogBlockOptions(MulogOptions, total=False):
    """The optional keyword arguments of :func:`mulog_blocks`: :func:`mulog`'s and the blocks'."""

    block: int
    halo: int
    workers: int


def mulog(
    data: NDArray[np.floating],
    likelihood: Likelihood,
    denoiser: GaussianDenoiser,
    admm_iterations: int = 6,
    newton_iterations: int = 10,
    beta: float | None = None,
    eta: float = 0.95,
    gamma: float = 1.05,
    start_denoiser: str | None = None,
) -> NDArray[np.float32]:
    """MuLoG on one image (intensity, or a ratio with ``FisherRatioLikelihood``); NaN where invalid.
    ``start_denoiser``: the Gaussian denoiser (a name of :func:`mtsar2sar.denoisers.get_denoiser`) of the
    one denoising of the data that starts ADMM; ``None``: ``denoiser``. The iterations correct the start
    (the super-image filter's ``super_image.filter_start``)."""
    c = np.asarray(data, dtype=np.float64)
    valid = np.isfinite(c) & (c > 0)
    if not valid.any():
        raise ValueError("MuLoG: no valid pixel")
    c_safe = np.where(valid, c, 1.0)
    log_init = np.log(likelihood.debiased(c_safe))  # debiased start; the data term uses c itself
    t = float(log_init[valid].mean())
    log_init = np.where(valid, log_init, t)
    sigma = likelihood.log_std()
    y = (log_init - t) / sigma  # normalized log channel: unit-variance noise
    b = likelihood.beta0() if beta is None else beta
    # ADMM initialization (as in plug-and-play ADMM): one denoising of the data
    z = (denoiser if start_denoiser is None else get_denoiser(start_denoiser))(y, 1.0)
    e = z - y
    x = z + e
    prev: tuple[Array, Array, Array] | None = None
    d_prev = np.inf
    for _ in range(admm_iterations):
        x = _prox(z + e, c_safe, valid, likelihood, sigma, t, 1.0 / b, y, newton_iterations)
        z_new = denoiser(x - e, float(np.sqrt(1.0 / b)))
        e = e + z_new - x
        z = z_new
        if prev is not None:
            d = sum(float(np.linalg.norm(a - p)) for a, p in zip((x, z, e), prev))
            if d > eta * d_prev:
                b *= gamma
            d_prev = d
        prev = (x, z, e)
    out = np.exp(sigma * x + t)
    return np.where(valid, out, np.nan).astype(np.float32)


def _mulog_block(sub: NDArray[np.floating], likelihood: Likelihood, denoiser: GaussianDenoiser,
                 kwargs: MulogOptions) -> tuple[NDArray[np.float32] | None, float]:
    """One overlapping block (None where no pixel is valid) and its seconds; a worker's task."""
    t0 = time.perf_counter()
    if not (np.isfinite(sub) & (sub > 0)).any():
        return None, 0.0
    return mulog(sub, likelihood, denoiser, **kwargs), time.perf_counter() - t0


@dataclass(frozen=True)
class Block:
    """A block of MuLoG's overlapping grid: the ``rows`` x ``cols`` it writes (its centre) and the
    ``read_rows`` x ``read_cols`` it computes on (the centre and up to ``halo`` pixels around)."""

    rows: tuple[int, int]
    cols: tuple[int, int]
    read_rows: tuple[int, int]
    read_cols: tuple[int, int]

    def cut(self, strip: NDArray[np.floating]) -> NDArray[np.floating]:
        """The block's input out of the rows ``read_rows`` of the image (full width)."""
        return np.ascontiguousarray(strip[:, self.read_cols[0] : self.read_cols[1]])

    def centre(self, result: NDArray[np.float32] | None) -> NDArray[np.float32]:
        """The centre of a block's result (NaN for a block with no valid pixel)."""
        (r0, r1), (c0, c1) = self.rows, self.cols
        if result is None:
            return np.full((r1 - r0, c1 - c0), np.nan, dtype=np.float32)
        a0, b0 = self.read_rows[0], self.read_cols[0]
        return result[r0 - a0 : r1 - a0, c0 - b0 : c1 - b0]


BLOCK, HALO = 1024, 32  # MuLoG's default block and halo (pixels), as in the config schema


def block_layout(height: int, width: int, block: int = BLOCK, halo: int = HALO) -> list[list[Block]]:
    """MuLoG's blocks by bands of rows, left to right: ``block`` x ``block`` centres with ``halo``
    pixels of context; an image no larger than ``block`` + 2 ``halo`` is one block (no halo)."""
    if height <= block + 2 * halo and width <= block + 2 * halo:
        return [[Block((0, height), (0, width), (0, height), (0, width))]]
    bands = []
    for r0 in range(0, height, block):
        r1 = min(height, r0 + block)
        read_rows = (max(0, r0 - halo), min(height, r1 + halo))
        bands.append([
            Block((r0, r1), (c0, min(width, c0 + block)), read_rows, (max(0, c0 - halo), min(width, c0 + block + halo)))
            for c0 in range(0, width, block)
        ])
    return bands


def mulog_block(read: Callable[[int, int], NDArray[np.floating]], blk: Block, likelihood: Likelihood,
                denoiser: GaussianDenoiser, **kwargs: Unpack[MulogOptions]) -> tuple[NDArray[np.float32], float]:
    """The centre of one block of :func:`block_layout` and its seconds, on an image read by rows: the
    unit of work of a separate job (its result is the same as within :func:`mulog_rows`)."""
    result, seconds = _mulog_block(blk.cut(read(*blk.read_rows)), likelihood, denoiser, kwargs)
    return blk.centre(result), seconds


# Environment of the block workers: one thread each (the job's threads are the workers).
_ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def mulog_rows(
    read: Callable[[int, int], NDArray[np.floating]],
    height: int,
    width: int,
    write: Callable[[int, int, NDArray[np.float32]], None],
    likelihood: Likelihood,
    denoiser: GaussianDenoiser,
    block: int = BLOCK,
    halo: int = HALO,
    workers: int = 1,
    **kwargs: Unpack[MulogOptions],
) -> None:
    """MuLoG by overlapping blocks of ``block`` + 2 ``halo`` pixels (:func:`block_layout`) on an image
    read (``read(r0, r1)``: rows, full width) and written (``write(r0, r1, rows)``) by bands of rows:
    bounded memory on images of any size. Each block keeps only its centre.

    ``workers`` > 1 computes the blocks in that many processes (the blocks of up to ``workers`` bands of
    rows in flight), with the same output bytes as one process; each block's time goes to the log."""
    from mtsar2sar.logs import log

    bands = block_layout(height, width, block, halo)
    if len(bands) == 1 and len(bands[0]) == 1:
        write(0, height, mulog(read(0, height), likelihood, denoiser, **kwargs))
        return
    total, done = sum(len(b) for b in bands), 0

    def submit(band: list[Block], run: Callable[..., Any]) -> list[Any]:
        strip = read(*band[0].read_rows)
        return [run(_mulog_block, b.cut(strip), likelihood, denoiser, kwargs) for b in band]

    def finish(band: list[Block], results: list[tuple[NDArray[np.float32] | None, float]]) -> None:
        nonlocal done
        r0, r1 = band[0].rows
        out = np.empty((r1 - r0, width), dtype=np.float32)
        for b, (res, seconds) in zip(band, results):
            done += 1
            out[:, b.cols[0] : b.cols[1]] = b.centre(res)
            log.info("MuLoG block %d of %d (rows %d-%d, columns %d-%d) in %.1f s", done, total, r0, r1, *b.cols, seconds)
        write(r0, r1, out)

    if workers <= 1:
        for band in bands:
            finish(band, submit(band, lambda f, *a: f(*a)))
        return
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    os.environ.update(_ONE_THREAD)  # inherited by the workers
    try:
        # fork, not spawn: a spawned worker re-runs the main module, and in a Snakemake job that is the
        # rule's script (it failed there: NameError 'snakemake'); the workers use numpy and the denoiser only
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
            pending: list[tuple[list[Block], list[Any]]] = []
            for band in bands:
                pending.append((band, submit(band, pool.submit)))
                if len(pending) >= workers:  # bounded memory: the oldest band written before reading more
                    old, futures = pending.pop(0)
                    finish(old, [f.result() for f in futures])
            for old, futures in pending:
                finish(old, [f.result() for f in futures])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def mulog_blocks(
    data: NDArray[np.floating],
    likelihood: Likelihood,
    denoiser: GaussianDenoiser,
    block: int = BLOCK,
    halo: int = HALO,
    workers: int = 1,
    **kwargs: Unpack[MulogOptions],
) -> NDArray[np.float32]:
    """:func:`mulog_rows` on an image in memory."""
    h, w = data.shape
    out = np.full((h, w), np.nan, dtype=np.float32)

    def write(r0: int, r1: int, rows: NDArray[np.float32]) -> None:
        out[r0:r1] = rows

    mulog_rows(lambda r0, r1: data[r0:r1], h, w, write, likelihood, denoiser, block, halo, workers, **kwargs)
    return out
