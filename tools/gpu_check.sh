#!/usr/bin/env bash
# `make gpu-check`: every GPU check in one command (under 8 minutes on one H100/H200).
#   1. GPU-marked tests (tests/**: AMP + DA-SSDP step, scaler skip, evaluation, compile, framing,
#      spike statistics on CUDA),
#   2. a CUDA smoke train + evaluate through the CLI (configs/smoke/images.yaml, bf16),
#   3. GPU benchmark rows (`eventsnn bench gpu`, `bench plasticity --quick`),
#   4. one folder of JSON + logs and SUMMARY.md:  ${GPU_OUT:-gpu_check/<UTC time>}.
# On a machine without a registry, carry the wheels of tools/fetch_wheels.sh as `.whl/`: they
# are installed into /tmp/site first. Uses `python3` (the image's), not the project's .venv.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${GPU_OUT:-gpu_check/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" > /dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "gpu-check: installing .whl/ failed" >&2; exit 2; }
  export PYTHONPATH="$PWD:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
  || { echo "gpu-check: no CUDA device visible to $PY" >&2; exit 2; }
status=0
start=$(date +%s)
step() { echo "== gpu-check: $1 ($(( $(date +%s) - start )) s)" | tee -a "$OUT/gpu_check.log"; }

step "GPU tests"
timeout 150 "$PY" -m pytest -q -m gpu -p no:cacheprovider --continue-on-collection-errors tests >> "$OUT/gpu_check.log" 2>&1 || status=1

step "CUDA smoke train + evaluate (CLI)"
SMOKE=(--set train.device=cuda --set train.precision=bf16 --set train.epochs=2 --set output.root="$OUT/runs" \
       --set output.name=smoke --set output.tensorboard=false)
{ timeout 120 "$PY" -m eventsnn train -c configs/smoke/images.yaml "${SMOKE[@]}" --overwrite \
  && timeout 45 "$PY" -m eventsnn evaluate --checkpoint "$OUT/runs/smoke/checkpoint_latest.pt" \
       --set train.device=cuda --set train.precision=bf16 --out "$OUT/runs/smoke"; } >> "$OUT/gpu_check.log" 2>&1 \
  || status=1

step "bench gpu"
timeout 270 "$PY" -m eventsnn bench gpu --out "$OUT/bench_gpu.json" >> "$OUT/gpu_check.log" 2>&1 || status=1
step "bench plasticity --quick"
timeout 45 "$PY" -m eventsnn bench plasticity --quick --out "$OUT/bench_plasticity.json" >> "$OUT/gpu_check.log" 2>&1 || status=1

step "summary"
"$PY" -m eventsnn.bench.gpu summary "$OUT" >> "$OUT/gpu_check.log" 2>&1 || status=1
rm -rf "$OUT/runs"  # checkpoints are not needed (and would not come back from a device machine)
step "done, status $status"
exit $status
