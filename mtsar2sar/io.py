"""Raster I/O: reading dates as intensity, the grid they share, atomic GeoTIFF writing.

Every output goes to a temporary name beside its final path and is renamed only when complete,
so an interrupted or failed step never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import logging
import math
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from numpy.typing import NDArray
from rasterio._err import CPLE_BaseError
from rasterio.crs import CRS
from rasterio.enums import MaskFlags
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from mtsar2sar.domain import to_intensity, valid_mask
from mtsar2sar.errors import InputError, OutputError

# Every product is first streamed by bands of rows into a temporary tiled GeoTIFF, not compressed (it is
# read once, by the copy below: the product's bytes are the same as from a compressed one, in 0.53 s
# instead of 0.8 s for a 2048² date), BigTIFF if needed.
STREAM_OPTIONS: dict[str, Any] = {
    "driver": "GTiff", "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "none", "BIGTIFF": "IF_SAFER",
}

# It is then copied by GDAL into a Cloud-Optimized GeoTIFF: 512-pixel tiles, overviews
# (averaged) down to one tile, DEFLATE with the floating-point predictor.
COG_OPTIONS: dict[str, Any] = {
    "driver": "COG",
    "compress": "DEFLATE",
    "predictor": "FLOATING_POINT",
    "overview_resampling": "average",
    "blocksize": 512,
    "BIGTIFF": "IF_SAFER",
}


def cog_threads() -> str:
    """GDAL's compression threads for the COG copy: the CPUs this process may use, at most 4 (the same
    bytes as one thread)."""
    return str(max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)))


@dataclass(frozen=True)
class Grid:
    """The georeferenced pixel grid of a raster."""

    height: int
    width: int
    crs: CRS | None
    transform: Affine
    nodata: float | None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    def differences(self, other: Grid, tol: float = 1e-6) -> list[str]:
        """What differs between two grids (shape, CRS, transform), in words; empty when they match."""
        out = []
        if self.shape != other.shape:
            out.append(f"shape {other.shape} instead of {self.shape}")
        if self.crs != other.crs:
            out.append(f"CRS {other.crs} instead of {self.crs}")
        if not self.transform.almost_equals(other.transform, precision=tol * max(abs(self.transform.a), 1e-12)):
            out.append(f"transform {tuple(other.transform)[:6]} instead of {tuple(self.transform)[:6]}")
        return out


def read_grid(path: str | Path) -> Grid:
    """The grid of a single-band raster; a clear error if it is not a readable raster."""
    with open_raster(path) as ds:
        return Grid(ds.height, ds.width, ds.crs, ds.transform, ds.nodata)


# GDAL drivers that read a GeoTIFF as a vendor's product (SNAP_TIFF: SNAP's GeoTIFF export, with its DIMAP
# metadata in TIFF tag 65000) without the GeoTIFF's own transform and CRS: such a file is read as a GeoTIFF.
GEOTIFF_FLAVOURS = ("SNAP_TIFF",)


@contextlib.contextmanager
def open_raster(path: str | Path) -> Iterator[rasterio.io.DatasetReader]:
    """Open a raster for reading, turning GDAL's errors into an :class:`InputError` naming the file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        with warnings.catch_warnings():  # a raster without georeferencing is reported by the grid check
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(path)
            if ds.driver in GEOTIFF_FLAVOURS:  # e.g. SNAP's GeoTIFF export: its own driver drops the georeferencing
                ds.close()
                ds = rasterio.open(path, driver="GTiff")
    except RasterioIOError as exc:
        raise InputError(f"{path}: not a readable raster ({exc})") from exc
    with ds:
        yield ds


Rows = tuple[int, int]  # a band of rows [r0, r1) over the full width


def row_window(rows: Rows | None, width: int) -> Window | None:
    return None if rows is None else Window(0, rows[0], width, rows[1] - rows[0])


def strips(height: int, rows: int) -> Iterator[Rows]:
    """Bands of ``rows`` rows covering ``height`` (the last one shorter)."""
    for r0 in range(0, height, rows):
        yield r0, min(height, r0 + rows)


def strip_rows(width: int, pixels: int = 4_000_000, multiple: int = 256) -> int:
    """Rows per strip so that a strip holds about ``pixels`` pixels, a multiple of ``multiple``
    (the GeoTIFF block size): what every streamed step reads and writes at once."""
    return max(multiple, pixels // max(width, 1) // multiple * multiple)


def read_band(
    path: str | Path, band: int | None = None, rows: Rows | None = None
) -> tuple[NDArray[Any], Grid]:
    """The raw values of one band of a date (or of the band of ``rows`` of it), and the whole file's grid.
    Pixels that a GDAL mask band (or an alpha band) marks invalid are NaN (the values then as float64 or
    complex128); a band with a GDAL scale or offset is refused (not applied)."""
    with open_raster(path) as ds:
        if band is None:
            if ds.count != 1:
                raise InputError(f"{path}: has {ds.count} bands; set 'band' for this AOI to choose one")
            band = 1
        elif not 1 <= band <= ds.count:
            raise InputError(f"{path}: band {band} requested but the file has {ds.count} band(s)")
        scale, offset = ds.scales[band - 1], ds.offsets[band - 1]
        if (scale, offset) != (1.0, 0.0):
            raise InputError(f"{path}: band {band} has a scale {scale:g} and offset {offset:g} (GDAL metadata) that this"
                             " workflow does not apply; write the physical values first, e.g. gdal_translate -unscale"
                             " -ot Float32 in.tif out.tif")
        window = row_window(rows, ds.width)
        try:
            raw = ds.read(band, window=window)
            flags = ds.mask_flag_enums[band - 1]
            if MaskFlags.per_dataset in flags or MaskFlags.alpha in flags:  # a mask band (or alpha) says what is valid
                masked = ds.read_masks(band, window=window) == 0
                if masked.any():
                    raw = raw.astype(np.complex128 if np.iscomplexobj(raw) else np.float64)
                    raw[masked] = np.nan
        except RasterioIOError as exc:
            raise InputError(f"{path}: cannot read the pixels (truncated or corrupt file?): {exc}") from exc
        return raw, Grid(ds.height, ds.width, ds.crs, ds.transform, ds.nodata)


def intensity_of(raw: NDArray[Any], grid: Grid, domain: str, path: str | Path) -> NDArray[np.float32]:
    """Raw values of ``domain`` as float32 intensity, invalid pixels (nodata, NaN, inf, <= 0) as NaN."""
    try:
        intensity = to_intensity(raw, domain)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from exc
    valid = valid_mask(intensity)
    if grid.nodata is not None:  # of a complex band, GDAL's nodata is the value of its real part
        valid &= (raw.real if np.iscomplexobj(raw) else raw) != grid.nodata
    with np.errstate(over="ignore", under="ignore"):
        out = np.where(valid, intensity, np.nan).astype(np.float32)
    lost = valid & ~(np.isfinite(out) & (out > 0))  # beyond float32's range: infinite or zero once cast
    if lost.any():
        extreme = float(np.max(np.abs(intensity[lost])))
        raise InputError(f"{path}: {int(lost.sum())} pixels hold intensities beyond the range of float32 (e.g. "
                         f"{extreme:.3g}): not SAR intensities as given (wrong units, scaling or input_domain?)")
    return out


def read_intensity(
    path: str | Path, domain: str, band: int | None = None, rows: Rows | None = None
) -> tuple[NDArray[np.float32], Grid]:
    """Read one date (or the band of ``rows`` of it) as float32 intensity; invalid pixels (nodata,
    NaN, inf, <= 0) become NaN. The grid returned is always the whole file's."""
    raw, grid = read_band(path, band, rows)
    return intensity_of(raw, grid, domain, path), grid


def remove_stale_temporaries(path: Path) -> None:
    """Remove what an earlier, killed attempt at writing ``path`` left under a temporary name."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.part*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def default_mode(directory: bool = False) -> int:
    """Permissions of a new file (0o666) or folder (0o777) under the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


WRITE_FAILURE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS)


def write_failure(path: Path, exc: BaseException) -> OutputError:
    """The :class:`OutputError` for a failed write of ``path`` (no space, quota, I/O error...)."""
    what = getattr(exc, "strerror", None) or str(exc)
    return OutputError(f"{path}: writing failed ({what}); nothing was kept under that name")


@contextlib.contextmanager
def gdal_errors_raised(path: Path) -> Iterator[None]:
    """Turn the errors GDAL only *signals* while writing (e.g. a full disk in the middle of a flush,
    reported as an INFO log line by rasterio while the write returns normally) into an
    :class:`OutputError` naming ``path``, raised when the block ends."""
    errors: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            msg = record.getMessage()
            if "GDAL signalled an error" in msg:
                errors.append(msg)

    logger = logging.getLogger("rasterio")
    handler, level = Collect(logging.INFO), logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    if errors:
        raise OutputError(f"{path}: writing failed ({errors[0]}); nothing was kept under that name")


def verify_raster(path: Path, rows: int = 1024) -> None:
    """Read back every pixel of a GeoTIFF just written (by bands of ``rows``): raises if it is truncated."""
    with rasterio.open(path) as ds:
        for r0, r1 in strips(ds.height, rows):
            ds.read(window=row_window((r0, r1), ds.width))


def verify_written(path: Path) -> None:
    """Check a file just written under a temporary name: not empty; a JSON file parses; a GeoTIFF reads
    back in full; a JPEG or PNG image decodes; a PyTorch file (a zip archive) has every member intact.
    Raises :class:`OutputError` naming the file otherwise."""
    try:
        if path.stat().st_size == 0:
            raise OutputError(f"{path}: empty after writing (full disk?)")
        suffix = path.suffix.lower()
        if suffix == ".json":
            json.loads(path.read_text())
        elif suffix in (".tif", ".tiff"):
            verify_raster(path)
        elif suffix in (".jpg", ".jpeg", ".png"):
            from PIL import Image

            with Image.open(path) as im:
                im.load()  # decodes every byte: a truncated file raises
        elif suffix == ".pt":
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
            if bad is not None:
                raise OutputError(f"{path}: member {bad} is corrupt after writing (full disk or I/O error?)")
    except OutputError:
        raise
    except (OSError, ValueError, RasterioIOError, zipfile.BadZipFile) as exc:
        raise OutputError(f"{path}: not readable after writing ({exc}); full disk or I/O error?") from exc


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds and the
    file written there is complete (flushed to disk, not empty, readable: :func:`verify_written`).
    A write error (no space, quota, I/O) becomes an :class:`OutputError` and leaves nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=path.parent)
    except OSError as exc:  # read-only folder, no space, quota...
        raise OutputError(f"{path.parent}: cannot write {path.name} there ({exc.strerror or exc})") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except OSError as exc:
            if exc.errno in WRITE_FAILURE_ERRNOS:
                raise write_failure(path, exc) from exc
            raise
        try:
            verify_written(tmp_path)
        except OutputError as exc:
            raise OutputError(f"{path}: writing failed, {exc}; nothing was kept under that name") from exc
        try:
            fd = os.open(tmp_path, os.O_RDONLY)
            try:
                os.fsync(fd)  # a delayed write error (no space at write-back) surfaces here, not after the rename
            finally:
                os.close(fd)
            os.chmod(tmp_path, default_mode())  # mkstemp makes it private (0o600)
            os.replace(tmp_path, path)
        except OSError as exc:
            raise write_failure(path, exc) from exc
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield an empty folder beside ``path`` (``.NAME.part``) and rename it to ``path`` only if the block
    succeeds, replacing a folder of that name. A process killed inside the block leaves only the
    ``.part`` folder, never a half-filled ``path``, and the next call starts by removing it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True, mode=default_mode(directory=True))
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write {path.name} there ({exc.strerror or exc})") from exc
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def output_nodata(grid: Grid) -> float:
    """The nodata value of float32 products: the input's own when it has one and float32 holds it
    exactly (not e.g. -DBL_MAX of a float64 file), else NaN."""
    if grid.nodata is None:
        return float("nan")
    value = float(grid.nodata)
    if math.isfinite(value) and (abs(value) > float(np.finfo(np.float32).max) or float(np.float32(value)) != value):
        return float("nan")
    return value


class BlockWriter:
    """Writes bands of rows of a float32 product (NaN written as the grid's nodata)."""

    def __init__(self, dataset: rasterio.io.DatasetWriter, grid: Grid, path: Path | None = None):
        self._ds, self.grid, self._nodata = dataset, grid, output_nodata(grid)
        self._path = path or Path(str(dataset.name))

    def write(self, array: NDArray[np.floating], row0: int = 0) -> None:
        if array.ndim != 2 or array.shape[1] != self.grid.width or not 0 <= row0 <= self.grid.height - array.shape[0]:
            raise ValueError(f"rows {row0}+{array.shape} do not fit the grid {self.grid.shape}")
        data = np.asarray(array, dtype=np.float32)
        if not np.isnan(self._nodata):
            data = np.where(np.isnan(data), np.float32(self._nodata), data)
        try:
            self._ds.write(data, 1, window=row_window((row0, row0 + data.shape[0]), self.grid.width))
        except (RasterioIOError, OSError) as exc:  # no space, quota, I/O error
            raise write_failure(self._path, exc) from exc


@contextlib.contextmanager
def open_writer(
    path: str | Path, grid: Grid, description: str = "", tags: dict[str, str] | None = None, cog: bool = True
) -> Iterator[BlockWriter]:
    """A float32 Cloud-Optimized GeoTIFF on ``grid``: written by bands of rows into a temporary tiled
    GeoTIFF (bounded memory), copied by GDAL into a COG (:data:`COG_OPTIONS`) under a second temporary
    name, verified and renamed to ``path`` only when all of it completes (nothing is left under
    ``path`` if it fails). ``cog=False``: the tiled, uncompressed GeoTIFF itself (a scratch file that
    the step reads back once; no copy)."""
    profile = dict(STREAM_OPTIONS)
    profile.update(
        height=grid.height, width=grid.width, count=1, dtype="float32",
        crs=grid.crs, transform=grid.transform, nodata=output_nodata(grid),
    )
    if not cog:
        with atomic_path(path) as tmp:
            try:
                with gdal_errors_raised(Path(path)), rasterio.open(tmp, "w", **profile) as dst:
                    if description:
                        dst.set_band_description(1, description)
                    yield BlockWriter(dst, grid, Path(path))
            except (RasterioIOError, CPLE_BaseError) as exc:
                raise write_failure(Path(path), exc) from exc
        return
    with atomic_path(path) as tmp:
        stream = tmp.with_name(tmp.name + ".stream.tif")  # matches remove_stale_temporaries' pattern
        try:
            try:
                with gdal_errors_raised(Path(path)), rasterio.open(stream, "w", **profile) as dst:
                    if description:
                        dst.set_band_description(1, description)
                    if tags:
                        dst.update_tags(**tags)
                    yield BlockWriter(dst, grid, Path(path))
                tmp.unlink(missing_ok=True)
                with gdal_errors_raised(Path(path)):
                    rasterio.shutil.copy(stream, tmp, **COG_OPTIONS, NUM_THREADS=cog_threads())
            except (RasterioIOError, CPLE_BaseError) as exc:  # raised by GDAL while writing, closing or copying
                raise write_failure(Path(path), exc) from exc
        finally:
            stream.unlink(missing_ok=True)


def write_float32(
    path: str | Path,
    array: NDArray[np.floating],
    grid: Grid,
    description: str = "",
    tags: dict[str, str] | None = None,
) -> None:
    """Write a float32 GeoTIFF on ``grid`` atomically; NaN pixels are written as the grid's nodata."""
    if array.shape != grid.shape:
        raise ValueError(f"array shape {array.shape} does not match the grid {grid.shape}")
    with open_writer(path, grid, description, tags) as dst:
        dst.write(array, 0)


def read_product(path: str | Path, rows: Rows | None = None) -> tuple[NDArray[np.float32], Grid]:
    """Read a float32 product written by :func:`write_float32` (or the band of ``rows``), nodata as NaN."""
    with open_raster(path) as ds:
        data = ds.read(1, window=row_window(rows, ds.width)).astype(np.float32)
        grid = Grid(ds.height, ds.width, ds.crs, ds.transform, ds.nodata)
    if grid.nodata is not None and not np.isnan(grid.nodata):
        data[data == grid.nodata] = np.nan
    return data, grid


def json_ready(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, inf) replaced by ``None``: strict JSON (``null``)."""
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def write_json(path: str | Path, obj: Any) -> None:
    """Write a JSON report atomically, as strict JSON: NaN and infinities are written as ``null``."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_ready(obj), indent=2, sort_keys=False, allow_nan=False) + "\n")


def read_intensity_decimated(
    path: str | Path, domain: str, band: int | None = None, max_size: int = 2048
) -> NDArray[np.float32]:
    """The intensity averaged over k x k blocks (k: the smallest integer that brings the larger side to
    at most ``max_size``), read strip by strip: a bounded-memory preview of a date of any size."""
    grid = read_grid(path)
    k = max(1, -(-max(grid.shape) // max_size))
    rows = max(k, strip_rows(grid.width) // k * k)
    parts = []
    for r0, r1 in strips(grid.height - grid.height % k if grid.height >= k else grid.height, rows):
        img, _ = read_intensity(path, domain, band, (r0, r1))
        h, w = img.shape[0] // k * k, img.shape[1] // k * k
        if k == 1:
            parts.append(img)
            continue
        blocks = img[:h, :w].reshape(h // k, k, w // k, k)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN
            parts.append(np.nanmean(blocks, axis=(1, 3)).astype(np.float32))
    return np.concatenate(parts, axis=0)


# --- one band of a multi-band stack as a file of its own (a GDAL VRT) ---

# rasterio's dtype names -> GDAL's data type names (a VRT band's dataType)
_GDAL_TYPES = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16", "uint32": "UInt32",
               "int32": "Int32", "uint64": "UInt64", "int64": "Int64", "float32": "Float32", "float64": "Float64",
               "complex_int16": "CInt16", "complex64": "CFloat32", "complex128": "CFloat64"}


def band_vrt_xml(source: str | Path, band: int) -> str:
    """A GDAL VRT of band ``band`` of ``source`` alone: its grid (size, CRS, transform), its data type,
    nodata, scale and offset, description, mask (a GDAL mask band: the VRT's mask), and as the VRT's tags
    the source's dataset tags with the band's own (the band's win). Pixels are read from the source, lazily."""
    import xml.etree.ElementTree as ET

    src = str(Path(source).resolve())
    with open_raster(source) as ds:
        if not 1 <= band <= ds.count:
            raise InputError(f"{source}: band {band} requested but the file has {ds.count} band(s)")
        i = band - 1
        root = ET.Element("VRTDataset", rasterXSize=str(ds.width), rasterYSize=str(ds.height))
        if ds.crs is not None:
            ET.SubElement(root, "SRS", dataAxisToSRSAxisMapping="1,2").text = ds.crs.to_wkt()
        if not ds.transform.is_identity:
            ET.SubElement(root, "GeoTransform").text = ", ".join(repr(float(v)) for v in ds.transform.to_gdal())
        tags = {**{str(k): str(v) for k, v in ds.tags().items()}, **{str(k): str(v) for k, v in ds.tags(band).items()}}
        if tags:
            meta = ET.SubElement(root, "Metadata")
            for k, v in tags.items():
                ET.SubElement(meta, "MDI", key=k).text = v
        flags = ds.mask_flag_enums[i]
        if MaskFlags.per_dataset in flags and MaskFlags.alpha not in flags:  # the source's mask band: the VRT's
            mask = ET.SubElement(ET.SubElement(root, "MaskBand"), "VRTRasterBand", dataType="Byte")
            simple = ET.SubElement(mask, "SimpleSource")
            ET.SubElement(simple, "SourceFilename", relativeToVRT="0").text = src
            ET.SubElement(simple, "SourceBand").text = f"mask,{band}"
        vrt_band = ET.SubElement(root, "VRTRasterBand", dataType=_GDAL_TYPES[ds.dtypes[i]], band="1")
        if ds.descriptions[i]:
            ET.SubElement(vrt_band, "Description").text = ds.descriptions[i]
        if ds.nodatavals[i] is not None:
            ET.SubElement(vrt_band, "NoDataValue").text = repr(float(ds.nodatavals[i]))
        if ds.offsets[i] != 0.0:
            ET.SubElement(vrt_band, "Offset").text = repr(float(ds.offsets[i]))
        if ds.scales[i] != 1.0:
            ET.SubElement(vrt_band, "Scale").text = repr(float(ds.scales[i]))
        simple = ET.SubElement(vrt_band, "SimpleSource")
        ET.SubElement(simple, "SourceFilename", relativeToVRT="0").text = src
        ET.SubElement(simple, "SourceBand").text = str(band)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def write_band_vrt(source: str | Path, band: int, path: str | Path) -> bool:
    """Write :func:`band_vrt_xml` to ``path`` (atomically: a temporary name, then renamed), only when it
    differs from what is there (an unchanged file keeps its time: Snakemake reruns nothing); True when
    written."""
    path = Path(path)
    text = band_vrt_xml(source, band)
    try:
        if path.read_text() == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.chmod(tmp, default_mode())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise write_failure(path, exc) from exc
    return True
