rule super_image:
    """Temporal mean of the valid intensities of the kept dates, and its ENL on homogeneous areas."""
    input:
        stack=super_image_stack_inputs,
        coreg=super_image_report,
    output:
        image=f"{RESULTS}/{{aoi}}/super_image.tif",
        enl=f"{RESULTS}/{{aoi}}/super_image_enl.json",
    log:
        f"{RESULTS}/{{aoi}}/logs/super_image.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/super_image.tsv"
    conda:
        "../envs/environment.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=runtime_min("super_image", per_date=True),
    params:
        files=super_image_date_files,
        domain=lambda w: aoi(w).read_domain(),
        band=lambda w: aoi(w).band,
        looks=lambda w: aoi(w).looks,
        settings=config.get("super_image", {}),
    script:
        "../scripts/super_image.py"


rule check_reference_dates:
    """Monitoring (super_image.reference_dates): the co-registration check of the reference period only,
    from which the super-image takes its dates, so that a new date changes none of its inputs."""
    input:
        super_image_stack_inputs,
    output:
        f"{RESULTS}/{{aoi}}/coregistration_reference.json",
    log:
        f"{RESULTS}/{{aoi}}/logs/check_reference_dates.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/check_reference_dates.tsv"
    conda:
        "../envs/environment.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=runtime_min("check_coregistration", per_date=True),
    params:
        files=super_image_date_files,
        domain=lambda w: aoi(w).read_domain(),
        band=lambda w: aoi(w).band,
        settings=config.get("coregistration", {}),
    script:
        "../scripts/check_reference_dates.py"


rule filter_super_image:
    """Residual speckle of the super-image removed by MuLoG (L = its ENL), or kept (filter: none)."""
    input:
        image=f"{RESULTS}/{{aoi}}/super_image.tif",
        enl=f"{RESULTS}/{{aoi}}/super_image_enl.json",
    output:
        f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
    log:
        f"{RESULTS}/{{aoi}}/logs/filter_super_image.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/filter_super_image.tsv"
    conda:
        "../envs/environment.yaml"
    threads: 2
    resources:
        mem_mb=1500,
        runtime=runtime_min(mulog_step()),
    params:
        method=config.get("super_image", {}).get("filter", "mulog"),
        mulog=config.get("mulog", {}),
    script:
        "../scripts/filter_super_image.py"
