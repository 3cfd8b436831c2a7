rule simulate:
    """Simulated demo stack with its truth: noisy/{date}.tif, truth/{date}.tif, changed.tif."""
    output:
        directory(f"{RESULTS}/{{aoi}}/simulated"),
    log:
        f"{RESULTS}/{{aoi}}/logs/simulate.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/simulate.tsv"
    conda:
        "../envs/environment.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        simulation=lambda w: AOIS[w.aoi].simulate,
    script:
        "../scripts/simulate.py"
