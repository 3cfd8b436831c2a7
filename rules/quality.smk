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
