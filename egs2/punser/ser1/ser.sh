#!/usr/bin/env bash
# PUNSER recipe: speech emotion recognition pre-trained on many corpora (ESPnet2).
# Called by run.sh, which holds the options of this experiment.
#
# Stage table (the stage number is the position in this table):
#   data       local/data.sh: corpora of db.sh (or the bundled synthetic ones) ->
#              data/<corpus> Kaldi dirs with unified labels; data/corpora.md (Table I)
#   format     audio checked and made 16 kHz mono (dump/format/<corpus>, rejected files
#              listed); training sets: dump/pretrain/{train,valid} (random 90/10),
#              dump/eval/<corpus>/<protocol>/<fold>/{train,valid,test}
#   stats      shape files of the pre-training sets (ESPnet collect_stats; no encoder
#              forward; every label is validated on the way)
#   pretrain   masked multi-task pre-training -> exp/pretrain_<tag>
#   finetune   per encoder: pooled XEUS layers cached once per utterance; every fold of
#              every protocol fine-tuned (PUNSER, SSL baseline, low-resource subsets)
#   inference  fine-tuned models on their test folds; the pre-trained model zero-shot
#   score      WA / UA / CCC, tables shaped like the paper's Tables IV and V, RESULTS.md
#   pack       (optional) pack the fine-tuned or pre-trained model; --hf_repo uploads
#
# Every stage records its options in a .done marker: re-running with the same options
# skips it; a changed option re-runs that stage and the stages after it. A stage
# refuses to start when the stage before it has not completed.
set -euo pipefail

stage=1                     # first stage to run
stop_stage=7                # last stage to run
pretrain_corpora="msp_podcast cmu_mosei asvp_esd whiser escorpus_pe crema_d ravdess cafe quechua_ser jtes"  # pre-training corpora (registry names)
eval_corpora="iemocap msp_improv meld uudb savee emodb"  # evaluation corpora
tag=""                      # experiment tag (default: from the pre-training config)
nj=2                        # parallel jobs for data, format, stats, fine-tuning
ngpu=0                      # GPUs for training and caching (0: CPU)
num_nodes=1                 # nodes for pre-training (cmd_backend=slurm: srun + ESPnet --dist_launcher slurm)
pretrain_config=""          # pre-training YAML (default: conf/pretrain.yaml with XEUS weights, conf/demo/pretrain.yaml without)
finetune_config=""          # fine-tuning YAML (default: conf/finetune.yaml, or conf/demo/finetune.yaml without weights)
xeus_config=""              # XEUS architecture (default: the one named by the pre-training config)
pretrain_args=""            # extra arguments of ser_train in the pretrain stage
finetune_args=""            # extra arguments of ser_train in the finetune stage
use_cache=true              # fine-tune on cached pooled layers (exact: XEUS is frozen)
pretrain_frame_cache=false  # pre-train from cached outputs of the frozen lower XEUS stack (faster; disk: ~80 GB per 226 h at float16)
frame_cache_dtype=float16   # storage of that cache: float16 (half the disk) or float32 (exact)
baseline=true               # also fine-tune the SSL baseline (XEUS without PUNSER pre-training)
extra_baselines=""          # YAML files of more frozen-encoder baselines, e.g. conf/baselines/wavlm_large.yaml (needs s3prl)
fractions=""                # low-resource training fractions, e.g. "0.01 0.05 0.1 0.25 0.5"
valid_ratio=0.1             # validation share of the pre-training set
seed=0                      # seed of splits, folds and synthetic data
synth_scale=1.0             # size of the synthetic corpora (no corpus in db.sh)
strict=false                # stop at the first bad audio file (format stage)
min_wav_duration=0.1        # shorter clips are rejected (seconds)
max_wav_duration=60         # longer clips are rejected (seconds)
datadir=data                # prepared corpora
dumpdir=dump                # formatted audio, training sets, feature cache
expdir=exp                  # experiments
dry_run=false               # only show which stages would run and which are up to date
pack_model=pretrain         # pack stage: pretrain (8 classes + V/A/D) or <corpus>/<protocol>/<fold> of a fine-tuned model
hf_repo=""                  # pack stage: Hugging Face repo id to upload to
upload=false                # pack stage: really upload (default: dry run)
help_message="Usage: $0 [options]   (normally through ./run.sh; see the stage table in $0)"

. utils/parse_options.sh
if [ $# -gt 0 ]; then
    echo "$0: unexpected argument '$1' (options are --name value; see --help)" >&2
    exit 2
fi
. ./path.sh
. ./cmd.sh
# shellcheck disable=SC1091
. ./db.sh

stages=(data format stats pretrain finetune inference score pack)

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (ser.sh) $*"; }
die() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (ser.sh) ERROR: $*" >&2; exit 1; }

for v in stage stop_stage nj ngpu num_nodes; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v} must be a non-negative integer, got '${!v}'"
done
[ "${stage}" -ge 1 ] && [ "${stop_stage}" -le "${#stages[@]}" ] ||
    die "stages are 1..${#stages[@]} (${stages[*]})"
# NOTE: with Slurm the GPUs are on the compute nodes, not on this (submit) host
if [ "${ngpu}" -gt 0 ] && [ "${cmd_backend}" = local ]; then
    ngpu_found=$("${python}" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
    [ "${ngpu_found}" -ge "${ngpu}" ] ||
        die "--ngpu ${ngpu} but this machine has ${ngpu_found} usable GPU(s) (torch.cuda.device_count())"
fi
[ "${num_nodes}" -ge 1 ] || die "--num_nodes must be at least 1"
[ "${num_nodes}" -eq 1 ] || [ "${cmd_backend}" = slurm ] ||
    die "--num_nodes ${num_nodes} needs the Slurm backend (export cmd_backend=slurm; see cmd.sh)"

# ------------------------------------------------------------------ XEUS and configs
xeus_checkpoint=""
xeus_random=false
if [ -n "${XEUS_DIR:-}" ]; then
    for f in model/config.yaml model/xeus_checkpoint_new.pth; do
        [ -f "${XEUS_DIR}/${f}" ] || die "db.sh: XEUS_DIR=${XEUS_DIR} has no ${f} (see local/download_xeus.sh)"
    done
    xeus_checkpoint=${XEUS_DIR}/model/xeus_checkpoint_new.pth
    : "${pretrain_config:=conf/pretrain.yaml}"
    : "${finetune_config:=conf/finetune.yaml}"
else
    : "${pretrain_config:=conf/demo/pretrain.yaml}"
    : "${finetune_config:=conf/demo/finetune.yaml}"
fi
for f in "${pretrain_config}" "${finetune_config}"; do [ -f "${f}" ] || die "config ${f} not found"; done
if [ -z "${xeus_config}" ]; then
    xeus_config=$(awk '/xeus_config:/ {print $2; exit}' "${pretrain_config}")
fi
[ -f "${xeus_config}" ] || die "XEUS architecture config '${xeus_config}' not found"
: "${tag:=$(echo "${pretrain_config#conf/}" | sed 's/\.yaml$//; s#/#_#g')}"
if [ -z "${xeus_checkpoint}" ]; then
    # no weights: one random encoder (seeded) that PUNSER pre-trains from and the SSL
    # baseline uses, written once by ensure_random_xeus
    xeus_random=true
    xeus_checkpoint=${expdir}/xeus_random/$(basename "${xeus_config%.*}")_seed${seed}.pth
fi
pretrain_dir=${expdir}/pretrain_${tag}
finetune_dir=${expdir}/finetune_${tag}
stats_dir=${expdir}/stats_pretrain
markers=${expdir}/.stages  # data, format, stats are shared by every tag
tag_markers=${expdir}/.stages_${tag}

# ------------------------------------------------------------------ one run at a time
mkdir -p "${expdir}" "${markers}" "${tag_markers}"
lock=${expdir}/.lock
exec 9>>"${lock}"
if ! flock -n 9; then
    die "another run holds ${lock} (pid $(cat "${lock}.pid" 2>/dev/null || echo '?'), $(cat "${lock}.cmd" 2>/dev/null || echo 'unknown command')); wait for it or stop it"
fi
if [ -f "${lock}.pid" ]; then  # we hold the lock now, so its recorded holder has ended
    log "cleared the stale lock of process $(cat "${lock}.pid") ($(cat "${lock}.cmd" 2>/dev/null || echo '?')), which no longer runs"
fi
echo "$$" > "${lock}.pid"
echo "$0 $*" > "${lock}.cmd"
trap 'rm -f "${lock}.pid" "${lock}.cmd"' EXIT

# ------------------------------------------------------------------ stage bookkeeping
# signature of a stage = its options (and the contents of option files) + the
# signature of the stage before it, so a change re-runs the stages after it too.
stage_options() {
    case "$1" in
        data) echo pretrain_corpora eval_corpora synth_scale seed ;;
        format) echo min_wav_duration max_wav_duration strict valid_ratio seed fractions ;;
        stats) echo pretrain_config ;;
        pretrain)  # a random encoder is defined by its config and seed, not by its file
            if [ "${xeus_random}" = true ]; then echo pretrain_config xeus_config seed pretrain_args pretrain_frame_cache frame_cache_dtype
            else echo pretrain_config xeus_config xeus_checkpoint pretrain_args pretrain_frame_cache frame_cache_dtype; fi ;;
        finetune) echo finetune_config finetune_args use_cache baseline extra_baselines fractions ;;
        inference) echo use_cache ;;
        score) echo ;;
        pack) echo hf_repo upload pack_model ;;
    esac
}
signature() {  # signature NAME PREVIOUS_SIGNATURE
    local v
    {
        echo "$1 $2"
        for v in $(stage_options "$1"); do
            echo "${v}=${!v}"
            # option files: small ones by content, big ones (checkpoints) by size and time
            if [ -f "${!v}" ]; then
                if [ "$(stat -c %s "${!v}")" -lt 1048576 ]; then cat "${!v}"; else stat -c '%s %Y' "${!v}"; fi
            fi
        done
        if [ "$1" = data ]; then cat db.sh; cat conf/labels/*.yaml; fi
    } | sha1sum | cut -c1-16
}
marker() {
    case "$1" in
        data|format|stats) echo "${markers}/$1.done" ;;
        *) echo "${tag_markers}/$1.done" ;;
    esac
}

corpora_lists() {
    [ -f "${datadir}/pretrain_corpora" ] && [ -f "${datadir}/eval_corpora" ] ||
        die "${datadir}/pretrain_corpora is missing: run stage 1 (data) first"
    pretrain_corpora=$(cat "${datadir}/pretrain_corpora")
    eval_corpora=$(cat "${datadir}/eval_corpora")
}

# check_<stage>: does the stage's output exist and look valid?
check_data() {
    corpora_lists
    local c
    for c in ${pretrain_corpora} ${eval_corpora}; do
        [ -f "${datadir}/${c}/summary.json" ] || return 1
    done
}
check_format() { [ -f "${dumpdir}/sets.json" ] && [ -f "${dumpdir}/pretrain/train/cat" ]; }
check_stats() { [ -s "${stats_dir}/train/speech_shape" ] && [ -s "${stats_dir}/valid/speech_shape" ]; }
check_pretrain() { [ -f "${pretrain_dir}/valid.loss.best.pth" ] && [ -f "${pretrain_dir}/config.yaml" ]; }
check_finetune() { [ -f "${finetune_dir}/runs.txt" ]; }
check_inference() { [ -f "${finetune_dir}/decoded.txt" ]; }
check_score() { [ -f "${finetune_dir}/RESULTS.md" ]; }
check_pack() { compgen -G "${expdir}/packed/*.zip" > /dev/null; }

systems() {  # punser, xeus (the SSL baseline), then one per --extra_baselines file
    local f
    echo punser
    if [ "${baseline}" = true ]; then echo xeus; fi
    for f in ${extra_baselines}; do basename "${f%.*}"; done
}
baseline_config() {  # the --extra_baselines file of a system (empty for punser/xeus)
    local f
    for f in ${extra_baselines}; do
        [ "$(basename "${f%.*}")" = "$1" ] && echo "${f}"
    done
    return 0
}
variants() {
    local f out="full"
    for f in ${fractions}; do out="${out} p$(printf '%02d' "$(awk -v f="${f}" 'BEGIN {printf "%d", f * 100 + 0.5}')")"; done
    echo "${out}"
}

# ----------------------------------------------------------------------------- stages
stage_data() {
    local opts=(--pretrain_corpora "${pretrain_corpora}" --eval_corpora "${eval_corpora}"
                --data_dir "${datadir}" --synth_scale "${synth_scale}" --seed "${seed}" --nj "${nj}")
    local_data_log=${datadir}/log/data.log
    mkdir -p "${datadir}/log"
    local/data.sh "${opts[@]}" 2>&1 | tee "${local_data_log}"
}

stage_format() {
    corpora_lists
    local c n keys fdir
    for c in ${pretrain_corpora} ${eval_corpora}; do
        fdir=${dumpdir}/format/${c}
        keys=${datadir}/${c}/wav.scp
        [ -f "${datadir}/${c}/segments" ] && keys=${datadir}/${c}/segments
        n=$(utils/split_scp.sh "${keys}" "${fdir}/split" "${nj}")
        log "format ${c}: $(wc -l < "${keys}") utterances in ${n} job(s) -> ${fdir}"
        local seg=()
        [ -f "${datadir}/${c}/segments" ] && seg=(--segments "${fdir}/split/JOB/segments")
        local strict_flag=()
        [ "${strict}" = true ] && strict_flag=(--strict)
        ${train_cmd} --max_jobs "${nj}" JOB=1:"${n}" "${fdir}/log/format.JOB.log" \
            "${python}" -m espnet2_punser.bin.format_wav \
                --wav_scp "$( [ ${#seg[@]} -gt 0 ] && echo "${datadir}/${c}/wav.scp" || echo "${fdir}/split/JOB/wav.scp")" \
                "${seg[@]}" --audio_dir "${dumpdir}/audio/${c}" --out_dir "${fdir}/split/JOB/out" \
                --min_duration "${min_wav_duration}" --max_duration "${max_wav_duration}" \
                "${strict_flag[@]}" ||
            die "format of ${c} failed (see the job logs named above)"
        local f err
        for f in wav.scp utt2num_samples rejected.txt; do
            err=$( { cat "${fdir}"/split/*/out/"${f}" | sort > "${fdir}/${f}.tmp"; } 2>&1 ) || {
                rm -f "${fdir}"/*.tmp
                die "format of ${c} failed: cannot write ${fdir}/${f}.tmp: ${err}"
            }
        done
        for f in wav.scp utt2num_samples rejected.txt; do mv -f "${fdir}/${f}.tmp" "${fdir}/${f}"; done
        local nrej
        nrej=$(wc -l < "${fdir}/rejected.txt")
        if [ "${nrej}" -gt 0 ]; then
            log "WARNING: ${c}: ${nrej} file(s) rejected, listed in ${fdir}/rejected.txt:"
            cut -f2 "${fdir}/rejected.txt" | sed 's/:.*//' | sort | uniq -c | sed 's/^/    /'
        fi
    done
    "${python}" -m espnet2_punser.bin.make_sets --data_dir "${datadir}" \
        --format_dir "${dumpdir}/format" --dump_dir "${dumpdir}" --labels_dir conf/labels \
        --pretrain "${pretrain_corpora}" --eval "${eval_corpora}" \
        --valid_ratio "${valid_ratio}" --seed "${seed}" --fractions "${fractions}"
}

frame_cache_args() {  # frame_cache_args SPLIT: pre-training data from the frame cache
    local d
    d=$(cat "${pretrain_dir}/frame_cache_$1.path")
    echo "--${1}_data_path_and_name_and_type ${d}/frames.scp,speech,npy"
    echo "--${1}_data_path_and_name_and_type ${d}/frozen.scp,frozen_pooled,npy"
    echo "--${1}_data_path_and_name_and_type ${dumpdir}/pretrain/$1/cat,cat,text_int"
    echo "--${1}_data_path_and_name_and_type ${dumpdir}/pretrain/$1/vad,vad,text_float"
}

build_frame_cache() {  # the frozen lower stack's outputs of the pre-training sets, once
    local part layers
    layers=$(echo "${pretrain_args}" | sed -n 's/.*num_trainable_layers=\([0-9]*\).*/\1/p')
    [ -n "${layers}" ] || layers=$(awk '/num_trainable_layers:/ {print $2; exit}' "${pretrain_config}")
    [ -n "${layers}" ] || die "cannot find num_trainable_layers in ${pretrain_config}"
    for part in train valid; do
        log "frame cache of ${dumpdir}/pretrain/${part} (L = ${layers} trainable blocks, ${frame_cache_dtype})"
        ${cuda_cmd} --gpu "${ngpu}" "${pretrain_dir}/log/frame_cache_${part}.log" \
            "${python}" -m espnet2_punser.bin.cache_frames --xeus_config "${xeus_config}" \
                --xeus_checkpoint "${xeus_checkpoint}" --num_trainable_layers "${layers}" \
                --data_dir "${dumpdir}/pretrain/${part}" --cache_root "${dumpdir}/frame_cache" \
                --name "${part}" --dtype "${frame_cache_dtype}" --ngpu "${ngpu}" \
                --out_file "${pretrain_dir}/frame_cache_${part}.path" ||
            die "frame cache of ${part} failed; see ${pretrain_dir}/log/frame_cache_${part}.log"
        grep -E "needs .* GB|computing" "${pretrain_dir}/log/frame_cache_${part}.log" | sed 's/^.*INFO: /    /' || true
    done
}

data_args() {  # data_args SPLIT DIR
    echo "--${1}_data_path_and_name_and_type ${2}/wav.scp,speech,sound"
    echo "--${1}_data_path_and_name_and_type ${2}/cat,cat,text_int"
    echo "--${1}_data_path_and_name_and_type ${2}/vad,vad,text_float"
}

stage_stats() {
    local part n=${nj} got
    for part in train valid; do  # as many jobs as the smaller set allows
        got=$(utils/split_scp.sh "${dumpdir}/pretrain/${part}/wav.scp" "${stats_dir}/split_${part}" "${nj}")
        [ "${got}" -lt "${n}" ] && n=${got}
    done
    for part in train valid; do
        utils/split_scp.sh "${dumpdir}/pretrain/${part}/wav.scp" "${stats_dir}/split_${part}" "${n}" > /dev/null
    done
    log "collect_stats: shape files of ${dumpdir}/pretrain/{train,valid} in ${n} job(s)"
    # shellcheck disable=SC2046
    ${train_cmd} --max_jobs "${nj}" JOB=1:"${n}" "${stats_dir}/log/stats.JOB.log" \
        "${python}" -m espnet2_punser.bin.ser_train --config "${pretrain_config}" \
            --collect_stats true --use_preprocessor true --ngpu 0 \
            $(data_args train "${dumpdir}/pretrain/train") $(data_args valid "${dumpdir}/pretrain/valid") \
            --train_shape_file "${stats_dir}/split_train/JOB/wav.scp" \
            --valid_shape_file "${stats_dir}/split_valid/JOB/wav.scp" \
            --output_dir "${stats_dir}/JOB" ||
        die "collect_stats failed (see the job logs named above)"
    # shellcheck disable=SC2046
    "${python}" -m espnet2.bin.aggregate_stats_dirs \
        $(for j in $(seq 1 "${n}"); do echo "--input_dir ${stats_dir}/${j}"; done) \
        --output_dir "${stats_dir}"
    # how much padding the training batches will carry (length-sorted numel batches)
    "${python}" -m espnet2_punser.bin.batch_stats --config "${pretrain_config}" \
        --shape_file "${stats_dir}/train/speech_shape" "${stats_dir}/valid/speech_shape" 2>/dev/null |
        while read -r line; do log "${line}"; done
}

provenance() {  # provenance DIR: what a user needs to know how DIR was made
    local d=$1
    mkdir -p "${d}/provenance"
    echo "$0 ${ser_args}" > "${d}/provenance/command.txt"
    cp -r conf/labels/. "${d}/provenance/labels/"
    cp "${pretrain_config}" "${finetune_config}" "${xeus_config}" "${d}/provenance/"
    cp "${dumpdir}/sets.json" "${datadir}/source" "${d}/provenance/" 2>/dev/null || true
    {
        echo "date: $(date -Iseconds)"
        echo "git: $(git -C "${MAIN_ROOT}" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        "${python}" -c 'import espnet, torch, torchaudio, espnet2_punser, sys; print(f"python: {sys.version.split()[0]}\nespnet: {espnet.__version__}\ntorch: {torch.__version__}\ntorchaudio: {torchaudio.__version__}\nespnet2_punser: {espnet2_punser.__version__}")'
        echo "xeus_checkpoint: ${xeus_checkpoint} (random: ${xeus_random})"
    } > "${d}/provenance/versions.txt"
}

ensure_random_xeus() {
    [ "${xeus_random}" = true ] && [ ! -f "${xeus_checkpoint}" ] || return 0
    "${python}" -m espnet2_punser.bin.make_xeus_checkpoint "${xeus_config}" \
        "${xeus_checkpoint}" --seed "${seed}" 2>&1 | grep -v "^\[" | tail -n 1
}

stage_pretrain() {
    local ckpt=(--xeus_checkpoint "${xeus_checkpoint}")
    if [ "${xeus_random}" = true ]; then
        log "=================================================================="
        log "No XEUS_DIR in db.sh: the encoder (${xeus_config}) starts from RANDOM weights"
        log "=================================================================="
        ensure_random_xeus
    else
        log "pre-training from the XEUS weights ${xeus_checkpoint}"
    fi
    local dist=() nodes=()
    if [ "${num_nodes}" -gt 1 ]; then
        # one srun task per node; ESPnet spawns one DDP process per GPU on each
        nodes=(--nodes "${num_nodes}")
        dist=(--multiprocessing_distributed true --dist_launcher slurm)
        [ "${ngpu}" -eq 0 ] && dist+=(--dist_backend gloo)
    elif [ "${ngpu}" -gt 1 ]; then
        dist=(--multiprocessing_distributed true)
    fi
    "${python}" -m espnet2_punser.bin.validate_data "${dumpdir}/pretrain/train" "${dumpdir}/pretrain/valid" ||
        die "the pre-training sets are invalid (problems above, as file:line); re-run stage 2 (format)"
    provenance "${pretrain_dir}"
    local data
    if [ "${pretrain_frame_cache}" = true ]; then
        build_frame_cache
        data="$(frame_cache_args train) $(frame_cache_args valid) --frontend_conf frame_input=true"
    else
        data="$(data_args train "${dumpdir}/pretrain/train") $(data_args valid "${dumpdir}/pretrain/valid")"
    fi
    log "pre-training -> ${pretrain_dir} (log: ${pretrain_dir}/train.log)"
    # shellcheck disable=SC2086
    ${cuda_cmd} --gpu "${ngpu}" "${nodes[@]}" "${pretrain_dir}/train.log" \
        "${python}" -m espnet2_punser.bin.ser_train --config "${pretrain_config}" \
            --frontend_conf xeus_config="${xeus_config}" "${ckpt[@]}" \
            --ngpu "${ngpu}" "${dist[@]}" --use_preprocessor true --resume true \
            ${data} \
            --train_shape_file "${stats_dir}/train/speech_shape" \
            --valid_shape_file "${stats_dir}/valid/speech_shape" \
            --output_dir "${pretrain_dir}" ${pretrain_args} ||
        die "pre-training failed; see ${pretrain_dir}/train.log (re-running resumes from its last checkpoint)"
    grep -E "epoch results|Early stopping|best model" "${pretrain_dir}/train.log" | sed 's/^.*INFO: /    /' | cut -c1-200 | tail -n 15 || true
}

encoder_args() {  # encoder_args SYSTEM: where the frozen encoder comes from
    if [ "$1" = punser ]; then
        echo "--train_config ${pretrain_dir}/config.yaml --model_file ${pretrain_dir}/valid.loss.best.pth"
    elif [ "$1" = xeus ]; then
        echo "--xeus_config ${xeus_config} --xeus_checkpoint ${xeus_checkpoint}"
    else
        echo "--frontend_config $(baseline_config "$1")"
    fi
}

finetune_jobs() {  # finetune_jobs MODE SYSTEM CORPUS PROTOCOL_DIR
    local mode=$1 sys=$2 c=$3 pdir=$4 p out nfold njob init=() cache=() head=()
    p=$(basename "${pdir}")
    out=${finetune_dir}/${sys}/${c}/${p}
    nfold=$(find "${pdir}" -mindepth 1 -maxdepth 1 -type d | wc -l)
    njob=$(( nfold < nj ? nfold : nj ))
    [ "${sys}" = punser ] && init=(--init_model "${pretrain_dir}/valid.loss.best.pth")
    [ "${sys}" != punser ] && head=(--head_conf "{head_hidden: null}")  # SSL baselines
    if [ "${use_cache}" = true ]; then
        cache=(--cache_dir "$(cat "${finetune_dir}/${sys}/${c}/cache.path")")
    else  # XEUS runs on the audio in every epoch of every fold
        cache=(--xeus_config "${xeus_config}")
        [ "${sys}" = xeus ] && cache+=(--xeus_checkpoint "${xeus_checkpoint}")
    fi
    ${cuda_cmd} --max_jobs "${nj}" --gpu "${ngpu}" JOB=1:"${njob}" "${out}/log/${mode}.JOB.log" \
        "${python}" -m espnet2_punser.bin.finetune --mode "${mode}" --protocol_dir "${pdir}" \
            --exp_dir "${out}" --config "${finetune_config}" "${init[@]}" "${cache[@]}" "${head[@]}" \
            --variants "$(variants)" --job JOB --njobs "${njob}" --ngpu "${ngpu}" \
            --train_args "${finetune_args}" ||
        die "${mode} of ${sys} on ${c}/${p} failed (see the job logs named above)"
    echo "${out}"
}

stage_finetune() {
    corpora_lists
    local sys c pdir out f
    for f in ${extra_baselines}; do [ -f "${f}" ] || die "--extra_baselines: ${f} not found"; done
    [ -z "${extra_baselines}" ] || [ "${use_cache}" = true ] ||
        die "--extra_baselines needs --use_cache true (their encoders run once, in the cache)"
    # shellcheck disable=SC2046
    "${python}" -m espnet2_punser.bin.validate_data "${dumpdir}/data" \
        $(for c in ${eval_corpora}; do echo "${dumpdir}/eval/${c}"; done) ||
        die "the evaluation sets are invalid (problems above, as file:line); re-run stage 2 (format)"
    provenance "${finetune_dir}"
    ensure_random_xeus
    : > "${finetune_dir}/runs.txt.tmp"
    for sys in $(systems); do
        for c in ${eval_corpora}; do
            out=${finetune_dir}/${sys}/${c}
            if [ "${use_cache}" = true ]; then
                log "${sys}: caching pooled layers of ${c} (one encoder pass per utterance)"
                # shellcheck disable=SC2046
                ${cuda_cmd} --gpu "${ngpu}" "${out}/log/cache.log" \
                    "${python}" -m espnet2_punser.bin.cache_features $(encoder_args "${sys}") \
                        --data_dir "${dumpdir}/data/${c}" --cache_root "${dumpdir}/cache" \
                        --name "${c}" --out_file "${out}/cache.path" --ngpu "${ngpu}" ||
                    die "caching ${c} for ${sys} failed; see ${out}/log/cache.log"
                grep -E "padding ratio|computing|utterances, .* computed" "${out}/log/cache.log" | sed 's/^.*INFO: /    /' || true
            else
                log "${sys}: --use_cache false: XEUS runs on the audio of ${c} in every epoch"
            fi
            for pdir in "${dumpdir}/eval/${c}"/*/; do
                pdir=${pdir%/}
                log "${sys}: fine-tuning ${c}/$(basename "${pdir}") ($(variants)) -> ${out}/$(basename "${pdir}")"
                finetune_jobs train "${sys}" "${c}" "${pdir}" >> "${finetune_dir}/runs.txt.tmp"
            done
        done
    done
    mv "${finetune_dir}/runs.txt.tmp" "${finetune_dir}/runs.txt"
}

stage_inference() {
    corpora_lists
    local sys c pdir
    : > "${finetune_dir}/decoded.txt.tmp"
    for sys in $(systems); do
        for c in ${eval_corpora}; do
            for pdir in "${dumpdir}/eval/${c}"/*/; do
                pdir=${pdir%/}
                log "${sys}: decoding the test folds of ${c}/$(basename "${pdir}")"
                finetune_jobs decode "${sys}" "${c}" "${pdir}" >> "${finetune_dir}/decoded.txt.tmp"
                if [ "${sys}" = punser ]; then
                    log "punser: zero-shot (pre-trained model, no fine-tuning) on ${c}/$(basename "${pdir}")"
                    local src=(--xeus_config "${xeus_config}")
                    [ "${use_cache}" = true ] && src=(--cache_dir "$(cat "${finetune_dir}/punser/${c}/cache.path")")
                    "${python}" -m espnet2_punser.bin.finetune --mode zeroshot --protocol_dir "${pdir}" \
                        --exp_dir "${finetune_dir}/punser/${c}/$(basename "${pdir}")" \
                        --init_model "${pretrain_dir}/valid.loss.best.pth" "${src[@]}" \
                        > "${finetune_dir}/punser/${c}/log/zeroshot.log" 2>&1 ||
                        die "zero-shot decoding failed; see ${finetune_dir}/punser/${c}/log/zeroshot.log"
                fi
            done
        done
    done
    mv "${finetune_dir}/decoded.txt.tmp" "${finetune_dir}/decoded.txt"
}

stage_score() {
    corpora_lists
    # shellcheck disable=SC2046
    "${python}" -m espnet2_punser.bin.score --finetune_dir "${finetune_dir}" \
        --dump_dir "${dumpdir}" --eval "${eval_corpora}" --variants "$(variants)" \
        --source "$(cat "${datadir}/source")" \
        --xeus "$( [ "${xeus_random}" = true ] && echo "random ${xeus_config}" || echo "${xeus_checkpoint}")" \
        --output "${finetune_dir}/RESULTS.md"
    cp "${finetune_dir}/RESULTS.md" RESULTS.md
    log "results: ${finetune_dir}/RESULTS.md (copied to ./RESULTS.md)"
}

stage_pack() {
    local name=punser_${tag} head=()
    if [ "${pack_model}" != pretrain ]; then
        local run=${finetune_dir}/punser/${pack_model}/full
        [ -f "${run}/valid.loss.best.pth" ] ||
            die "--pack_model ${pack_model}: no fine-tuned model ${run}/valid.loss.best.pth (run stage 5)"
        head=(--head_config "${run}/config.yaml" --head_model_file "${run}/valid.loss.best.pth")
        name=${name}_${pack_model//\//_}
    fi
    log "packing ${pack_model} -> ${expdir}/packed/${name}.zip"
    local results=()
    [ -f "${finetune_dir}/RESULTS.md" ] && results=(--results "${finetune_dir}/RESULTS.md")
    "${python}" -m espnet2_punser.bin.pack \
        --train_config "${pretrain_dir}/config.yaml" \
        --model_file "${pretrain_dir}/valid.loss.best.pth" "${head[@]}" \
        "${results[@]}" --labels_dir conf/labels \
        --outpath "${expdir}/packed/${name}.zip" || die "packing failed (see the messages above)"
    if [ -n "${hf_repo}" ]; then
        local mode=--dry_run
        [ "${upload}" = true ] && mode=--upload
        "${python}" -m espnet2_punser.bin.upload --pack "${expdir}/packed/${name}.zip" \
            --repo_id "${hf_repo}" "${mode}" || die "upload to ${hf_repo} failed"
    fi
}

# ----------------------------------------------------------------------------- driver
ser_args=$(printf '%q ' "$@")
prev_sig=""
for ((n = 1; n <= ${#stages[@]}; n++)); do
    name=${stages[n - 1]}
    sig=$(signature "${name}" "${prev_sig}")
    if [ "${n}" -lt "${stage}" ]; then
        # a stage before the range: it must have completed, with these options
        prev_sig=$(cat "$(marker "${name}")" 2>/dev/null || echo missing)
        if [ "${prev_sig}" = missing ] && [ -z "${first_missing:-}" ]; then
            first_missing=${n}
        fi
        if [ "${n}" -eq $((stage - 1)) ]; then
            # every stage before the range must have completed, the last one validly
            if [ "${prev_sig}" = missing ] || ! "check_${name}"; then
                from=${first_missing:-${n}}
                msg="stage ${n} (${name}) has not completed (never run, or interrupted; its output is missing)"
                [ "${from}" -lt "${n}" ] && msg="${msg}, nor has stage ${from} (${stages[from - 1]})"
                die "${msg}; run stages ${from}-${n} first (--stage ${from} --stop_stage ${n})"
            elif [ -n "${first_missing:-}" ]; then
                die "stage ${first_missing} (${stages[first_missing - 1]}) has not completed (never run, or interrupted); run stages ${first_missing}-${n} first (--stage ${first_missing} --stop_stage ${n})"
            fi
            [ "${prev_sig}" = "${sig}" ] ||
                log "WARNING: stage ${n} (${name}) ran with other options than these; consider '--stage ${n}'"
        fi
        continue
    fi
    [ "${n}" -le "${stop_stage}" ] || break
    if [ -f "$(marker "${name}")" ] && [ "$(cat "$(marker "${name}")")" = "${sig}" ] && "check_${name}"; then
        log "stage ${n} (${name}): done with the same options; skipped"
    elif [ "${dry_run}" = true ]; then
        log "stage ${n} (${name}): would run (dry run)"
    else
        log "stage ${n} (${name}): start"
        rm -f "$(marker "${name}")"
        SECONDS=0
        "stage_${name}"
        "check_${name}" || die "stage ${n} (${name}) finished but its output is incomplete"
        echo "${sig}" > "$(marker "${name}")"
        log "stage ${n} (${name}): done in ${SECONDS} s"
    fi
    prev_sig=${sig}
done
log "finished stages ${stage}-${stop_stage}"
