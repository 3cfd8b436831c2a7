# Evaluation of the methods of each AOI: `snakemake --cores 2 evaluate`.
rule evaluate:
    """Metrics of every method and date (with and without truth), and a summary table."""
    input:
        evaluation_products,
        stack_inputs,
        f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
    output:
        csv=f"{RESULTS}/{{aoi}}/metrics.csv",
        summary=in_report(f"{RESULTS}/{{aoi}}/metrics_summary.md", "Tables"),
    log:
        f"{RESULTS}/{{aoi}}/logs/evaluate.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/evaluate.tsv"
    conda:
        "../envs/environment.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        **aoi_params("domain", "band", "looks"),
        methods=evaluation_methods,
        files=date_files,
        dates=lambda w: kept_dates(w.aoi),
        super_image=lambda w: f"{RESULTS}/{w.aoi}/super_image_filtered.tif",
        truth=truth_files,
        changed=lambda w: plan.changed_file(AOIS[w.aoi]),
    script:
        "../scripts/evaluate.py"


rule evaluate_all:
    default_target: False
    input:
        expand(f"{RESULTS}/{{aoi}}/metrics_summary.md", aoi=list(AOIS)),
    localrule: True
