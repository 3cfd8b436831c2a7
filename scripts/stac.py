"""Rule `stac`: the STAC collection of an AOI's products (one item per raster, relative hrefs)."""
import json
from pathlib import Path

from mtsar2sar.logs import rule_logging
from mtsar2sar.stac import stac_for_aoi

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    products = [Path(p) for p in sm.input.products]
    stac_for_aoi(
        sm.wildcards.aoi,
        {p.name.removesuffix(".tif"): p for p in products if p.suffix == ".tif"},
        sm.input.super_image,
        sm.input.super_image_filtered,
        json.loads(Path(sm.input.enl).read_text()),
        sm.output[0],
        quicklooks={p.name.removesuffix(".jpg"): p for p in products if p.suffix == ".jpg"},
        quality=json.loads(Path(sm.input.quality[0]).read_text()) if sm.input.quality else None,
        license=sm.params.license,
        license_url=sm.params.license_url,
    )
