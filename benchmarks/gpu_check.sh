#!/usr/bin/env bash
# What a machine with a CUDA GPU proves about grokscape, in about 8 minutes (docs/devices.md):
#
#   (a) the GPU tests, tests/test_gpu.py (pytest -m gpu)                                 limit 120 s
#   (b) the tiny configuration on the GPU against the same run on the CPU, by
#       benchmarks/compare_runs.py: the planes, chains, sharpness and paths of the CPU
#       run computed again (curves refitted) on the GPU from the CPU's own checkpoints,
#       and both seeds trained on the GPU against their CPU training             limit 100 + 40 + 40 + 45 s
#   (c) the paper's training, 32 seeds in one stacked job on the GPU, timed             limit 120 s
#   (d) benchmarks/per_job.py on the GPU: seeds and curves per job                     limit 30 + 30 s
#
# The limits add up to under 9 minutes; the stages usually end well before them (the limits are
# estimates: no GPU has run this script yet). Where one command may run only a few minutes, run the
# stages in turn into the same report: --stages ab, then --stages cd.
#
# Everything goes into one Markdown report (default $OUT/gpu_report.md, else ./gpu_report.md); the
# exit status is 1 if any part failed.
#
#   benchmarks/gpu_check.sh [--wheels DIR] [--report FILE] [--stages abcd]
#   DEVICE=cpu benchmarks/gpu_check.sh      # a smoke test of the script itself on a CPU (below)
#
# The GPU machine needs PyTorch, NumPy, h5py, pandas, matplotlib and SciPy (Python 3.12). Whatever
# else is missing (Snakemake and its dependencies, jsonschema, PyYAML, pytest) comes from a folder of
# wheels, installed offline with `pip install --no-index --no-deps --target`. Download them on any
# machine with pip and the internet, for the GPU machine's Python and platform:
#
#   pip download --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 -d wheels \
#       snakemake==9.27.1 jsonschema==4.26.0 pyyaml==6.0.4 pytest==9.0.3
#
# and pass the folder: `benchmarks/gpu_check.sh --wheels wheels`.
#
# With DEVICE=cpu the script runs on a CPU in a few minutes, to check the script: the GPU tests skip;
# the "other device" of (b) is the CPU with PyTorch's portable kernels (ATEN_CPU_CAPABILITY=default)
# against this CPU's own (AVX2 or AVX-512), a real difference in rounding; (c) trains 4 seeds of the
# paper's model for 20 epochs; (d) measures 1 and 2 seeds and curves. A CPU is slower, so the time
# limits are multiplied by LIMIT_SCALE (default 100 on a CPU, 1 on a GPU).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
WHEELS=""
REPORT="${OUT:-.}/gpu_report.md"
STAGES=abcd
while [[ $# -gt 0 ]]; do
    case "$1" in
    --wheels) WHEELS=$2 && shift 2 ;;
    --report) REPORT=$2 && shift 2 ;;
    --stages) STAGES=$2 && shift 2 ;;
    *) echo "gpu_check.sh: unknown argument $1 (see the header of $0)" >&2 && exit 2 ;;
    esac
done
REPORT=$(realpath -m "$REPORT")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/grokscape-gpu-check.XXXXXX")
CORES=$(nproc)
SCALE=${LIMIT_SCALE:-1}
[[ "$DEVICE" == cpu ]] && SCALE=${LIMIT_SCALE:-100}
FAILED=0

if [[ -n "$WHEELS" ]]; then
    "$PYTHON" -m pip install --quiet --no-index --no-deps --target "$WORK/site" "$WHEELS"/*.whl
    export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
    export PATH="$WORK/site/bin:$PATH"
fi
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" # the library, as `pip install -e .` would give it

SNAKE=("$PYTHON" -m snakemake -s "$REPO/Snakefile" --cores "$CORES")
OTHER=("${SNAKE[@]}") # Snakemake on the device side of the comparison (b)
COMPARE=("$PYTHON" benchmarks/compare_runs.py)
# On a CPU, that side is the same CPU with PyTorch's portable kernels: another rounding, also of what
# both sides draw on the CPU (initial weights).
if [[ "$DEVICE" == cpu ]]; then
    OTHER=(env ATEN_CPU_CAPABILITY=default "${SNAKE[@]}")
    COMPARE+=(--other-cpu-kernels)
fi

report() { printf '%s\n' "$@" >>"$REPORT"; }
stage() { [[ "$STAGES" == *"$1"* ]]; }
# Run a command with a time limit, its output kept in $WORK/$1.log; a failure goes into the report and
# the script goes on with what does not depend on it.
limited() {
    local name=$1 seconds=$(($2 * SCALE)) started status=0
    shift 2
    started=$(date +%s)
    timeout "$seconds" "$@" >"$WORK/$name.log" 2>&1 || status=$?
    ELAPSED=$(($(date +%s) - started))
    if [[ $status -ne 0 ]]; then
        FAILED=1
        local why="exit status $status"
        [[ $status -eq 124 ]] && why="stopped at its limit of $seconds s"
        report "" "**$name failed** ($why, after $ELAPSED s); the end of its output:" "" '```' \
            "$(tail -n 30 "$WORK/$name.log")" '```'
    fi
    return $status
}

if ! "$PYTHON" -c "import h5py, jsonschema, matplotlib, pandas, pytest, scipy, snakemake, torch, yaml"; then
    echo "gpu_check.sh: a package is missing (the header of $0 says how to bring it with --wheels)" >&2
    exit 1
fi

cd "$REPO"
report "# GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)" ""
"$PYTHON" -c 'import platform, sys, torch
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU"
print(f"{sys.argv[1]}: {gpu}; torch {torch.__version__}, Python {platform.python_version()}, {sys.argv[2]} CPU cores")' \
    "$DEVICE" "$CORES" >>"$REPORT"

if stage a; then
    report "" "## (a) The GPU tests" ""
    limited gpu_tests 120 "$PYTHON" -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py -ra || true
    report '```' "$(tail -n 8 "$WORK/gpu_tests.log")" '```' "" "($ELAPSED s)"
fi

if stage b; then
    report "" "## (b) The tiny configuration: $DEVICE against the CPU" ""
    tiny=(--configfile "$REPO/tests/tiny.yaml")
    if limited tiny_cpu 100 "${SNAKE[@]}" -d "$WORK/tiny_cpu" "${tiny[@]}"; then
        report "- the CPU run: $ELAPSED s"
        cp -a "$WORK/tiny_cpu" "$WORK/tiny_paths"
        # From the same checkpoints (training is not rerun: mtime triggers only), on the device: first the
        # planes of the CPU's curves, the chains and the sharpness through training; then every curve,
        # fitted again (the planes, left out of the targets, stay those of the CPU's curves).
        again=(-d "$WORK/tiny_paths" "${tiny[@]}" --rerun-triggers mtime)
        if limited tiny_planes 40 "${OTHER[@]}" "${again[@]}" --forcerun plane chain sharpness --config device="$DEVICE" &&
            limited tiny_curves 40 "${OTHER[@]}" results/paths/summary.csv results/claims.json "${again[@]}" \
                --forcerun curves --config device="$DEVICE"; then
            report "- planes, chains, sharpness and curves again on $DEVICE from the CPU's checkpoints" ""
            "${COMPARE[@]}" "$WORK/tiny_cpu" "$WORK/tiny_paths" --report "$REPORT" \
                --title "Paths, sharpness and planes on $DEVICE, from the CPU run's checkpoints" >/dev/null || FAILED=1
        fi
    fi
    seeds=(results/seed0/checkpoints.h5 results/seed1/checkpoints.h5 results/seed0/points.json results/seed1/points.json)
    if limited tiny_train 45 "${OTHER[@]}" -d "$WORK/tiny_train" "${seeds[@]}" "${tiny[@]}" --config device="$DEVICE"; then
        report "" "- training both seeds on $DEVICE (one stacked job on a GPU): $ELAPSED s" ""
        if [[ -d "$WORK/tiny_cpu/results" ]]; then
            "${COMPARE[@]}" "$WORK/tiny_cpu" "$WORK/tiny_train" --report "$REPORT" \
                --title "Training on $DEVICE against training on the CPU" >/dev/null || FAILED=1
        fi
    fi
fi

if stage c; then
    n_seeds=32 epochs=""
    [[ "$DEVICE" == cpu ]] && n_seeds=4 epochs="max_epochs: 20, "
    report "" "## (c) The paper's training, $n_seeds seeds in one stacked job on $DEVICE" ""
    last=$((n_seeds - 1))
    targets=()
    for ((seed = 0; seed <= last; seed++)); do targets+=("results/seed$seed/points.json"); done
    train="train={seeds: [$(seq -s ', ' 0 $last)], ${epochs}seeds_per_job: $n_seeds}"
    limited paper_training 120 "${SNAKE[@]}" -d "$WORK/paper" "${targets[@]}" --config device="$DEVICE" "$train" || true
    report "- wall time of the Snakemake call: $ELAPSED s (limit $((120 * SCALE)) s)"
    "$PYTHON" benchmarks/training_rate.py "$WORK/paper" "seeds0-$last" >>"$REPORT"
fi

if stage d; then
    report "" "## (d) Seeds and curves per job on $DEVICE (benchmarks/per_job.py)" ""
    sizes=(1 32 128) curves=(1 8 32) extra=()
    [[ "$DEVICE" == cpu ]] && sizes=(1 2) curves=(1 2) extra=(--threads 1 --side-by-side 0 --repeats 1)
    if limited per_job_seeds 30 "$PYTHON" benchmarks/per_job.py --device "$DEVICE" --sizes "${sizes[@]}" "${extra[@]}"; then
        report "$(sed -n '/^_/,$p' "$WORK/per_job_seeds.log")" ""
    fi
    if limited per_job_curves 30 "$PYTHON" benchmarks/per_job.py --device "$DEVICE" --curves --sizes "${curves[@]}" \
        "${extra[@]}"; then
        report "$(sed -n '/^_/,$p' "$WORK/per_job_curves.log")" ""
    fi
fi

report "" "Work folder: $WORK"
echo "gpu_check.sh: report in $REPORT"
exit $FAILED
