"""Rule `check_reference_dates`: the co-registration check of the reference period of a monitored AOI
(super_image.reference_dates), from which the super-image takes its dates; removes no output."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    steps.check_coregistration(sm.params.files, sm.params.domain, sm.params.band, sm.params.settings, sm.output[0],
                                  remove_stale=False)
