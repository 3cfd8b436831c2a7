"""Rule `evaluate`: metrics of every method and date, and the summary table."""
from mtsar2sar.evaluation import evaluate_aoi, write_outputs
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule) as log:
    p = sm.params
    rows = evaluate_aoi(p.methods, p.files, p.domain, p.band, p.looks, p.dates, p.super_image, p.truth, p.changed)
    write_outputs(rows, sm.output.csv, sm.output.summary, sm.wildcards.aoi, p.looks)
    log.info("%d metric values", len(rows))
