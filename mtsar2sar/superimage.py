"""The super-image: per-pixel temporal mean of the valid intensities of a stack, and its filtering."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from mtsar2sar.errors import InputError

if TYPE_CHECKING:
    from mtsar2sar.denoisers import GaussianDenoiser
    from mtsar2sar.mulog import Block


# A pixel's largest value is left out of its mean when single-look speckle alone would exceed it with a
# probability under SPIKE_FALSE_ALARM: one date over the mean of its n - 1 others follows F(2, 2(n - 1))
# (exponential over Gamma), whose tail is (1 + r / (n - 1))^-(n - 1). The threshold is then about 45
# times the others' mean with 20 dates, 107 with 10, 2e5 with 3 (a short stack leaves nothing out).
# Multi-look speckle has lighter tails: the rule stays conservative. A bright target present at one
# date only (a ship) or a corrupt value is left out: in the mean it would come back in every other
# date's estimate (their ratio to it reads as a dark speck, which the network removes).
SPIKE_FALSE_ALARM = 1e-10


def spike_ratio(others: NDArray[np.number] | float) -> NDArray[np.float64]:
    """The ratio to the mean of ``others`` dates above which a pixel's largest value is left out."""
    n = np.maximum(np.asarray(others, dtype=np.float64), 1.0)
    return n * (SPIKE_FALSE_ALARM ** (-1.0 / n) - 1.0)


def temporal_mean(
    dates: Iterable[NDArray[np.floating]], left_out: list[int] | None = None
) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """Accumulate date by date (bounded memory): mean of the valid (finite) values, NaN where none.
    Where a pixel's largest value is over :func:`spike_ratio` times the mean of its other (at least 2)
    valid dates, that value is left out (one date per pixel at most).

    Returns the mean and the number of dates in it per pixel; appends to ``left_out`` the number of
    pixels that had a date left out.
    """
    total: NDArray[np.float64] | None = None
    count: NDArray[np.int32] | None = None
    peak: NDArray[np.float64] | None = None
    rest: NDArray[np.float64] | None = None  # the sum of all but the largest value (no cancellation)
    for img in dates:
        valid = np.isfinite(img)
        if total is None or count is None or peak is None or rest is None:
            total = np.zeros(img.shape, dtype=np.float64)
            count = np.zeros(img.shape, dtype=np.int32)
            peak = np.full(img.shape, -np.inf)
            rest = np.zeros(img.shape, dtype=np.float64)
        x = np.where(valid, img, 0.0)
        total += x
        count += valid
        higher = valid & (x > peak)
        rest += np.where(higher, np.where(np.isfinite(peak), peak, 0.0), x)
        peak = np.where(higher, x, peak)
    if total is None or count is None or peak is None or rest is None:
        raise ValueError("no date to average")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        others = rest / np.maximum(count - 1, 1)
        spike = (count >= 3) & (peak > spike_ratio(count - 1) * others)
        total = np.where(spike, rest, total)
        count = count - spike
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if left_out is not None:
        left_out.append(int(spike.sum()))
    return mean.astype(np.float32), count.astype(np.int32)


FILTERS = ("none", "mulog")

RowReader = Callable[[int, int], NDArray[np.floating]]  # rows [r0, r1), full width
RowWriter = Callable[[int, int, NDArray[np.float32]], None]


MIN_FILTER_LOOKS = 1.0  # below one look MuLoG's data term overflows (a mean of dates has at least one)


def filter_looks(enl: float, mulog_settings: Mapping[str, Any] | None = None) -> float:
    """MuLoG's L on the super-image: its ENL times ``looks_factor`` (``super_image.filter_looks_factor``),
    at least one look. The ENL measures the speckle's variance, not its spatial correlation: to MuLoG's
    white-noise model the blobs of correlated speckle look like structure, and a lower L filters them
    (measured in the README)."""
    return max(MIN_FILTER_LOOKS, enl * float((mulog_settings or {}).get("looks_factor", 1.0)))


def check_filter_size(path: str | Path, height: int, width: int, method: str,
                      mulog_settings: Mapping[str, Any] | None) -> None:
    """An image too small for the super-image filter's BM3D is refused, with the settings that filter it."""
    from mtsar2sar.config import with_defaults
    from mtsar2sar.denoisers import BM3D_MIN_SIDE

    if method != "mulog" or with_defaults("mulog", mulog_settings)["denoiser"] != "bm3d":
        return
    if min(height, width) < BM3D_MIN_SIDE:
        raise InputError(
            f"{path}: {height} x {width} pixels, too small for the super-image filter's BM3D (at least"
            f" {BM3D_MIN_SIDE} x {BM3D_MIN_SIDE}); for so small an AOI set mulog.denoiser: dct, or super_image.filter: none"
        )
    for blk in mulog_layout(height, width, mulog_settings):  # an edge block of a small halo can be thinner
        h, w = blk.read_rows[1] - blk.read_rows[0], blk.read_cols[1] - blk.read_cols[0]
        if min(h, w) < BM3D_MIN_SIDE:
            raise InputError(
                f"{path}: MuLoG's block at rows {blk.rows}, columns {blk.cols} reads {h} x {w} pixels, too few for"
                f" BM3D (at least {BM3D_MIN_SIDE} a side); raise mulog.halo or change mulog.block"
            )


def filter_rows(
    read: RowReader, height: int, width: int, write: RowWriter, method: str, enl: float,
    mulog_settings: Mapping[str, Any] | None = None, rows: int | None = None, workers: int = 1,
) -> None:
    """Filter a super-image read and written by bands of rows: ``none`` keeps the mean (copied by
    bands of ``rows``, all at once by default); ``mulog`` runs MuLoG with L = ``enl`` and the
    Gaussian denoiser of ``mulog_settings``, by overlapping blocks, in ``workers`` processes (the same
    bytes as one). NaN stays NaN."""
    if method == "none":
        step = rows or max(height, 1)
        for r0 in range(0, height, step):
            r1 = min(height, r0 + step)
            write(r0, r1, np.array(read(r0, r1), dtype=np.float32))
    elif method == "mulog":
        from mtsar2sar.mulog import GammaLikelihood, mulog_rows

        st = dict(mulog_settings or {})
        denoiser = super_image_denoiser(st, height, width, workers)
        mulog_rows(read, height, width, write, GammaLikelihood(enl), denoiser, workers=workers, **mulog_kwargs(st))
    else:
        raise ValueError(f"super_image.filter: unknown method {method!r}; expected one of {list(FILTERS)}")


def filter_super_image(
    super_image: NDArray[np.float32], method: str, enl: float, mulog_settings: dict[str, Any] | None = None
) -> NDArray[np.float32]:
    """:func:`filter_rows` on a super-image in memory."""
    h, w = super_image.shape
    out = np.full((h, w), np.nan, dtype=np.float32)

    def write(r0: int, r1: int, rows: NDArray[np.float32]) -> None:
        out[r0:r1] = rows

    filter_rows(lambda r0, r1: super_image[r0:r1], h, w, write, method, enl, mulog_settings)
    out[~np.isfinite(super_image)] = np.nan
    return out


def mulog_bands(height: int, width: int, mulog_settings: Mapping[str, Any] | None = None) -> list[list[Block]]:
    """MuLoG's blocks on a ``height`` x ``width`` super-image with the ``mulog`` settings, by bands of
    rows as :func:`mtsar2sar.mulog.mulog_rows` computes them (:func:`mtsar2sar.mulog.block_layout`)."""
    from mtsar2sar.mulog import BLOCK, HALO, block_layout

    st = dict(mulog_settings or {})
    return block_layout(height, width, st.get("block", BLOCK), st.get("halo", HALO))


def mulog_layout(height: int, width: int, mulog_settings: Mapping[str, Any] | None = None) -> list[Block]:
    """:func:`mulog_bands` in one list, in their order (bands of rows, left to right): block ``i`` is
    the ``i``-th job of the scatter/gather filter."""
    return [b for band in mulog_bands(height, width, mulog_settings) for b in band]


def bm3d_strips(mulog_settings: Mapping[str, Any], height: int, width: int) -> int:
    """The bands of rows BM3D runs by in the super-image's MuLoG: ``bm3d_strips`` when the super-image
    is one MuLoG block (nothing else runs beside it), else 1 (the blocks of a larger image run side by
    side already, as jobs or processes, each whole). Decided by the image's size alone, so that a block
    job and the filter in one job compute the same numbers, whatever the threads."""
    one_block = len(mulog_layout(height, width, mulog_settings)) == 1
    return int(mulog_settings.get("bm3d_strips", 1)) if one_block else 1


def super_image_denoiser(mulog_settings: Mapping[str, Any], height: int, width: int, workers: int = 1) -> GaussianDenoiser:
    """The Gaussian denoiser of the super-image's MuLoG (:func:`mtsar2sar.denoisers.denoiser_of_settings`),
    BM3D by :func:`bm3d_strips` bands of rows in ``workers`` threads."""
    from mtsar2sar.denoisers import denoiser_of_settings

    return denoiser_of_settings({**mulog_settings, "bm3d_strips": bm3d_strips(mulog_settings, height, width)}, workers)


def mulog_kwargs(settings: Mapping[str, Any]) -> dict[str, Any]:
    """MuLoG keyword arguments from the ``mulog`` config section (without the denoiser's settings)."""
    keys = ("admm_iterations", "newton_iterations", "block", "halo", "start_denoiser")
    return {k: settings[k] for k in keys if k in settings}
