#!/usr/bin/env bash
# Runs bench/gpu_check.sh on this workplace's lent GPU machine (issue 26), from the kit that
# bench/device_kit.sh built on a machine with network and that the device calls carried into
# .kit/partN/: re-joins the parts (sha256 checked), unpacks the site of Ray, Optuna,
# SQLAlchemy & co. (installed for cp312 by the kit: no pip step here) and Fashion-MNIST into
# /tmp/nas-kit, puts the site and this checkout on PYTHONPATH in front of the image's own
# packages (python3: torch, numpy, pytest...), checks the imports and the requirements the
# kit left to the image, then runs gpu_check.sh with its tables written straight into $OUT
# (what a device call brings back, also when it is stopped at its limit), with this run's
# log beside them as device_run.log. Exit status: gpu_check's, or 2 when the kit is missing.
#
#   bash bench/device_run.sh                 # THERE, as the last device call's command
#   bash bench/device_run.sh COMMAND...      # THERE: COMMAND in place of gpu_check.sh
#   DEVICE_RUN_DRY=1 NAS_PYTHON=.venv/bin/python OUT=/tmp/out bash bench/device_run.sh
#
# The last line is the rehearsal on a machine without a GPU: everything but the cp312 site
# (its compiled modules load only in Python 3.12), so gpu_check takes its "no CUDA device"
# branch. Environment: NAS_PYTHON (default python3), DEVICE_RUN_DIR (default /tmp/nas-kit),
# DEVICE_RUN_TOTAL_S (the whole run's bound, default 570: a call may last 600 s).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
py=${NAS_PYTHON:-python3}
out=${OUT:-/tmp/device-run-out}
unpack=${DEVICE_RUN_DIR:-/tmp/nas-kit}
total=${DEVICE_RUN_TOTAL_S:-570}

fail() {
  echo "device_run: $*" >&2
  exit 2
}

unpack_kit() {
  local sums sum n i part parts=()
  # shellcheck disable=SC2012 # names the kit wrote
  sums=$(ls .kit/part*/SHA256SUMS 2>/dev/null | head -1)
  [[ -n $sums ]] || fail "no .kit/partN/ here: carry the parts bash bench/device_kit.sh made"
  sum=$(sed -n 1p "$sums" | cut -d' ' -f1)
  n=$(sed -n 2p "$sums" | cut -d' ' -f1)
  if [[ -f $unpack/.sha256 && $(cat "$unpack/.sha256") == "$sum" ]]; then
    echo "device_run: kit $sum already unpacked in $unpack"
    return
  fi
  for ((i = 1; i <= n; i++)); do
    part=$(ls .kit/part$i/kit.tar.xz.[0-9][0-9] 2>/dev/null) ||
      fail "part $i of $n missing (given back between calls?): carry .kit/part1..$n again"
    grep -q "^$sum " ".kit/part$i/SHA256SUMS" || fail ".kit/part$i is from another kit"
    parts+=("$part")
  done
  rm -rf "${unpack:?}" /tmp/nas-kit.tar.xz
  mkdir -p "$unpack"
  cat "${parts[@]}" >/tmp/nas-kit.tar.xz
  [[ $(sha256sum /tmp/nas-kit.tar.xz | cut -d' ' -f1) == "$sum" ]] ||
    fail "the joined parts do not match the kit's sha256 $sum"
  "$py" -c 'import sys, tarfile
tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2], filter="tar")' \
    /tmp/nas-kit.tar.xz "$unpack" || fail "could not unpack the kit"
  rm -f /tmp/nas-kit.tar.xz
  echo "$sum" >"$unpack/.sha256"
  echo "device_run: unpacked $n part(s) into $unpack in ${SECONDS}s ($(du -sh "$unpack" | cut -f1))"
}

check_site() {
  # The versions here, and each requirement the kit left to the image, against what it holds.
  "$py" - "$unpack/image-requires.txt" <<'PY'
import importlib.metadata as md, sys
from packaging.requirements import Requirement

for line in open(sys.argv[1]).read().split():
    req = Requirement(line)
    try:
        have = md.version(req.name)
    except md.PackageNotFoundError:
        print(f"device_run: WARNING {req.name} is not in this image (the kit expected it)")
        continue
    if not req.specifier.contains(have, prereleases=True):
        print(f"device_run: WARNING the kit needs {req}, this image has {req.name} {have}")
import optuna, optuna_dashboard, ray, ray.tune, sqlalchemy, torch  # noqa: E401
names = ("python", sys.version.split()[0]), ("torch", torch.__version__), ("ray", ray.__version__)
names += ("optuna", optuna.__version__), ("sqlalchemy", sqlalchemy.__version__)
print("device_run: " + ", ".join(f"{n} {v}" for n, v in names), ray.__file__)
PY
}

main() {
  echo "device_run: $(date -u '+%F %T') UTC on $(hostname), $(nproc) CPUs, $py"
  unpack_kit
  export NAS_DATA_DIR=$unpack/fashion-mnist
  if [[ ${DEVICE_RUN_DRY:-0} == 1 ]]; then
    echo "device_run: DEVICE_RUN_DRY=1: the cp312 site stays off PYTHONPATH"
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
  else
    export PYTHONPATH=$unpack/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
    check_site || echo "device_run: WARNING the site's imports failed (see above); going on"
  fi
  "$py" -c 'import sys; from pathlib import Path; from workers.datasets._idx import read_idx_header
print("device_run: Fashion-MNIST", *(read_idx_header(Path(f)) for f in sys.argv[1:]))' \
    "$NAS_DATA_DIR"/train-{images-idx3,labels-idx1}-ubyte ||
    fail "no Fashion-MNIST in $NAS_DATA_DIR"
  local left=$((total - SECONDS))
  ((left > 480)) && left=480
  if (($#)); then
    echo "device_run: in place of gpu_check.sh: $*"
    timeout -k 10 "$left" "$@"
  else
    NAS_PYTHON=$py NAS_GPU_RUNS=$out GPU_CHECK_DEADLINE_S=$left bash bench/gpu_check.sh
  fi
  local status=$?
  # shellcheck disable=SC2012 # names gpu_check wrote
  echo "device_run: exit status $status after ${SECONDS}s; in \$OUT: $(ls "$out" | tr '\n' ' ')"
  return $status
}

mkdir -p "$out"
main "$@" 2>&1 | tee "$out/device_run.log"
exit "${PIPESTATUS[0]}"
