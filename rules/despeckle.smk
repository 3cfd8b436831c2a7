rule despeckle:
    """Ratio of the date to the normalized super-image, despeckled by SAR2SAR, times the super-image."""
    input:
        date=date_input,
        super_image=f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
    output:
        f"{RESULTS}/{{aoi}}/despeckled/{{date}}.tif",
    params:
        file=date_file,
        domain=lambda w: aoi(w).read_domain(),
        band=lambda w: aoi(w).band,
        network=config.get("network", {}),
    log:
        f"{RESULTS}/{{aoi}}/logs/despeckle/{{date}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/despeckle/{{date}}.tsv"
    threads: config.get("network", {}).get("threads", 2)
    resources:
        mem_mb=3000,
        runtime=30,
    script:
        "../scripts/despeckle.py"


rule quicklook:
    """Noisy and despeckled side by side in dB, one display range."""
    input:
        date=date_input,
        despeckled=f"{RESULTS}/{{aoi}}/despeckled/{{date}}.tif",
    output:
        f"{RESULTS}/{{aoi}}/quicklooks/{{date}}.png",
    params:
        file=date_file,
        domain=lambda w: aoi(w).read_domain(),
        band=lambda w: aoi(w).band,
    log:
        f"{RESULTS}/{{aoi}}/logs/quicklook/{{date}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/quicklook/{{date}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/quicklook.py"
