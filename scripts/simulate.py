"""Rule `simulate`: write the simulated demo stack."""
from mtsar2sar import workflow
from mtsar2sar.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule):  # noqa: F821
    workflow.simulate(snakemake.params.simulation, snakemake.output[0])  # noqa: F821
