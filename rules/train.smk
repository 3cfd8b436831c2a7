# Self-supervised training of the network on stacks (not part of the default target):
#   snakemake results/models/{model}.pt --cores 2 --configfile examples/train_single_look.yaml
rule train:
    """Noise2noise training between dates (ratio or image domain), checkpointed and resumable."""
    input:
        training_inputs,
    output:
        model=f"{RESULTS}/models/{{model}}.pt",
        loss=in_report(f"{RESULTS}/models/{{model}}/loss.png", "Training", by_aoi=False),
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
        gpu=lambda w: plan.training_gpus(model_settings(w)),
    params:
        aois=training_aois,
        settings=model_settings,
        workdir=lambda w: f"{RESULTS}/models/{w.model}",
        base=".",  # relative paths of the config: from the working directory, as every path of the config
    script:
        "../scripts/train.py"


rule train_aoi:
    """The AOI's own network (network.weights: aoi): the ratio-domain network fine-tuned on
    its dates (noise2noise, changes compensated as in `training`; no truth)."""
    input:
        aoi_model_init,
        super_image_stack_inputs,
        super_image_report,
        f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
    output:
        model=f"{RESULTS}/{{aoi}}/model.pt",
        loss=in_report(f"{RESULTS}/{{aoi}}/model/loss.png", "Training", by_aoi=False),
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
        gpu=plan.network_gpus(NETWORK),
    params:
        aois=aoi_model_entry,
        settings=aoi_model_settings,
        workdir=lambda w: f"{RESULTS}/{w.aoi}/model",
        base=".",  # relative paths of the config: from the working directory, as every path of the config
    script:
        "../scripts/train.py"
