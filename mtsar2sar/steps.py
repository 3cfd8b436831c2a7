"""One function per workflow step, called by the thin scripts of the Snakemake rules.

Each takes plain paths and settings, so it can be run and tested without Snakemake. The comparison
methods' step is :func:`mtsar2sar.comparison.run_method`, the training step
:func:`mtsar2sar.training.inputs.train_model`; what the products record is :mod:`mtsar2sar.provenance`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtsar2sar.config import NetworkSettings, with_defaults
from mtsar2sar.enl import enl_from_log_variances, enl_warning
from mtsar2sar.errors import InputError
from mtsar2sar.io import (
    default_mode,
    open_raster,
    read_grid,
    read_intensity_decimated,
    remove_stale_temporaries,
    write_json,
)
from mtsar2sar.layout import PER_DATE
from mtsar2sar.logs import log
from mtsar2sar.provenance import PRODUCT_UNITS, network_tags, software_version, source_tags, super_image_tags
from mtsar2sar.simulate import SimulationConfig, write_stack

if TYPE_CHECKING:
    from mtsar2sar.despeckle import NetworkDenoiser

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
    ``remove_stale`` is false: the check of the reference period of a monitored AOI). ``settings``: the
    ``coregistration`` section, and as ``date_sources`` where each date came from (:mod:`mtsar2sar.dates`;
    the workflow's params of an AOI of files), recorded as each date's ``date_source``."""
    from mtsar2sar.config import CoregistrationSettings
    from mtsar2sar.coregistration import check_stack

    date_sources = settings.get("date_sources") or {}
    checks = {k: v for k, v in settings.items() if k != "date_sources"}
    report = check_stack(
        {d: Path(f) for d, f in files.items()}, domain, band, **CoregistrationSettings.from_mapping(checks).as_kwargs()
    )
    for r in report["dates"]:
        shift = "(not measured)" if r["shift_px"] is None else "({:+.3f}, {:+.3f}) px".format(*r["shift_px"])
        log.info("%s shift=%s median=%.2f dB invalid=%.4f %s %s",
                 r["date"], shift, r["median_db"], r["invalid_fraction"], r["status"], "; ".join(r["reasons"]))
        if r["status"] == "dropped":  # on the console too: the run goes on with fewer dates than the user gave
            log.warning("%s: date %s dropped: %s", r["file"], r["date"], "; ".join(r["reasons"]))
        if date_sources:
            r["date_source"] = date_sources.get(r["date"])
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
                             {"dates": ",".join(dates), "units": PRODUCT_UNITS, "software": software_version()},
                             fallback=[files[d] for d in excluded])
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
        filtered = settings["filter"] != "none"  # with filter: none, the ENL given smooths nothing
        if filtered and enl_setting != "auto" and estimated is not None and not 1 / 3 <= enl / estimated <= 3:
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
    with open_raster(in_image) as ds:  # the dates averaged into it, as the unfiltered super-image says
        dates = ds.tags().get("dates")
    tags = {"filter": how, "super_image_enl": repr(enl), "units": PRODUCT_UNITS, "software": software_version()}
    if dates:
        tags["dates"] = dates
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
    from mtsar2sar.despeckle import build_denoiser
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


SHEET_SIZE = 256  # pixels a side of each panel of the AOI's quicklook sheet, at most


def quicklook_sheet(date_files: Mapping[str, str | Path], domain: str, band: int | None,
                    despeckled: Mapping[str, str | Path], output: str | Path, title: str) -> None:
    """The AOI's quicklook sheet (the report's view): the dates of ``despeckled`` (the workflow gives
    :data:`mtsar2sar.plan.SHEET_DATES` evenly spaced ones), noisy and despeckled, one row each, averaged over k x k blocks
    to at most ``SHEET_SIZE`` pixels a side."""
    from mtsar2sar.quicklook import save_rows

    rows = {}
    for d in sorted(despeckled):
        rows[d] = {"noisy": read_intensity_decimated(date_files[d], domain, band, SHEET_SIZE),
                   "despeckled": read_intensity_decimated(despeckled[d], "intensity", None, SHEET_SIZE)}
    save_rows(output, rows, title, panel_inches=2.6)


def quality(
    aoi: str, date_files: Mapping[str, str | Path], domain: str, band: int | None,
    despeckled: Mapping[str, str | Path], super_image: str | Path, enl_report: str | Path | None, looks: float,
    out_json: str | Path, out_sheet: str | Path, leave_out: str | Path | None = None,
) -> dict[str, Any]:
    """The AOI's quality without a truth (:mod:`mtsar2sar.quality`): every despeckled date scored by its
    ratio image and its changes since the date before, written as ``quality.json`` and the one-page sheet
    (:mod:`mtsar2sar.quality_sheet`); a date whose verdict is not ok is a warning on the console.
    ``leave_out``: the left-out-date check's report (:func:`quality_leave_out`), put into both when given."""
    from dataclasses import replace

    from mtsar2sar.quality import (
        OK,
        assess_files,
        date_departure_slope,
        pair_change_slope,
        temporal_looks_of,
        write_quality,
    )
    from mtsar2sar.quality_sheet import quality_sheet_files

    t0 = time.perf_counter()
    report = assess_files(aoi, date_files, domain, band, despeckled, super_image, looks,
                          temporal_looks=temporal_looks_of(enl_report), change_slope=pair_change_slope,
                          departure_slope=date_departure_slope)
    if leave_out is not None:
        report = replace(report, leave_out=json.loads(Path(leave_out).read_text()))
        log.info("%s: %s", aoi, report.leave_out["line"] if report.leave_out else "")
    write_quality(out_json, report)
    quality_sheet_files(out_sheet, report, date_files, domain, band, despeckled, super_image)
    for d in report.dates:
        if d.verdict.status != OK:
            log.warning("%s: quality of date %s: %s", despeckled[d.date], d.date, d.verdict.line)
    log.info("quality of %s: %s (%d dates in %.1f s)", aoi, report.line, len(report.dates), time.perf_counter() - t0)
    return report.to_dict()


def quality_leave_out(
    date_files: Mapping[str, str | Path], domain: str, band: int | None, enl_report: str | Path, looks: float,
    pairs: int, network: Mapping[str, Any], method: str, mulog_settings: Mapping[str, Any] | None, output: str | Path,
) -> dict[str, Any]:
    """The left-out-date check of the quality sheet (``outputs.quality_leave_out``, :mod:`mtsar2sar.leaveout`)
    on the kept dates ``date_files`` (in order), with the workflow's network settings and super-image filter
    (``method``, ``mulog_settings``: the filter_super_image rule's), written as JSON."""
    from mtsar2sar.despeckle import build_denoiser
    from mtsar2sar.leaveout import leave_out_files

    t0 = time.perf_counter()
    st = NetworkSettings.from_mapping(network)
    check = leave_out_files(date_files, domain, band, json.loads(Path(enl_report).read_text()), pairs,
                            build_denoiser(network, looks, progress=False), method, mulog_settings, st.debias)
    result = check.to_dict()  # no time in it: the same inputs give the same bytes (the rule's benchmark has it)
    write_json(output, result)
    log.info("%s (%.1f s)", check.line, time.perf_counter() - t0)
    return result


def quality_of_results(aoi_dir: str | Path, domain: str = "intensity", band: int | None = None,
                       looks: float | None = None, workdir: str | Path | None = None) -> dict[str, Any]:
    """:func:`quality` on a finished AOI folder (``results/{aoi}``): its kept dates' products, their inputs
    (the products' ``source`` tags, relative to ``workdir``: by default the folder above ``results/``), the
    filtered super-image and its ENL report; ``looks`` from the products' tags unless given. Writes
    ``quality.json`` and ``quality.png`` into the folder."""
    folder = Path(aoi_dir)
    report_path = folder / "coregistration.json"
    if not report_path.is_file():
        raise InputError(f"{folder}: no coregistration.json: not the results folder of an AOI (results/<aoi>)")
    kept = list(json.loads(report_path.read_text())["kept_dates"])
    despeckled = {d: folder / "despeckled" / f"{d}.tif" for d in kept}
    missing = [str(p) for p in despeckled.values() if not p.is_file()]
    if missing:
        raise InputError(f"{folder}: {len(missing)} kept date(s) not despeckled yet, e.g. {missing[0]}: finish the run first")
    base = Path(workdir) if workdir is not None else folder.resolve().parent.parent
    files: dict[str, str | Path] = {}
    for d, p in despeckled.items():
        with open_raster(p) as ds:
            tags = ds.tags()
        source = Path(tags.get("source", ""))
        files[d] = source if source.is_absolute() else base / source
        if looks is None and "looks" in tags:
            looks = float(tags["looks"])
    if looks is None:
        raise InputError(f"{folder}: the products record no looks; give them (--looks)")
    enl = folder / "super_image_enl.json"
    return quality(folder.name, files, domain, band, despeckled, folder / "super_image_filtered.tif",
                   enl if enl.is_file() else None, looks, folder / "quality.json", folder / "quality.png")
