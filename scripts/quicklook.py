"""Rule `quicklook`: noisy and despeckled side by side."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    steps.quicklook(
        sm.params.file, sm.params.domain, sm.params.band, sm.input.despeckled, sm.output[0],
        f"{sm.wildcards.aoi} {sm.wildcards.date}",
    )
