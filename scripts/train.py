"""Rule `train`: self-supervised training of the SAR2SAR network on stacks."""
from mtsar2sar.logs import rule_logging
from mtsar2sar.training.inputs import train_model

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    train_model(sm.params.aois, sm.params.settings, sm.output.model, sm.params.workdir, sm.params.base)
