#!/usr/bin/env bash
# The GPU check of issue 21 as one prepared run on a CUDA machine (the `device` tool's H200, whose
# python3 3.12 holds torch but not astropy, lz4 or zstandard, and which reaches no package index):
# the CUDA path end to end (command line, the plugin's code path with the sirilpy double, no
# per-iteration sync), then the benchmark on the GPU beside the same machine's CPU.
#
#   bash bench/gpu_check.sh wheels   # here, before each check: the missing packages as cp312 wheels and
#                                    # this tree's own wheel (the plugin script installs the engine by its
#                                    # metadata) in .whl/ (git-ignored)
#   bash bench/gpu_check.sh          # there, with .whl carried: card, tests and tables into $OUT
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == wheels ]]; then
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl astropy pyerfa astropy-iers-data lz4 zstandard
    rm -f .whl/siril_bgoptimizer-*.whl
    python3 -m build --wheel --outdir .whl >/dev/null
    exit
fi

out=${OUT:-/tmp/gpu_check}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1  # the engine from its wheel, as Siril's venv has it
status=0  # each step runs even when one before it failed; any failure fails the check
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.get_device_name())"
    echo "$(nproc) CPU cores"
} 2>&1 | tee "$out/card.txt" || status=1
python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_optimize.py 2>&1 | tee "$out/tests.txt" || status=1
# Each case is a fresh CLI process: run_s (reading to last write) includes starting CUDA, wall_s the interpreter too.
python3 bench/benchmark.py --sizes 3000x2000 6000x4000 --gradients mixed dome --json "$out/cuda.json" \
    -- --device cuda 2>&1 | tee "$out/cuda.txt" || status=1
python3 bench/benchmark.py --sizes 6000x4000 --gradients mixed dome --json "$out/cpu.json" \
    -- --device cpu 2>&1 | tee "$out/cpu.txt" || status=1
exit $status
