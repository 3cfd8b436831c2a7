# Self-supervised training of the network on stacks (not part of the default target):
#   snakemake results/models/{model}.pt --cores 2 --configfile examples/train_single_look.yaml


rule train:
    """Noise2noise training between dates (ratio or image domain), checkpointed and resumable."""
    input:
        training_inputs,
    output:
        model=f"{RESULTS}/models/{{model}}.pt",
        loss=report(
            f"{RESULTS}/models/{{model}}/loss.png",
            caption="../report/loss.rst",
            category="Training",
        ),
        summary=f"{RESULTS}/models/{{model}}/training.json",
    log:
        f"{RESULTS}/models/{{model}}/train.log",
    benchmark:
        f"{RESULTS}/models/{{model}}/benchmark.tsv"
    conda:
        "../envs/environment.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=180,
        gpu=training_gpus,
    params:
        aois=training_aois,
        settings=training_settings,
        workdir=lambda w: f"{RESULTS}/models/{w.model}",
        base=".",  # relative paths of the config: from the working directory, as every path of the config
    script:
        "../scripts/train.py"


rule train_aoi:
    """The AOI's own network: the ratio-domain network fine-tuned on the AOI's dates (noise2noise between
    its dates, changes compensated as in `training`; no truth). `network.weights: aoi` despeckles with it.
    """
    input:
        aoi_model_inputs,
    output:
        model=f"{RESULTS}/{{aoi}}/model.pt",
        loss=report(
            f"{RESULTS}/{{aoi}}/model/loss.png",
            caption="../report/loss.rst",
            category="Training",
        ),
        summary=f"{RESULTS}/{{aoi}}/model/training.json",
    log:
        f"{RESULTS}/{{aoi}}/logs/train_aoi.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/train_aoi.tsv"
    conda:
        "../envs/environment.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=network_gpus(),
    params:
        aois=lambda w: {w.aoi: aoi_model_entry(w)},
        settings=aoi_model_settings,
        workdir=lambda w: f"{RESULTS}/{w.aoi}/model",
        base=".",  # relative paths of the config: from the working directory, as every path of the config
    script:
        "../scripts/train.py"
