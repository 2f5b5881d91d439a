#!/usr/bin/env bash
# The GPU check: CUDA tests, training / test throughput and the projected MARS runs.
#
# For a lent GPU machine with Python 3.12, a CUDA torch and torchvision but no package
# registry: the project's other run-time needs travel with the working tree as wheels in
# .whl/ (git-ignored; never committed). Fetch them once on a machine with a registry, from
# the repository root:
#
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#       --platform any -d .whl -r bench/gpu/requirements.txt
#
# then, on the GPU machine, from the repository root (about 5 minutes on one H200):
#
#   bash bench/gpu/run.sh             # results also in $OUT (default /tmp/ctl-gpu-check)
#   bash bench/gpu/run.sh --dry-run   # anywhere: nothing installed; the CUDA tests (skipped
#                                     # without CUDA) and gpu_throughput.py --dry-run on the CPU
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
OUT=${OUT:-/tmp/ctl-gpu-check}
mkdir -p "$OUT"

if [ "${1:-}" = "--dry-run" ]; then
    DRY=--dry-run
else
    DRY=
    SITE=/tmp/ctl-site
    # fast-reid, yacs, faiss-cpu, termcolor; then the plugin itself, for its project entry points
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .whl/*.whl
    "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir --upgrade \
        --target "$SITE" .
    export PYTHONPATH="$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}"
    # fast-reid's Cython rank evaluator (its Python fallback works too, 20 x slower)
    (cd "$SITE/fastreid/evaluation/rank_cylib" && "$PYTHON" setup.py -q build_ext --inplace >/dev/null 2>&1) \
        || echo "fast-reid's Cython rank evaluator not built: its Python fallback is used"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
fi
export PYTHONUNBUFFERED=1

status=0
echo "== CUDA tests (pytest -m cuda tests/cuda)"
"$PYTHON" -m pytest -q -m cuda tests/cuda 2>&1 | tee "$OUT/cuda_tests.txt" || status=$?

echo "== throughput and projections (bench/gpu_throughput.py $DRY)"
"$PYTHON" bench/gpu_throughput.py $DRY 2>&1 | tee "$OUT/throughput.txt" || status=$?
exit $status
