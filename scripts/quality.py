"""Rule `quality`: the AOI's quality without a truth, quality.json and the sheet quality.png."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
given = sm.input.get("leave_out") or []  # quality_leave_out.json: outputs.quality_leave_out > 0 only
leave_out = given if isinstance(given, str) else (given[0] if given else None)
with rule_logging(sm.log[0], sm.rule):
    steps.quality(
        sm.wildcards.aoi, sm.params.files, sm.params.domain, sm.params.band, sm.params.despeckled,
        sm.input.super_image, sm.input.enl, sm.params.looks, sm.output.json, sm.output.sheet,
        leave_out=leave_out,
    )
