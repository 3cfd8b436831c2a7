# Figures of the comparison: `snakemake --cores 2 figures`.
rule figure:
    """The paper's Fig. 1 layout, metrics per date, and ratio images, for one AOI."""
    input:
        metrics=f"{RESULTS}/{{aoi}}/metrics.csv",
        coreg=f"{RESULTS}/{{aoi}}/coregistration.json",
        filtered=f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
        stack=stack_inputs,
    output:
        png=in_report(f"{RESULTS}/{{aoi}}/figure1.png", "Figures"),
        pdf=f"{RESULTS}/{{aoi}}/figure1.pdf",
        per_date=in_report(f"{RESULTS}/{{aoi}}/metric_per_date.png", "Figures"),
        ratios=in_report(f"{RESULTS}/{{aoi}}/ratio_images.png", "Figures"),
    log:
        f"{RESULTS}/{{aoi}}/logs/figure.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/figure.tsv"
    conda:
        "../envs/environment.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **aoi_params("domain", "band"),
        methods=evaluation_methods,
        files=date_files,
        has_truth=lambda w: bool(truth_files(w)),
    script:
        "../scripts/figure.py"


rule figures:
    default_target: False
    input:
        expand(f"{RESULTS}/{{aoi}}/figure1.png", aoi=list(AOIS)),
        expand(f"{RESULTS}/{{aoi}}/metrics_summary.md", aoi=list(AOIS)),
    localrule: True
