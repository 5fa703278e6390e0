#!/usr/bin/env bash
# Where the corpora and the XEUS weights are on this machine. Empty = not available.
# With every corpus empty, stage 1 generates the bundled synthetic corpora instead;
# with no XEUS weights, the tiny XEUS-shaped encoder with random weights is used.
# `python -m espnet2_punser.bin.prepare_corpus --list` shows what each root must hold.
# shellcheck disable=SC2034

# --- pre-training corpora (paper Table I)
MSP_PODCAST=        # MSP-Podcast v1.11 (Audios/, Labels/labels_consensus.csv)
CMU_MOSEI=          # CMU-MOSEI (CMU_MOSEI_Labels.csd, Raw/Audio/Full/WAV_16000/)
ASVP_ESD=           # ASVP-ESD-Update (Audio/, Bonus/)
WHISER=             # WHiSER (Labels/labels_consensus.csv + wavs)
ESCORPUS_PE=        # ESCorpus-PE in the generic format (metadata.csv); see README
CREMA_D=            # CREMA-D (AudioWAV/)
RAVDESS=            # RAVDESS speech (Actor_01 ... Actor_24)
CAFE=               # CaFE (48 kHz release)
QUECHUA_SER=        # QuechuaSER (Audios/, Data/Data/Data.xlsx, Labels/Labels/Labels.csv)
JTES=               # JTES v1.1 (wav/<speaker>/<emotion>/)
# --- evaluation corpora
IEMOCAP=            # IEMOCAP_full_release (Session1 ... Session5)
MSP_IMPROV=         # MSP-Improv (Evaluation.txt + session*/ wavs)
MELD=               # MELD.Raw (train/dev/test CSVs and mp4 folders)
UUDB=               # UUDB (Sessions/, var/)
SAVEE=              # SAVEE (AudioData/<speaker>/ or flat)
EMODB=              # EmoDB (wav/)

# --- XEUS (https://huggingface.co/espnet/xeus, CC-BY-NC-SA-4.0):
# the directory holding model/config.yaml and model/xeus_checkpoint_new.pth, e.g. as
# downloaded by local/download_xeus.sh
XEUS_DIR=
