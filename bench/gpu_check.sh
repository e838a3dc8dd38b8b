#!/usr/bin/env bash
# The GPU checks of issue 26 in one command (docs/performance.md#gpu), for a GPU machine after
# `bash .ci/setup --dev`: the CUDA tests (pytest -m cuda), then bench/gpu.py, whose table goes
# to docs/gpu-runs/<date>-<card>.md (every number in the .json beside it), then
# bench/search_rate.py (a default `nas search` on cuda, then on cpu: trials per hour), whose
# table goes beside it as <date>-<card>-search.md/.json. Exit status non-zero on any failure.
# Bounded to 8 minutes (480 s, GPU_CHECK_DEADLINE_S) on one H100, as issue 26 asks:
#   CUDA tests        <= 150 s (`timeout`; -v: a run cut there still names each test done)
#   bench/gpu.py      <= 160 s (--budget-s 120: it skips what would start later; SIGINT at
#                     140 s, on which it still writes what it measured; killed at 160 s)
#   search_rate.py    the rest: --timeout-s 150 per device, less when fewer than 320 s are
#                     left (each device gets half of what remains), skipped under 60 s each.
# Environment: NAS_PYTHON, the interpreter (default .venv/bin/python; a device machine with
# no venv passes python3 and its own PYTHONPATH); NAS_GPU_RUNS, where the tables go (default
# docs/gpu-runs); GPU_CHECK_DEADLINE_S, the whole run's bound in seconds (default 480).
# Without a CUDA device it says "no CUDA device", runs the CPU-side tests of this area (the
# CUDA tests then skip; packing by memory and the choice of proxy are pure and tested here)
# and exits with their status: 0 when they pass.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
py=${NAS_PYTHON:-.venv/bin/python}
runs=${NAS_GPU_RUNS:-docs/gpu-runs}
deadline=${GPU_CHECK_DEADLINE_S:-480}
if ! command -v "$py" >/dev/null; then
  if [[ -z ${NAS_PYTHON:-} ]]; then
    echo "gpu_check: no .venv here: run bash .ci/setup --dev first" >&2
  else
    echo "gpu_check: NAS_PYTHON=$py is not an interpreter here" >&2
  fi
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
out="$runs/$(date -u +%Y-%m-%d)-$card"
mkdir -p "$runs"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
status=0
echo "gpu_check: CUDA tests"
timeout -k 10 150 "$py" -m pytest -v -rs -m cuda tests/workers/test_cuda.py \
  tests/workers/test_every_block_trains.py tests/searchspace/test_cpu_path.py || status=1
echo "gpu_check: bench/gpu.py -> $out.md (${SECONDS}s in)"
timeout -s INT -k 20 140 "$py" bench/gpu.py --compile --seconds 4 --budget-s 120 \
  --markdown "$out.md" --json "$out.json" || status=1
if [[ ! -s "$out.md" ]]; then
  echo "gpu_check: no table written" >&2
  status=1
fi
each=$(((deadline - SECONDS - 20) / 2))
((each > 150)) && each=150
if ((each < 60)); then
  echo "gpu_check: bench/search_rate.py skipped: ${SECONDS}s of ${deadline}s spent" >&2
  status=1
else
  echo "gpu_check: bench/search_rate.py -> $out-search.md (${SECONDS}s in, ${each}s per device)"
  timeout -s INT -k 20 $((2 * each + 15)) "$py" bench/search_rate.py --devices cuda,cpu \
    --trials 12 --concurrency 8 --timeout-s "$each" \
    --markdown "$out-search.md" --json "$out-search.json" || status=1
fi
echo "gpu_check: done in ${SECONDS}s, exit status $status (tables: $out.md, $out-search.md)"
exit $status
