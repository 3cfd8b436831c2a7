# Self-supervised training of the network on stacks (not part of the default target):
from types import SimpleNamespace

#   snakemake results/models/{model}.pt --cores 2 --configfile examples/train_single_look.yaml


def training_settings(wildcards):
    models = config.get("training", {}).get("models", {})
    if wildcards.model not in models:
        raise WorkflowError(f"training.models: no model named {wildcards.model!r} (have: {', '.join(models) or 'none'})")
    return models[wildcards.model]


def training_inputs(wildcards):
    out = []
    for name in training_settings(wildcards)["aois"]:
        if name not in AOIS:
            raise WorkflowError(f"training.models.{wildcards.model}.aois: {name!r} is not an AOI of the config")
        w = SimpleNamespace(aoi=name)
        out += stack_inputs(w)
        out += [f"{RESULTS}/{name}/coregistration.json", f"{RESULTS}/{name}/super_image_filtered.tif"]
    return out


def training_aois(wildcards):
    out = {}
    for name in training_settings(wildcards)["aois"]:
        w = SimpleNamespace(aoi=name)
        out[name] = {
            "files": date_files(w),
            "domain": AOIS[name].read_domain(),
            "band": AOIS[name].band,
            "coregistration": f"{RESULTS}/{name}/coregistration.json",
            "super_image": f"{RESULTS}/{name}/super_image_filtered.tif",
        }
    return out


rule train:
    """Noise2noise training between dates (ratio or image domain), checkpointed and resumable."""
    input:
        training_inputs,
    output:
        model=f"{RESULTS}/models/{{model}}.pt",
        loss=f"{RESULTS}/models/{{model}}/loss.png",
        summary=f"{RESULTS}/models/{{model}}/training.json",
    params:
        aois=training_aois,
        settings=training_settings,
        workdir=lambda w: f"{RESULTS}/models/{w.model}",
        base=workflow.basedir,
    log:
        f"{RESULTS}/models/{{model}}/train.log",
    benchmark:
        f"{RESULTS}/models/{{model}}/benchmark.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=180,
    script:
        "../scripts/train.py"
