# Evaluation of the methods of each AOI: `snakemake --cores 2 evaluate`.


rule evaluate:
    """Metrics of every method and date (with and without truth), and a summary table."""
    input:
        evaluation_inputs,
    output:
        csv=f"{RESULTS}/{{aoi}}/metrics.csv",
        summary=report(
            f"{RESULTS}/{{aoi}}/metrics_summary.md",
            caption="../report/metrics_summary.rst",
            category="Tables",
            subcategory="{aoi}",
        ),
    log:
        f"{RESULTS}/{{aoi}}/logs/evaluate.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/evaluate.tsv"
    conda:
        "../envs/environment.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        methods=evaluation_methods,
        files=date_files,
        domain=lambda w: aoi(w).read_domain(),
        band=lambda w: aoi(w).band,
        looks=lambda w: aoi(w).looks,
        dates=lambda w: kept_dates(w.aoi),
        super_image=f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
        truth=truth_files,
        changed=lambda w: (
            str(aoi(w).simulated_dir(RESULTS) / "changed.tif")
            if aoi(w).simulated
            else None
        ),
    script:
        "../scripts/evaluate.py"


rule evaluate_all:
    default_target: False
    input:
        expand(f"{RESULTS}/{{aoi}}/metrics_summary.md", aoi=list(AOIS)),


localrules:
    evaluate_all,
