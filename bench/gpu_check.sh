#!/usr/bin/env bash
# GPU check for skimb: set up (if needed), show the GPU, run the CUDA tests, time bench/speed.py.
#
# Usage, from the repository root on a machine with an NVIDIA GPU:
#
#     bash bench/gpu_check.sh
#
# It finishes in under 8 minutes (SKIMB_GPU_CHECK_DEADLINE seconds, default 465): every step
# runs under `timeout`, with at most the time left before the deadline. At the end it prints
# one markdown table (step, status, seconds, figures) and the speed table of bench/speed.py.
# Exit status: 1 if the CUDA tests fail or time out (or cannot run), else 0. A setup cut short
# leaves a partial .venv, which the next run would reuse: remove it first. Without CUDA the
# tests skip and speed.py refuses `--device cuda`; both are reported as such, not as a crash.
#
# Environment:
#   SKIMB_GPU_CHECK_NO_INSTALL=1   never install: use .venv/bin/python if present, else python3
#   SKIMB_GPU_CHECK_SYSTEM_SITE=1  create .venv with --system-site-packages (reuse a system
#                                  torch, e.g. on a machine without network access)
#   SKIMB_GPU_CHECK_PYTHON=PATH    use this interpreter, install nothing
#   SKIMB_GPU_CHECK_DEADLINE=S     total time budget in seconds (default 465)
#   SKIMB_GPU_CHECK_LOGS=DIR       where step logs and summary.md go (default: $OUT if set,
#                                  else a new temporary directory)

set -u

DEADLINE=${SKIMB_GPU_CHECK_DEADLINE:-465}
LOGS=${SKIMB_GPU_CHECK_LOGS:-${OUT:-$(mktemp -d -t skimb_gpu_check.XXXXXX)}}
mkdir -p "$LOGS"
SECONDS=0

if [[ ! -f pyproject.toml || ! -d skimb ]]; then
    echo "gpu_check: run this from the skimb repository root (bash bench/gpu_check.sh)." >&2
    exit 2
fi

ROWS=()      # one markdown row per step
TESTS_OK=1   # becomes 0 when the CUDA tests fail, time out or cannot run

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
now() { date +%s.%N; }

# run_step NAME BUDGET_S RESERVE_S LOGFILE CMD... : runs CMD under timeout, for at most
# BUDGET_S and never into the RESERVE_S seconds kept for the later steps; sets STEP_RC, STEP_S.
run_step() {
    local name=$1 budget=$2 reserve=$3 log=$4
    shift 4
    local left=$((DEADLINE - SECONDS - reserve))
    (( budget > left )) && budget=$left
    if (( budget < 10 )); then
        STEP_RC=skip STEP_S=0.0
        echo "== $name: skipped (deadline reached)" | tee "$log"
        return
    fi
    echo "== $name (timeout ${budget}s): $*"
    local start
    start=$(now)
    timeout --kill-after=10 "$budget" "$@" >"$log" 2>&1
    STEP_RC=$?
    STEP_S=$(elapsed "$start" "$(now)")
    tail -n 15 "$log" | sed 's/^/   | /'
    echo "   -> rc $STEP_RC in ${STEP_S}s (log: $log)"
}

status_of() {  # status_of RC BUDGET
    case $1 in
        skip) echo "skipped (deadline)" ;;
        0) echo "ok" ;;
        124 | 137) echo "TIMEOUT" ;;
        *) echo "FAILED (rc $1)" ;;
    esac
}

add_row() { ROWS+=("| $1 | $2 | $3 | $4 |"); }

# ---------------------------------------------------------------- 1. interpreter / setup
if [[ -n ${SKIMB_GPU_CHECK_PYTHON:-} ]]; then
    PY=$SKIMB_GPU_CHECK_PYTHON
    add_row "setup" "skipped (SKIMB_GPU_CHECK_PYTHON)" "0.0" "$PY"
elif [[ -x .venv/bin/python ]]; then
    PY=.venv/bin/python
    add_row "setup" "skipped (.venv exists)" "0.0" "$PY"
elif [[ ${SKIMB_GPU_CHECK_NO_INSTALL:-0} == 1 ]]; then
    PY=python3
    add_row "setup" "skipped (SKIMB_GPU_CHECK_NO_INSTALL=1)" "0.0" "$PY"
else
    PY=.venv/bin/python
    venv_args=()
    [[ ${SKIMB_GPU_CHECK_SYSTEM_SITE:-0} == 1 ]] && venv_args=(--system-site-packages)
    run_step "create .venv" 60 240 "$LOGS/setup_venv.log" python3 -m venv "${venv_args[@]}" .venv
    add_row "create .venv" "$(status_of "$STEP_RC")" "$STEP_S" \
        "python3 -m venv ${venv_args[*]:+${venv_args[*]} }.venv"
    # The default PyPI build of torch (CUDA wheels on Linux x86-64), unpinned on purpose.
    run_step "pip install torch" 240 240 "$LOGS/setup_torch.log" \
        .venv/bin/python -m pip install --disable-pip-version-check torch
    add_row "pip install torch" "$(status_of "$STEP_RC")" "$STEP_S" \
        "$(grep -Eo 'torch-[0-9][^ ]*' "$LOGS/setup_torch.log" | tail -n 1)"
    SETUP_RC=$STEP_RC
    run_step "pip install -e .[test]" 150 230 "$LOGS/setup_skimb.log" \
        .venv/bin/python -m pip install --disable-pip-version-check -e ".[test]"
    [[ $SETUP_RC == 0 ]] && SETUP_RC=$STEP_RC
    add_row "pip install -e .[test]" "$(status_of "$STEP_RC")" "$STEP_S" \
        "$([[ $SETUP_RC == 0 ]] || echo 'setup incomplete: rm -rf .venv before the next run')"
fi

# ---------------------------------------------------------------- 2. the GPU and torch
if command -v nvidia-smi >/dev/null 2>&1; then
    run_step "nvidia-smi -L" 20 280 "$LOGS/nvidia_smi.log" nvidia-smi -L
    add_row "nvidia-smi -L" "$(status_of "$STEP_RC")" "$STEP_S" \
        "$(head -n 1 "$LOGS/nvidia_smi.log" | sed 's/ (UUID.*//; s/|/\\|/g')"
else
    echo "== nvidia-smi: not found" | tee "$LOGS/nvidia_smi.log"
    add_row "nvidia-smi -L" "not found" "0.0" "no NVIDIA driver tools on PATH"
fi

run_step "torch.cuda info" 60 270 "$LOGS/torch_info.log" "$PY" - <<'EOF'
import torch

print(f"torch {torch.__version__}, built for CUDA {torch.version.cuda}, "
      f"cuda available: {torch.cuda.is_available()}, devices: {torch.cuda.device_count()}")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB, "
          f"compute capability {p.major}.{p.minor}")
print("CUDA=" + ("yes" if torch.cuda.is_available() else "no"))
EOF
CUDA=no
grep -q '^CUDA=yes' "$LOGS/torch_info.log" && CUDA=yes
add_row "torch.cuda info" "$(status_of "$STEP_RC")" "$STEP_S" \
    "$([[ $STEP_RC == 0 ]] && head -n 1 "$LOGS/torch_info.log" | sed 's/|/\\|/g')"
if [[ $CUDA == no ]]; then
    echo "!! CUDA is not available to torch here: the CUDA tests will skip and speed.py will refuse."
fi

# ---------------------------------------------------------------- 3. the CUDA tests
# CUDA tests are marked skipif(not torch.cuda.is_available()) or parametrised over a "cuda"
# device; -k cuda selects them (and the CPU-side tests of the CUDA code paths) in the files
# that mention CUDA.
mapfile -t TEST_FILES < <(grep -l "cuda" tests/test_*.py)
run_step "CUDA tests" 200 120 "$LOGS/cuda_tests.log" \
    "$PY" -m pytest -p no:cacheprovider -p no:xdist -q -rfEs -k cuda "${TEST_FILES[@]}"
TEST_RC=$STEP_RC
summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|skipped|error|deselected)|no tests ran' \
    "$LOGS/cuda_tests.log" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//')
if [[ $TEST_RC == 0 ]]; then
    if [[ $CUDA == yes ]]; then
        status="ok"
    else
        status="ok, but no CUDA: the CUDA cases skipped"
    fi
else
    TESTS_OK=0
    status=$(status_of "$TEST_RC")
fi
add_row "CUDA tests (-k cuda, ${#TEST_FILES[@]} files)" "$status" "$STEP_S" "${summary:-no summary}"

# ---------------------------------------------------------------- 4. speed benchmark
# Defaults for CUDA: 1,000,000 x 32, batch 1024 and 8192, 1 warm-up + 3 measured epochs,
# skorch / skimb / hand loop (about a minute on an H100-class GPU).
speed_figures() {  # speed_figures REPORT.md : "skimb 1024: 1.23 s/ep (1.10x hand loop); ..."
    [[ -f $1 ]] || return
    awk -F'|' '
        /^\| (skorch|skimb|hand loop|mlp\+ple|tabm k=[0-9]+|skimb\+[a-z]+) \|/ {
            name = $2; gsub(/^ +| +$/, "", name); bs = $3; gsub(/ /, "", bs)
            sec = $4; gsub(/ /, "", sec); hand = $6; gsub(/ /, "", hand)
            out = out sep name " " bs ": " sec " s/epoch" (hand != "—" && name != "hand loop" ? " (" hand " hand loop)" : "")
            sep = "; "
        }
        /^- target \(CUDA\)/ { sub(/^- target \(CUDA\) /, ""); tgt = tgt "; " $0 }
        END { print out tgt }' "$1"
}

speed_status() {  # speed_status RC LOG
    if [[ $1 == 2 ]] && grep -q "CUDA is not available" "$2"; then
        echo "refused: no CUDA"
    else
        status_of "$1"
    fi
}

run_step "speed.py --device cuda" 170 0 "$LOGS/speed.log" \
    "$PY" bench/speed.py --device cuda --epochs 3 --out "$LOGS/speed.md"
add_row "bench/speed.py --device cuda (1M rows, batch 1024 8192)" \
    "$(speed_status "$STEP_RC" "$LOGS/speed.log")" "$STEP_S" "$(speed_figures "$LOGS/speed.md")"

# Each built-in network's step against its matrix-product floor (issue 32), if time is left.
floor_figures() {  # floor_figures REPORT.md : "default: floor 0.120 ms, skimb 3.1x, ...; ..."
    [[ -f $1 ]] || return
    awk -F'|' '
        /^\| (default|mlp|tabm) \| [0-9]+ \|/ && NF >= 14 {
            name = $2; gsub(/^ +| +$/, "", name); floor = $6; gsub(/[ *]/, "", floor)
            row = name ": floor " floor " ms"
            split("skimb skorch hand-loop", trainer, " ")
            for (i = 9; i <= 13; i += 2) { r = $i; gsub(/[ *]/, "", r); row = row ", " trainer[(i - 7) / 2] " " r }
            out = out sep row; sep = "; "
        }
        END { print out }' "$1"
}

if [[ $CUDA == yes ]] && (( DEADLINE - SECONDS >= 60 )); then
    run_step "speed.py --floor" 100 0 "$LOGS/speed_floor.log" \
        "$PY" bench/speed.py --floor --device cuda --repeats 2 --out "$LOGS/speed_floor.md"
    add_row "bench/speed.py --floor (8,000 x 20, batch 256; skimb, skorch, hand loop / floor)" \
        "$(speed_status "$STEP_RC" "$LOGS/speed_floor.log")" "$STEP_S" \
        "$(floor_figures "$LOGS/speed_floor.md")"
else
    add_row "bench/speed.py --floor" "skipped ($([[ $CUDA == yes ]] && echo deadline || echo 'no CUDA'))" \
        "0.0" ""
fi

# The built-in networks with the default recipe, on fewer rows, if time is left.
if [[ $CUDA == yes ]] && (( DEADLINE - SECONDS >= 60 )); then
    run_step "speed.py --networks" 150 0 "$LOGS/speed_networks.log" \
        "$PY" bench/speed.py --device cuda --networks --only skimb hand\ loop mlp+ple \
        "tabm k=8" "tabm k=32" --rows 200000 --batch-sizes 8192 --epochs 2 \
        --out "$LOGS/speed_networks.md"
    add_row "bench/speed.py --networks (200k rows, batch 8192)" \
        "$(speed_status "$STEP_RC" "$LOGS/speed_networks.log")" "$STEP_S" \
        "$(speed_figures "$LOGS/speed_networks.md")"
else
    add_row "bench/speed.py --networks" "skipped ($([[ $CUDA == yes ]] && echo deadline || echo 'no CUDA'))" \
        "0.0" ""
fi

# The augmentations on every training batch (noise, mixup, smote), if time is left.
if [[ $CUDA == yes ]] && (( DEADLINE - SECONDS >= 45 )); then
    run_step "speed.py --augment" 90 40 "$LOGS/speed_augment.log" \
        "$PY" bench/speed.py --device cuda --augment --only skimb skimb+noise skimb+mixup \
        skimb+smote --rows 1000000 --batch-sizes 8192 --epochs 2 \
        --out "$LOGS/speed_augment.md"
    add_row "bench/speed.py --augment (1M rows, batch 8192)" \
        "$(speed_status "$STEP_RC" "$LOGS/speed_augment.log")" "$STEP_S" \
        "$(speed_figures "$LOGS/speed_augment.md")"
else
    add_row "bench/speed.py --augment" "skipped ($([[ $CUDA == yes ]] && echo deadline || echo 'no CUDA'))" \
        "0.0" ""
fi

# The small CNN on images (N-D input, device-resident), if time is left.
if [[ $CUDA == yes ]] && (( DEADLINE - SECONDS >= 45 )); then
    run_step "speed.py --cnn" 90 0 "$LOGS/speed_cnn.log" \
        "$PY" bench/speed.py --device cuda --cnn 16 --rows 200000 --batch-sizes 1024 \
        --epochs 2 --out "$LOGS/speed_cnn.md"
    add_row "bench/speed.py --cnn 16 (200k images, batch 1024)" \
        "$(speed_status "$STEP_RC" "$LOGS/speed_cnn.log")" "$STEP_S" \
        "$(speed_figures "$LOGS/speed_cnn.md")"
else
    add_row "bench/speed.py --cnn" "skipped ($([[ $CUDA == yes ]] && echo deadline || echo 'no CUDA'))" \
        "0.0" ""
fi

# ---------------------------------------------------------------- summary
{
    echo
    echo "## skimb GPU check ($(date -u +%Y-%m-%dT%H:%MZ), git $(git rev-parse --short HEAD 2>/dev/null || echo '?'), ${SECONDS}s in all)"
    echo
    echo "| step | status | seconds | figures |"
    echo "|---|---|---:|---|"
    printf '%s\n' "${ROWS[@]}"
    for report in "$LOGS/speed.md" "$LOGS/speed_floor.md" "$LOGS/speed_networks.md" \
        "$LOGS/speed_augment.md" "$LOGS/speed_cnn.md"; do
        if [[ -f $report ]]; then
            echo
            echo "### $(basename "$report")"
            sed -n '/^- device/,$p' "$report"
        fi
    done
    echo
    echo "Logs: $LOGS"
} | tee "$LOGS/summary.md"

if (( TESTS_OK == 0 )); then
    echo "gpu_check: the CUDA tests did not pass (see $LOGS/cuda_tests.log)." >&2
    exit 1
fi
exit 0
