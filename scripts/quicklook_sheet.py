"""Rule `quicklook_sheet`: the AOI at a glance, a few dates noisy and despeckled."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    steps.quicklook_sheet(sm.params.files, sm.params.domain, sm.params.band, sm.params.despeckled, sm.output[0],
                             f"AOI {sm.wildcards.aoi}")
