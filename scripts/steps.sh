# scripts/steps.sh: sourced by scripts/deps, build and test so that a first run shows one line
# per step instead of apt's, meson's and ninja's output. The full output goes to a log file
# (CFLOW_LOG, default .deps/logs/<script>.log in the checkout) whose path is printed when a
# step fails.

steps_init() { # steps_init NAME
    STEP_LOG=${CFLOW_LOG:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.deps/logs/$1.log}
    mkdir -p "$(dirname "$STEP_LOG")"
    : >"$STEP_LOG"
    STEP_NAME=$1
}

# step LABEL CMD...: runs CMD with its output in the log; one line saying how it went.
step() {
    local label=$1 rc=0
    shift
    printf '%s: %s ...' "$STEP_NAME" "$label" >&2
    printf '\n### %s\n' "$label" >>"$STEP_LOG"
    "$@" >>"$STEP_LOG" 2>&1 || rc=$?
    step_end "$rc"
}

# step_end RC: closes the step's line with done or FAILED (and the log's tail); returns RC.
step_end() {
    if [ "$1" -eq 0 ]; then
        printf ' done\n' >&2
    else
        printf ' FAILED\n' >&2
        step_failed
    fi
    return "$1"
}

step_failed() {
    tail -n 15 "$STEP_LOG" | sed 's/^/  | /' >&2
    printf '%s: full output in %s\n' "$STEP_NAME" "$STEP_LOG" >&2
}

# ninja_step LABEL NINJA-ARGS...: ninja with its [N/M] shown as a progress figure on a
# terminal (one line rewritten in place), its output in the log.
ninja_step() {
    local label=$1 rc=0
    shift
    printf '\n### %s\n' "$label" >>"$STEP_LOG"
    printf '%s: %s ...' "$STEP_NAME" "$label" >&2
    set +e
    ninja "$@" 2>&1 | tee -a "$STEP_LOG" | {
        if [ -t 2 ]; then
            while IFS= read -r line; do
                case "$line" in
                    \[*/*\]*) n=${line%%]*}; printf '\r\033[K%s: %s %s]' "$STEP_NAME" "$label" "$n" >&2 ;;
                esac
            done
            printf '\r\033[K%s: %s ...' "$STEP_NAME" "$label" >&2
        else
            cat >/dev/null
        fi
    }
    rc=${PIPESTATUS[0]}
    set -e
    step_end "$rc"
}
