"""Rule `method`: one despeckling method of the comparison on one date."""
from mtsar2sar import comparison
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    comparison.run_method(
        sm.wildcards.method, sm.params.file, sm.params.domain, sm.params.band, sm.params.looks,
        sm.input.mean, sm.input.filtered, sm.params.mulog, sm.params.network, sm.output[0], sm.params.stack,
    )
