#!/usr/bin/env bash
# The GPU measurements and training runs of a device session (a machine with CUDA and PyTorch, no network):
#   bash benchmarks/gpu.sh [speed] [train] [processes]      (default: speed train)
#   speed:     benchmarks/speed.py --device cuda (network, tiled inference, the despeckle step end to end);
#   train:     training variants of examples/train_multilook.yaml's sar2sar-ml from packed arrays, side by
#              side (an experiment, not a measure of the product: experiments/device_training.py; the pack
#              is made here first, see that script);
#   processes: whole processes on one 2048² date, `mtsar2sar despeckle` against deepdespeckling's inference.
# Needs, carried: .whl (rasterio and its pure-Python dependencies, cp312 wheels) and .device-carry: packed/
# (from `device_training.py pack`) and sar2sar-grd.pt (the published weights' state dict) for train; the
# deepdespeckling package (its code and sar2sar/saved_model/sar2sar.pth) for processes.
# Writes under $OUT: speed.txt, train.txt, processes.txt, the variants' weights and a tar of their summaries.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
[ -d .device-carry/deepdespeckling ] && cp -r .device-carry/deepdespeckling /tmp/site/
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TQDM_DISABLE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
parts=${*:-speed train}
for part in $parts; do
  case $part in
  speed)
    timeout "${SPEED_S:-150}" python3 benchmarks/speed.py --device cuda --size 2048 2>&1 | tee "$OUT/speed.txt" ;;
  processes)
    timeout "${PROCESSES_S:-200}" python3 benchmarks/speed.py --processes --device cuda --size 2048 --threads 4 \
      --precision float32 --precision bfloat16 2>&1 \
      | tee "$OUT/processes.txt" ;;
  train)
    GRD=.device-carry/sar2sar-grd.pt
    RTC='[rtc_292318_iw1_vv,rtc_292318_iw1_vh,rtc_292318_iw2_vv,rtc_292318_iw2_vh,rtc_292319_iw1_vv,rtc_292319_iw1_vh,rtc_292319_iw2_vv,rtc_292319_iw2_vh]'
    timeout "${TRAIN_S:-400}" python3 experiments/device_training.py train .device-carry/packed --workers 16 \
      --budget "${BUDGET_S:-270}" --out /tmp/train \
      --variant "ml-x10:device=cuda;init=$GRD;steps=8000;lr_milestones=[6000];validate_every=1000" \
      --variant "ml-b32:device=cuda;init=$GRD;batch=32;steps=4000;lr=2.0e-4;lr_milestones=[3000];validate_every=500" \
      --variant "ml-cont:device=cuda;init=sar2sar-ml;steps=4000;lr=5.0e-5;lr_milestones=[3000];validate_every=500" \
      --variant "rtc-x10:device=cuda;init=$GRD;aois=$RTC;steps=5000;lr_milestones=[3750];validate_every=500" \
      2>&1 | tee "$OUT/train.txt"
    cp /tmp/train/*.pt "$OUT"/ 2>/dev/null
    (cd /tmp/train && tar czf "$OUT/summaries.tgz" */training.json */loss.png) 2>/dev/null ;;
  esac
done
ls -la "$OUT"
