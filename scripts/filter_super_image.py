"""Rule `filter_super_image`: remove the residual speckle of the super-image (or assemble its blocks)."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    steps.filter_super_image_step(
        sm.input.image, sm.input.enl, sm.params.method, sm.output[0], sm.params.mulog, blocks=list(sm.input.blocks)
    )
