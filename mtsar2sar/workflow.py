"""One function per workflow step, called by the thin scripts of the Snakemake rules.

Each takes plain paths and settings, so it can be run and tested without Snakemake.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from mtsar2sar.enl import enl_from_log_variances, estimate_enl
from mtsar2sar.errors import InputError
from mtsar2sar.io import (
    default_mode,
    open_raster,
    read_grid,
    read_intensity,
    read_intensity_decimated,
    read_product,
    remove_stale_temporaries,
    write_float32,
    write_json,
)
from mtsar2sar.layout import PER_DATE, AoiFolder
from mtsar2sar.logs import log
from mtsar2sar.settings import NetworkSettings, with_defaults
from mtsar2sar.simulate import SimulationConfig, write_stack

if TYPE_CHECKING:
    from mtsar2sar.despeckle import NetworkDenoiser
    from mtsar2sar.training import Stack, TrainingConfig

# torch, scikit-image and matplotlib are imported inside the steps that need them: every rule runs
# in its own process, and a step that does not use them should not pay for their import.


def simulate(cfg: SimulationConfig, out_dir: str | Path) -> None:
    """Write the simulated stack (``noisy/``, ``truth/``, ``changed.tif``) into ``out_dir`` atomically."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".part", dir=out_dir.parent))
    try:
        t0 = time.perf_counter()
        dates = write_stack(cfg, tmp / "noisy", tmp / "truth", tmp / "changed.tif")
        (tmp / "simulation.json").write_text(json.dumps({"config": cfg.__dict__, "dates": dates}, indent=2) + "\n")
        for p in [tmp, *tmp.rglob("*")]:
            if p.is_dir():
                os.chmod(p, default_mode(directory=True))  # mkdtemp makes it private (0o700)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
        log.info("simulated %d dates of %dx%d in %.1f s", len(dates), cfg.height, cfg.width, time.perf_counter() - t0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_coregistration(
    files: Mapping[str, str | Path], domain: str, band: int | None, settings: Mapping[str, Any], output: str | Path,
    remove_stale: bool = True,
) -> dict[str, Any]:
    """Check the stack and write the co-registration report; the outputs of dates no longer kept (a
    date removed from the inputs, or now dropped) are removed from the AOI's results folder (unless
    ``remove_stale`` is false: the check of the reference period of a monitored AOI)."""
    from mtsar2sar.coregistration import check_stack
    from mtsar2sar.settings import CoregistrationSettings

    report = check_stack(
        {d: Path(f) for d, f in files.items()}, domain, band, **CoregistrationSettings.from_mapping(settings).as_kwargs()
    )
    for r in report["dates"]:
        shift = "(not measured)" if r["shift_px"] is None else "({:+.3f}, {:+.3f}) px".format(*r["shift_px"])
        log.info("%s shift=%s median=%.2f dB invalid=%.4f %s %s",
                 r["date"], shift, r["median_db"], r["invalid_fraction"], r["status"], "; ".join(r["reasons"]))
        if r["status"] == "dropped":  # on the console too: the run goes on with fewer dates than the user gave
            log.warning("%s: date %s dropped: %s", r["file"], r["date"], "; ".join(r["reasons"]))
    write_json(output, report)
    if remove_stale:
        remove_stale_outputs(Path(output).parent, report["kept_dates"], [Path(f) for f in files.values()])
    return report


def remove_stale_outputs(aoi_dir: Path, dates: list[str], inputs: Sequence[Path] = ()) -> list[Path]:
    """Remove the files of dates that are not in ``dates`` (removed from the inputs, or dropped by the
    check): the per-date products (``despeckled/{date}.tif``, ``quicklooks/{date}.jpg``, the comparison's
    ``methods/{method}/{date}.tif``) and their rules' logs and benchmark records (``layout.PER_DATE``), so
    that the results folder lists only the stack's dates. A file among ``inputs`` is never removed.
    Returns what was removed."""
    removed = []
    keep = set(dates)
    protected = {p.resolve() for p in inputs}
    for pattern in PER_DATE:
        folder, suffix = pattern.split("{date}")
        for f in sorted(aoi_dir.glob(f"{folder}*{suffix}")):
            date = f.name[: -len(suffix)]
            if f.is_file() and date not in keep and f.resolve() not in protected:
                f.unlink()
                removed.append(f)
                log.warning("removed %s: date %s is not in the stack (any more)", f, date)
    return removed


def kept_dates(report_path: str | Path) -> list[str]:
    """Dates kept by the co-registration check."""
    return list(json.loads(Path(report_path).read_text())["kept_dates"])


# The super-image ENL estimate against T x L (dates x looks) beyond which the log warns: the data are
# not what the configuration says. Amplitude declared as intensity gives 3.66 on 1-look speckle (1 / (4 / pi
# - 1); 3.35-3.8 measured) and towards 4 with more looks; real stacks of a few dates reach 2.5 (5 dates of
# the OPERA RTC-S1 stacks at their nominal 5 looks: the estimate, the larger of two, is high on few dates).
ENL_RATIO_RANGE = (0.3, 2.8)


def enl_warning(estimate: float, dates: int, looks: float) -> str | None:
    """A loud message when the super-image ENL estimate is far from ``dates x looks``, naming the likely cause."""
    expected = dates * looks
    ratio = estimate / expected
    if ratio > ENL_RATIO_RANGE[1]:
        return (
            f"the super-image ENL estimate {estimate:.1f} is {ratio:.1f} x T*L = {dates} dates x {looks:g} looks:"
            f" the dates are much smoother than {looks:g}-look speckle. Likely amplitude declared as intensity"
            " (set input_domain: amplitude), a 'looks' setting too low, or data already filtered or multi-looked"
        )
    if ratio < ENL_RATIO_RANGE[0]:
        return (
            f"the super-image ENL estimate {estimate:.1f} is only {ratio:.2f} x T*L = {dates} dates x {looks:g} looks:"
            f" the dates are much rougher than {looks:g}-look speckle averaged over {dates} dates. Likely intensity"
            " declared as amplitude (input_domain), a 'looks' setting too high, or dates that are not co-registered"
            " or differ strongly (radiometry, changes)"
        )
    return None


def super_image(
    files: Mapping[str, str | Path],
    report_path: str | Path,
    domain: str,
    band: int | None,
    looks: float,
    settings: Mapping[str, Any],
    out_image: str | Path,
    out_enl: str | Path,
) -> dict[str, Any]:
    """Temporal mean of the dates the co-registration report keeps for the mean (its ``mean_dates``:
    the kept dates less the radiometric outliers) strip by strip, and its ENL; writes the image and
    the ENL report (both or neither).

    A given ``enl`` does not need the estimate (which needs three fully valid ENL windows); with
    ``enl: auto`` a failed estimate is an :class:`InputError` naming the image and what to set."""
    from mtsar2sar.streaming import temporal_mean_file

    report = json.loads(Path(report_path).read_text())
    dates = list(report.get("mean_dates", report["kept_dates"]))
    excluded = [d for d in report["kept_dates"] if d not in dates]
    if excluded:
        log.warning("dates left out of the super-image mean (radiometric outliers, see %s): %s",
                    report_path, ", ".join(excluded))
    settings = with_defaults("super_image", settings)
    window = int(settings["enl_window"])
    res = temporal_mean_file([files[d] for d in dates], domain, band, out_image, window,
                             "temporal mean of the valid intensities",
                             {"dates": ",".join(dates), "units": PRODUCT_UNITS, "software": software_version()})
    try:
        expected = len(dates) * looks
        enl_setting = settings["enl"]
        temporal = res.temporal.super_image_enl()
        try:
            estimate = enl_from_log_variances(res.log_variances, window)
        except ValueError as exc:
            if enl_setting == "auto" and temporal is None:
                raise InputError(
                    f"{out_image}: cannot estimate the ENL of the super-image ({res.grid.height} x {res.grid.width} px,"
                    f" {len(dates)} dates): {exc}, and too few pixels have 3 valid dates for the temporal estimate;"
                    f" set super_image.enl (about {expected:g} = dates x looks for independent dates) or a"
                    f" smaller super_image.enl_window"
                ) from exc
            estimate = None
            log.info("no spatial ENL estimate (%s)", exc)
        # the larger of the spatial and the temporal estimate: both are only lowered by the scene (its
        # texture, its changes); see mtsar2sar.enl.TemporalLooks
        candidates = [e for e in (estimate.enl if estimate is not None else None, temporal) if e is not None]
        estimated = max(candidates) if candidates else None
        enl = float(estimated) if enl_setting == "auto" and estimated is not None else float(enl_setting)
        warning = enl_warning(estimated, len(dates), looks) if estimated is not None else None
        if enl_setting != "auto" and estimated is not None and not 1 / 3 <= enl / estimated <= 3:
            warning = ((warning + "; ") if warning else "") + (
                f"super_image.enl = {enl:g} is {enl / estimated:.2g} x the estimate {estimated:.1f} from the data: the"
                f" super-image filter will {'over' if enl < estimated else 'under'}-smooth it (set super_image.enl: auto)"
            )
        if warning:
            log.warning("%s: %s", out_image, warning)
        result = {
            "enl": enl,
            "source": "estimated" if enl_setting == "auto" else "config",
            "estimate": estimate.as_dict() if estimate is not None else None,
            "temporal_estimate": {"enl": temporal, "looks_per_date": res.temporal.looks(),
                                  "pixels": res.temporal.pixels} if temporal is not None else None,
            "dates": len(dates),
            "looks": looks,
            "dates_times_looks": expected,
            "estimate_over_dates_times_looks": estimated / expected if estimated is not None else None,
            "min_valid_dates": res.min_valid_dates,
            "excluded_from_mean": excluded,
            "warnings": [warning] if warning else [],
        }
        log.info("super-image ENL %.2f (%s); T*L = %.1f", enl, result["source"], expected)
        write_json(out_enl, result)
    except BaseException:
        Path(out_image).unlink(missing_ok=True)  # both products or neither
        raise
    return result


FILTER_STARTS = ("dct", "filter")  # super_image.filter_start: ADMM's start, the DCT denoiser's or the filter's own


def super_image_filter_settings(super_image: Mapping[str, Any], mulog: Mapping[str, Any]) -> dict[str, Any]:
    """The MuLoG settings of the super-image filter: the ``mulog`` section with ``admm_iterations`` from
    ``super_image.filter_iterations`` (default 3). The super-image's ENL is high (tens of looks), so its
    ADMM converges in fewer iterations than a single date's: 3 instead of 6 changed the end-to-end PSNR by
    -0.002 dB (demo_4look) and -0.013 dB (demo_1look), validation scenes, and halves the filter's time.
    With BM3D, its patch step there is ``super_image.filter_bm3d_step`` (default 4, BM3D's own 3): -0.018
    and -0.015 dB end to end on the same scenes, 1.7x faster (``benchmarks/super_image_filter.py``). The
    methods (MuLoG, RABASAR) keep BM3D's own profile. A super-image that is one MuLoG block runs BM3D by
    ``super_image.filter_bm3d_strips`` bands of rows (default 2) on the job's cores
    (:func:`mtsar2sar.superimage.super_image_denoiser`): the same PSNR to 0.001 dB on the validation scenes.
    ADMM starts from the DCT denoiser's estimate (``super_image.filter_start: dct``, BM3D's with
    ``filter``): the iterations correct it, the same PSNR to 0.002 dB, a quarter of the time saved.
    MuLoG's L is the ENL times ``super_image.filter_looks_factor`` (default 0.7,
    :func:`mtsar2sar.superimage.filter_looks`)."""
    st = mulog_computation_settings(mulog)
    full = with_defaults("super_image", super_image)
    st["admm_iterations"] = int(full["filter_iterations"])
    st["looks_factor"] = float(full["filter_looks_factor"])
    if st.get("denoiser", "bm3d") == "bm3d":
        st["bm3d_step"] = int(full["filter_bm3d_step"])
        st["bm3d_strips"] = int(full["filter_bm3d_strips"])
        start = full["filter_start"]
        if start not in FILTER_STARTS:
            raise InputError(f"super_image.filter_start: {start!r} is not one of {list(FILTER_STARTS)}")
        if start != "filter":
            st["start_denoiser"] = start
    return st


def mulog_computation_settings(mulog: Mapping[str, Any]) -> dict[str, Any]:
    """The ``mulog`` settings that change the numbers: all but ``block_jobs`` (how the blocks are
    scheduled), so that changing it reruns nothing."""
    return {k: v for k, v in mulog.items() if k != "block_jobs"}


def filter_super_image_step(
    in_image: str | Path, enl_path: str | Path, method: str, output: str | Path,
    mulog_settings: Mapping[str, Any] | None = None, blocks: Sequence[str | Path] = (),
) -> None:
    """Filter the super-image with ``method`` (L = its ENL x ``looks_factor``) and write it (by blocks), or,
    given ``blocks`` (the scatter/gather filter: :func:`filter_super_image_block_step`), assemble them."""
    from mtsar2sar.streaming import filter_file, gather_blocks_file
    from mtsar2sar.superimage import bm3d_strips, check_filter_size, filter_looks

    description = f"super-image filtered ({method})"
    enl = float(json.loads(Path(enl_path).read_text())["enl"])
    looks = filter_looks(enl, mulog_settings)
    st = with_defaults("mulog", mulog_settings)
    shape = read_grid(in_image).shape
    check_filter_size(in_image, *shape, method, mulog_settings)
    strips = bm3d_strips(st, *shape)
    factor = float(st.get("looks_factor", 1.0))
    how = method if method != "mulog" else (
        f"mulog (L = {'' if factor == 1 else f'{factor:g} x '}super_image_enl"
        + (f" raised to {looks:g} look" if looks != enl * factor else "") + f", {st['denoiser']}"
        + (f" step {st['bm3d_step']}" if "bm3d_step" in st else "") + (f" in {strips} strips" if strips > 1 else "")
        + f", {st['admm_iterations']} ADMM iterations"
        + (f" from a {st['start_denoiser']} start" if "start_denoiser" in st else "") + ")")
    tags = {"filter": how, "super_image_enl": repr(enl), "units": PRODUCT_UNITS, "software": software_version()}
    if blocks:
        gather_blocks_file(in_image, blocks, output, mulog_settings, description, tags)
        log.info("assembled the filtered super-image from %d MuLoG blocks", len(blocks))
        return
    t0 = time.perf_counter()
    filter_file(in_image, output, method, looks, mulog_settings, description, tags=tags)
    log.info("filtered the super-image with %r (L=%.2f) in %.1f s", method, looks, time.perf_counter() - t0)


def filter_super_image_block_step(
    in_image: str | Path, enl_path: str | Path, index: int, output: str | Path,
    mulog_settings: Mapping[str, Any] | None = None,
) -> None:
    """One MuLoG block of the super-image (a job of the scatter/gather filter), L = its ENL x ``looks_factor``."""
    from mtsar2sar.streaming import filter_block_file
    from mtsar2sar.superimage import check_filter_size, filter_looks

    check_filter_size(in_image, *read_grid(in_image).shape, "mulog", mulog_settings)
    enl = float(json.loads(Path(enl_path).read_text())["enl"])
    filter_block_file(in_image, index, filter_looks(enl, mulog_settings), mulog_settings, output)


def build_denoiser(settings: Mapping[str, Any], looks: float | None = None, progress: bool = True) -> NetworkDenoiser:
    """The SAR2SAR denoiser described by the ``network`` settings (``weights: auto`` picks by ``looks``;
    a key not given takes the schema's default)."""
    import torch

    from mtsar2sar.despeckle import NetworkDenoiser
    from mtsar2sar.network import load_network, select_device

    st = NetworkSettings.from_mapping(settings)
    torch.set_num_threads(st.threads)
    device = select_device(st.device)
    net = load_network(st.weights, st.base, looks).to(device)
    return NetworkDenoiser(net, level=st.level, tile=st.tile, overlap=st.overlap, batch=st.batch, device=device,
                           progress=progress, self_ensemble=st.self_ensemble, precision=st.precision)


def network_tags(st: NetworkSettings, looks: float | None) -> dict[str, str]:
    """The output tags of a product of the network: the weights actually used (``weights``: ``auto``
    resolved to the name it picks, ``weights_file`` the file loaded, its ``weights_sha256``,
    ``weights_setting`` as configured) and the settings that change the numbers (``network_settings``,
    ``settings_sha256``: :meth:`mtsar2sar.settings.NetworkSettings.tags`)."""
    from mtsar2sar.network import auto_weights, resolve_weights

    requested = st.weights
    name = auto_weights(looks) if requested == "auto" and looks is not None else requested
    path = resolve_weights(requested, st.base, looks)
    sha256 = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return {"weights": name, "weights_file": str(path), "weights_sha256": sha256, "weights_setting": requested,
            **st.tags()}


PRODUCT_UNITS = "linear intensity, in the input's units (squared for an amplitude or complex input)"


def software_version() -> str:
    """``mtsar2sar <version>``: the installed package's version (the source tree's when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"mtsar2sar {version('mtsar2sar')}"
    except PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return f"mtsar2sar {tomllib.loads(pyproject.read_text())['project']['version']}"


def source_tags(date_file: str | Path) -> dict[str, str]:
    """The input date's own dataset tags (acquisition date, polarization...), carried to its product."""
    with open_raster(date_file) as ds:
        return {str(k): str(v) for k, v in ds.tags().items()}


def super_image_tags(super_path: str | Path) -> dict[str, str]:
    """``super_image_enl``: the ENL of the super-image (its ENL report beside it), when there is one."""
    report = AoiFolder(Path(super_path).parent).super_image_enl
    try:
        enl = json.loads(report.read_text())["enl"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {"super_image_enl": repr(float(enl))} if enl is not None else {}


def despeckle(
    date_file: str | Path,
    domain: str,
    band: int | None,
    super_path: str | Path,
    settings: Mapping[str, Any],
    output: str | Path,
    looks: float | None = None,
    denoiser: NetworkDenoiser | None = None,
) -> None:
    """Despeckle one date by the ratio to the normalized filtered super-image and write it on the input
    grid, by bands of rows (bounded memory whatever the size). ``denoiser``: the one
    ``build_denoiser(settings, looks)`` gives, already built (the dates of a batch share one loaded
    network, with the same output bytes); built here when not given."""
    from mtsar2sar.streaming import despeckle_file

    grid, sgrid = read_grid(date_file), read_grid(super_path)
    diffs = sgrid.differences(grid)
    if diffs:
        raise InputError(f"{date_file}: not on the grid of the super-image {super_path}: {'; '.join(diffs)}")
    if denoiser is None:
        denoiser = build_denoiser(settings, looks)
    st = NetworkSettings.from_mapping(settings)
    t0 = time.perf_counter()
    lam, gain, k = despeckle_file(
        date_file, domain, band, super_path, denoiser, output, "despeckled intensity (ratio + SAR2SAR)",
        {**source_tags(date_file), **network_tags(st, looks), **super_image_tags(super_path),
         "looks": repr(looks), "source": str(date_file), "units": PRODUCT_UNITS, "software": software_version()},
        debias=st.debias,
    )
    mpx = grid.height * grid.width / 1e6
    seconds = time.perf_counter() - t0
    log.info("despeckled %s: lambda=%.6g, gain=%.6g, debiasing factor %.4f, %.2f Mpx in %.1f s (%.3f Mpx/s) on %s, %s",
             date_file, lam, gain, k, mpx, seconds, mpx / seconds, denoiser.device, denoiser.precision)


def quicklook(date_file: str | Path, domain: str, band: int | None, despeckled: str | Path, output: str | Path, title: str) -> None:
    """Noisy and despeckled side by side in dB (one display range)."""
    from mtsar2sar.quicklook import save_side_by_side

    w = read_intensity_decimated(date_file, domain, band)
    w_hat = read_intensity_decimated(despeckled, "intensity")
    save_side_by_side(output, {"noisy": w, "despeckled": w_hat}, title)


SHEET_DATES, SHEET_SIZE = 4, 256  # the AOI's quicklook sheet: dates, and pixels a side of each panel at most


def quicklook_sheet(date_files: Mapping[str, str | Path], domain: str, band: int | None,
                    despeckled: Mapping[str, str | Path], output: str | Path, title: str) -> None:
    """The AOI's quicklook sheet (the report's view): the dates of ``despeckled`` (the workflow gives
    ``SHEET_DATES`` evenly spaced ones), noisy and despeckled, one row each, averaged over k x k blocks
    to at most ``SHEET_SIZE`` pixels a side."""
    from mtsar2sar.quicklook import save_rows

    rows = {}
    for d in sorted(despeckled):
        rows[d] = {"noisy": read_intensity_decimated(date_files[d], domain, band, SHEET_SIZE),
                   "despeckled": read_intensity_decimated(despeckled[d], "intensity", None, SHEET_SIZE)}
    save_rows(output, rows, title, panel_inches=2.6)


def method_dates(dates: list[str], max_dates: int | None) -> list[str]:
    """Up to ``max_dates`` evenly spaced dates (all when ``None``)."""
    if not max_dates or max_dates >= len(dates):
        return list(dates)
    idx = np.unique(np.linspace(0, len(dates) - 1, max_dates).round().astype(int))
    return [dates[i] for i in idx]


def single_date_network(denoiser: Callable[[NDArray[np.float64]], NDArray[np.float64]],
                        w: NDArray[np.floating]) -> NDArray[np.float32]:
    """The network on one date alone (invalid pixels filled with the median, NaN again after)."""
    valid = np.isfinite(w) & (w > 0)
    filled = np.where(valid, w, np.nanmedian(np.where(valid, w, np.nan))).astype(np.float64)
    return np.where(valid, denoiser(filled), np.nan).astype(np.float32)


def run_method(
    method: str,
    date_file: str | Path,
    domain: str,
    band: int | None,
    looks: float,
    mean_path: str | Path,
    filtered_path: str | Path,
    mulog_settings: Mapping[str, Any],
    network_settings: Mapping[str, Any],
    output: str | Path,
    stack_files: list[str | Path] | None = None,
) -> None:
    """One method of the comparison on one date (see :mod:`mtsar2sar.methods`), on the input grid.
    ``stack_files``: every kept date of the AOI, in order (the Quegan filters use them all; they hold
    the stack in memory: a comparison method, not the workflow's product)."""
    from mtsar2sar import methods as m
    from mtsar2sar.denoisers import denoiser_of_settings
    from mtsar2sar.superimage import mulog_kwargs

    w, grid = read_intensity(date_file, domain, band)
    denoiser = denoiser_of_settings(mulog_settings)
    kw = mulog_kwargs(mulog_settings)
    t0 = time.perf_counter()
    extra: dict[str, str] = {}
    if method == "mean":
        out, _ = read_product(mean_path)
    elif method == "boxcar7":
        out = m.boxcar(w, 7)
    elif method == "mulog":
        out = m.run_mulog(w, looks, denoiser, **kw)
    elif method == "mulog_down2":
        out = m.run_mulog_down2(w, looks, denoiser, **kw)
    elif method == "sar2sar":
        out = single_date_network(build_denoiser(network_settings, looks), w)
    elif method in ("quegan", "quegan_sar2sar"):
        names = [str(f) for f in stack_files or []]
        if str(date_file) not in names:
            raise InputError(f"methods.run: {method} needs every date of the stack, including {date_file}")
        imgs = [read_intensity(f, domain, band)[0] for f in names]
        if method == "quegan":
            local = [m.boxcar(x, 7) for x in imgs]
        else:
            den = build_denoiser(network_settings, looks, progress=False)
            local = [single_date_network(den, x) for x in imgs]
        out = m.quegan(imgs, local, names.index(str(date_file)))
    elif method in ("rabasar", "rabasar_down2"):
        s, _ = read_product(filtered_path)
        looks_super = estimate_enl(s).enl
        extra["looks_super"] = repr(looks_super)
        fn = m.run_rabasar if method == "rabasar" else m.run_rabasar_down2
        out = fn(w, s, looks, looks_super, denoiser, **kw)
    else:
        raise InputError(f"methods.run: unknown method {method!r}; expected one of {list(m.METHODS)}")
    out = np.where(np.isfinite(w), out, np.nan)
    seconds = time.perf_counter() - t0
    log.info("%s on %s: %.2f Mpx in %.1f s (%.1f s/Mpx)", method, date_file, w.size / 1e6, seconds, seconds / (w.size / 1e6))
    if method in ("sar2sar", "quegan_sar2sar"):
        extra.update(network_tags(NetworkSettings.from_mapping(network_settings), looks))
    if method in ("mulog", "mulog_down2", "rabasar", "rabasar_down2"):
        used = {k: v for k, v in with_defaults("mulog", mulog_settings).items() if k != "block_jobs"}
        extra["mulog_settings"] = json.dumps(used, sort_keys=True)
    write_float32(output, out, grid, f"despeckled intensity ({method})",
                  {**source_tags(date_file), "method": method, "seconds": f"{seconds:.3f}", "source": str(date_file),
                   "looks": repr(looks), "units": PRODUCT_UNITS, "software": software_version(), **extra})


def rabasar_pre_estimator(
    super_image: NDArray[np.floating], domain: str, looks: float, denoiser: str
) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """RABASAR (MuLoG on the ratio to the filtered super-image, the ``methods`` rule's ``rabasar``)
    as the pre-estimator of ``compensated_mean`` targets, for images of the training ``domain``.

    Its estimates are independent of the network being trained and keep temporal changes (their
    PSNR on changed pixels is as high as on stable ones), which is what the compensation needs."""
    from mtsar2sar.denoisers import get_denoiser
    from mtsar2sar.despeckle import geometric_mean
    from mtsar2sar.methods import rabasar_ratio

    s_norm = np.asarray(super_image, dtype=np.float64)
    s_norm = s_norm / geometric_mean(s_norm)
    looks_super = estimate_enl(super_image).enl  # on the filtered super-image, as the methods rule
    den = get_denoiser(denoiser)

    def estimate(img: NDArray[np.float64]) -> NDArray[np.float64]:
        if domain == "ratio":
            return np.asarray(rabasar_ratio(img, looks, looks_super, den), dtype=np.float64)
        return np.asarray(rabasar_ratio(img / s_norm, looks, looks_super, den), dtype=np.float64) * s_norm

    return estimate


def train_model_settings(settings: Mapping[str, Any]) -> TrainingConfig:
    """The training config of a model's settings (its ``aois`` aside)."""
    from mtsar2sar.training import TrainingConfig

    return TrainingConfig.from_dict({k: v for k, v in settings.items() if k != "aois"})


@dataclass(frozen=True)
class TrainingArrays:
    """One AOI's training data in memory: its kept dates (intensity) and filtered super-image."""

    name: str
    dates: list[NDArray[np.floating]]
    super_image: NDArray[np.floating]
    looks: float


def training_stacks(
    aois: Iterable[TrainingArrays], cfg: TrainingConfig, base: str | Path = "."
) -> tuple[list[Stack], TrainingConfig]:
    """The training stacks of ``aois`` (pre-estimates of ``compensated_mean`` targets included), and the
    config with its patch reduced where an AOI is smaller than a patch."""
    from dataclasses import replace

    from mtsar2sar.training import prepare_stack

    network_pre: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None
    if cfg.targets == "compensated_mean":
        log.info("pre-estimates by %s", cfg.pre_estimator or cfg.init)
        if cfg.pre_estimator != "rabasar":  # a previous model, applied as at inference
            import torch

            from mtsar2sar.despeckle import NetworkDenoiser
            from mtsar2sar.network import load_network

            torch.set_num_threads(cfg.threads)
            network_pre = NetworkDenoiser(load_network(cfg.pre_estimator or cfg.init, base), level=cfg.level)
    stacks = []
    for a in aois:
        side = min(a.super_image.shape) // 32 * 32
        if side < cfg.patch:
            if side < 32:
                raise InputError(f"training: AOI {a.name!r} is {a.super_image.shape[0]} x {a.super_image.shape[1]} px, "
                                 "smaller than the network's smallest patch (32 x 32)")
            log.warning("training patches reduced from %d to %d px: AOI %s is %d x %d px", cfg.patch, side, a.name,
                        *a.super_image.shape)
            cfg = replace(cfg, patch=side)
        for domain in ("ratio", "image") if cfg.domain == "both" else (cfg.domain,):
            pre = network_pre
            if cfg.targets == "compensated_mean" and cfg.pre_estimator == "rabasar":
                pre = rabasar_pre_estimator(a.super_image, domain, a.looks, cfg.pre_denoiser)
            stacks.append(prepare_stack(f"{a.name}:{domain}", a.dates, a.super_image, cfg, domain, pre))
        log.info("prepared %s: %d dates (%d for validation)", a.name, len(a.dates), len(stacks[-1].val_dates))
    return stacks, cfg


def train_model(
    aois: Mapping[str, Mapping[str, Any]], settings: Mapping[str, Any], output: str | Path, workdir: str | Path,
    base: str | Path = ".",
) -> dict[str, Any]:
    """Train a network on the kept dates of ``aois`` (name -> files, domain, band, coregistration, super_image)."""
    from mtsar2sar.training import fmt_nll, train

    cfg = train_model_settings(settings)
    arrays = []
    for name, a in aois.items():
        dates = kept_dates(a["coregistration"])
        imgs = [read_intensity(a["files"][d], a["domain"], a.get("band"))[0] for d in dates]
        s, _ = read_product(a["super_image"])
        arrays.append(TrainingArrays(name, imgs, s, float(a.get("looks", cfg.looks))))
    stacks, cfg = training_stacks(arrays, cfg, base)
    summary = train(stacks, cfg, output, workdir, base)
    log.info("trained in %.0f s; validation NLL %s -> %s", summary["seconds"],
             fmt_nll(summary["initial_validation_nll"]), fmt_nll(summary["final_validation_nll"]))
    return summary
