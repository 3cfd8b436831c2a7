# The AOI's quality without a truth (outputs.quality): each date judged by its ratio image (noisy /
# despeckled: mean 1, the input's looks, no structure) and its changes since the date before.
rule quality:
    """Every kept date scored and given a verdict: quality.json and the one-page sheet quality.png
    (noisy, despeckled and ratio images; a warning on the console for a date that fails).
    """
    input:
        on_stack(lambda w: date_files(w, kept(w))),
        lambda w: list(kept_products(w).values()),
        super_image=f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
        enl=f"{RESULTS}/{{aoi}}/super_image_enl.json",
        leave_out=leave_out_report,  # outputs.quality_leave_out > 0 only
    output:
        json=f"{RESULTS}/{{aoi}}/quality.json",
        sheet=in_report(f"{RESULTS}/{{aoi}}/quality.png", "Quality", "quality"),
    log:
        f"{RESULTS}/{{aoi}}/logs/quality.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/quality.tsv"
    conda:
        "../envs/environment.yaml"
    resources:
        mem_mb=1500,
        runtime=runtime_min("quicklook", per_date=True),
    params:
        **aoi_params("domain", "band", "looks"),
        files=lambda w: date_files(w, kept(w)),
        despeckled=kept_products,
    script:
        "../scripts/quality.py"


rule quality_leave_out:
    """The quality sheet's left-out-date check (outputs.quality_leave_out: N): the chain rerun without
    each of the last N dates, the left-out date's NLL under its estimate of the date before, against
    the temporal mean and Quegan on the same pairs (mtsar2sar.leaveout)."""
    input:
        on_stack(lambda w: date_files(w, kept(w))),
        enl=f"{RESULTS}/{{aoi}}/super_image_enl.json",
        model=network_model_input,
    output:
        f"{RESULTS}/{{aoi}}/quality_leave_out.json",
    log:
        f"{RESULTS}/{{aoi}}/logs/quality_leave_out.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/quality_leave_out.tsv"
    conda:
        "../envs/environment.yaml"
    threads: NETWORK["threads"]
    resources:
        mem_mb=3000,
        runtime=lambda w, attempt: LEAVE_OUT
        * (MULOG_RUNTIME(w, attempt) + runtime_min("despeckle")(w, attempt)),
        gpu=plan.network_gpus(NETWORK),
    params:
        **aoi_params("domain", "band", "looks"),
        files=lambda w: date_files(w, kept(w)),
        pairs=LEAVE_OUT,
        network=despeckle_network,
        method=SUPER_IMAGE["filter"],
        mulog=plan.super_image_mulog_settings(SUPER_IMAGE, MULOG),
    script:
        "../scripts/quality_leave_out.py"
