rule stac:
    """STAC metadata of the AOI's products: one item per product raster (each date, the super-image and the
    filtered super-image) and the AOI's collection, with relative hrefs."""
    input:
        products=aoi_outputs,
        super_image=f"{RESULTS}/{{aoi}}/super_image.tif",
        super_image_filtered=f"{RESULTS}/{{aoi}}/super_image_filtered.tif",
        enl=f"{RESULTS}/{{aoi}}/super_image_enl.json",
        quality=quality_report,  # the scores of each date, properties of its item
    output:
        f"{RESULTS}/{{aoi}}/stac/collection.json",
    log:
        f"{RESULTS}/{{aoi}}/logs/stac.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/stac.tsv"
    conda:
        "../envs/environment.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        license=config["outputs"]["stac_license"],
        license_url=config["outputs"].get("stac_license_url"),
    script:
        "../scripts/stac.py"
