rule super_image:
    """Temporal mean of the valid intensities of the kept dates, and its ENL on homogeneous areas."""
    input:
        stack=super_image_stack_inputs,
        coreg=super_image_report,
    output:
        image=f"{RESULTS}/{{aoi}}/super_image.tif",
        enl=report(
            f"{RESULTS}/{{aoi}}/super_image_enl.json",
            caption="../report/super_image_enl.rst",
            category="Checks",
            subcategory="{aoi}",
        ),
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
        settings=super_image_mean_settings(),
    script:
        "../scripts/super_image.py"


rule check_reference_dates:
    """Monitoring (super_image.reference_dates): the co-registration check of the reference period only,
    from which the super-image takes its dates, so that a new date changes none of its inputs.
    """
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


rule filter_super_image_block:
    """One MuLoG block of the super-image, a job of its own (mulog.block_jobs): a cluster spreads the
    blocks, a laptop runs as many at once as it has cores; assembled by filter_super_image.
    """
    input:
        image=f"{RESULTS}/{{aoi}}/super_image.tif",
        enl=f"{RESULTS}/{{aoi}}/super_image_enl.json",
    output:
        temp(f"{RESULTS}/{{aoi}}/.super_image_blocks/{{block}}.npy"),
    log:
        f"{RESULTS}/{{aoi}}/logs/filter_super_image_block/{{block}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/filter_super_image_block/{{block}}.tsv"
    wildcard_constraints:
        block=r"\d+",
    conda:
        "../envs/environment.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=mulog_block_runtime_min,
    params:
        mulog=super_image_mulog_settings(),
    script:
        "../scripts/filter_super_image_block.py"


rule filter_super_image:
    """Residual speckle of the super-image removed by MuLoG (L = its ENL), or kept (filter: none);
    with mulog.block_jobs, the blocks computed by filter_super_image_block assembled."""
    input:
        image=f"{RESULTS}/{{aoi}}/super_image.tif",
        enl=f"{RESULTS}/{{aoi}}/super_image_enl.json",
        blocks=mulog_block_files,
    output:
        f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
    log:
        f"{RESULTS}/{{aoi}}/logs/filter_super_image.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/filter_super_image.tsv"
    conda:
        "../envs/environment.yaml"
    threads: lambda w: 1 if mulog_block_files(w) else 2
    resources:
        mem_mb=1500,
        runtime=lambda w, attempt: (
            5 if mulog_block_files(w) else runtime_min(mulog_step())(w, attempt)
        ),
    params:
        method=super_image_filter_method(),
        mulog=super_image_mulog_settings(),
    script:
        "../scripts/filter_super_image.py"
