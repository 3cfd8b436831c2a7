rule simulate:
    """Simulated demo stack with its truth: noisy/{date}.tif, truth/{date}.tif, changed.tif."""
    output:
        directory(f"{RESULTS}/{{aoi}}/simulated"),
    params:
        simulation=lambda w: aoi(w).simulate,
    log:
        f"{RESULTS}/{{aoi}}/logs/simulate.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/simulate.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/simulate.py"
