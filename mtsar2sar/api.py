"""Python API: despeckle a small stack in one call, the workflow's chain without Snakemake.

    >>> from mtsar2sar.api import despeckle_stack
    >>> da = despeckle_stack("/data/site/*.tif", looks=4, date_regex=r"_(\\d{8})_", network={"device": "cpu"})
    >>> da.dims, da.sizes["time"]
    (('time', 'y', 'x'), 22)
    >>> da.sel(time="2024-06").mean("time")          # a despeckled month

:func:`despeckle_stack` runs the workflow's steps (:mod:`mtsar2sar.steps`) in order: the co-registration
check, the super-image (temporal mean of the kept dates) and its ENL, its MuLoG filter, and the ratio +
network despeckling of every kept date; the products are the same bytes as the workflow's
``results/{aoi}/`` products for the same settings. The steps stream their images through files in a
temporary folder (or ``workdir``, to keep them); the despeckled stack is returned in memory, so this is
for stacks that fit in memory (the workflow, ``mtsar2sar run``, is for the others).

Needs the ``api`` extra (``pip install "mtsar2sar[api]"``: xarray, jsonschema).
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from mtsar2sar.errors import InputError
from mtsar2sar.layout import AoiFolder

if TYPE_CHECKING:
    import xarray

    from mtsar2sar.dates import Dates
    from mtsar2sar.io import Grid

# The config file's sections that despeckle_stack takes as keyword arguments (the same keys, the same
# defaults: those of schemas/config.schema.yaml, filled in as Snakemake's validation does).
SECTIONS = ("coregistration", "super_image", "mulog", "network")
# Tags of the products that are the same for every date: the DataArray's attributes.
STACK_TAGS = ("units", "software", "weights", "weights_file", "weights_sha256", "weights_setting", "looks",
              "super_image_enl", "lambda")
# Date keys as the time coordinate: the first of these formats that reads every key.
DATE_FORMATS = ("%Y%m%d", "%Y%m%dT%H%M%S", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S")


def _key_of(k: Any) -> str:
    """A mapping's key as a date key: a datetime as ``YYYYMMDD`` (``YYYYMMDDTHHMMSS`` with a time of day), a
    date as ``YYYYMMDD``, anything else as its text."""
    if isinstance(k, datetime):
        return k.strftime("%Y%m%d" if k == k.replace(hour=0, minute=0, second=0, microsecond=0) else "%Y%m%dT%H%M%S")
    if isinstance(k, date):
        return k.strftime("%Y%m%d")
    return str(k)


def _in_given_order(keys: Sequence[str], given: Sequence[Any]) -> list[str]:
    """``keys`` in the order of the values they were made from (``given``, one each: integers, dates)
    where those compare, else in the keys' own (text) order."""
    try:
        return [key for _, key in sorted(zip(given, keys), key=lambda pair: pair[0])]
    except TypeError:
        return sorted(keys)


def _band_files(found: Dates, folder: Path) -> dict[str, Path]:
    """Date key -> file of ``found``; for one multi-band file (a band per date), each date's band as a file of
    its own, a GDAL VRT ``{folder}/{date}.vrt`` (:func:`mtsar2sar.io.write_band_vrt`), as the workflow reads
    it (:meth:`mtsar2sar.config.AoiSpec.band_files`)."""
    if not found.bands:
        return found.files
    from mtsar2sar.io import write_band_vrt

    files = {}
    for key, b in found.bands.items():
        files[key] = folder / f"{key}.vrt"
        write_band_vrt(found.files[key], b, files[key])
    return files


def _date_files(stack: Any, date_regex: str | None, date_format: str | None = None, band: int | None = None,
                bands_dir: Path | None = None) -> dict[str, Path]:
    """Date key -> file of a glob pattern, a sequence of files (dates as the workflow finds them: the names,
    else the tags, :func:`mtsar2sar.dates.discover`) or a mapping (keys: as given). Without ``band``, one
    multi-band file (a pattern or a list of one file) is a band per date, each read through a VRT written
    to ``bands_dir``."""
    from mtsar2sar.config.aoi import DEFAULT_DATE_REGEX
    from mtsar2sar.dates import discover

    if date_format is not None and date_regex == DEFAULT_DATE_REGEX:
        date_regex = None  # the regex of the format
    split = band is None and bands_dir is not None
    if isinstance(stack, Sequence) and not isinstance(stack, str | bytes | bytearray) and len(stack) == 1 \
            and split and Path(stack[0]).is_file():
        stack = glob.escape(str(stack[0]))  # one file: maybe a band per date
    if isinstance(stack, str | Path):
        found = discover(str(stack), date_regex, date_format, split_bands=split)
        return _band_files(found, bands_dir) if bands_dir is not None else found.files
    if isinstance(stack, Mapping):
        from mtsar2sar.stack import SAFE_KEY

        files: dict[str, Path] = {}
        seen: dict[Path, str] = {}
        given: dict[str, Any] = {}
        for k, v in stack.items():
            key = _key_of(k)
            given[key] = k
            if not SAFE_KEY.fullmatch(key):
                raise InputError(f"despeckle_stack: date key {key!r} has characters other than letters, digits, '-', '_',"
                                 " '.' and '+' (it names the products' files)")
            if key in files:
                raise InputError(f"despeckle_stack: the keys {k!r} and another both read {key!r}; each date needs one key")
            path = Path(v)
            if path.resolve() in seen:
                raise InputError(f"{path}: given for the dates {seen[path.resolve()]!r} and {key!r}; each date needs its own file")
            seen[path.resolve()] = key
            files[key] = path
        return {key: files[key] for key in _in_given_order(list(files), [given[key] for key in files])}
    if isinstance(stack, bytes | bytearray):
        raise InputError("despeckle_stack: a bytes object is not a stack; give the glob pattern as a str")
    if isinstance(stack, Sequence):
        out: dict[str, Path] = {}
        for f in stack:
            if Path(f).is_dir():
                raise InputError(f"{f}: is a folder; give the files of the dates (or a glob pattern)")
            if not Path(f).exists():
                raise InputError(f"{f}: file not found")
            ((key, path),) = discover(glob.escape(str(f)), date_regex, date_format).files.items()  # as the workflow
            if key in out:
                raise InputError(f"{path}: date key {key!r} is also the key of {out[key]}; each date needs one file")
            out[key] = path
        return dict(sorted(out.items()))
    raise InputError(f"despeckle_stack: cannot read a stack from {type(stack).__name__}; give a glob pattern, "
                     "a list of files, a mapping date key -> file or an xarray.DataArray (time, y, x)")


def date_coordinate(keys: Sequence[str]) -> NDArray[Any]:
    """The date keys as ``datetime64[ns]`` when each reads as a date (``YYYYMMDD``, ``YYYYMMDDTHHMMSS`` or ISO,
    each key in its own format: days and days with a time mixed), else the keys themselves."""
    times = []
    for k in keys:
        for fmt in DATE_FORMATS:
            try:
                times.append(np.datetime64(datetime.strptime(k, fmt), "ns"))
                break
            except ValueError:
                continue
        else:
            return np.array(list(keys), dtype=object)
    return np.array(times, dtype="datetime64[ns]")


def _keys_of(da: xarray.DataArray) -> list[str]:
    """Date keys of a DataArray's dates: its ``date_key`` coordinate, else its ``time`` values."""
    if "date_key" in da.coords:
        return [str(k) for k in da["date_key"].values]
    values = da["time"].values if "time" in da.coords else np.arange(da.sizes["time"])
    if np.issubdtype(values.dtype, np.datetime64):
        t = values.astype("datetime64[s]").astype(datetime)
        fmt = "%Y%m%d" if all(x.hour == x.minute == x.second == 0 for x in t) else "%Y%m%dT%H%M%S"
        return [x.strftime(fmt) for x in t]
    return [str(v) for v in values]


def grid_of(da: xarray.DataArray) -> Grid:
    """The grid of a DataArray: ``transform`` (6 numbers) and ``crs`` attributes as this API writes them, else
    regular ``x`` / ``y`` pixel-centre coordinates (and a ``spatial_ref`` coordinate's ``crs_wkt``); both given,
    they must agree. Its nodata: the ``nodata`` attribute, else ``_FillValue`` (attribute or encoding)."""
    from affine import Affine
    from rasterio.crs import CRS

    from mtsar2sar.io import Grid

    h, w = da.sizes["y"], da.sizes["x"]
    from_coords = None
    if "x" in da.coords and "y" in da.coords and h >= 2 and w >= 2:
        x, y = np.asarray(da["x"], dtype=np.float64), np.asarray(da["y"], dtype=np.float64)
        dx, dy = (x[-1] - x[0]) / (w - 1), (y[-1] - y[0]) / (h - 1)
        if np.allclose(np.diff(x), dx, rtol=1e-6) and np.allclose(np.diff(y), dy, rtol=1e-6):
            from_coords = Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)
        elif "transform" not in da.attrs:
            raise InputError("despeckle_stack: the DataArray's x / y coordinates are not a regular grid; give its"
                             " 'transform' attribute")
    if "transform" in da.attrs:
        transform = Affine(*[float(v) for v in list(da.attrs["transform"])[:6]])
        pixel = max(abs(transform.a), abs(transform.e), 1e-12)
        if from_coords is not None and max(abs(u - v) for u, v in zip(tuple(transform)[:6], tuple(from_coords)[:6])) > 1e-3 * pixel:
            raise InputError(
                f"despeckle_stack: the DataArray's 'transform' attribute {tuple(transform)[:6]} and its x / y"
                f" coordinates (pixel centres: {tuple(from_coords)[:6]}) disagree; drop or correct one of them"
            )
    else:
        transform = from_coords or Affine.identity()
    crs_text = da.attrs.get("crs")
    if crs_text is None and "spatial_ref" in da.coords:
        crs_text = da["spatial_ref"].attrs.get("crs_wkt") or da["spatial_ref"].attrs.get("spatial_ref")
    try:
        crs = CRS.from_user_input(crs_text) if crs_text else None
    except Exception as exc:  # rasterio's CRSError
        raise InputError(f"despeckle_stack: the DataArray's crs {crs_text!r} is not a CRS ({exc})") from exc
    # nodata as this API writes it, else xarray's / rioxarray's _FillValue (an attribute, or the encoding)
    nodata = next((v for v in (da.attrs.get("nodata"), da.attrs.get("_FillValue"), da.encoding.get("_FillValue"))
                   if v is not None), None)
    return Grid(h, w, crs, transform, None if nodata is None else float(nodata))


WRITTEN_TAG = "MTSAR2SAR_DATAARRAY_DATE"  # the tag of a date that despeckle_stack wrote from a DataArray


def _written_here(path: Path) -> bool:
    """Whether ``path`` is a date that despeckle_stack wrote (tagged), which it may write again."""
    from mtsar2sar.io import open_raster

    try:
        with open_raster(path) as ds:
            return ds.tags().get(WRITTEN_TAG) == "1"
    except InputError:  # not a raster, or unreadable: not ours
        return False


def _write_dates(da: xarray.DataArray, domain: str, folder: Path) -> dict[str, Path]:
    """Each date of a (time, y, x) DataArray as a float32 intensity GeoTIFF (invalid pixels NaN, as the
    workflow reads a date of ``domain``)."""
    from mtsar2sar.io import Grid, intensity_of, write_float32

    try:
        da = da.transpose("time", "y", "x")
    except ValueError as exc:
        raise InputError(f"despeckle_stack: the DataArray's dims are {da.dims}; expected (time, y, x)") from exc
    grid = grid_of(da)
    keys = _keys_of(da)
    if len(set(keys)) != len(keys):
        raise InputError(f"despeckle_stack: the DataArray's dates are not unique: {keys}")
    out = {}
    folder.mkdir(parents=True, exist_ok=True)
    for i, key in enumerate(keys):
        if not key or "/" in key or os.sep in key:
            raise InputError(f"despeckle_stack: date key {key!r} cannot name a file")
        path = folder / f"{key}.tif"
        if path.exists() and not _written_here(path):
            raise InputError(f"workdir: {path} exists and despeckle_stack did not write it (it writes a DataArray's dates"
                             f" to {folder}); give another workdir, nothing there was changed")
        img = intensity_of(np.asarray(da.values[i]), grid, domain, f"DataArray date {key}")
        write_float32(path, img, Grid(grid.height, grid.width, grid.crs, grid.transform, None),
                      f"date {key} of a DataArray, as intensity", {WRITTEN_TAG: "1"})
        out[key] = path
    given = list(da["time"].values) if "time" in da.coords and "date_key" not in da.coords else keys
    return {key: out[key] for key in _in_given_order(keys, given)}


def despeckle_stack(
    stack: str | Path | Sequence[str | Path] | Mapping[str, str | Path] | xarray.DataArray,
    *,
    looks: float = 1.0,
    input_domain: str = "intensity",
    band: int | None = None,
    date_regex: str = r"(\d{8})",
    date_format: str | None = None,
    coregistration: Mapping[str, Any] | None = None,
    super_image: Mapping[str, Any] | None = None,
    mulog: Mapping[str, Any] | None = None,
    network: Mapping[str, Any] | None = None,
    workdir: str | Path | None = None,
) -> xarray.DataArray:
    """Despeckle a co-registered stack (one single-band raster per date, or one raster of a band per date)
    by the workflow's chain.

    ``stack``: a glob pattern (relative to the working directory), a list of files (date keys from
    ``date_regex`` on the file names), a mapping date key -> file, one multi-band GeoTIFF or VRT (a pattern
    or a list of one file, ``band`` unset: a band per date, dates from the band descriptions or band tags
    as in the workflow; each band read through a VRT of its own, ``{workdir}/bands/{date}.vrt``), or an
    ``xarray.DataArray`` with dims
    (time, y, x) (georeferenced by its ``transform`` and ``crs`` attributes, else regular ``x`` / ``y``
    coordinates; the date keys from ``time``). ``looks``, ``input_domain``, ``band``, ``date_regex``,
    ``date_format``: as an AOI of the config file (files without a date in their names: by their tags). ``coregistration``, ``super_image``, ``mulog``, ``network``: the config file's
    sections (same keys, same defaults: ``schemas/config.schema.yaml``; e.g. ``network={"device": "cpu",
    "weights": "sar2sar-ml"}``), validated as the workflow validates its config. A relative weights path is
    relative to the working directory. ``super_image.reference_dates`` (monitoring) is the workflow's only.

    Returns the despeckled intensity of the kept dates (float32, NaN where invalid) with dims
    (time, y, x): ``time`` from the date keys (datetime64 when they read as dates; a DataArray's own time
    values), coordinates
    ``date_key`` and ``source`` along time, ``x`` / ``y`` the pixel centres of the rasters' transform, and
    attributes ``crs``, ``transform``, ``units``, ``weights`` (the weights used: ``auto`` resolved),
    ``weights_file``, ``weights_sha256``, ``software``, ``super_image_enl``, ``reference_date`` and
    ``dropped_dates``. ``workdir``: keep the intermediate products there (laid out as the workflow's
    ``results/{aoi}/``); a temporary folder, removed at the end, by default.

    Raises :class:`mtsar2sar.errors.InputError` naming the file or setting at fault.
    """
    try:
        import xarray as xr
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError('despeckle_stack needs xarray: pip install "mtsar2sar[api]"') from exc
    from mtsar2sar import despeckle, plan, steps
    from mtsar2sar.config import validate_config, with_defaults
    from mtsar2sar.network import resolve_weights

    aoi: dict[str, Any] = {"inputs": "(despeckle_stack)", "date_regex": date_regex, "input_domain": input_domain,
                           "looks": looks, **({"date_format": date_format} if date_format is not None else {})}
    if band is not None:
        aoi["band"] = band
    config = {"aois": {"stack": aoi}, **{s: dict(v) for s, v in zip(SECTIONS, (coregistration, super_image, mulog,
                                                                              network)) if v is not None}}
    try:
        validate_config(config)
    except InputError as exc:
        raise InputError(f"despeckle_stack: {exc}".replace("config: aois.stack.", "")) from None
    st = {section: with_defaults(section, config.get(section)) for section in SECTIONS}
    if "reference_dates" in st["super_image"]:
        raise InputError("despeckle_stack: super_image.reference_dates (monitoring) is for the workflow (mtsar2sar"
                         " run), where a new date is one more job; here every date is despeckled every call")
    net = {k: v for k, v in st["network"].items() if k != "dates_per_job"} | {"base": os.getcwd()}
    resolve_weights(str(net["weights"]), net["base"], float(looks))  # a wrong weights setting fails before the steps

    with contextlib.ExitStack() as cleanup:
        work = Path(workdir) if workdir is not None else Path(cleanup.enter_context(
            tempfile.TemporaryDirectory(prefix="mtsar2sar-")))
        if work.exists() and not work.is_dir():
            raise InputError(f"workdir: {work} is a file; give a folder (made if missing)")
        work.mkdir(parents=True, exist_ok=True)
        domain = input_domain
        written: dict[str, Path] = {}
        if isinstance(stack, xr.DataArray):
            files = written = _write_dates(stack, input_domain, work / "inputs")
            domain, band = "intensity", None  # written as intensity
        else:
            files = _date_files(stack, date_regex, date_format, band, work / "bands")
        out = AoiFolder(work)
        try:
            report = steps.check_coregistration(files, domain, band, st["coregistration"], out.coregistration)
        except InputError as exc:  # a DataArray's date is named as the user knows it, not by the file written for it
            if not written:
                raise
            message = str(exc)
            for key, path in written.items():
                message = message.replace(str(path), f"DataArray date {key}")
            raise InputError(message) from exc
        steps.super_image(files, out.coregistration, domain, band, float(looks), st["super_image"],
                             out.super_image, out.super_image_enl)
        filtered = out.super_image_filtered
        steps.filter_super_image_step(out.super_image, out.super_image_enl,
                                         st["super_image"]["filter"], filtered,
                                         plan.super_image_filter_settings(st["super_image"], st["mulog"]))
        denoiser = despeckle.build_denoiser(net, float(looks), progress=False)
        dates = list(report["kept_dates"])
        for d in dates:
            steps.despeckle(files[d], domain, band, filtered, net, out.despeckled(d), float(looks),
                               denoiser)
        result = _stack_array(work, dates, files, report)
        if isinstance(stack, xr.DataArray) and "time" in stack.coords and "date_key" not in stack.coords:
            given = dict(zip(_keys_of(stack), stack["time"].values))  # the caller's own time values and type
            result = result.assign_coords(time=np.array([given[d] for d in dates]))
        return result


def _stack_array(
    work: Path, dates: list[str], files: Mapping[str, Path], report: Mapping[str, Any]
) -> xarray.DataArray:
    """The despeckled products of ``dates`` as one (time, y, x) DataArray."""
    import xarray as xr

    from mtsar2sar.io import open_raster, read_product

    images: list[NDArray[np.float32]] = []
    grid: Grid | None = None
    tags: dict[str, str] = {}
    folder = AoiFolder(work)
    for d in dates:
        path = folder.despeckled(d)
        img, grid = read_product(path)
        images.append(img)
        if not tags:
            with open_raster(path) as ds:
                tags = ds.tags()
    assert grid is not None
    t = grid.transform
    coords: dict[str, Any] = {
        "time": date_coordinate(dates),
        "date_key": ("time", np.array(dates, dtype=object)),
        "source": ("time", np.array([str(files[d]) for d in dates], dtype=object)),
    }
    if t.b == 0 and t.d == 0:  # north-up: 1-D pixel-centre coordinates
        coords["y"] = t.f + t.e * (np.arange(grid.height) + 0.5)
        coords["x"] = t.c + t.a * (np.arange(grid.width) + 0.5)
    attrs: dict[str, Any] = {k: tags[k] for k in STACK_TAGS if k in tags}
    attrs.update(
        long_name="despeckled intensity (ratio + SAR2SAR)",
        transform=tuple(float(v) for v in tuple(t)[:6]),
        reference_date=str(report.get("reference_date")),
        dropped_dates=",".join(report.get("dropped_dates", [])),
    )
    if grid.crs is not None:
        attrs["crs"] = grid.crs.to_string()
    return xr.DataArray(np.stack(images), dims=("time", "y", "x"), coords=coords, attrs=attrs, name="despeckled")


def assess_quality(results: str | Path, domain: str = "intensity", band: int | None = None,
                   looks: float | None = None, workdir: str | Path | None = None) -> dict[str, Any]:
    """The quality of a finished AOI without a truth (the workflow's ``quality`` rule, ``mtsar2sar quality``):
    every kept date of ``results`` (``results/<aoi>``, or a ``workdir=`` of :func:`despeckle_stack`) scored by
    its ratio image and its changes since the date before, with a verdict; writes ``quality.json`` and
    ``quality.png`` there and returns the report (``report["dates"][i]["verdict"]["line"]``, ``report["aggregate"]``)."""
    from mtsar2sar.steps import quality_of_results

    return quality_of_results(results, domain, band, looks, workdir)
