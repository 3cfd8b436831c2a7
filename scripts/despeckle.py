"""Rule `despeckle`: ratio to the normalized super-image, SAR2SAR, back to intensity."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    steps.despeckle(
        sm.params.file, sm.params.domain, sm.params.band, sm.input.super_image, sm.params.network, sm.output[0],
        sm.params.looks,
    )
