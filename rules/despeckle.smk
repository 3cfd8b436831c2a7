# Despeckling: a job per date, or a job per batch of dates (network.dates_per_job: AOIs in BATCHED_AOIS)
# whose outputs are then placed per date; the quicklooks; the AOI's target and its quicklook sheet.
rule despeckle:
    """Ratio of the date to the normalized super-image, despeckled by SAR2SAR, times the super-image."""
    input:
        date=date_input,
        super_image=f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
        model=network_model_input,
    output:
        f"{RESULTS}/{{aoi}}/despeckled/{{date}}.tif",
    log:
        f"{RESULTS}/{{aoi}}/logs/despeckle/{{date}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/despeckle/{{date}}.tsv"
    wildcard_constraints:
        aoi=plan.aoi_regex(UNBATCHED_AOIS),
    conda:
        "../envs/environment.yaml"
    threads: NETWORK["threads"]
    resources:
        mem_mb=3000,  # a 2048² date in float32: 1.9 GB at peak (mtsar2sar.hostmemory)
        runtime=runtime_min("despeckle"),
        gpu=plan.network_gpus(NETWORK),
    params:
        **aoi_params("domain", "band", "looks"),
        file=date_file,
        network=despeckle_network,
    script:
        "../scripts/despeckle.py"


rule despeckle_batch:
    """The dates of a batch despeckled by one process (one network loaded), and their
    quicklooks, into a staging folder: the bytes, tags and logs of despeckle, quicklook.
    """
    input:
        dates=on_stack(batch_dates),
        super_image=f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
        model=network_model_input,
    output:
        temp(directory(f"{RESULTS}/{{aoi}}/.despeckle_batches/{{batch}}")),
    log:
        f"{RESULTS}/{{aoi}}/logs/despeckle_batch/{{batch}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/despeckle_batch/{{batch}}.tsv"
    wildcard_constraints:
        aoi=plan.aoi_regex(BATCHED_AOIS),
    conda:
        "../envs/environment.yaml"
    threads: NETWORK["threads"]
    resources:
        mem_mb=3000,  # a 2048² date in float32: 1.9 GB at peak (mtsar2sar.hostmemory)
        runtime=batch_runtime,
        gpu=plan.network_gpus(NETWORK),
    params:
        **aoi_params("domain", "band", "looks"),
        files=batch_dates,
        network=despeckle_network,
        quicklooks=QUICKLOOKS,
    script:
        "../scripts/despeckle_batch.py"


rule despeckle_from_batch:
    """A date of a batch placed (hard link, else copy) from the staging folder, and its log: rerunnable.
    A shell command: a `run:` block would start a Snakemake process per date."""
    input:
        despeckle_batch_of,
    output:
        f"{RESULTS}/{{aoi}}/despeckled/{{date}}.tif",
    log:
        f"{RESULTS}/{{aoi}}/logs/despeckle/{{date}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/despeckle_from_batch/{{date}}.tsv"
    wildcard_constraints:
        aoi=plan.aoi_regex(BATCHED_AOIS),
    localrule: True
    conda:
        "../envs/environment.yaml"
    shell:
        "cp -f {input:q}/{wildcards.date}.log {log:q}"
        " && {{ ln -f {input:q}/{wildcards.date}.tif {output:q} 2>/dev/null"
        " || cp -f {input:q}/{wildcards.date}.tif {output:q}; }}"


rule quicklook:
    """Noisy and despeckled side by side in dB, one display range."""
    input:
        date=date_input,
        despeckled=f"{RESULTS}/{{aoi}}/despeckled/{{date}}.tif",
    output:
        f"{RESULTS}/{{aoi}}/quicklooks/{{date}}.jpg",
    log:
        f"{RESULTS}/{{aoi}}/logs/quicklook/{{date}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/quicklook/{{date}}.tsv"
    wildcard_constraints:
        aoi=plan.aoi_regex(UNBATCHED_AOIS),
    conda:
        "../envs/environment.yaml"
    resources:
        mem_mb=1000,
        runtime=runtime_min("quicklook"),
    params:
        **aoi_params("domain", "band"),
        file=date_file,
    script:
        "../scripts/quicklook.py"


rule quicklook_from_batch:
    """The quicklook of a date of a batch (made by the batch's job), placed from the staging folder."""
    input:
        despeckle_batch_of,
    output:
        f"{RESULTS}/{{aoi}}/quicklooks/{{date}}.jpg",
    log:
        f"{RESULTS}/{{aoi}}/logs/quicklook/{{date}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/quicklook_from_batch/{{date}}.tsv"
    wildcard_constraints:
        aoi=plan.aoi_regex(BATCHED_AOIS),
    localrule: True
    conda:
        "../envs/environment.yaml"
    shell:
        "cp -f {input:q}/{wildcards.date}.quicklook.log {log:q}"
        " && {{ ln -f {input:q}/{wildcards.date}.jpg {output:q} 2>/dev/null"
        " || cp -f {input:q}/{wildcards.date}.jpg {output:q}; }}"


rule aoi_done:
    """Every kept date of the AOI despeckled (and its quicklook). With outputs.quicklooks off, the
    quicklooks of an earlier run are removed: no quicklook is older than its product. A shell command:
    a `run:` block starts a Snakemake process of its own (2.4 s)."""
    input:
        aoi_outputs,
    output:
        touch(f"{RESULTS}/{{aoi}}/despeckled.done"),
    log:
        f"{RESULTS}/{{aoi}}/logs/aoi_done.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/aoi_done.tsv"
    localrule: True
    conda:
        "../envs/environment.yaml"
    params:
        folder=lambda w: f"{RESULTS}/{w.aoi}",
        stale=stale_quicklooks,
    shell:
        ': > {log:q}; for n in {params.stale:q}; do f={params.folder:q}/"$n"; if [ -f "$f" ]; then rm -f "$f"'
        ' && echo "mtsar2sar: warning in rule aoi_done: removed $f: outputs.quicklooks is off: a quicklook of an earlier run"'
        " | tee -a {log:q} >&2; fi; done"


rule quicklook_sheet:
    """The AOI at a glance (the report's view): a few evenly spaced dates, noisy and despeckled."""
    input:
        on_stack(sheet_date_files),
        lambda w: list(sheet_products(w).values()),
    output:
        # in the report (caption quicklook.rst), the sheets of all AOIs side by side
        in_report(f"{RESULTS}/{{aoi}}/quicklooks.jpg", "Quicklooks", "quicklook", False),
    log:
        f"{RESULTS}/{{aoi}}/logs/quicklook_sheet.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/quicklook_sheet.tsv"
    conda:
        "../envs/environment.yaml"
    resources:
        mem_mb=1000,
        runtime=runtime_min("quicklook", per_date=True),
    params:
        **aoi_params("domain", "band"),
        files=sheet_date_files,
        despeckled=sheet_products,
    script:
        "../scripts/quicklook_sheet.py"
