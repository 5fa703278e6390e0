#!/usr/bin/env bash
# Stage 1: prepare the corpora named in --pretrain_corpora / --eval_corpora as Kaldi
# data dirs with PUNSER's unified labels (data/<corpus>), from the roots in db.sh.
#
# Corpus roots come from db.sh (variable per corpus: `python -m
# espnet2_punser.bin.prepare_corpus --list`). When db.sh names none of the listed
# corpora, the bundled synthetic corpora are generated and prepared instead (said
# loudly, and recorded in data/source). A variable that names a path that does not
# exist is an error. Writes data/<corpus>/, data/pretrain_corpora, data/eval_corpora
# and data/corpora.md (the paper's Table I, generated from the data dirs).
set -euo pipefail
. ./path.sh
pretrain_corpora="msp_podcast cmu_mosei asvp_esd whiser escorpus_pe crema_d ravdess cafe quechua_ser jtes"  # pre-training corpora
eval_corpora="iemocap msp_improv meld uudb savee emodb"  # evaluation corpora
data_dir=data                 # output directory
download_dir=downloads        # where the synthetic corpora are generated
synth_scale=1.0               # size of the synthetic corpora (1.0: ~1,000 utterances)
seed=0                        # seed of the synthetic corpora
labels_dir=conf/labels        # label maps (conf/labels/<corpus>.yaml)
nj=2                          # parallel preparation jobs
help_message="Usage: local/data.sh [options]"
. utils/parse_options.sh
# shellcheck disable=SC1091
. ./db.sh

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (local/data.sh) $*"; }

declare -A root_of=()
configured=()
missing=()
# shellcheck disable=SC2086
while read -r name var; do
    if [ "${var}" = "-" ] || [ -z "${!var:-}" ]; then
        missing+=("${name}")
        continue
    fi
    if [ ! -e "${!var}" ]; then
        echo "local/data.sh: db.sh sets ${var}=${!var}, which does not exist" >&2
        exit 1
    fi
    root_of[${name}]=${!var}
    configured+=("${name}")
done < <("${python}" -m espnet2_punser.bin.prepare_corpus --db_vars ${pretrain_corpora} ${eval_corpora})  # word splitting intended

mkdir -p "${data_dir}"
if [ ${#configured[@]} -eq 0 ]; then
    log "=================================================================="
    log "No corpus of the lists is configured in db.sh: using the BUNDLED"
    log "SYNTHETIC corpora (generated speech-like audio, not real emotions)."
    log "=================================================================="
    pretrain_corpora="synth_cat synth_dim synth_both"
    eval_corpora="synth_eval"
    # shellcheck disable=SC2086
    "${python}" -c "
import logging, sys
logging.basicConfig(level=logging.INFO, format='%(asctime)s (synthetic) %(message)s')
from espnet2_punser.corpora.synthetic import generate
generate(sys.argv[1], sys.argv[4:], seed=int(sys.argv[2]), scale=float(sys.argv[3]))
" "${download_dir}/synthetic" "${seed}" "${synth_scale}" ${pretrain_corpora} ${eval_corpora}
    for name in ${pretrain_corpora} ${eval_corpora}; do
        root_of[${name}]=${download_dir}/synthetic/${name}
    done
    echo synthetic > "${data_dir}/source"
else
    if [ ${#missing[@]} -gt 0 ]; then
        log "WARNING: not configured in db.sh, left out: ${missing[*]}"
    fi
    keep() { local out=() n; for n in $1; do [ -n "${root_of[${n}]:-}" ] && out+=("${n}"); done; echo "${out[*]}"; }
    pretrain_corpora=$(keep "${pretrain_corpora}")
    eval_corpora=$(keep "${eval_corpora}")
    echo real > "${data_dir}/source"
fi

pids=()
for name in ${pretrain_corpora} ${eval_corpora}; do
    while [ "$(jobs -rp | wc -l)" -ge "${nj}" ]; do wait -n || true; done
    mkdir -p "${data_dir}/log"
    log "preparing ${name} from ${root_of[${name}]}"
    "${python}" -m espnet2_punser.bin.prepare_corpus "${name}" "${root_of[${name}]}" \
        "${data_dir}/${name}" --labels_dir "${labels_dir}" \
        > "${data_dir}/log/prepare_${name}.log" 2>&1 &
    pids+=("$!:${name}")
done
failed=0
for p in "${pids[@]}"; do
    if ! wait "${p%%:*}"; then
        echo "local/data.sh: preparing ${p#*:} failed; see ${data_dir}/log/prepare_${p#*:}.log:" >&2
        tail -n 5 "${data_dir}/log/prepare_${p#*:}.log" | sed 's/^/    /' >&2
        failed=1
    else
        grep -E "INFO: .*utterances|WARNING" "${data_dir}/log/prepare_${p#*:}.log" | sed 's/^[^:]*: /    /' || true
    fi
done
[ "${failed}" -eq 0 ] || exit 1

echo "${pretrain_corpora}" > "${data_dir}/pretrain_corpora"
echo "${eval_corpora}" > "${data_dir}/eval_corpora"
# shellcheck disable=SC2046
"${python}" -m espnet2_punser.bin.corpus_table $(for n in ${pretrain_corpora} ${eval_corpora}; do echo "${data_dir}/${n}"; done) \
    -o "${data_dir}/corpora.md" > /dev/null
log "corpora (paper Table I shape) in ${data_dir}/corpora.md:"
cat "${data_dir}/corpora.md"
