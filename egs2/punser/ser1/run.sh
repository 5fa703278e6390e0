#!/usr/bin/env bash
# PUNSER: pre-train XEUS with masked multi-task learning on many emotion corpora, then
# fine-tune and score it on each evaluation corpus (paper: Tables IV and V).
#
#   ./run.sh                         # stages 1-7 (see ser.sh for the stage table)
#   ./run.sh --stage 5 --stop_stage 7
#   ./run.sh --help                  # every option with its default
#
# Corpora and XEUS weights are located through db.sh; with none configured, this runs
# the bundled synthetic corpora with a tiny random XEUS-shaped encoder (CPU, minutes).
set -euo pipefail

# The experiment: corpora as in the paper's Table I (edit the lists or pass
# --pretrain_corpora / --eval_corpora to swap corpora).
pretrain_corpora="msp_podcast cmu_mosei asvp_esd whiser escorpus_pe crema_d ravdess cafe quechua_ser jtes"
eval_corpora="iemocap msp_improv meld uudb savee emodb"
fractions="0.1 0.5"   # low-resource fine-tuning (paper Fig. 2 uses 0.01 0.05 0.1 0.25 0.5)

./ser.sh \
    --pretrain_corpora "${pretrain_corpora}" \
    --eval_corpora "${eval_corpora}" \
    --fractions "${fractions}" \
    "$@"
