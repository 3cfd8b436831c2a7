"""Rule `filter_super_image_block`: one MuLoG block of the super-image (scatter/gather filter)."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    steps.filter_super_image_block_step(
        sm.input.image, sm.input.enl, int(sm.wildcards.block), sm.output[0], sm.params.mulog
    )
