# Configuration helpers and input functions shared by the rules. Logic lives in the package.
import functools
import math
import os
from pathlib import Path
from types import SimpleNamespace

from mtsar2sar.config import AoiSpec
from mtsar2sar.methods import METHODS
from mtsar2sar.errors import InputError

RESULTS = "results"

AOIS = {name: AoiSpec.from_config(name, spec) for name, spec in config["aois"].items()}
_aoi_init = str(config.get("training", {}).get("aoi_model", {}).get("init", ""))
if (
    config.get("network", {}).get("weights") == "aoi"
    and _aoi_init.endswith(".pt")
    and not _aoi_init.startswith(f"{RESULTS}/models/")
    and not os.path.exists(_aoi_init)
):
    # checked here: a missing file in the AOI model's inputs made Snakemake keep the earlier products silently
    raise WorkflowError(
        f"training.aoi_model.init: {_aoi_init}: no such file (nor a model this workflow trains,"
        f" {RESULTS}/models/<name>.pt)"
    )
for _path in [RESULTS, *(f"{RESULTS}/{name}" for name in AOIS)]:
    if os.path.exists(_path) and not os.path.isdir(_path):
        raise WorkflowError(
            f"{_path}: a file where the workflow keeps a folder of results; move it away"
        )


wildcard_constraints:
    aoi="|".join(AOIS),
    date=r"[^/]+",


def aoi(wildcards):
    return AOIS[wildcards.aoi]


def without_braces(files):
    """The files, none with a brace in its path: Snakemake reads {name} in an input as a wildcard."""
    for f in files.values():
        if "{" in f or "}" in f:
            raise InputError(
                f"{f}: a brace in the path of an input; Snakemake reads {{...}} as a wildcard: rename the"
                " file or its folder"
            )
    return files


@functools.cache
def _date_files(aoi_name):
    """Found once per run: the input functions of every date and batch ask for them."""
    try:
        return without_braces(
            {d: str(f) for d, f in AOIS[aoi_name].date_files(RESULTS).items()}
        )
    except InputError as exc:
        raise WorkflowError(f"AOI {aoi_name!r}: {exc}") from None


def date_files(wildcards):
    """Date key -> file of every date of the AOI; user errors (empty glob, ...) stop the run here."""
    return dict(_date_files(wildcards.aoi))


def stack_inputs(wildcards):
    """The files a step over the whole stack depends on (the simulated folder for demo AOIs)."""
    spec = aoi(wildcards)
    if spec.simulated:
        return [str(spec.simulated_dir(RESULTS))]
    return list(date_files(wildcards).values())


def date_input(wildcards):
    """The file of one date (the simulated folder for demo AOIs)."""
    spec = aoi(wildcards)
    if spec.simulated:
        return str(spec.simulated_dir(RESULTS))
    return date_files(wildcards)[wildcards.date]


def date_file(wildcards):
    return date_files(wildcards)[wildcards.date]


@functools.cache
def dry_run_note(aoi_name):
    """Said once per AOI: what a dry run before the co-registration check plans for."""
    import sys

    print(
        f"mtsar2sar: dry run: AOI {aoi_name!r} has no co-registration report yet; the plan below assumes"
        " that the check keeps every date",
        file=sys.stderr,
    )


def kept_dates(aoi_name):
    """Dates kept by the co-registration check (a checkpoint: known once it has run). A dry run before
    the check has run plans for every date of the AOI (the check may still drop some), so that it lists
    the work instead of the check alone."""
    import json

    report_path = f"{RESULTS}/{aoi_name}/coregistration.json"
    # the AOI's inputs as the config finds them now (a glob, date keys that collide...): checked on every
    # run, also when an earlier run's report and products would let Snakemake skip the check
    files = date_files(SimpleNamespace(aoi=aoi_name))
    if workflow.dryrun and not os.path.exists(report_path):
        dry_run_note(aoi_name)
        return list(files)
    path = checkpoints.check_coregistration.get(aoi=aoi_name).output[0]
    with open(path) as f:
        return json.load(f)["kept_dates"]


def quicklooks_on():
    """outputs.quicklooks: the per-date quicklooks and the sheet are made."""
    return config.get("outputs", {}).get("quicklooks", True)


def aoi_outputs(wildcards):
    dates = kept_dates(wildcards.aoi)
    out = expand(f"{RESULTS}/{wildcards.aoi}/despeckled/{{date}}.tif", date=dates)
    if quicklooks_on():
        out += expand(f"{RESULTS}/{wildcards.aoi}/quicklooks/{{date}}.jpg", date=dates)
    return out


def stale_quicklooks(wildcards):
    """With outputs.quicklooks off, the quicklooks an earlier run may have made ({date}.jpg of the AOI's
    dates, and the sheet); aoi_done removes those that exist when it runs (the products changed), so
    that no quicklook is older than its product. Other files under quicklooks/ are never touched. The
    list depends on the settings and dates only, not on what exists: a param that stays the same. The
    names are relative to the AOI's folder (short: one shell argument holds them for ~6,000 dates).
    """
    if quicklooks_on():
        return []
    return [f"quicklooks/{d}.jpg" for d in kept_dates(wildcards.aoi)] + [
        "quicklooks.jpg"
    ]


def all_outputs(wildcards):
    targets = ["despeckled.done", "stac/collection.json"]
    if quicklooks_on():
        targets.append("quicklooks.jpg")
    return [f"{RESULTS}/{name}/{target}" for name in AOIS for target in targets]


def sheet_dates(wildcards):
    """The dates of the AOI's quicklook sheet: a few, evenly spaced among the kept ones."""
    from mtsar2sar.workflow import SHEET_DATES, method_dates

    return method_dates(kept_dates(wildcards.aoi), SHEET_DATES)


def sheet_date_files(wildcards):
    files = date_files(wildcards)
    return {d: files[d] for d in sheet_dates(wildcards)}


def sheet_inputs(wildcards):
    spec = aoi(wildcards)
    dates = sheet_dates(wildcards)
    inputs = (
        [str(spec.simulated_dir(RESULTS))]
        if spec.simulated
        else [date_files(wildcards)[d] for d in dates]
    )
    return inputs + [f"{RESULTS}/{wildcards.aoi}/despeckled/{d}.tif" for d in dates]


def method_outputs(wildcards):
    from mtsar2sar.workflow import method_dates

    settings = config.get("methods", {})
    out = []
    for name in AOIS:
        dates = method_dates(kept_dates(name), settings.get("max_dates"))
        for m in settings.get("run", list(METHODS)):
            out += expand(f"{RESULTS}/{name}/methods/{m}/{{date}}.tif", date=dates)
    return out


def training_settings(wildcards):
    models = config.get("training", {}).get("models", {})
    if wildcards.model not in models:
        raise WorkflowError(
            f"training.models: no model named {wildcards.model!r} (have: {', '.join(models) or 'none'})"
        )
    return models[wildcards.model]


def training_inputs(wildcards):
    settings = training_settings(wildcards)
    # weights trained by this workflow (results/models/*.pt) that this model starts from
    out = [settings["init"]] if str(settings.get("init", "")).endswith(".pt") else []
    for name in settings["aois"]:
        if name not in AOIS:
            raise WorkflowError(
                f"training.models.{wildcards.model}.aois: {name!r} is not an AOI of the config"
            )
        w = SimpleNamespace(aoi=name)
        out += stack_inputs(w)
        out += [
            f"{RESULTS}/{name}/coregistration.json",
            f"{RESULTS}/{name}/super_image_filtered.tif",
        ]
    return out


def training_entry(name):
    """What training needs of one AOI: its files and the products of its first steps."""
    w = SimpleNamespace(aoi=name)
    return {
        "files": date_files(w),
        "domain": AOIS[name].read_domain(),
        "band": AOIS[name].band,
        "looks": AOIS[name].looks,
        "coregistration": f"{RESULTS}/{name}/coregistration.json",
        "super_image": f"{RESULTS}/{name}/super_image_filtered.tif",
    }


def training_aois(wildcards):
    return {name: training_entry(name) for name in training_settings(wildcards)["aois"]}


# --- the AOI's own network (network.weights: aoi): fine-tuned on its dates, no truth ---
def aoi_model_path(name):
    return f"{RESULTS}/{name}/model.pt"


def aoi_model_settings(wildcards):
    from mtsar2sar.training import aoi_model_settings as settings

    return settings(
        config.get("training", {}).get("aoi_model", {}), aoi(wildcards).looks
    )


def aoi_model_entry(wildcards):
    """What the AOI's own network is trained on: the dates of the super-image (when monitoring, the
    reference period only, so that a new date neither retrains it nor reruns the earlier dates).
    """
    return {
        **training_entry(wildcards.aoi),
        "files": super_image_date_files(wildcards),
        "coregistration": super_image_report(wildcards),
    }


def aoi_model_inputs(wildcards):
    init = aoi_model_settings(wildcards)["init"]
    return (
        ([init] if init.endswith(".pt") else [])
        + super_image_stack_inputs(wildcards)
        + [
            super_image_report(wildcards),
            f"{RESULTS}/{wildcards.aoi}/super_image_filtered.tif",
        ]
    )


def uses_aoi_model():
    return config.get("network", {}).get("weights", "auto") == "aoi"


def network_model_input(wildcards):
    """The AOI's own weights when `network.weights: aoi` (a job of rule train_aoi), else nothing."""
    return [aoi_model_path(wildcards.aoi)] if uses_aoi_model() else []


def network_settings(wildcards):
    """The `network` settings of a date of this AOI: `weights: aoi` becomes the AOI's own model."""
    settings = {
        **config.get("network", {}),
        "base": ".",
    }  # a relative weights path: from the working directory
    if uses_aoi_model():
        settings["weights"] = str(Path(aoi_model_path(wildcards.aoi)).resolve())
    return settings


def single_date_network_settings(wildcards):
    """The network settings of the single-date methods (sar2sar, quegan_sar2sar): the AOI's own model
    is trained on ratios, so they keep the weights `auto` picks."""
    settings = network_settings(wildcards)
    if uses_aoi_model():
        settings["weights"] = "auto"
    return settings


def evaluation_methods(wildcards):
    from mtsar2sar.workflow import method_dates

    settings = config.get("methods", {})
    dates = method_dates(kept_dates(wildcards.aoi), settings.get("max_dates"))
    return {
        m: {d: f"{RESULTS}/{wildcards.aoi}/methods/{m}/{d}.tif" for d in dates}
        for m in settings.get("run", list(METHODS))
    }


def evaluation_inputs(wildcards):
    out = [f for m in evaluation_methods(wildcards).values() for f in m.values()]
    return (
        out
        + stack_inputs(wildcards)
        + [f"{RESULTS}/{wildcards.aoi}/super_image_filtered.tif"]
    )


def truth_files(wildcards):
    try:
        return (
            without_braces(
                {d: str(f) for d, f in aoi(wildcards).truth_files(RESULTS).items()}
            )
            or None
        )
    except InputError as exc:
        raise WorkflowError(f"AOI {wildcards.aoi!r}: truth: {exc}") from None


# --- resources, from figures measured on a 2-core CPU (benchmarks/memory_scaling.py, speed.py) ---
# Seconds per megapixel of each step on CPU (2 threads), before a margin of 3 (x the attempt).
SECONDS_PER_MPX = {
    "check_coregistration": 0.2,  # per date
    "super_image": 0.1,  # per date
    "mulog_bm3d": 300,  # the super-image filter, 3 ADMM iterations, BM3D step 4 (step 3: 500; 6 iterations: 950)
    "mulog_dct": 25,
    "despeckle": 25,
    "quicklook": 3,
}


@functools.cache
def aoi_shape(name):
    """(height, width) of an AOI's grid, read once per run (a header read for a real stack), although
    the input functions of every resource and block job ask for it."""
    return AOIS[name].shape(RESULTS)


def megapixels(wildcards):
    h, w = aoi_shape(wildcards.aoi)
    return h * w / 1e6


def runtime_min(step, per_date=False):
    """Runtime in minutes for SLURM: measured seconds per Mpx x size x 3 (x attempt), at least 5."""

    def f(wildcards, attempt):
        n = len(date_files(wildcards)) if per_date else 1
        s = SECONDS_PER_MPX[step] * megapixels(wildcards) * n
        return max(5, math.ceil(3 * s * attempt / 60))

    return f


def mulog_step():
    denoiser = config.get("mulog", {}).get("denoiser", "bm3d")
    return f"mulog_{denoiser}"


def mulog_settings():
    """The `mulog` settings of the computation (block_jobs, how blocks are scheduled, is not one)."""
    from mtsar2sar.workflow import mulog_computation_settings

    return mulog_computation_settings(config.get("mulog", {}))


def super_image_mean_settings():
    """The `super_image` settings of the mean and its ENL (not the filter's: changing those reruns the
    filter only)."""
    st = config.get("super_image", {})
    return {k: st[k] for k in ("enl", "enl_window") if k in st}


def super_image_filter_method():
    """super_image.filter: mulog (the default) or none."""
    return config.get("super_image", {}).get("filter", "mulog")


def super_image_mulog_settings():
    """The MuLoG settings of the super-image filter (super_image.filter_iterations, filter_bm3d_step,
    filter_start); none with super_image.filter: none, so that they rerun nothing there.
    """
    from mtsar2sar.workflow import super_image_filter_settings

    if super_image_filter_method() != "mulog":
        return {}
    return super_image_filter_settings(
        config.get("super_image", {}), config.get("mulog", {})
    )


def mulog_block_files(wildcards):
    """The MuLoG blocks of the AOI's super-image as jobs of their own (mulog.block_jobs: true, or auto
    and more than one block), else none: filter_super_image then filters in one job."""
    from mtsar2sar.superimage import mulog_layout

    settings = config.get("mulog", {})
    jobs = settings.get("block_jobs", "auto")
    if super_image_filter_method() != "mulog" or jobs is False:
        return []
    n = len(mulog_layout(*aoi_shape(wildcards.aoi), mulog_settings()))
    if jobs == "auto" and n == 1:
        return []
    return [f"{RESULTS}/{wildcards.aoi}/.super_image_blocks/{i}.npy" for i in range(n)]


def mulog_block_runtime_min(wildcards, attempt):
    """Runtime of one MuLoG block job (its pixels with the halo, at the filter's seconds per Mpx)."""
    from mtsar2sar.superimage import mulog_layout

    blk = mulog_layout(*aoi_shape(wildcards.aoi), mulog_settings())[
        int(wildcards.block)
    ]
    mpx = (
        (blk.read_rows[1] - blk.read_rows[0])
        * (blk.read_cols[1] - blk.read_cols[0])
        / 1e6
    )
    return max(5, math.ceil(3 * SECONDS_PER_MPX[mulog_step()] * mpx * attempt / 60))


def network_gpus():
    """The `gpu` resource of the rules that run the network (SLURM's --gpus)."""
    return 1 if config.get("network", {}).get("device", "auto") == "cuda" else 0


def training_gpus(wildcards):
    """The `gpu` resource of a training job: 1 when the model's `device` is cuda (its default: cpu)."""
    return 1 if training_settings(wildcards).get("device", "cpu") == "cuda" else 0


# --- despeckling by batches of dates (network.dates_per_job) and monitoring (super_image.reference_dates) ---
# `dates_per_job: auto` puts up to this many megapixels of dates in one job (all the dates of a small scene;
# one date per job from 16 Mpx per date, where the network's time dwarfs the start-up and a cluster spreads them).
AUTO_BATCH_MPX = 16.0


def reference_dates(name, dates):
    """The dates of ``dates`` (chronological keys) in the reference period of `super_image.reference_dates`:
    a number N (the first N dates) or [first, last] (date keys, inclusive); all of them when it is unset.
    """
    ref = config.get("super_image", {}).get("reference_dates")
    if ref is None:
        return list(dates)
    if isinstance(ref, float):  # YAML's 3.0: an integer to the schema
        ref = int(ref)
    if isinstance(ref, int):
        out = list(dates)[:ref]
    else:
        first, last = (str(x) for x in ref)
        # inclusive to the day: 20240103T054500 is within [20240101, 20240103]
        out = [d for d in dates if first <= d and d[: len(last)] <= last]
    if len(out) < 2:
        raise WorkflowError(
            f"AOI {name!r}: super_image.reference_dates = {ref!r} selects {len(out)} of its dates"
            f" ({', '.join(dates)}); the super-image needs at least 2"
        )
    return out


def monitoring():
    return config.get("super_image", {}).get("reference_dates") is not None


def super_image_date_files(wildcards):
    """Date key -> file of the dates the super-image is built from (the reference period when monitoring)."""
    files = date_files(wildcards)
    return {d: files[d] for d in reference_dates(wildcards.aoi, list(files))}


def super_image_stack_inputs(wildcards):
    spec = aoi(wildcards)
    if spec.simulated:
        return [str(spec.simulated_dir(RESULTS))]
    return list(super_image_date_files(wildcards).values())


def super_image_report(wildcards):
    """The co-registration report the super-image takes its dates from: of the reference period when
    monitoring (so that a new date changes none of the super-image's inputs), else of the whole stack.
    """
    name = "coregistration_reference.json" if monitoring() else "coregistration.json"
    return f"{RESULTS}/{wildcards.aoi}/{name}"


def dates_per_job(name):
    """Dates despeckled by one job (one loaded network) for AOI ``name``: `network.dates_per_job`, `auto`
    picking by the scene size (AUTO_BATCH_MPX); 1 for an AOI whose size cannot be read yet.
    """
    setting = config.get("network", {}).get("dates_per_job", "auto")
    if setting != "auto":
        return int(setting)
    # no file yet (or a bad glob, reported by the rules that need them): one date per job
    try:
        h, w = aoi_shape(name)
    except Exception:
        return 1
    return max(1, int(AUTO_BATCH_MPX // max(h * w / 1e6, 1e-6)))


BATCHED_AOIS = [name for name in AOIS if dates_per_job(name) > 1]


def aoi_regex(names):
    import re

    return "|".join(re.escape(n) for n in names) or "(?!x)x"  # (?!x)x matches nothing


def despeckle_batches(name):
    """First date -> dates of each despeckling batch of AOI ``name`` (kept dates, chronological): the
    reference period in runs of `dates_per_job`, then (when monitoring) one batch per later date, so that a
    new acquisition is one batch of one date and the batches of earlier dates keep their dates.
    """
    dates = kept_dates(name)
    n = dates_per_job(name)
    ref = (
        set(reference_dates(name, list(date_files(SimpleNamespace(aoi=name)))))
        if monitoring()
        else set(dates)
    )
    head = [d for d in dates if d in ref]
    groups = [head[i : i + n] for i in range(0, len(head), n)] + [
        [d] for d in dates if d not in ref
    ]
    return {g[0]: g for g in groups}


def despeckle_batch_of(wildcards):
    """The staging folder of the batch that despeckles this date."""
    for first, dates in despeckle_batches(wildcards.aoi).items():
        if wildcards.date in dates:
            return f"{RESULTS}/{wildcards.aoi}/.despeckle_batches/{first}"
    raise WorkflowError(
        f"AOI {wildcards.aoi!r}: date {wildcards.date} is not a kept date (coregistration.json)"
    )


def batch_dates(wildcards):
    """Date key -> file of the dates of a despeckling batch."""
    files = date_files(wildcards)
    try:
        return {d: files[d] for d in despeckle_batches(wildcards.aoi)[wildcards.batch]}
    except KeyError:
        raise WorkflowError(
            f"AOI {wildcards.aoi!r}: no despeckling batch starts at {wildcards.batch}"
        ) from None


def batch_inputs(wildcards):
    spec = aoi(wildcards)
    if spec.simulated:
        return [str(spec.simulated_dir(RESULTS))]
    return list(batch_dates(wildcards).values())


def batch_runtime_min(wildcards, attempt):
    """SLURM runtime of a batch: the per-date figure x its dates, at least 5 minutes."""
    s = (
        SECONDS_PER_MPX["despeckle"]
        * megapixels(wildcards)
        * len(batch_dates(wildcards))
        + 10
    )
    return max(5, math.ceil(3 * s * attempt / 60))


def despeckle_network_settings(wildcards):
    """`network_settings` less `dates_per_job`: how the dates are grouped into jobs changes no output."""
    return {
        k: v for k, v in network_settings(wildcards).items() if k != "dates_per_job"
    }
