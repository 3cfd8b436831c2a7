# The methods of the comparison (the paper's Fig. 1), on up to methods.max_dates dates per AOI.
# Target: `snakemake --cores 2 methods`.
rule method:
    """One despeckling method on one date, on the input grid."""
    input:
        date=date_input,
        mean=f"{RESULTS}/{{aoi}}/super_image.tif",
        filtered=f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
        report=f"{RESULTS}/{{aoi}}/coregistration.json",  # the kept dates (params.stack: the Quegan filters)
    output:
        f"{RESULTS}/{{aoi}}/methods/{{method}}/{{date}}.tif",
    log:
        f"{RESULTS}/{{aoi}}/logs/methods/{{method}}/{{date}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/methods/{{method}}/{{date}}.tsv"
    wildcard_constraints:
        method="|".join(m for m in METHODS if m != "ratio_sar2sar"),
    conda:
        "../envs/environment.yaml"
    threads: 2
    resources:
        mem_mb=3000,
        runtime=MULOG_RUNTIME,
        gpu=plan.network_gpus(NETWORK),
    params:
        **aoi_params("domain", "band", "looks"),
        file=date_file,
        mulog=plan.mulog_computation_settings(MULOG),
        network=method_network,
        stack=kept_files,
    script:
        "../scripts/method.py"


rule method_ratio_sar2sar:
    """The proposed method is the workflow's despeckle output."""
    input:
        f"{RESULTS}/{{aoi}}/despeckled/{{date}}.tif",
    output:
        f"{RESULTS}/{{aoi}}/methods/ratio_sar2sar/{{date}}.tif",
    log:
        f"{RESULTS}/{{aoi}}/logs/methods/ratio_sar2sar/{{date}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/methods/ratio_sar2sar/{{date}}.tsv"
    conda:
        "../envs/environment.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/copy_file.py"


rule methods:
    input:
        method_outputs,
