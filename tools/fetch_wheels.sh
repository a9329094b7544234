#!/usr/bin/env bash
# Fetch the wheels `make gpu-check` needs on the GPU machine (Python 3.12, x86-64, no registry)
# into .whl/ (git-ignored): the project's dependencies that its image lacks, and theirs.
# The image already has torch, triton, timm, numpy, numba, h5py, scipy, scikit-learn,
# tensorboard, matplotlib, tqdm, pyyaml, filelock, requests, packaging, joblib, msgpack,
# lazy-loader, typing-extensions, setuptools (/work/.library/device/KINDS.md).
# Usage (here, with a registry):  tools/fetch_wheels.sh        then carry `.whl` to the device.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.whl
PY=${PYTHON:-python3}
mkdir -p "$DEST"
failed=()
# name==version as tested here. Only what eventsnn imports: tonic's declared expelliarmus and
# librosa are imported by none of the modules eventsnn uses (audio transforms, other file
# formats), and installing with --no-deps leaves them out; spikingjelly imports scienceplots
# only inside a plotting helper (carried anyway, it is pure Python).
PACKAGES=(
  spikingjelly==2.0.0 tonic==1.7.0 aedat==2.3.0 dv-processing==2.0.4 loguru==0.7.3
  importRosbag==1.0.4 SciencePlots==2.2.2 hdf5plugin==7.1.0
)
PLATFORMS=()
for n in 17 24 27 28 31 34 35; do PLATFORMS+=(--platform "manylinux_2_${n}_x86_64"); done
PLATFORMS+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)
for spec in "${PACKAGES[@]}"; do
  name=${spec%%==*}
  if ls "$DEST" | grep -qi "^${name//-/_}-\|^${name}-"; then continue; fi
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --abi cp312 --abi abi3 --abi none "${PLATFORMS[@]}" -d "$DEST" "$spec" \
    || failed+=("$spec")
done
if [ "${#failed[@]}" -gt 0 ]; then echo "fetch_wheels: no Python 3.12 wheel for: ${failed[*]}" >&2; exit 1; fi
ls -la "$DEST"
du -sh "$DEST"
grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> "$(git rev-parse --git-path info/exclude)"
