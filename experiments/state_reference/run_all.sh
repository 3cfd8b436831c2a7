#!/bin/bash
# Reproduces the numbers of experiments/state_reference/README.md (1 thread; about 15 minutes, RABASAR's 5 dates are 8 of them).
# Run from the repository root after `make demo` (it reads results/demo_4look and results/demo_1look).
mkdir -p results/state_reference
set -e
export OMP_NUM_THREADS=1
PY=.venv/bin/python
D=experiments/state_reference
V="--variant mean --variant state:soft2-guided5_0.5:a0.5 --variant state:guided3_0.5:a0.5 --variant state:soft2-guided5_0.5 --variant state:sigma11 --variant oracle_corr --variant quegan_chain"
$PY $D/change_score.py results/demo_4look                     # the chain's products as shipped
$PY $D/change_score.py results/demo_1look
$PY $D/reference.py results/demo_4look --dates 0 $V --json results/state_reference/final_4look.json
$PY $D/reference.py results/demo_1look --dates 0 $V --json results/state_reference/final_1look.json
$PY $D/tables.py results/state_reference/final_4look.json results/state_reference/final_1look.json
$PY $D/reference.py results/demo_4look --dates 5 --variant mean --variant state:soft2-guided5_0.5:a0.5 --variant rabasar \
    --json results/state_reference/rabasar_4look.json
$PY $D/real.py T137-292319-IW2 --pol VV --pol VH --pairs 5 --variant mean --variant state:soft2-guided5_0.5:a0.5 \
    --variant state:guided3_0.5:a0.5 --variant state:soft2-guided5_0.5 --variant state:sigma11 --variant quegan \
    --variant quegan_sar2sar --variant quegan_chain --variant rabasar --json results/state_reference/real_val.json
$PY $D/timing.py results/demo_4look
