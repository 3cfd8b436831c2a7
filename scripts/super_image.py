"""Rule `super_image`: temporal mean of the kept dates and its ENL."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    steps.super_image(
        sm.params.files, sm.input.coreg, sm.params.domain, sm.params.band, sm.params.looks,
        sm.params.settings, sm.output.image, sm.output.enl,
    )
