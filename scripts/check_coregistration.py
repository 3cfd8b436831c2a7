"""Rule `check_coregistration`: grid, validity, sub-pixel shifts and radiometry of every date."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    steps.check_coregistration(sm.params.files, sm.params.domain, sm.params.band, sm.params.settings, sm.output[0])
