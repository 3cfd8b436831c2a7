"""Copy a product under another name, atomically."""
import shutil

from mtsar2sar.io import atomic_path
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule), atomic_path(sm.output[0]) as tmp:
    shutil.copyfile(sm.input[0], tmp)
