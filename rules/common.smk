# The rules' input functions and params: thin wrappers from a job's wildcards (w) to mtsar2sar.plan,
# where the decisions are (unit-tested: tests/test_plan.py). The config holds the schema's defaults.
import functools
import os
from pathlib import Path
from types import SimpleNamespace

from mtsar2sar import plan
from mtsar2sar.config import AoiSpec
from mtsar2sar.errors import InputError
from mtsar2sar.methods import METHODS
from mtsar2sar.plan import RESULTS

NETWORK, SUPER_IMAGE, MULOG = config["network"], config["super_image"], config["mulog"]
METHODS_RUN, TRAINING = config["methods"], config.get("training")
QUICKLOOKS = config["outputs"]["quicklooks"]  # per-date quicklooks and the AOI's sheet
QUALITY = config["outputs"]["quality"]  # quality.json and quality.png of each AOI
LEAVE_OUT = config["outputs"]["quality_leave_out"]  # left-out-date pairs (0: off)
REFERENCE = SUPER_IMAGE.get("reference_dates")  # monitoring: the super-image's period
# the AOIs as given (before the schema's defaults: a layout's values fill the keys not given)
AOIS = {name: AoiSpec.from_config(name, spec) for name, spec in GIVEN_AOIS.items()}


wildcard_constraints:
    aoi="|".join(AOIS),
    date=r"[^/]+",


def in_report(path, category, caption=None, by_aoi=True):
    """An output shown in the report under `category` (by_aoi: and its AOI), with the
    caption report/<caption>.rst (by default the file's name)."""
    caption = f"../report/{caption or Path(path).stem}.rst"
    sub = "{aoi}" if by_aoi else None
    return report(path, caption=caption, category=category, subcategory=sub)


def aoi_params(*keys):
    """Params of the job's AOI, by name: domain (of its files), band, looks."""
    value = lambda spec, key: (
        spec.read_domain() if key == "domain" else getattr(spec, key)
    )
    return {key: lambda w, key=key: value(AOIS[w.aoi], key) for key in keys}


def _date_files(name):
    """Date key -> file of the AOI (found once, when the workflow is read: DATES)."""
    return DATES[name][0]


@functools.cache
def aoi_shape(name):
    """(height, width) of an AOI's grid, read once per run (the header of a date)."""
    return plan.grid_shape(AOIS[name], _date_files(name))


def kept_dates(name):
    """Dates kept by the co-registration check (a checkpoint). A dry run before the check
    plans for every date, so that it lists the work, not the check alone."""
    # the inputs as the config finds them now: checked on every run, also when an earlier
    # run's report and products would let Snakemake skip the check
    files = _date_files(name)
    if workflow.dryrun and not os.path.exists(f"{RESULTS}/{name}/coregistration.json"):
        plan.dry_run_note(name)
        return list(files)
    return plan.kept_dates(checkpoints.check_coregistration.get(aoi=name).output[0])


def date_files(w, dates=None):
    """Date key -> file of the AOI's dates (or of `dates`)."""
    files = _date_files(w.aoi)
    return {d: files[d] for d in (files if dates is None else dates)}


def on_stack(files):
    """The input function of the files `files(w)`; the simulated folder of a demo AOI."""

    def inputs(w):
        spec = AOIS[w.aoi]
        if spec.simulated:
            return [str(spec.simulated_dir(RESULTS))]
        return list(files(w).values())

    return inputs


def date_input(w):
    """The file of the job's date (the simulated folder of a demo AOI)."""
    spec = AOIS[w.aoi]
    return str(spec.simulated_dir(RESULTS)) if spec.simulated else date_file(w)


def truth_files(w):
    """Date key -> truth file (checked when the workflow is read: plan.aoi_dates)."""
    files = {d: str(f) for d, f in AOIS[w.aoi].truth_files(RESULTS).items()}
    return files or None


def reference_dates(name):
    """The dates of the reference period (super_image.reference_dates; unset: all)."""
    return plan.reference_dates(list(_date_files(name)), REFERENCE, name)


def dates_per_job(name):
    return plan.dates_per_job(NETWORK.get("dates_per_job"), lambda: aoi_shape(name))


def despeckle_batches(name):
    """First date -> dates of each despeckling batch (network.dates_per_job, monitoring)."""
    kept, n = kept_dates(name), dates_per_job(name)
    return plan.despeckle_batches(kept, reference_dates(name) if REFERENCE else None, n)


def runtime_min(step, per_date=False):
    """Resource runtime (minutes) of `step` on the AOI's grid (x its dates: per_date)."""

    def runtime(w, attempt):
        n = len(_date_files(w.aoi)) if per_date else 1
        return plan.runtime_min(step, plan.megapixels(aoi_shape(w.aoi)), n, attempt)

    return runtime


def block_runtime(w, attempt):
    shape = aoi_shape(w.aoi)
    return plan.mulog_block_runtime_min(shape, MULOG, int(w.block), attempt)


def aoi_model_entry(w):
    """What the AOI's own network is trained on: the super-image's dates (monitoring: the
    reference period's, so that a new date neither retrains it nor reruns others)."""
    files, coregistration = super_image_date_files(w), super_image_report(w)
    return {w.aoi: plan.training_entry(AOIS[w.aoi], files, report=coregistration)}


# Every AOI's dates, found when the workflow is read (the jobs of every date ask): a user's error stops
# the run here, as one line naming the file (stop: the Snakefile), not in the middle of the jobs' graph.
# Every date's grid is checked by the main process only: a cluster job re-reads the Snakefile, and its
# inputs were checked before it was submitted.
DATES = {}  # AOI -> (date key -> file, date key -> where the date came from)
for _name in list(AOIS):
    try:
        AOIS[_name], files, sources = plan.aoi_dates(
            AOIS[_name], REFERENCE, RESULTS, grids=workflow.is_main_process
        )
        DATES[_name] = files, sources
    except InputError as exc:
        stop(exc)

# the AOIs despeckled by batches of dates (network.dates_per_job), by a job per date
BATCHED_AOIS = [name for name in AOIS if dates_per_job(name) > 1]
UNBATCHED_AOIS = [name for name in AOIS if name not in BATCHED_AOIS]
MULOG_RUNTIME = runtime_min(plan.mulog_step(MULOG))  # MuLoG on a whole date

# one-line wrappers: input functions and params of the rules
kept = lambda w: kept_dates(w.aoi)
coregistration_settings = lambda w: plan.with_date_sources(
    config["coregistration"], DATES[w.aoi][1]
)
date_file = lambda w: _date_files(w.aoi)[w.date]
stack_inputs = on_stack(date_files)
kept_files = lambda w: list(date_files(w, kept(w)).values())
super_image_date_files = lambda w: date_files(w, reference_dates(w.aoi))
super_image_stack_inputs = on_stack(super_image_date_files)
super_image_report = lambda w: plan.reference_report(w.aoi, SUPER_IMAGE)
batch = lambda w: plan.batch_members(w.batch, despeckle_batches(w.aoi), w.aoi)
batch_dates = lambda w: date_files(w, batch(w))
batch_of = lambda w: plan.batch_of(w.date, despeckle_batches(w.aoi), w.aoi)
despeckle_batch_of = lambda w: f"{RESULTS}/{w.aoi}/.despeckle_batches/{batch_of(w)}"
mpx = lambda w: plan.megapixels(aoi_shape(w.aoi))
batch_runtime = lambda w, attempt: plan.batch_runtime_min(
    mpx(w), len(batch(w)), attempt
)
sheet_dates = lambda w: plan.sheet_dates(kept(w))
sheet_date_files = lambda w: date_files(w, sheet_dates(w))
sheet_products = lambda w: plan.despeckled(w.aoi, sheet_dates(w))
aoi_outputs = lambda w: plan.aoi_outputs(w.aoi, kept(w), QUICKLOOKS)
kept_products = lambda w: plan.despeckled(w.aoi, kept(w))
every_product = lambda w: [
    f for name in AOIS for f in plan.aoi_outputs(name, kept_dates(name), QUICKLOOKS)
]
quality_report = lambda w: [f"{RESULTS}/{w.aoi}/quality.json"] if QUALITY else []
leave_out_report = lambda w: (
    [f"{RESULTS}/{w.aoi}/quality_leave_out.json"] if LEAVE_OUT else []
)
stale_quicklooks = lambda w: plan.stale_quicklooks(QUICKLOOKS, kept(w))
method_outputs = lambda w: plan.method_outputs(AOIS, kept_dates, METHODS_RUN)
evaluation_methods = lambda w: plan.evaluation_methods(w.aoi, kept(w), METHODS_RUN)
evaluation_products = lambda w: plan.method_products(evaluation_methods(w))
model_settings = lambda w: plan.training_model(TRAINING, w.model)
stack_of = lambda name: stack_inputs(SimpleNamespace(aoi=name))
training_inputs = lambda w: plan.training_inputs(
    w.model, model_settings(w), AOIS, stack_of
)
training_entry = lambda name: plan.training_entry(AOIS[name], _date_files(name))
training_aois = lambda w: {a: training_entry(a) for a in model_settings(w)["aois"]}
aoi_model_settings = lambda w: plan.aoi_model_training(TRAINING, AOIS[w.aoi].looks)
aoi_model_init = lambda w: plan.weights_file(aoi_model_settings(w)["init"])
aoi_model = lambda w: f"{RESULTS}/{w.aoi}/model.pt"  # the AOI's own network (train_aoi)
network_model_input = lambda w: [aoi_model(w)] if plan.uses_aoi_model(NETWORK) else []
despeckle_network = lambda w: plan.despeckle_network_settings(NETWORK, aoi_model(w))
method_network = lambda w: plan.single_date_network_settings(NETWORK, aoi_model(w))
shape = lambda w: lambda: aoi_shape(w.aoi)  # read only when needed
block_files = lambda w: plan.mulog_block_files(w.aoi, SUPER_IMAGE, MULOG, shape(w))
