#!/usr/bin/env bash
# Run by Snakemake inside the environment it has just built from environment.yaml (--use-conda):
# installs deepdespeckling (the published SAR2SAR weights; only its weight file is used) without its
# dependencies, as envs/setup.sh does, and mtsar2sar itself from the checkout, editable and without
# dependencies (the YAML holds them). The Snakefile sets MTSAR2SAR_ROOT to the checkout; by hand:
#   MTSAR2SAR_ROOT=/path/to/mtsar2sar bash envs/environment.post-deploy.sh
set -euo pipefail
root="${MTSAR2SAR_ROOT:?MTSAR2SAR_ROOT (the mtsar2sar checkout) is not set; the Snakefile sets it}"
python -m pip install --no-deps deepdespeckling==0.8
python -m pip install --no-deps -e "$root"
