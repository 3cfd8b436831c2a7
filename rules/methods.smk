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
        runtime=runtime_min(mulog_step()),
        gpu=network_gpus(),
    params:
        file=date_file,
        domain=lambda w: aoi(w).read_domain(),
        band=lambda w: aoi(w).band,
        looks=lambda w: aoi(w).looks,
        mulog=mulog_settings(),
        network=single_date_network_settings,
        stack=lambda w: [date_files(w)[d] for d in kept_dates(w.aoi)],
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
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/copy_file.py"


rule methods:
    input:
        method_outputs,
