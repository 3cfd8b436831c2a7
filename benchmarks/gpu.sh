#!/usr/bin/env bash
# The GPU measurements and training runs of one device session (a machine with CUDA and PyTorch, no network):
#   - benchmarks/speed.py --device cuda (network, tiled inference, the despeckle step end to end);
#   - training variants of examples/train_multilook.yaml's sar2sar-ml from packed arrays, side by side
#     (benchmarks/device_training.py; the pack is made here first, see that script).
# Needs, carried: .whl (rasterio and its pure-Python dependencies, cp312 wheels) and .device-carry
# (packed/ from `device_training.py pack`, sar2sar-grd.pt: the published weights' state dict).
# Writes under $OUT: speed.txt, train.txt, the variants' weights and a tar of their summaries.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TQDM_DISABLE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
timeout "${SPEED_S:-150}" python3 benchmarks/speed.py --device cuda --size 2048 2>&1 | tee "$OUT/speed.txt"
GRD=.device-carry/sar2sar-grd.pt
RTC='[rtc_292318_iw1_vv,rtc_292318_iw1_vh,rtc_292318_iw2_vv,rtc_292318_iw2_vh,rtc_292319_iw1_vv,rtc_292319_iw1_vh,rtc_292319_iw2_vv,rtc_292319_iw2_vh]'
timeout "${TRAIN_S:-400}" python3 benchmarks/device_training.py train .device-carry/packed --workers 16 \
  --budget "${BUDGET_S:-270}" --out /tmp/train \
  --variant "ml-x10:device=cuda;init=$GRD;steps=8000;lr_milestones=[6000];validate_every=1000" \
  --variant "ml-b32:device=cuda;init=$GRD;batch=32;steps=4000;lr=2.0e-4;lr_milestones=[3000];validate_every=500" \
  --variant "ml-cont:device=cuda;init=sar2sar-ml;steps=4000;lr=5.0e-5;lr_milestones=[3000];validate_every=500" \
  --variant "rtc-x10:device=cuda;init=$GRD;aois=$RTC;steps=5000;lr_milestones=[3750];validate_every=500" \
  2>&1 | tee "$OUT/train.txt"
cp /tmp/train/*.pt "$OUT"/ 2>/dev/null
(cd /tmp/train && tar czf "$OUT/summaries.tgz" */training.json */loss.png) 2>/dev/null
ls -la "$OUT"
