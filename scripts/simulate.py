"""Rule `simulate`: write the simulated demo stack."""
from mtsar2sar import steps
from mtsar2sar.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule):  # noqa: F821
    steps.simulate(snakemake.params.simulation, snakemake.output[0])  # noqa: F821
