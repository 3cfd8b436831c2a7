# The super-image: the temporal mean of the kept dates (of the reference period when monitoring), its
# ENL, and its residual speckle removed by MuLoG (in one job, or a job per block: mulog.block_jobs).
rule super_image:
    """Temporal mean of the valid intensities of the kept dates, and its ENL on homogeneous areas."""
    input:
        stack=super_image_stack_inputs,
        coreg=super_image_report,
    output:
        image=f"{RESULTS}/{{aoi}}/super_image.tif",
        enl=in_report(f"{RESULTS}/{{aoi}}/super_image_enl.json", "Checks"),
    log:
        f"{RESULTS}/{{aoi}}/logs/super_image.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/super_image.tsv"
    conda:
        "../envs/environment.yaml"
    resources:
        mem_mb=1000,
        runtime=runtime_min("super_image", per_date=True),
    params:
        **aoi_params("domain", "band", "looks"),
        files=super_image_date_files,
        settings=plan.super_image_mean_settings(SUPER_IMAGE),
    script:
        "../scripts/super_image.py"


rule check_reference_dates:
    """Monitoring (super_image.reference_dates): the co-registration check of the reference
    period, the super-image's dates, so that a new date changes none of its inputs."""
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
    resources:
        mem_mb=1000,
        runtime=runtime_min("check_coregistration", per_date=True),
    params:
        **aoi_params("domain", "band"),
        files=super_image_date_files,
        settings=config["coregistration"],
    script:
        "../scripts/check_reference_dates.py"


rule filter_super_image_block:
    """One MuLoG block of the super-image, a job of its own (mulog.block_jobs): a cluster
    spreads the blocks, a laptop runs several at once; assembled by filter_super_image.
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
    resources:
        mem_mb=1500,
        runtime=block_runtime,
    params:
        mulog=plan.super_image_mulog_settings(SUPER_IMAGE, MULOG),
    script:
        "../scripts/filter_super_image_block.py"


rule filter_super_image:
    """Residual speckle of the super-image removed by MuLoG (L = its ENL), or kept (filter: none);
    with mulog.block_jobs, the blocks computed by filter_super_image_block assembled."""
    input:
        image=f"{RESULTS}/{{aoi}}/super_image.tif",
        enl=f"{RESULTS}/{{aoi}}/super_image_enl.json",
        blocks=block_files,
    output:
        f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
    log:
        f"{RESULTS}/{{aoi}}/logs/filter_super_image.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/filter_super_image.tsv"
    conda:
        "../envs/environment.yaml"
    threads: lambda w: 1 if block_files(w) else 2  # the blocks: assembled only
    resources:
        mem_mb=1500,
        runtime=lambda w, attempt: 5 if block_files(w) else MULOG_RUNTIME(w, attempt),
    params:
        method=SUPER_IMAGE["filter"],
        mulog=plan.super_image_mulog_settings(SUPER_IMAGE, MULOG),
    script:
        "../scripts/filter_super_image.py"
