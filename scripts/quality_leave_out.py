"""Rule `quality_leave_out`: the quality sheet's left-out-date check (outputs.quality_leave_out)."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    steps.quality_leave_out(
        sm.params.files, sm.params.domain, sm.params.band, sm.input.enl, sm.params.looks, sm.params.pairs,
        sm.params.network, sm.params.method, sm.params.mulog, sm.output[0],
    )
