#!/usr/bin/env bash
# How the recipe runs its jobs. "local" (default): on this machine, in parallel, with
# per-job logs (utils/run_local.sh). "slurm": each job or job array is submitted with
# sbatch and waited for (utils/run_slurm.sh); partition, memory, time, GPUs and further
# sbatch options come from conf/slurm.conf (or the file named by slurm_config).
# Select with `export cmd_backend=slurm` before ./run.sh.
# shellcheck disable=SC2034
cmd_backend=${cmd_backend:-local}
slurm_config=${slurm_config:-conf/slurm.conf}
case "${cmd_backend}" in
    local)
        train_cmd="utils/run_local.sh"
        cuda_cmd="utils/run_local.sh"
        decode_cmd="utils/run_local.sh"
        ;;
    slurm)
        train_cmd="utils/run_slurm.sh --config ${slurm_config}"
        cuda_cmd="utils/run_slurm.sh --config ${slurm_config}"
        decode_cmd="utils/run_slurm.sh --config ${slurm_config}"
        ;;
    *)
        echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (local or slurm)" >&2
        # shellcheck disable=SC2317  # exit when run, return when sourced
        return 1 2>/dev/null || exit 1
        ;;
esac
