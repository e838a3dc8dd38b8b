#!/usr/bin/env bash
# The GPU checks of issue 26 in one command (docs/performance.md#gpu), for a GPU machine after
# `bash .ci/setup --dev`: the CUDA tests (pytest -m cuda), then bench/gpu.py, whose table goes
# to docs/gpu-runs/<date>-<card>.md (every number in the .json beside it). Exit status non-zero
# on any failure. Bounded to ~8 minutes on one H100: the tests by `timeout`, the benchmark by
# its own --budget-s (it skips what would start later) and a SIGINT after that, on which it
# still writes what it measured.
# Without a CUDA device it says "no CUDA device", runs the CPU-side tests of this area (the
# CUDA tests then skip; packing by memory and the choice of proxy are pure and tested here)
# and exits with their status: 0 when they pass.
set -uo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
if [[ ! -x $py ]]; then
  echo "gpu_check: no .venv here: run bash .ci/setup --dev first" >&2
  exit 2
fi
if ! "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "gpu_check: no CUDA device: running the CPU-side tests only (the CUDA tests skip)"
  "$py" -m pytest -q -rs tests/workers/test_cuda.py tests/workers/test_budget.py \
    tests/workers/test_train.py -k "cuda or compile or channels_last or budget or device" || exit
  exec "$py" -m pytest -q tests/nas/test_packing.py tests/nas/test_gpu_share.py \
    tests/nas/test_proxy_choice.py
fi
card=$("$py" -c 'import re, torch; print(re.sub("[^a-z0-9]+", "-", torch.cuda.get_device_name().lower()).strip("-"))')
out="docs/gpu-runs/$(date -u +%Y-%m-%d)-$card"
mkdir -p docs/gpu-runs
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
status=0
echo "gpu_check: CUDA tests"
timeout -k 10 200 "$py" -m pytest -q -rs -m cuda tests/workers/test_cuda.py \
  tests/workers/test_every_block_trains.py || status=1
echo "gpu_check: bench/gpu.py -> $out.md"
timeout -s INT -k 20 290 "$py" bench/gpu.py --compile --seconds 4 --budget-s 240 \
  --markdown "$out.md" --json "$out.json" || status=1
if [[ ! -s "$out.md" ]]; then
  echo "gpu_check: no table written" >&2
  status=1
fi
echo "gpu_check: done, exit status $status (table: $out.md)"
exit $status
