#!/usr/bin/env bash
# Run a command as one job or as an array of jobs on a Slurm cluster, with per-job logs.
#
#   utils/run_slurm.sh [--config FILE] [--max_jobs N] [--gpu N] [--mem X] [--time T]
#                      [--nodes N] JOB=1:N LOG COMMAND...
#   utils/run_slurm.sh [options] LOG COMMAND...
#
# The interface of utils/run_local.sh: in LOG and COMMAND, the string JOB is replaced by
# the job index, and each log starts with the command line and ends with the exit status
# and run time. JOB=1:N is submitted with sbatch as one job array (at most --max_jobs
# tasks at once); this script waits for it. When jobs fail, are cancelled, time out or
# are lost with their node, each one is named with its Slurm job id (<array job>_<index>),
# its state and its log file, with the tail of that log, and the exit status is 1.
# Stopping this script (Ctrl-C, kill) cancels its Slurm job.
#
#   --config FILE   partition, resources and further sbatch options (conf/slurm.conf)
#   --gpu N         N GPUs per node; the config's gpu_* keys apply when N > 0
#   --mem X, --time T   sbatch --mem and --time, over the config's values
#   --nodes N       run COMMAND with srun on N nodes, one task per node: multi-node
#                   training with ESPnet's --dist_launcher slurm (which spawns one process
#                   per GPU on each node); MASTER_PORT is exported (from the job id)
#                   unless already set
#
# Jobs start in the current directory with the environment of this script (sbatch's
# --export=ALL): the logs and the job script (<log dir>/q/<name>.sh) must be on a file
# system that the compute nodes share.
set -euo pipefail

me=$(basename "$0")
config=""
max_jobs=0
gpu=0
mem=""
time_limit=""
nodes=1
while [ $# -gt 0 ]; do
    case "$1" in
        --config) config=$2; shift 2 ;;
        --max_jobs|--max-jobs) max_jobs=$2; shift 2 ;;
        --gpu) gpu=$2; shift 2 ;;
        --mem) mem=$2; shift 2 ;;
        --time) time_limit=$2; shift 2 ;;
        --nodes) nodes=$2; shift 2 ;;
        --*) echo "${me}: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -ge 2 ] || { sed -n '2,26p' "$0" >&2; exit 2; }
for v in max_jobs gpu nodes; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "${me}: --${v} must be a number, got '${!v}'" >&2; exit 2; }
done
[ "${nodes}" -ge 1 ] || { echo "${me}: --nodes must be at least 1" >&2; exit 2; }
for tool in sbatch squeue scontrol scancel; do
    command -v "${tool}" > /dev/null ||
        { echo "${me}: '${tool}' not found: this machine is not a Slurm submit host (set cmd_backend=local in cmd.sh)" >&2; exit 1; }
done

first=1; last=1; array=false
if [[ "$1" =~ ^JOB=([0-9]+):([0-9]+)$ ]]; then
    first=${BASH_REMATCH[1]}; last=${BASH_REMATCH[2]}; array=true
    shift
    [ "${first}" -le "${last}" ] || { echo "${me}: empty job range JOB=${first}:${last}" >&2; exit 2; }
fi
log_pattern=$1; shift
[ $# -ge 1 ] || { echo "${me}: no command given" >&2; exit 2; }
if ${array} && [ "${first}" -lt "${last}" ] && [[ "${log_pattern}" != *JOB* ]]; then
    echo "${me}: the log '${log_pattern}' of an array JOB=${first}:${last} must contain JOB" >&2
    exit 2
fi

# ----------------------------------------------------------------------- the config
declare -A conf=(
    [partition]="" [mem]="" [time]="" [cpus_per_task]="" [extra]="" [max_jobs]=""
    [gpu_request]="--gres=gpu:{n}" [gpu_partition]="" [gpu_mem]="" [gpu_time]=""
    [gpu_cpus_per_task]="" [gpu_extra]="" [poll_max]="30" [log_wait]="30"
)
if [ -n "${config}" ]; then
    [ -f "${config}" ] || { echo "${me}: config ${config} not found" >&2; exit 1; }
    n=0
    while IFS= read -r line || [ -n "${line}" ]; do
        n=$((n + 1))
        line=$(sed -e 's/^#.*//' -e 's/[[:space:]]#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' <<< "${line}")
        [ -n "${line}" ] || continue
        if [[ ! "${line}" =~ ^([a-z_]+)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
            echo "${me}: ${config}:${n}: expected key=value, got '${line}'" >&2; exit 1
        fi
        key=${BASH_REMATCH[1]}
        [ -n "${conf[${key}]+set}" ] ||
            { echo "${me}: ${config}:${n}: unknown key '${key}' (keys: ${!conf[*]})" >&2; exit 1; }
        conf[${key}]=${BASH_REMATCH[2]}
    done < "${config}"
fi
for key in poll_max log_wait; do
    [[ "${conf[${key}]}" =~ ^[0-9]+$ ]] || { echo "${me}: ${config}: ${key} must be a number of seconds" >&2; exit 1; }
done
poll_max=${conf[poll_max]}
log_wait=${conf[log_wait]}
setting() {  # setting KEY: the gpu_KEY value for GPU jobs where it is set, else KEY
    if [ "${gpu}" -gt 0 ] && [ -n "${conf[gpu_$1]}" ]; then
        echo "${conf[gpu_$1]}"
    else
        echo "${conf[$1]}"
    fi
}
partition=$(setting partition)
cpus=$(setting cpus_per_task)
[ -n "${mem}" ] || mem=$(setting mem)
[ -n "${time_limit}" ] || time_limit=$(setting time)
if [[ "${conf[max_jobs]}" =~ ^[1-9][0-9]*$ ]] &&
        { [ "${max_jobs}" -eq 0 ] || [ "${conf[max_jobs]}" -lt "${max_jobs}" ]; }; then
    max_jobs=${conf[max_jobs]}
fi

# ----------------------------------------------------------------------- the job
log_of() { echo "${log_pattern//JOB/$1}"; }
name=$(basename "${log_pattern}")
name=${name%.log}; name=${name//.JOB/}; name=${name//JOB/}
qdir=$(dirname "$(log_of "${first}")")/q
mkdir -p "${qdir}"
for ((j = first; j <= last; j++)); do
    mkdir -p "$(dirname "$(log_of "${j}")")"
    rm -f "$(log_of "${j}")"  # a stale log must not pass for this run's
done
script=${qdir}/${name:-job}.sh

sbatch_args=(--parsable --job-name "${name:-job}" --chdir "${PWD}" --open-mode truncate)
output=${log_pattern//%/%%}
if ${array}; then
    throttle=""
    [ "${max_jobs}" -gt 0 ] && throttle=%${max_jobs}
    sbatch_args+=(--array "${first}-${last}${throttle}")
    output=${output//JOB/%a}
fi
sbatch_args+=(--output "${output}")
[ -n "${partition}" ] && sbatch_args+=(--partition "${partition}")
[ -n "${mem}" ] && sbatch_args+=(--mem "${mem}")
[ -n "${time_limit}" ] && sbatch_args+=(--time "${time_limit}")
[ -n "${cpus}" ] && sbatch_args+=(--cpus-per-task "${cpus}")
if [ "${gpu}" -gt 0 ]; then
    read -ra words <<< "${conf[gpu_request]//\{n\}/${gpu}}"
    sbatch_args+=("${words[@]}")
fi
srun_prefix=""
if [ "${nodes}" -gt 1 ]; then
    sbatch_args+=(--nodes "${nodes}" --ntasks-per-node 1)
    srun_prefix="srun --kill-on-bad-exit=1 "
fi
read -ra words <<< "${conf[extra]}"
sbatch_args+=("${words[@]}")
if [ "${gpu}" -gt 0 ]; then
    read -ra words <<< "${conf[gpu_extra]}"
    sbatch_args+=("${words[@]}")
fi

quoted=$(printf '%q ' "$@")
{
    echo "#!/usr/bin/env bash"
    echo "# Written by utils/run_slurm.sh; submitted from ${PWD} with:"
    echo "#   sbatch ${sbatch_args[*]} ${script}"
    printf 'cd %q || exit 1\n' "${PWD}"
    printf 'cmd=%q\n' "${quoted}"
    echo "j=\${SLURM_ARRAY_TASK_ID:-${first}}"
    # shellcheck disable=SC2016
    cat <<'EOF'
cmd=${cmd//JOB/${j}}
echo "# ${cmd}"
echo "# Started at $(date)"
echo "# Slurm job ${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID}}${SLURM_ARRAY_TASK_ID:+_${SLURM_ARRAY_TASK_ID}} on $(hostname)"
[ -n "${OMP_NUM_THREADS:-}" ] || export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
start=${SECONDS}
status=0
EOF
    if [ -n "${srun_prefix}" ]; then
        # shellcheck disable=SC2016
        echo 'export MASTER_PORT=${MASTER_PORT:-$((20000 + SLURM_JOB_ID % 20000))}'
    fi
    echo "${srun_prefix}bash -c \"\${cmd}\" || status=\$?"
    # shellcheck disable=SC2016
    cat <<'EOF'
echo "# Accounting: time=$((SECONDS - start)) seconds"
echo "# Ended (code ${status}) at $(date)"
exit "${status}"
EOF
} > "${script}"

jobid=""
finished=false
cancel() {
    if [ -n "${jobid}" ] && ! ${finished}; then
        scancel "${jobid}" 2> /dev/null || true
        echo "${me}: stopped: cancelled Slurm job ${jobid} (logs: ${log_pattern})" >&2
    fi
}
trap cancel EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! jobid=$(sbatch "${sbatch_args[@]}" "${script}" 2> "${script}.err"); then
    echo "${me}: sbatch refused the job ($(tr '\n' ' ' < "${script}.err")); the command was: sbatch ${sbatch_args[*]} ${script}" >&2
    jobid=""
    exit 1
fi
jobid=${jobid%%;*}  # "id;cluster" on federated clusters
rm -f "${script}.err"
echo "${me}: Slurm job ${jobid}$(${array} && echo " (JOB=${first}:${last})"), log: ${log_pattern}" >&2

# ----------------------------------------------------------------------- waiting
# Polls start at 1 s and double up to poll_max: short jobs return fast, long ones cost
# the controller a query every poll_max seconds.
terminal='^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|PREEMPTED|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|SPECIAL_EXIT)'
# pending reasons of a job that cannot start as submitted (it would wait for ever)
never='^PENDING (PartitionConfig|PartitionNodeLimit|PartitionTimeLimit|BadConstraints|InvalidAccount|InvalidQOS|AccountNotAllowed|QOSMaxWallDurationPerJobLimit|AssocMaxWallDurationPerJobLimit)'
pause=1
errors=0
while :; do
    if states=$(squeue --noheader --array --jobs "${jobid}" --format '%T %r' 2>&1); then
        errors=0
        if [ -z "${states}" ] || ! grep -qvE "${terminal}" <<< "${states}"; then
            break
        fi
        if reason=$(grep -m 1 -oE "${never}" <<< "${states}"); then
            scancel "${jobid}" 2> /dev/null || true
            finished=true
            echo "${me}: Slurm job ${jobid} cannot start (${reason}: it asks for more than its partition allows, or for an account or QOS it may not use); cancelled it. Check ${config:-the options} and the job: sbatch ${sbatch_args[*]} ${script}" >&2
            exit 1
        fi
    elif grep -q "Invalid job id" <<< "${states}"; then
        break  # no longer known to the controller: it ended a while ago
    else
        errors=$((errors + 1))
        [ $((errors % 10)) -eq 1 ] && echo "${me}: squeue failed (${states}); retrying" >&2
    fi
    sleep "${pause}" & wait $!
    pause=$((pause * 2 > poll_max ? poll_max : pause * 2))
    [ "${pause}" -ge 1 ] || pause=1
done
finished=true

# ----------------------------------------------------------------------- outcome
exit_code() {  # exit_code LOG: the status in the log's last line, or nothing
    [ -f "$1" ] && sed -n 's/^# Ended (code \([0-9]*\)) at .*/\1/p' "$1" | tail -n 1
    return 0
}
state_of() {  # state_of SLURM_ID: COMPLETED, FAILED, CANCELLED, TIMEOUT ..., or nothing
    local s
    s=$(sacct --noheader --allocations --parsable2 --format State --jobs "$1" 2> /dev/null | head -n 1 || true)
    [ -n "${s}" ] || s=$(scontrol -o show job "$1" 2> /dev/null |
                         sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1 || true)
    echo "${s%% *}"
}
failed=0
for ((j = first; j <= last; j++)); do
    log=$(log_of "${j}")
    id=${jobid}
    ${array} && id=${jobid}_${j}
    code=$(exit_code "${log}")
    state=""
    if [ -z "${code}" ]; then
        state=$(state_of "${id}")
        if [[ "${state}" =~ ^(COMPLETED|FAILED|)$ ]]; then
            # NOTE: a shared file system may show the end of a log a little late
            for ((w = 0; w < log_wait && ${#code} == 0; w++)); do
                sleep 1
                code=$(exit_code "${log}")
            done
        fi
    fi
    [ "${code}" = 0 ] && continue
    failed=$((failed + 1))
    if [ -n "${code}" ]; then
        what="failed (exit code ${code})"
    elif [ -n "${state}" ] && [ "${state}" != COMPLETED ] && [ "${state}" != FAILED ]; then
        what="was ${state}"
    else
        what="ended without an exit status in its log (state ${state:-unknown})"
    fi
    if ${array}; then where=" (job ${j} of ${first}:${last})"; else where=""; fi
    {
        echo "${me}: Slurm job ${id}${where} ${what}; see ${log}. Its last lines:"
        if [ -s "${log}" ]; then
            grep -v '^# ' "${log}" | tail -n 15 | sed 's/^/    /'
        else
            echo "    (no log: the job did not start)"
        fi
    } >&2
done
if [ "${failed}" -gt 0 ]; then
    echo "${me}: ${failed} of $((last - first + 1)) job(s) of Slurm job ${jobid} failed" >&2
    exit 1
fi
