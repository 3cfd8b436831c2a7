# Configuration helpers and input functions shared by the rules. Logic lives in the package.
from mtsar2sar.config import AoiSpec
from mtsar2sar.errors import InputError

RESULTS = "results"

AOIS = {name: AoiSpec.from_config(name, spec) for name, spec in config["aois"].items()}


wildcard_constraints:
    aoi="|".join(AOIS),
    date=r"[^/]+",


def aoi(wildcards):
    return AOIS[wildcards.aoi]


def date_files(wildcards):
    """Date key -> file of every date of the AOI; user errors (empty glob, ...) stop the run here."""
    try:
        return {d: str(f) for d, f in aoi(wildcards).date_files(RESULTS).items()}
    except InputError as exc:
        raise WorkflowError(f"AOI {wildcards.aoi!r}: {exc}") from None


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


def kept_dates(aoi_name):
    """Dates kept by the co-registration check (a checkpoint: known once it has run)."""
    import json

    path = checkpoints.check_coregistration.get(aoi=aoi_name).output[0]
    with open(path) as f:
        return json.load(f)["kept_dates"]


def aoi_outputs(wildcards):
    dates = kept_dates(wildcards.aoi)
    out = expand(f"{RESULTS}/{wildcards.aoi}/despeckled/{{date}}.tif", date=dates)
    if config.get("outputs", {}).get("quicklooks", True):
        out += expand(f"{RESULTS}/{wildcards.aoi}/quicklooks/{{date}}.png", date=dates)
    return out


rule aoi_done:
    input:
        aoi_outputs,
    output:
        touch(f"{RESULTS}/{{aoi}}/despeckled.done"),
    log:
        f"{RESULTS}/{{aoi}}/logs/aoi_done.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/aoi_done.tsv"


def all_outputs(wildcards):
    return [f"{RESULTS}/{name}/despeckled.done" for name in AOIS]
