checkpoint check_coregistration:
    """One grid, valid data, sub-pixel shift of every date vs a reference, radiometric summary."""
    input:
        stack_inputs,
    output:
        in_report(f"{RESULTS}/{{aoi}}/coregistration.json", "Checks"),
    log:
        f"{RESULTS}/{{aoi}}/logs/check_coregistration.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/check_coregistration.tsv"
    conda:
        "../envs/environment.yaml"
    resources:
        mem_mb=1000,
        runtime=runtime_min("check_coregistration", per_date=True),
    params:
        **aoi_params("domain", "band"),
        files=date_files,
        settings=coregistration_settings,
    script:
        "../scripts/check_coregistration.py"
