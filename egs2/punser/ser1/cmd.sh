#!/usr/bin/env bash
# How the recipe runs its jobs. "local" (default): on this machine, in parallel, with
# per-job logs (utils/run_local.sh). "slurm": each job array is submitted with sbatch
# and waited for (utils/run_slurm.sh, options in conf/slurm.conf).
# Select with `export cmd_backend=slurm` or `./run.sh --cmd_backend slurm`.
# shellcheck disable=SC2034
cmd_backend=${cmd_backend:-local}
case "${cmd_backend}" in
    local)
        train_cmd="utils/run_local.sh"
        cuda_cmd="utils/run_local.sh"
        decode_cmd="utils/run_local.sh"
        ;;
    slurm)
        train_cmd="utils/run_slurm.sh --config conf/slurm.conf"
        cuda_cmd="utils/run_slurm.sh --config conf/slurm.conf"
        decode_cmd="utils/run_slurm.sh --config conf/slurm.conf"
        ;;
    *)
        echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (local or slurm)" >&2
        # shellcheck disable=SC2317  # exit when run, return when sourced
        return 1 2>/dev/null || exit 1
        ;;
esac
