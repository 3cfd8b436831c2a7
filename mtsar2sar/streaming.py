"""The workflow's image steps on files of any size, in bounded memory.

Every image is read and written by bands of rows (``io.strip_rows``: about 4 Mpx at a time, on the
GeoTIFF block grid), with the context each step needs: none for the temporal mean, MuLoG's halo for
the filtered super-image, one row of network tiles for the ratio despeckling. Memory therefore
depends on the width of the scene, not on its height or on the number of dates, and each output is
written under a temporary name and renamed only once complete.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from mtsar2sar.enl import TemporalLooks, window_log_variances
from mtsar2sar.errors import InputError
from mtsar2sar.io import Grid, open_writer, read_grid, read_intensity, read_product, strip_rows, strips
from mtsar2sar.logs import log
from mtsar2sar.superimage import filter_rows, temporal_mean

if TYPE_CHECKING:
    from mtsar2sar.despeckle import NetworkDenoiser

# Histogram of 10 log10(intensity) for streamed medians: 0.001 dB bins over every positive float32.
DB_RANGE = (-460.0, 400.0)
DB_BINS = 860_000


@dataclass(frozen=True)
class MeanResult:
    grid: Grid
    log_variances: NDArray[np.float64]  # per ENL window, row-major, as enl.window_log_variances
    min_valid_dates: int
    temporal: TemporalLooks  # the looks of the dates from each pixel's temporal variation


def temporal_mean_file(
    files: Sequence[str | Path], domain: str, band: int | None, output: str | Path,
    enl_window: int = 15, description: str = "", tags: dict[str, str] | None = None,
    fallback: Sequence[str | Path] = (),
) -> MeanResult:
    """Temporal mean of the valid intensities of ``files``, strip by strip (all dates of one strip at
    a time), and the log-variances of its ENL windows (strips are multiples of the window, so these
    are the windows of the whole image). Where none of ``files`` is valid, the mean of the ``fallback``
    dates valid there (the dates left out of the mean, which are despeckled too: their products keep
    their pixels); the ENL's temporal estimate sees ``files`` only."""
    grid = read_grid(files[0])
    rows = max(enl_window, strip_rows(grid.width) // enl_window * enl_window)
    k2: list[NDArray[np.float64]] = []
    min_count, any_valid = np.iinfo(np.int32).max, False
    temporal = TemporalLooks()
    left_out: list[int] = []
    filled = 0
    with open_writer(output, grid, description, tags) as dst:
        for r0, r1 in strips(grid.height, rows):
            mean, count = temporal_mean((temporal.tap(read_intensity(f, domain, band, (r0, r1))[0]) for f in files),
                                        left_out)
            temporal.end_band()
            gap = ~np.isfinite(mean)
            if fallback and gap.any():
                extra, _ = temporal_mean(read_intensity(f, domain, band, (r0, r1))[0] for f in fallback)
                fill = gap & np.isfinite(extra)
                mean = np.where(fill, extra, mean)
                filled += int(fill.sum())
            dst.write(mean, r0)
            min_count = min(min_count, int(count.min()))
            any_valid |= bool(np.isfinite(mean).any())
            if r1 - r0 >= enl_window and grid.width >= enl_window:
                k2.append(window_log_variances(mean, enl_window))
            log.info("super-image rows %d-%d of %d", r0, r1, grid.height)
        if not any_valid:  # raised before the rename: nothing is left under the output's name
            raise InputError(
                f"{output}: no pixel is valid at any date ({len(files)} dates: {', '.join(str(f) for f in files)});"
                " cannot form the super-image"
            )
    if filled:
        log.warning("%s: %d pixels (%.3g %%) are valid in no date of the mean: the mean of the dates left out of it"
                    " there (%s)", output, filled, 100 * filled / (grid.height * grid.width),
                    ", ".join(str(f) for f in fallback))
    if sum(left_out):
        log.info("%d pixels (%.3g %%) had one date far above their other dates, beyond speckle (a bright target at"
                 " that date only, or a corrupt value): left out of their super-image pixel", sum(left_out),
                 100 * sum(left_out) / (grid.height * grid.width))
    return MeanResult(grid, np.concatenate(k2) if k2 else np.zeros(0), min_count, temporal)


def filter_file(
    in_path: str | Path, out_path: str | Path, method: str, enl: float,
    mulog_settings: Mapping[str, Any] | None = None, description: str = "", workers: int | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """Filter a super-image file (``none``: copy; ``mulog``: MuLoG, L = ``enl``, by blocks with halo, in
    ``workers`` processes: by default the job's threads, ``OMP_NUM_THREADS`` as Snakemake sets it)."""
    if workers is None:
        workers = max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1))
    grid = read_grid(in_path)
    with open_writer(out_path, grid, description, tags) as dst:

        def write(r0: int, r1: int, rows: NDArray[np.float32]) -> None:
            dst.write(rows, r0)
            log.info("filtered rows %d-%d of %d", r0, r1, grid.height)

        filter_rows(lambda r0, r1: read_product(in_path, (r0, r1))[0], grid.height, grid.width, write,
                    method, enl, mulog_settings, rows=strip_rows(grid.width), workers=workers)


def filter_block_file(
    in_path: str | Path, index: int, enl: float, mulog_settings: Mapping[str, Any] | None, output: str | Path,
) -> float:
    """Block ``index`` of :func:`mtsar2sar.superimage.mulog_layout` of a super-image file, MuLoG with L =
    ``enl``: its centre saved as ``.npy`` (atomically) for :func:`gather_blocks_file`; returns its seconds.
    A block job of the scatter/gather filter: the same numbers as :func:`filter_file` computes for it."""
    from mtsar2sar.mulog import GammaLikelihood, mulog, mulog_block
    from mtsar2sar.superimage import mulog_kwargs, mulog_layout, super_image_denoiser

    grid = read_grid(in_path)
    blocks = mulog_layout(grid.height, grid.width, mulog_settings)
    if not 0 <= index < len(blocks):
        raise ValueError(f"{in_path}: MuLoG block {index} does not exist (the image has {len(blocks)})")
    st = dict(mulog_settings or {})
    denoiser = super_image_denoiser(st, grid.height, grid.width)  # a block job has one thread
    kw = {k: v for k, v in mulog_kwargs(st).items() if k not in ("block", "halo")}
    blk = blocks[index]

    def read(r0: int, r1: int) -> NDArray[np.floating]:
        return read_product(in_path, (r0, r1))[0]

    t0 = time.perf_counter()
    if len(blocks) == 1:  # the whole image, as mulog_rows does it (an image with no valid pixel is an error)
        centre = mulog(read(0, grid.height), GammaLikelihood(enl), denoiser, **kw)
    else:
        centre, _ = mulog_block(read, blk, GammaLikelihood(enl), denoiser, **kw)
    seconds = time.perf_counter() - t0
    log.info("MuLoG block %d of %d (rows %d-%d, columns %d-%d) in %.1f s", index + 1, len(blocks), *blk.rows, *blk.cols,
             seconds)
    out = Path(output)
    tmp = out.with_name(f".{out.name}.part")
    with open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(centre, dtype=np.float32), allow_pickle=False)
    os.replace(tmp, out)
    return seconds


def gather_blocks_file(
    in_path: str | Path, block_files: Sequence[str | Path], output: str | Path,
    mulog_settings: Mapping[str, Any] | None = None, description: str = "", tags: dict[str, str] | None = None,
) -> None:
    """The filtered super-image assembled from its blocks (:func:`filter_block_file`, in layout order),
    band by band: the same file as :func:`filter_file` writes in one job."""
    from mtsar2sar.superimage import mulog_bands

    grid = read_grid(in_path)
    bands = mulog_bands(grid.height, grid.width, mulog_settings)
    n_blocks = sum(len(band) for band in bands)
    if len(block_files) != n_blocks:
        raise ValueError(f"{in_path}: {len(block_files)} block files for the {n_blocks} MuLoG blocks of the image")
    files = iter(block_files)  # in layout order: band by band, left to right
    with open_writer(output, grid, description, tags) as dst:
        for band in bands:
            r0, r1 = band[0].rows
            rows = np.empty((r1 - r0, grid.width), dtype=np.float32)
            for blk, f in zip(band, files):
                centre = np.load(f, allow_pickle=False)
                want = (r1 - r0, blk.cols[1] - blk.cols[0])
                if centre.shape != want:
                    raise ValueError(f"{f}: a block of shape {centre.shape}, expected {want} (a stale block?)")
                rows[:, blk.cols[0] : blk.cols[1]] = centre
            dst.write(rows, r0)
            log.info("gathered rows %d-%d of %d", r0, r1, grid.height)


def despeckle_file(
    date_file: str | Path, domain: str, band: int | None, super_path: str | Path, denoiser: NetworkDenoiser,
    output: str | Path, description: str = "", tags: dict[str, str] | None = None, debias: bool = True,
) -> tuple[float, float, float]:
    """Ratio + network on one date, by bands of rows; returns ``lambda``, the network gain and the
    overall debiasing factor (1 without ``debias``; see :func:`mtsar2sar.despeckle.despeckle_by_ratio`).

    Passes: ``lambda`` (geometric mean of the super-image); the geometric mean of the ratio (the
    network's working level); the network, one row of tiles at a time, into a scratch file of
    ``tau_hat'`` beside the output, accumulating the overall debiasing factor; then
    ``w_hat = k(x) tau_hat' s'`` with the regional factors ``k(x)`` (:mod:`mtsar2sar.debias`).
    """
    from mtsar2sar.debias import OverallFactor, halo, regional_debias
    from mtsar2sar.despeckle import geometric_mean_of, ratio_of  # torch: only the rules that run the network

    grid = read_grid(date_file)
    rows = strip_rows(grid.width)
    def geometric_mean_or(blocks: Iterator[NDArray[np.floating]], no_pixel: str) -> float:
        """The geometric mean of ``blocks``; without a valid pixel, an input error saying ``no_pixel``."""
        try:
            return geometric_mean_of(blocks)
        except InputError:  # a reading error (an InputError is a ValueError): as it is
            raise
        except ValueError:  # no valid pixel
            raise InputError(no_pixel) from None

    lam = geometric_mean_or((read_product(super_path, r)[0] for r in strips(grid.height, rows)),
                            f"{super_path}: no valid pixel (all NaN, nodata, zero or negative): not a super-image"
                            " to despeckle by")

    def ratio(r0: int, r1: int) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
        return ratio_of(read_intensity(date_file, domain, band, (r0, r1))[0], read_product(super_path, (r0, r1))[0], lam)

    def ratios() -> Iterator[NDArray[np.float64]]:
        for r in strips(grid.height, rows):
            yield ratio(*r)[0]

    gain = denoiser.gain(geometric_mean_or(ratios(), f"{date_file}: no pixel valid in both the date and the"
                                                         f" super-image {super_path}: nothing to despeckle"))
    overall = OverallFactor()
    grid_out = Grid(grid.height, grid.width, grid.crs, grid.transform, None)  # scratch: NaN as nodata
    # scratch file of tau_hat' beside the output (overwritten by a rerun after a kill, removed at the end)
    scratch = Path(output).with_name(f".{Path(output).name}.scratch-ratio.tif")
    try:
        with open_writer(scratch, grid_out, cog=False) as dst:  # read back once below: no COG copy

            def sink(r0: int, r1: int, tau_hat: NDArray[np.floating]) -> None:
                tau, valid, _ = ratio(r0, r1)
                overall.add(tau, tau_hat, valid)
                dst.write(np.where(valid, tau_hat, np.nan), r0)

            denoiser.stream(lambda r0, r1: ratio(r0, r1)[0], grid.height, grid.width, sink, gain)
        k = overall.factor if debias else 1.0
        debias_tag = f"regional, overall factor {k:.6f}" if debias else "off"
        with open_writer(output, grid, description, {**(tags or {}), "lambda": repr(lam), "debias": debias_tag}) as out:
            context = halo() if debias else 0  # rows around a band that its regional factors need
            for r0, r1 in strips(grid.height, rows):
                a0, a1 = max(0, r0 - context), min(grid.height, r1 + context)
                tau, valid, s_norm = ratio(a0, a1)
                tau_hat = read_product(scratch, (a0, a1))[0].astype(np.float64)
                if debias:
                    tau_hat = regional_debias(tau, tau_hat, valid, overall)
                own = slice(r0 - a0, r1 - a0)  # the band's own rows
                out.write(np.where(valid[own], tau_hat[own] * s_norm[own], np.nan), r0)
    finally:
        scratch.unlink(missing_ok=True)
    return lam, gain, k


# Side (px) of the blocks of the coverage map of a date (valid pixels per block), from which the
# co-registration check picks a shift window with valid data.
COVERAGE_BLOCK = 32


@dataclass(frozen=True)
class DateStatistics:
    invalid_fraction: float
    median: float  # of the valid intensities (nan when none), to 0.001 dB
    negative_fraction: float = 0.0  # of the finite, non-nodata raw values (real data): dB data are mostly negative
    extreme_value: float = float("nan")  # the lowest or highest valid intensity, whichever 0.001 dB bin holds more
    extreme_fraction: float = 0.0  # share of the valid pixels in that bin (float data only: undeclared fill values)
    coverage: NDArray[np.int64] | None = None  # valid pixels per COVERAGE_BLOCK x COVERAGE_BLOCK block
    negative_mode: float = float("nan")  # the most frequent negative raw value (a fill value, e.g. -9999)...
    negative_mode_share: float = 0.0  # ... and its share of the negative raw values
    saturated_fraction: float = 0.0  # integer data: share of the valid pixels at the type's largest value...
    saturated_value: float = float("nan")  # ... that raw value (saturated, or an undeclared fill)
    extreme_count: int = 0  # the valid pixels in the extreme bin (extreme_fraction of them)
    log_sum: NDArray[np.float64] | None = None  # sum of the valid pixels' log-intensities per coverage block


def block_sums(values: NDArray[Any], block: int, columns: int) -> NDArray[Any]:
    """Sums of ``values`` (rows of a strip) over ``block`` x ``block`` blocks, ``columns`` blocks wide (the
    last row and column of blocks zero-padded)."""
    h, w = values.shape
    padded = np.zeros((-(-h // block) * block, columns * block), dtype=values.dtype)
    padded[:h, :w] = values
    return padded.reshape(padded.shape[0] // block, block, columns, block).sum(axis=(1, 3))


def date_statistics(path: str | Path, domain: str, band: int | None) -> DateStatistics:
    """Fraction of invalid pixels and median intensity of one date, strip by strip (a 0.001 dB histogram);
    the share of negative raw values, the share of the valid pixels at the extreme value (a fill value
    no nodata declares, in float data) or, in integer data, at the type's largest value (saturated or a
    fill), and the map of valid pixels per block."""
    from mtsar2sar.io import intensity_of, read_band

    grid = read_grid(path)
    hist = np.zeros(DB_BINS, dtype=np.int64)
    step = (DB_RANGE[1] - DB_RANGE[0]) / DB_BINS
    n_valid = n_finite = n_negative = 0
    negatives: dict[float, int] = {}  # counts of the negative raw values (one value: a fill, not dB data)
    vmin, vmax = float("inf"), float("-inf")
    floating = False
    n_saturated, saturated = 0, float("nan")
    b = COVERAGE_BLOCK
    coverage = np.zeros((-(-grid.height // b), -(-grid.width // b)), dtype=np.int64)
    log_sum = np.zeros(coverage.shape, dtype=np.float64)
    rows = max(b, strip_rows(grid.width) // b * b)
    for r0, r1 in strips(grid.height, rows):
        raw, _ = read_band(path, band, (r0, r1))
        img = intensity_of(raw, grid, domain, path)
        if not np.iscomplexobj(raw):
            floating |= np.issubdtype(raw.dtype, np.floating)
            finite = np.isfinite(raw)
            if grid.nodata is not None:
                finite &= raw != grid.nodata
            n_finite += int(finite.sum())
            if np.issubdtype(raw.dtype, np.integer):
                saturated = float(np.iinfo(raw.dtype).max)
                n_saturated += int(np.count_nonzero(finite & (raw == saturated)))
            neg = raw[finite & (raw < 0)]
            n_negative += neg.size
            if neg.size:  # a fill value is among the most frequent of a strip: its 10 most frequent are kept
                values, counts = np.unique(neg, return_counts=True)
                frequent = np.argsort(counts, kind="stable")[-10:]
                for v, c in zip(values[frequent].tolist(), counts[frequent].tolist()):
                    negatives[v] = negatives.get(v, 0) + c
        ok = np.isfinite(img)
        x = img[ok].astype(np.float64)
        n_valid += x.size
        if x.size:
            vmin, vmax = min(vmin, float(x.min())), max(vmax, float(x.max()))
        idx = np.clip(((10 * np.log10(x) - DB_RANGE[0]) / step).astype(np.int64), 0, DB_BINS - 1)
        hist += np.bincount(idx, minlength=DB_BINS)
        blocks = slice(r0 // b, r0 // b + -(-ok.shape[0] // b))
        coverage[blocks] += block_sums(ok.astype(np.int64), b, coverage.shape[1])
        log_sum[blocks] += block_sums(np.where(ok, np.log(np.where(ok, img, 1.0)), 0.0), b, coverage.shape[1])
    invalid = 1.0 - n_valid / (grid.height * grid.width)
    negative = n_negative / n_finite if n_finite else 0.0
    mode = max(negatives, key=negatives.__getitem__) if negatives else float("nan")
    mode_share = negatives[mode] / n_negative if negatives else 0.0
    if n_valid == 0:
        return DateStatistics(invalid, float("nan"), negative, coverage=coverage, negative_mode=mode,
                              negative_mode_share=mode_share, log_sum=log_sum)
    k = int(np.searchsorted(np.cumsum(hist), (n_valid + 1) / 2))
    nonzero = np.flatnonzero(hist)
    lo, hi = int(nonzero[0]), int(nonzero[-1])
    top = hi if hist[hi] >= hist[lo] else lo
    # one value in every valid pixel (a constant date: no speckle) is a fill whatever the data type
    extreme_fraction = 1.0 if lo == hi else float(hist[top] / n_valid) if floating else 0.0
    return DateStatistics(
        invalid, float(10 ** ((DB_RANGE[0] + (k + 0.5) * step) / 10)), negative,
        vmax if top == hi else vmin, extreme_fraction, coverage, mode, mode_share, n_saturated / n_valid, saturated,
        int(hist[top]), log_sum,
    )
