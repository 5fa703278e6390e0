#!/usr/bin/env bash
# The paper's hyper-parameter studies (Tables II and III): pre-train once per value of
# alpha (task weight) and of L (trainable XEUS blocks), then evaluate every model on the
# pre-training validation set (WA4 UA4 WA8 UA8, CCC V A D, Mean).
#
# Usage: local/hparam_study.sh [--alphas "0 0.25 0.5 0.75 1"] [--layers "0 3 6 9"] [-- ser.sh options]
# Needs stages 1-3 (./run.sh --stop_stage 3). Each run is stage 4 of ser.sh with its own
# tag (exp/pretrain_hp_alpha<a>, exp/pretrain_hp_L<l>), so finished runs are skipped when
# the study is re-run. With the tiny demo encoder (4 blocks) use e.g. --layers "0 1 2 4".
# Writes exp/hparam_study.md.
set -euo pipefail
alphas="0 0.25 0.5 0.75 1"    # values of alpha (Table II); L stays at the config's value
layers="0 3 6 9"              # values of L (Table III); alpha stays at the config's value
expdir=exp                    # experiment directory (as in ser.sh)
dumpdir=dump                  # dump directory (as in ser.sh)
pretrain_args=""              # extra ser_train arguments of every run (e.g. "--max_epoch 5")
help_message="Usage: $0 [options] [-- ser.sh options]"
. utils/parse_options.sh
[ "${1:-}" = "--" ] && shift
. ./path.sh

pretrain() {  # pretrain TAG ARGS [ser.sh options]: stage 4 with its own tag
    local tag=$1 args=$2
    shift 2
    ./ser.sh --stage 4 --stop_stage 4 --tag "${tag}" --expdir "${expdir}" --dumpdir "${dumpdir}" \
        --pretrain_args "${args} ${pretrain_args}" "$@"
}

alpha_runs=()
for a in ${alphas}; do
    pretrain "hp_alpha${a}" "--model_conf alpha=${a}" "$@"
    alpha_runs+=("${a}=${expdir}/pretrain_hp_alpha${a}")
done
layer_runs=()
for l in ${layers}; do
    pretrain "hp_L${l}" "--frontend_conf num_trainable_layers=${l}" "$@"
    layer_runs+=("${l}=${expdir}/pretrain_hp_L${l}")
done
"${python}" -m espnet2_punser.bin.hparam_tables --valid_dir "${dumpdir}/pretrain/valid" \
    --alpha_runs "${alpha_runs[*]}" --layer_runs "${layer_runs[*]}" \
    --output "${expdir}/hparam_study.md"
cat "${expdir}/hparam_study.md"
