#!/usr/bin/env bash
# Packs what bench/gpu_check.sh needs on this workplace's lent GPU machine (issue 26), which
# has no network, a Python 3.12 with torch but without Ray, Optuna or SQLAlchemy, and no
# Fashion-MNIST, and which receives only the working tree (at most 64 MiB a call, `carry`
# paths included). Runs HERE, where pip reaches PyPI; bench/device_run.sh unpacks it THERE.
#
#   bash bench/device_kit.sh        # then make the device calls it prints, one after another
#
# 1. pip's resolver picks cp312 manylinux wheels of ray[tune], optuna, optuna-dashboard,
#    sqlalchemy and alembic at .ci/constraints.txt's versions, with their dependencies.
# 2. The wheels of packages the device image already holds are dropped (IMAGE below: the list
#    in /work/.library/device/KINDS.md, read 2026-11-17; torch, numpy & co. are never carried),
#    except ALSO_CARRY. A check fails the kit unless every Requires-Dist of a kept wheel is met
#    by a kept wheel (version included) or names an image package; the requirements left to
#    the image go into the kit, and device_run.sh checks them against the versions there.
# 3. The kept wheels are installed HERE with pip's cross-platform --target (the same unpacking
#    `pip install --target` does there, so the device needs no pip step), less Ray's Java jars
#    and the dashboard's source maps (Ray runs Python workers only, the dashboard is off).
# 4. With Fashion-MNIST's training files (IDX, ungzipped: xz packs them smaller than gzip did)
#    this is one tar.xz, split into parts that each fit one call beside this working tree, in
#    .kit/partN/ (ignored by git: a call carries them only when named). Rebuilding replaces it.
# Run it in the checkout that the device session sends (a helper's call sends the lead's).
# Environment: KIT_PIP (default: python3 -m pip), KIT_PYTHON (runs the check; default
# .venv/bin/python, needs `packaging`), KIT_DATA_DIR (default $NAS_DATA_DIR or Debian's
# folder), KIT_MARGIN_MIB (room left in each call, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a pip <<<"${KIT_PIP:-python3 -m pip}"
checkpy=${KIT_PYTHON:-.venv/bin/python}
data=${KIT_DATA_DIR:-${NAS_DATA_DIR:-/usr/share/datasets/fashion-mnist}}
margin_mib=${KIT_MARGIN_MIB:-3}
kit=.kit build=.kit/build
wanted=("ray[tune]" optuna optuna-dashboard sqlalchemy alembic)
IMAGE="absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs
botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy
coverage cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython
diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools formulaic
frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize
hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib
jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator
lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes
mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals networkx
ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc
nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand
nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13
nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging
pandas pathspec patsy peft pillow pip pluggy portalocker prometheus-client propcache protobuf
psutil pyarrow pybind11 py-cpuinfo pygments pyparsing pyproject-hooks pyre-extensions pytest
pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil
pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core
scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools
shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz
torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers
treescope triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug
wheel wrapt xarray xxhash yarl zipp"
ALSO_CARRY="typing-extensions" # pydantic 2.14 needs >= 4.16, newer than images usually hold
platform=(--only-binary=:all: --python-version 3.12 --implementation cp --abi cp312
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
  --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64
  --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64)

normal() { tr 'A-Z_.' 'a-z--' <<<"$1"; } # a wheel's distribution name, as PEP 503 spells it

[[ -x $checkpy ]] || { echo "device_kit: KIT_PYTHON=$checkpy is not executable" >&2; exit 2; }
for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do
  [[ -f $data/$f.gz || -f $data/$f ]] || { echo "device_kit: no ${f}[.gz] in $data" >&2; exit 2; }
done
mkdir -p "$kit"
printf '*\n' >"$kit/.gitignore" # .kit/ ignores itself (a worktree shares .git/info/exclude)
git check-ignore -q "$kit/part1" ||
  { echo "device_kit: git does not ignore $kit/: every call would carry the kit" >&2; exit 1; }
rm -rf "$build" "$kit"/part*
mkdir -p "$build"/{all,keep} "$build/stage/site" "$build/stage/fashion-mnist"

echo "device_kit: resolving ${wanted[*]} for cp312 manylinux x86_64 (.ci/constraints.txt)"
"${pip[@]}" download -q "${platform[@]}" -c .ci/constraints.txt -d "$build/all" "${wanted[@]}"
declare -A in_image=()
for name in $IMAGE; do in_image[$name]=1; done
for whl in "$build"/all/*.whl; do
  name=$(normal "$(basename "$whl" | cut -d- -f1)")
  if [[ " $ALSO_CARRY " == *" $name "* || -z ${in_image[$name]:-} ]]; then
    cp "$whl" "$build/keep/"
  fi
done
# shellcheck disable=SC2012 # wheel file names: no odd characters
echo "device_kit: kept $(ls "$build/keep" | wc -l) of $(ls "$build/all" | wc -l) wheels:" \
  "$(ls "$build/keep" | cut -d- -f1-2 | tr '\n' ' ')"

echo "device_kit: checking every Requires-Dist of the kept wheels"
"$checkpy" - "$build/keep" "$build/stage/image-requires.txt" "$IMAGE" ray:tune \
  "${wanted[@]:1}" $ALSO_CARRY <<'PY'
"""Keep what the asked packages need; each requirement met by a kept wheel or the image."""
import email.parser, sys, zipfile
from pathlib import Path
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

keep, image_out, image, *asked = sys.argv[1:]
on_device = {"python_version": "3.12", "python_full_version": "3.12.3", "os_name": "posix",
             "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
             "implementation_name": "cpython", "platform_python_implementation": "CPython"}
image = {canonicalize_name(n) for n in image.split()}
wheels = {}
for whl in sorted(Path(keep).glob("*.whl")):
    with zipfile.ZipFile(whl) as z:  # the wheel's own METADATA, not a vendored package's
        [meta] = [n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        head = email.parser.Parser().parsestr(z.read(meta).decode(), headersonly=True)
    name = canonicalize_name(head["Name"])
    assert name not in wheels, f"two versions of {name}"
    wheels[name] = (whl, Version(head["Version"]), head.get_all("Requires-Dist") or [])
extras = {canonicalize_name(a.split(":")[0]): set(a.split(":")[1:]) for a in asked}
todo, seen, bad, left = list(extras), set(), [], set()
while todo:  # from the asked packages through what they require, extras included
    name = todo.pop()
    if name in seen or name not in wheels:
        continue
    seen.add(name)
    for text in wheels[name][2]:
        req = Requirement(text)
        wants = [{**on_device, "extra": e} for e in ("", *sorted(extras.get(name, ())))]
        if req.marker and not any(req.marker.evaluate(w) for w in wants):
            continue
        dep = canonicalize_name(req.name)
        if req.extras - extras.setdefault(dep, set()):
            extras[dep] |= req.extras
            seen.discard(dep)  # again, with the new extras
        if dep in wheels:
            todo.append(dep)
            if not req.specifier.contains(wheels[dep][1], prereleases=True):
                bad.append(f"{name} needs {text}; kept {dep} {wheels[dep][1]}")
        elif dep in image:
            left.add(f"{dep}{req.specifier}" if req.specifier else dep)
        else:
            bad.append(f"{name} needs {text}: neither kept nor in the image")
missing = [name for name in extras if name not in wheels and name not in image]
for name in sorted(set(wheels) - seen):  # needed only by a package the image holds
    wheels.pop(name)[0].unlink()
    print(f"  dropped {name}: no kept package needs it")
Path(image_out).write_text("".join(f"{r}\n" for r in sorted(left)))
print(f"  {len(wheels)} kept wheels; left to the image: {', '.join(sorted(left))}")
if bad or missing:
    sys.exit("device_kit: unmet: " + "; ".join(sorted(set(bad)) + [f"{m} not downloaded" for m in missing]))
PY

echo "device_kit: installing the kept wheels into the kit's site (pip --target, for cp312)"
"${pip[@]}" install -q --root-user-action=ignore --no-index --no-deps --no-compile --no-cache-dir "${platform[@]}" \
  --target "$build/stage/site" "$build"/keep/*.whl
site=$build/stage/site
rm -rf "${site:?}/bin" "${site:?}/ray/jars" # scripts name this machine's python; Java workers unused
find "$site/ray/dashboard/client/build" -name '*.map' -delete
[[ -x $site/ray/core/src/ray/raylet/raylet && -x $site/ray/core/src/ray/gcs/gcs_server ]] ||
  { echo "device_kit: Ray's binaries lost their executable bit" >&2; exit 1; }
for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do
  if [[ -f $data/$f ]]; then cp "$data/$f" "$build/stage/fashion-mnist/"; else
    gzip -dc "$data/$f.gz" >"$build/stage/fashion-mnist/$f"; fi
done

echo "device_kit: packing (xz -9, a few minutes)"
tar -C "$build/stage" --sort=name --owner=0 --group=0 --numeric-owner -cf - . |
  nice -n 19 xz -9 -T1 >"$build/kit.tar.xz"
sum=$(sha256sum "$build/kit.tar.xz" | cut -d' ' -f1)
total=$(stat -c %s "$build/kit.tar.xz")
# What travels beside a carried path: tracked and untracked-not-ignored files.
tree=$({ git ls-files -z --cached --others --exclude-standard |
  xargs -0 stat -c %s 2>/dev/null || true; } | awk '{s += $1} END {print s + 0}')
per=$((64 * 1048576 - tree - margin_mib * 1048576))
((per > 1048576)) || { echo "device_kit: the tree ($tree bytes) leaves no room" >&2; exit 1; }
split -b "$per" -d -a 2 "$build/kit.tar.xz" "$build/kit.tar.xz."
parts=("$build"/kit.tar.xz.[0-9][0-9])
for i in "${!parts[@]}"; do
  mkdir -p "$kit/part$((i + 1))"
  mv "${parts[$i]}" "$kit/part$((i + 1))/"
  printf '%s  kit.tar.xz\n%s parts\n' "$sum" "${#parts[@]}" >"$kit/part$((i + 1))/SHA256SUMS"
done
joined=$(cat "$kit"/part*/kit.tar.xz.* | sha256sum | cut -d' ' -f1)
[[ $joined == "$sum" ]] || { echo "device_kit: the parts do not re-join" >&2; exit 1; }
[[ ${KIT_KEEP_BUILD:-0} == 1 ]] || rm -rf "$build"

n=${#parts[@]}
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1e6}'; }
echo
echo "device_kit: $(mb "$total") MB in $n part(s) (at most $(mb "$per") MB each, beside a tree" \
  "of $(mb "$tree") MB); sha256 $sum; parts re-joined byte-identical"
echo "Device calls, one straight after the other (the machine goes back 30 s after a call;"
echo "a part carried earlier stays there only while it is warm):"
for ((i = 1; i < n; i++)); do
  echo "  run(carry=[\".kit/part$i\"], timeout_s=120, command=\"ls -l .kit/part*\")"
done
echo "  run(carry=[\".kit/part$n\"], timeout_s=600, command=\"bash bench/device_run.sh\")"
echo "The tables and device_run.log come back under the last call's files_at."
