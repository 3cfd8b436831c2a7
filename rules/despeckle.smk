rule despeckle:
    """Ratio of the date to the normalized super-image, despeckled by SAR2SAR, times the super-image."""
    input:
        date=date_input,
        super_image=f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
        model=network_model_input,
    output:
        f"{RESULTS}/{{aoi}}/despeckled/{{date}}.tif",
    log:
        f"{RESULTS}/{{aoi}}/logs/despeckle/{{date}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/despeckle/{{date}}.tsv"
    conda:
        "../envs/environment.yaml"
    threads: config.get("network", {}).get("threads", 2)
    resources:
        mem_mb=2000,
        runtime=runtime_min("despeckle"),
        gpu=network_gpus(),
    params:
        file=date_file,
        domain=lambda w: aoi(w).read_domain(),
        band=lambda w: aoi(w).band,
        looks=lambda w: aoi(w).looks,
        network=network_settings,
    script:
        "../scripts/despeckle.py"


rule quicklook:
    """Noisy and despeckled side by side in dB, one display range."""
    input:
        date=date_input,
        despeckled=f"{RESULTS}/{{aoi}}/despeckled/{{date}}.tif",
    output:
        report(
            f"{RESULTS}/{{aoi}}/quicklooks/{{date}}.png",
            caption="../report/quicklook.rst",
            category="Quicklooks",
            subcategory="{aoi}",
        ),
    log:
        f"{RESULTS}/{{aoi}}/logs/quicklook/{{date}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/quicklook/{{date}}.tsv"
    conda:
        "../envs/environment.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=runtime_min("quicklook"),
    params:
        file=date_file,
        domain=lambda w: aoi(w).read_domain(),
        band=lambda w: aoi(w).band,
    script:
        "../scripts/quicklook.py"


rule aoi_done:
    """Every kept date of the AOI despeckled (and its quicklook)."""
    input:
        aoi_outputs,
    output:
        touch(f"{RESULTS}/{{aoi}}/despeckled.done"),
    log:
        f"{RESULTS}/{{aoi}}/logs/aoi_done.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/aoi_done.tsv"
