# Figures of the comparison: `snakemake --cores 2 figures`.


rule figure:
    """The paper's Fig. 1 layout, metrics per date, and ratio images, for one AOI."""
    input:
        unpack(
            lambda w: {
                "metrics": f"{RESULTS}/{w.aoi}/metrics.csv",
                "coreg": f"{RESULTS}/{w.aoi}/coregistration.json",
                "filtered": f"{RESULTS}/{w.aoi}/super_image_filtered.tif",
                "stack": stack_inputs(w),
            }
        ),
    output:
        png=report(
            f"{RESULTS}/{{aoi}}/figure1.png",
            caption="../report/figure1.rst",
            category="Figures",
            subcategory="{aoi}",
        ),
        pdf=f"{RESULTS}/{{aoi}}/figure1.pdf",
        per_date=report(
            f"{RESULTS}/{{aoi}}/metric_per_date.png",
            caption="../report/metric_per_date.rst",
            category="Figures",
            subcategory="{aoi}",
        ),
        ratios=report(
            f"{RESULTS}/{{aoi}}/ratio_images.png",
            caption="../report/ratio_images.rst",
            category="Figures",
            subcategory="{aoi}",
        ),
    log:
        f"{RESULTS}/{{aoi}}/logs/figure.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/figure.tsv"
    conda:
        "../envs/environment.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        methods=evaluation_methods,
        files=date_files,
        domain=lambda w: aoi(w).read_domain(),
        band=lambda w: aoi(w).band,
        has_truth=lambda w: bool(truth_files(w)),
    script:
        "../scripts/figure.py"


rule figures:
    default_target: False
    input:
        expand(f"{RESULTS}/{{aoi}}/figure1.png", aoi=list(AOIS)),
        expand(f"{RESULTS}/{{aoi}}/metrics_summary.md", aoi=list(AOIS)),


localrules:
    figures,
