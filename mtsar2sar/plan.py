"""The workflow's decisions, as pure functions of plain values: which files each AOI's jobs read and write,
the reference period (monitoring), the batches of dates despeckled by one job, the runtimes asked of a
cluster, and the settings each rule passes to its step.

``rules/common.smk`` holds thin wrappers from a job's wildcards to these functions; they take the
configuration's sections as Snakemake's validation leaves them (the schema's defaults filled in,
``mtsar2sar.config.with_defaults`` does the same without Snakemake), lists of date keys, and shapes.
A setting that cannot be used raises :class:`~mtsar2sar.errors.InputError` naming it.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtsar2sar.config import AoiSpec, TrainingConfig, with_defaults
from mtsar2sar.errors import InputError
from mtsar2sar.resources import PUBLISHED_WEIGHTS, existing_weights_file

RESULTS = "results"  # the results folder, relative to the working directory of the run

Shape = tuple[int, int]  # (height, width) of an AOI's grid


# --- the dates: kept by the co-registration check, the reference period, evenly spaced subsets ---


def kept_dates(report_path: str | Path) -> list[str]:
    """Dates kept by the co-registration check (its report, ``coregistration.json``)."""
    return list(json.loads(Path(report_path).read_text())["kept_dates"])


def method_dates(dates: Sequence[str], max_dates: int | None) -> list[str]:
    """Up to ``max_dates`` evenly spaced dates (all when ``None``)."""
    if not max_dates or max_dates >= len(dates):
        return list(dates)
    idx = np.unique(np.linspace(0, len(dates) - 1, max_dates).round().astype(int))
    return [dates[i] for i in idx]


SHEET_DATES = 4  # the dates of the AOI's quicklook sheet (evenly spaced among the kept dates)


def sheet_dates(kept: Sequence[str]) -> list[str]:
    """The dates of the AOI's quicklook sheet: :data:`SHEET_DATES` evenly spaced kept dates."""
    return method_dates(kept, SHEET_DATES)


def monitoring(super_image: Mapping[str, Any]) -> bool:
    """``super_image.reference_dates`` is set: the super-image is of a reference period, later dates are new."""
    return super_image.get("reference_dates") is not None


def reference_dates(dates: Sequence[str], setting: float | Sequence[str] | None, aoi: str = "") -> list[str]:
    """The dates of ``dates`` (chronological keys) in the reference period of ``super_image.reference_dates``:
    a number N (the first N dates) or [first, last] (date keys, inclusive to the day); all of them when
    unset. Fewer than 2 dates is an :class:`InputError` (the super-image needs 2)."""
    if setting is None:
        return list(dates)
    ref: int | Sequence[str] = int(setting) if isinstance(setting, float) else setting  # YAML's 3.0: an integer
    if isinstance(ref, int):
        out = list(dates)[:ref]
    else:
        first, last = (str(x) for x in ref)
        # inclusive to the day: 20240103T054500 is within [20240101, 20240103]
        out = [d for d in dates if first <= d and d[: len(last)] <= last]
    if len(out) < 2:
        raise InputError(
            f"{f'AOI {aoi!r}: ' if aoi else ''}super_image.reference_dates = {ref!r} selects {len(out)} of its dates"
            f" ({', '.join(dates)}); the super-image needs at least 2"
        )
    return out


def reference_report(aoi: str, super_image: Mapping[str, Any], results: str = RESULTS) -> str:
    """The co-registration report the super-image takes its dates from: of the reference period when
    monitoring (so that a new date changes none of the super-image's inputs), else of the whole stack."""
    name = "coregistration_reference.json" if monitoring(super_image) else "coregistration.json"
    return f"{results}/{aoi}/{name}"


# --- despeckling by batches of dates (network.dates_per_job) ---

# `dates_per_job: auto` puts up to this many megapixels of dates in one job (all the dates of a small scene;
# one date per job from 16 Mpx per date, where the network's time dwarfs the start-up and a cluster spreads them).
AUTO_BATCH_MPX = 16.0


def grid_shape(spec: AoiSpec, files: Mapping[str, str | Path]) -> Shape:
    """(height, width) of an AOI's grid: a simulated AOI's from its simulation settings (its files are made
    by the workflow: none may exist yet), an AOI of files from the header of its first date's file (an
    :class:`InputError` naming the file when it is no readable raster)."""
    if spec.simulate is not None:
        return spec.simulate.height, spec.simulate.width
    if not files:
        raise InputError(f"AOI {spec.name!r}: no date file")
    from mtsar2sar.io import read_grid

    return read_grid(next(iter(files.values()))).shape


def dates_per_job(setting: float | str | None, shape: Shape | Callable[[], Shape]) -> int:
    """Dates despeckled by one job (one loaded network): ``network.dates_per_job`` as given, or for
    ``auto`` (or unset: the key has no default, so that it stays out of the recorded network settings) as
    many dates as fit in :data:`AUTO_BATCH_MPX` megapixels, at least 1. ``shape`` (or a function giving
    it, called only for ``auto``) is the AOI's grid."""
    if setting is None or setting == "auto":
        h, w = shape() if callable(shape) else shape
        return max(1, int(AUTO_BATCH_MPX // max(h * w / 1e6, 1e-6)))
    if isinstance(setting, float) and setting.is_integer():  # YAML's 2.0: an integer to the schema
        setting = int(setting)
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise InputError(f"network.dates_per_job: {setting!r} is neither auto nor a number of dates >= 1")
    return setting


def despeckle_batches(kept: Sequence[str], reference: Collection[str] | None, n: int) -> dict[str, list[str]]:
    """First date -> dates of each despeckling batch (``kept``: the kept dates, chronological): the dates
    of the reference period (all when ``reference`` is None: no monitoring) in runs of ``n``, then one
    batch per later date, so that a new acquisition is one batch of one date and the batches of earlier
    dates keep their dates."""
    ref = set(kept) if reference is None else set(reference)
    head = [d for d in kept if d in ref]
    groups = [head[i : i + n] for i in range(0, len(head), n)] + [[d] for d in kept if d not in ref]
    return {g[0]: g for g in groups}


def batch_of(date: str, batches: Mapping[str, Sequence[str]], aoi: str) -> str:
    """The first date (the name) of the batch that despeckles ``date``."""
    for first, dates in batches.items():
        if date in dates:
            return first
    raise InputError(f"AOI {aoi!r}: date {date} is not a kept date (coregistration.json)")


def batch_members(batch: str, batches: Mapping[str, Sequence[str]], aoi: str) -> list[str]:
    """The dates of the batch named ``batch`` (its first date)."""
    if batch not in batches:
        raise InputError(f"AOI {aoi!r}: no despeckling batch starts at {batch}")
    return list(batches[batch])


def aoi_regex(names: Iterable[str]) -> str:
    """A wildcard constraint matching exactly these AOI names (nothing when there is none)."""
    return "|".join(re.escape(n) for n in names) or "(?!x)x"  # (?!x)x matches nothing


# --- runtimes, from figures measured on a 2-core CPU (benchmarks/memory_scaling.py, speed.py) ---

# Seconds per megapixel of each step on CPU (2 threads), before a margin of 3 (x the attempt).
SECONDS_PER_MPX = {
    "check_coregistration": 0.2,  # per date
    "super_image": 0.1,  # per date
    "mulog_bm3d": 300,  # the super-image filter, 3 ADMM iterations, BM3D step 4 (step 3: 500; 6 iterations: 950)
    "mulog_dct": 25,
    "despeckle": 25,
    "quicklook": 3,
}
BATCH_START_S = 10  # a batch job's start-up (the network's loading), in seconds


def megapixels(shape: Shape) -> float:
    """Megapixels of a grid of ``shape`` (height, width)."""
    h, w = shape
    return h * w / 1e6


def runtime_min(step: str, mpx: float, n: int = 1, attempt: int = 1, extra_s: float = 0.0) -> int:
    """Runtime in minutes for SLURM: the step's seconds per Mpx x ``mpx`` x ``n`` (dates) plus ``extra_s``,
    x 3 (a margin) x the attempt, at least 5."""
    s = SECONDS_PER_MPX[step] * mpx * n + extra_s
    return max(5, math.ceil(3 * s * attempt / 60))


def batch_runtime_min(mpx: float, n: int, attempt: int = 1) -> int:
    """Runtime of a despeckling batch of ``n`` dates of ``mpx`` megapixels each (and the network's loading)."""
    return runtime_min("despeckle", mpx, n, attempt, extra_s=BATCH_START_S)


def mulog_step(mulog: Mapping[str, Any]) -> str:
    """The runtime figure of MuLoG with ``mulog.denoiser``."""
    return f"mulog_{mulog['denoiser']}"


def mulog_block_runtime_min(shape: Shape, mulog: Mapping[str, Any], block: int, attempt: int = 1) -> int:
    """Runtime of one MuLoG block job of the super-image filter (its pixels with the halo)."""
    from mtsar2sar.superimage import mulog_layout

    blk = mulog_layout(*shape, mulog_computation_settings(mulog))[block]
    mpx = (blk.read_rows[1] - blk.read_rows[0]) * (blk.read_cols[1] - blk.read_cols[0]) / 1e6
    return runtime_min(mulog_step(mulog), mpx, attempt=attempt)


def network_gpus(network: Mapping[str, Any]) -> int:
    """The `gpu` resource of the rules that run the network (SLURM's --gpus)."""
    return 1 if network["device"] == "cuda" else 0


def training_gpus(model: Mapping[str, Any]) -> int:
    """The `gpu` resource of a training job: 1 when the model's ``device`` is cuda."""
    return 1 if model.get("device", TrainingConfig.device) == "cuda" else 0


# --- the settings each step takes ---


def mulog_computation_settings(mulog: Mapping[str, Any]) -> dict[str, Any]:
    """The ``mulog`` settings that change the numbers: all but ``block_jobs`` (how the blocks are
    scheduled), so that changing it reruns nothing."""
    return {k: v for k, v in mulog.items() if k != "block_jobs"}


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


def super_image_mulog_settings(super_image: Mapping[str, Any], mulog: Mapping[str, Any]) -> dict[str, Any]:
    """The MuLoG settings of the super-image filter; none with ``super_image.filter: none``, so that they
    rerun nothing there."""
    if super_image["filter"] != "mulog":
        return {}
    return super_image_filter_settings(super_image, mulog)


def super_image_mean_settings(super_image: Mapping[str, Any]) -> dict[str, Any]:
    """The ``super_image`` settings of the mean and its ENL (not the filter's: changing those reruns the
    filter only)."""
    return {k: super_image[k] for k in ("enl", "enl_window") if k in super_image}


def mulog_block_files(
    aoi: str, super_image: Mapping[str, Any], mulog: Mapping[str, Any], shape: Shape | Callable[[], Shape],
    results: str = RESULTS,
) -> list[str]:
    """The MuLoG blocks of the super-image filter, as jobs of their own (``mulog.block_jobs``: true, or auto
    and more than one block), else none (the filter in one job). ``shape``: the AOI's grid (or a function
    giving it, called only when the blocks may be jobs)."""
    from mtsar2sar.superimage import mulog_layout

    jobs = mulog["block_jobs"]
    if super_image["filter"] != "mulog" or jobs is False:
        return []
    n = len(mulog_layout(*(shape() if callable(shape) else shape), mulog_computation_settings(mulog)))
    if jobs == "auto" and n == 1:
        return []
    return [f"{results}/{aoi}/.super_image_blocks/{i}.npy" for i in range(n)]


def uses_aoi_model(network: Mapping[str, Any]) -> bool:
    """``network.weights: aoi``: the AOI's own network, fine-tuned on its dates (rule train_aoi)."""
    return network["weights"] == "aoi"


def network_settings(network: Mapping[str, Any], aoi_model: str | Path) -> dict[str, Any]:
    """The ``network`` settings of a date of an AOI: ``weights: aoi`` becomes ``aoi_model`` (the AOI's own
    model file, absolute); ``base``: a relative weights path is from the working directory."""
    settings = {**network, "base": "."}
    if uses_aoi_model(network):
        settings["weights"] = str(Path(aoi_model).resolve())
    return settings


def single_date_network_settings(network: Mapping[str, Any], aoi_model: str | Path) -> dict[str, Any]:
    """The network settings of the single-date methods (sar2sar, quegan_sar2sar): the AOI's own model is
    trained on ratios, so they keep the weights ``auto`` picks."""
    settings = network_settings(network, aoi_model)
    if uses_aoi_model(network):
        settings["weights"] = "auto"
    return settings


def despeckle_network_settings(network: Mapping[str, Any], aoi_model: str | Path) -> dict[str, Any]:
    """:func:`network_settings` less ``dates_per_job``: how the dates are grouped into jobs changes no output."""
    return {k: v for k, v in network_settings(network, aoi_model).items() if k != "dates_per_job"}


# --- what the targets and the rules read and write ---


def despeckled(aoi: str, dates: Iterable[str], results: str = RESULTS) -> dict[str, str]:
    """Date -> despeckled product of the AOI."""
    return {d: f"{results}/{aoi}/despeckled/{d}.tif" for d in dates}


def aoi_outputs(aoi: str, kept: Sequence[str], quicklooks: bool, results: str = RESULTS) -> list[str]:
    """The AOI's products: every kept date despeckled, and its quicklook (``outputs.quicklooks``)."""
    out = list(despeckled(aoi, kept, results).values())
    if quicklooks:
        out += [f"{results}/{aoi}/quicklooks/{d}.jpg" for d in kept]
    return out


def all_outputs(aois: Iterable[str], quicklooks: bool, results: str = RESULTS, quality: bool = False) -> list[str]:
    """The default target: every AOI despeckled, its STAC collection, its quicklook sheet (``outputs.quicklooks``)
    and its quality report and sheet (``outputs.quality``)."""
    targets = ["despeckled.done", "stac/collection.json", *(["quicklooks.jpg"] if quicklooks else []),
               *(["quality.json", "quality.png"] if quality else [])]
    return [f"{results}/{name}/{target}" for name in aois for target in targets]


def stale_quicklooks(quicklooks: bool, kept: Sequence[str]) -> list[str]:
    """With ``outputs.quicklooks`` off, the quicklooks an earlier run may have made ({date}.jpg of the AOI's
    dates, and the sheet): rule aoi_done removes those that exist when it runs (the products changed), so
    that no quicklook is older than its product. Other files under quicklooks/ are never touched. The list
    depends on the settings and dates only, not on what exists: a param that stays the same. The names are
    relative to the AOI's folder (short: one shell argument holds them for ~6,000 dates)."""
    if quicklooks:
        return []
    return [f"quicklooks/{d}.jpg" for d in kept] + ["quicklooks.jpg"]


def methods_run(methods: Mapping[str, Any]) -> list[str]:
    """The methods of the comparison: ``methods.run``, every method when unset."""
    from mtsar2sar.methods import METHODS

    return list(methods.get("run", list(METHODS)))


def evaluation_methods(
    aoi: str, kept: Sequence[str], methods: Mapping[str, Any], results: str = RESULTS
) -> dict[str, dict[str, str]]:
    """Method -> date -> product of the comparison of one AOI (``methods.max_dates`` evenly spaced dates)."""
    dates = method_dates(kept, methods.get("max_dates"))
    return {m: {d: f"{results}/{aoi}/methods/{m}/{d}.tif" for d in dates} for m in methods_run(methods)}


def method_products(methods: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The files of :func:`evaluation_methods`, in a list."""
    return [f for products in methods.values() for f in products.values()]


def method_outputs(
    aois: Iterable[str], kept: Callable[[str], Sequence[str]], methods: Mapping[str, Any], results: str = RESULTS
) -> list[str]:
    """The comparison's products of every AOI (``kept(aoi)``: its kept dates)."""
    return [f for name in aois for f in method_products(evaluation_methods(name, kept(name), methods, results))]


def without_braces(files: Mapping[str, str]) -> dict[str, str]:
    """The files, none with a brace in its path: Snakemake reads {name} in an input as a wildcard."""
    for f in files.values():
        if "{" in f or "}" in f:
            raise InputError(
                f"{f}: a brace in the path of an input; Snakemake reads {{...}} as a wildcard: rename the"
                " file or its folder"
            )
    return dict(files)


def aoi_dates(
    spec: AoiSpec, reference: float | Sequence[str] | None = None, results: str = RESULTS, base: str | Path = ".",
    grids: bool = True,
) -> tuple[AoiSpec, dict[str, str], dict[str, str]]:
    """An AOI's dates as the workflow finds them when it is read, before any job: the AOI with what its
    layout says of its files (:meth:`AoiSpec.resolved`), date key -> file (no brace in a path) and date
    key -> where each date came from (:mod:`mtsar2sar.dates`; none for a simulated AOI). Checks what needs
    no job: the truth files, the reference period, and from the files' headers and tags only, every date's
    grid and polarization (``grids``: the co-registration check's first step,
    :func:`mtsar2sar.coregistration.check_grids`, about 2 ms a date), else the header of the first date: at
    least 2 dates, and the band's data type fits ``input_domain`` (complex data declared as intensity, real
    data declared as complex). An :class:`InputError` names the AOI, the file and the problem: under plain
    ``snakemake`` too, a stack on two grids or of two polarizations stops the run when the workflow is read,
    not in its first job."""
    try:
        found = spec.find_dates(results, base)
        files = without_braces({d: str(f) for d, f in found.files.items()})
        if len(files) < 2:
            only = ", ".join(files.values()) or "none"
            raise InputError(f"multi-temporal despeckling needs at least 2 dates; found {len(files)} ({only})")
        spec = spec.resolved(found.files)
        without_braces({d: str(f) for d, f in spec.truth_files(results, base).items()})
        reference_dates(list(files), reference)
        if not spec.simulated:
            root = Path(base)
            located = {d: f if Path(f).is_absolute() else str(root / f) for d, f in files.items()}
            grid_shape(spec, located)
            from mtsar2sar.coregistration import check_domain, check_grids

            # the data type of the band against input_domain (complex data declared as intensity...)
            checked = located.items() if grids else list(located.items())[:1]
            check_domain({d: Path(f) for d, f in checked}, spec.read_domain(), spec.band)
            if grids:
                check_grids({d: Path(f) for d, f in located.items()})
    except InputError as exc:
        raise InputError(f"AOI {spec.name!r}: {exc}") from None
    return spec, files, dict(found.sources)


# --- training ---


def training_model(training: Mapping[str, Any] | None, model: str) -> dict[str, Any]:
    """The settings of the model ``model`` of ``training.models``."""
    models = (training or {}).get("models", {})
    if model not in models:
        raise InputError(f"training.models: no model named {model!r} (have: {', '.join(models) or 'none'})")
    return dict(models[model])


def weights_file(init: str) -> list[str]:
    """The weights a training starts from, when a file (e.g. a model this workflow trains): an input."""
    return [init] if init.endswith(".pt") else []


def training_inputs(
    model: str, settings: Mapping[str, Any], aois: Collection[str], stack_inputs: Callable[[str], list[str]],
    results: str = RESULTS,
) -> list[str]:
    """The files the training of ``model`` depends on: the weights it starts from when a file (e.g. one
    trained by this workflow), and of each of its AOIs the stack (``stack_inputs(aoi)``), the
    co-registration report and the filtered super-image."""
    out = weights_file(str(settings.get("init", "")))
    for name in settings["aois"]:
        if name not in aois:
            raise InputError(f"training.models.{model}.aois: {name!r} is not an AOI of the config")
        out += stack_inputs(name) + [f"{results}/{name}/coregistration.json", f"{results}/{name}/super_image_filtered.tif"]
    return out


def training_entry(
    spec: AoiSpec, files: Mapping[str, str], results: str = RESULTS, report: str | None = None
) -> dict[str, Any]:
    """What training needs of one AOI: its files (date -> file) and the products of its first steps
    (``report``: the co-registration report, the whole stack's by default)."""
    return {
        "files": dict(files),
        "domain": spec.read_domain(),
        "band": spec.band,
        "looks": spec.looks,
        "coregistration": report or f"{results}/{spec.name}/coregistration.json",
        "super_image": f"{results}/{spec.name}/super_image_filtered.tif",
    }


def aoi_model_training(training: Mapping[str, Any] | None, looks: float) -> dict[str, Any]:
    """The training settings of an AOI's own network (``training.aoi_model`` over the defaults,
    :func:`mtsar2sar.config.aoi_model_settings`) for an AOI of ``looks`` looks."""
    from mtsar2sar.config import aoi_model_settings

    return aoi_model_settings(dict((training or {}).get("aoi_model", {})), looks)


def changed_file(spec: AoiSpec, results: str = RESULTS) -> str | None:
    """The map of the simulated changes of a simulated AOI (its evaluation's), else None."""
    return str(spec.simulated_dir(results) / "changed.tif") if spec.simulated else None


def check_aoi_model_init(network: Mapping[str, Any], training: Mapping[str, Any] | None, results: str = RESULTS) -> None:
    """With ``network.weights: aoi``, a ``training.aoi_model.init`` weights file must exist (or be a model
    this workflow trains): a missing file among the AOI model's inputs made Snakemake keep the earlier
    products silently."""
    init = str((training or {}).get("aoi_model", {}).get("init", ""))
    if (uses_aoi_model(network) and init.endswith(".pt") and not init.startswith(f"{results}/models/")
            and not os.path.exists(init)):
        raise InputError(
            f"training.aoi_model.init: {init}: no such file (nor a model this workflow trains,"
            f" {results}/models/<name>.pt)"
        )




def check_network_weights(network: Mapping[str, Any], results: str = RESULTS, base: str | Path = ".") -> None:
    """``network.weights`` is ``auto``, ``aoi``, a published name, an existing file (relative: to ``base``, the
    working directory) or a model this workflow trains (``results/models/<name>.pt``): else the one-line
    error of the despeckling jobs, before any job."""
    weights = str(network.get("weights", "auto"))
    if weights in ("auto", "aoi", *PUBLISHED_WEIGHTS) or weights.startswith(f"{results}/models/"):
        return
    existing_weights_file(weights, base)


def check_results_folders(aois: Iterable[str], results: str = RESULTS) -> None:
    """The results folder and each AOI's are folders where they exist (a file there: a named error, not a
    traceback of the first job that writes there)."""
    for path in [results, *(f"{results}/{name}" for name in aois)]:
        if os.path.exists(path) and not os.path.isdir(path):
            raise InputError(f"{path}: a file where the workflow keeps a folder of results; move it away")


@functools.cache
def dry_run_note(aoi: str) -> None:
    """Said once per AOI: what a dry run before the co-registration check plans for."""
    print(f"mtsar2sar: dry run: AOI {aoi!r} has no co-registration report yet; the plan below assumes that the"
          " check keeps every date", file=sys.stderr)


def with_date_sources(coregistration: Mapping[str, Any], sources: Mapping[str, str]) -> Mapping[str, Any]:
    """The ``coregistration`` settings of the check, with where each date came from (an AOI of files; the
    section as it is for a simulated AOI, so that its recorded params stay the same)."""
    return {**coregistration, "date_sources": dict(sources)} if sources else coregistration
