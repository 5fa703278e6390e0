#!/usr/bin/env bash
# Run a command as one job or as an array of jobs on this machine, with per-job logs.
#
#   utils/run_local.sh [--max_jobs N] [--gpu N] [--mem X] [--time T] JOB=1:N LOG COMMAND...
#   utils/run_local.sh [options] LOG COMMAND...
#
# In LOG and COMMAND, the string JOB is replaced by the job index. Jobs run in
# parallel, at most --max_jobs at once (default: all). Each log starts with the
# command line and ends with the exit status and run time. When jobs fail, every
# failed job is named with its log file and the tail of its log, and the exit status
# is 1. --gpu/--mem/--time are accepted for compatibility with utils/run_slurm.sh
# (--gpu N sets CUDA_VISIBLE_DEVICES to the first N GPUs when it is unset).
# Written for this project (ESPnet's Kaldi run.pl is not in the pip wheel).
set -euo pipefail

max_jobs=0
gpu=0
while [ $# -gt 0 ]; do
    case "$1" in
        --max_jobs|--max-jobs) max_jobs=$2; shift 2 ;;
        --gpu) gpu=$2; shift 2 ;;
        --mem|--time|--config) shift 2 ;;
        --*) echo "$0: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -ge 2 ] || { sed -n '2,14p' "$0" >&2; exit 2; }

first=1; last=1; array=false
if [[ "$1" =~ ^JOB=([0-9]+):([0-9]+)$ ]]; then
    first=${BASH_REMATCH[1]}; last=${BASH_REMATCH[2]}; array=true
    shift
fi
log_pattern=$1; shift
[ $# -ge 1 ] || { echo "$0: no command given" >&2; exit 2; }
if [ "${gpu}" -gt 0 ] && [ -z "${CUDA_VISIBLE_DEVICES:-}" ]; then
    CUDA_VISIBLE_DEVICES=$(seq -s, 0 $((gpu - 1)))
    export CUDA_VISIBLE_DEVICES
fi

run_one() {
    # $1: job index; the command string (each argument %q-quoted) is in ${quoted}
    local j=$1 log cmd start=${SECONDS} status=0
    log=${log_pattern//JOB/${j}}
    cmd=${quoted//JOB/${j}}
    mkdir -p "$(dirname "${log}")"
    {
        echo "# ${cmd}"
        echo "# Started at $(date)"
    } > "${log}"
    bash -c "${cmd}" >> "${log}" 2>&1 || status=$?
    {
        echo "# Accounting: time=$((SECONDS - start)) seconds"
        echo "# Ended (code ${status}) at $(date)"
    } >> "${log}"
    return "${status}"
}

# parallel jobs share the cores: one BLAS/OpenMP pool per job unless set by the caller
njob_parallel=$((last - first + 1))
[ "${max_jobs}" -gt 0 ] && [ "${max_jobs}" -lt "${njob_parallel}" ] && njob_parallel=${max_jobs}
if [ -z "${OMP_NUM_THREADS:-}" ] && [ "${njob_parallel}" -gt 1 ]; then
    ncpu=$(nproc 2>/dev/null || echo 1)
    OMP_NUM_THREADS=$(( ncpu / njob_parallel > 0 ? ncpu / njob_parallel : 1 ))
    export OMP_NUM_THREADS
fi

quoted=$(printf '%q ' "$@")
pids=(); jobs_of=()
for ((j = first; j <= last; j++)); do
    if [ "${max_jobs}" -gt 0 ]; then
        while [ "$(jobs -rp | wc -l)" -ge "${max_jobs}" ]; do wait -n || true; done
    fi
    run_one "${j}" &
    pids+=($!); jobs_of+=("${j}")
done

failed=0
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
        j=${jobs_of[$i]}
        log=${log_pattern//JOB/${j}}
        failed=$((failed + 1))
        if ${array}; then what="job ${j} of ${first}:${last}"; else what="the job"; fi
        {
            echo "$0: ${what} failed; see ${log}. Its last lines:"
            grep -v '^# ' "${log}" | tail -n 15 | sed 's/^/    /'
        } >&2
    fi
done
if [ "${failed}" -gt 0 ]; then
    echo "$0: ${failed} of $((last - first + 1)) job(s) failed" >&2
    exit 1
fi
