checkpoint check_coregistration:
    """One grid, valid data, sub-pixel shift of every date vs a reference, radiometric summary."""
    input:
        stack_inputs,
    output:
        report(
            f"{RESULTS}/{{aoi}}/coregistration.json",
            caption="../report/coregistration.rst",
            category="Checks",
            subcategory="{aoi}",
        ),
    log:
        f"{RESULTS}/{{aoi}}/logs/check_coregistration.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/check_coregistration.tsv"
    conda:
        "../envs/environment.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=runtime_min("check_coregistration", per_date=True),
    params:
        files=date_files,
        domain=lambda w: aoi(w).read_domain(),
        band=lambda w: aoi(w).band,
        settings=config.get("coregistration", {}),
    script:
        "../scripts/check_coregistration.py"
