"""MSP-Podcast v1.11 (pre-training; training partition only), corpora.md section 8.

Layout (``ROOT`` = the release folder, e.g. ``MSP-PODCAST-Publish-1.11/``)::

    Audios/MSP-PODCAST_0001_0008.wav ...         (older releases and EmoBox: Audio/)
    Labels/labels_consensus.csv                  (older releases: labels_concensus.csv)
    Transcripts/MSP-PODCAST_0001_0008.txt ...    (optional, read for ``text``)

The label file is looked up at ``Labels/`` (either spelling), then at the root, then as
the shallowest file of that name under ``ROOT`` (so the folder above the release also
works; ``Previous_releases_information/`` is never searched). Audio is looked up in
``Audios/`` and ``Audio/`` next to ``Labels/`` (or under ``ROOT``), recursively; both
are indexed when both exist (``Audios/`` wins a name found twice).

Labels: ``labels_consensus.csv`` with the header
``FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set`` (columns found by
name). ``EmoClass`` maps through ``conf/labels/msp_podcast.yaml``: N H S A U F D to the
unified classes; C (contempt), O (other) and X (no agreement) are dropped from
``utt2cat`` but the utterance is kept for its V/A/D. ``EmoVal, EmoAct, EmoDom`` (valence,
arousal, dominance; means of SAM ratings on 1-7) are min-max scaled to [0, 1].

Decisions:

- **Train only** (paper section II-D: "we used only the audio from the training set").
  Rows whose ``Split_Set`` is not ``Train`` (``Development`` or, in older releases,
  ``Validation``, ``Test1``, ``Test2``, ``Test3``) are not used. To keep ``dropped.txt``
  small (about 67,600 rows) they are NOT listed there one by one: ONE ``notes`` line
  gives their count per split. Test3 rows may be missing or carry empty labels [U]; both
  are fine since they are never read beyond ``Split_Set``.
- **Speaker** = ``msp_podcast_<SpkrID>``. ``SpkrID=Unknown`` (or empty) gets a
  per-podcast pseudo-speaker ``msp_podcast_unk<podcast>`` from the file name
  (``MSP-PODCAST_<podcast>_<segment>[_<sub>].wav``): turns of one podcast episode are
  the closest thing to one unknown speaker, and never pool unknown speakers of
  different podcasts. **Session** = the speaker (no sessions).
- ``utt2split`` carries the official ``Train`` (the only split kept).
- Dropped with a reason in ``dropped.txt``: Train rows whose audio is missing, rows whose
  file name does not match the pattern, duplicate rows, audio files without a row in the
  CSV, and the C/O/X codes of kept utterances.
- ``Labels/labels.txt`` (the block format) is not a fallback: it has neither speaker
  nor split.
- ``text`` comes from ``Transcripts/<stem>.txt`` when that folder exists (whitespace
  collapsed); its format is not documented in corpora.md [U].
- nkululeko reports ``MSP-PODCAST_1023_0235.wav`` as stereo 44.1 kHz [S]: it is kept
  (the format stage down-mixes and resamples) and a note says so when present.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import List

from espnet2_punser.corpora import _msp
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig, Utterance

INFO = CorpusInfo(
    name="msp_podcast",
    title="MSP-Podcast",
    role="pretrain",
    kind="SPNT",
    language="ENG",
    db_var="MSP_PODCAST",
    paper_utterances=84030,
    paper_hours=134.3,
    paper_speakers="1,409",
    splits_disjoint=True,
    source="https://ecs.utdallas.edu/research/researchlabs/msp-lab/MSP-Podcast.html "
           "(academic licence from the MSP lab, UT Dallas); release 1.11",
    layout="<root>/Labels/labels_consensus.csv (or labels_concensus.csv) and "
           "<root>/Audios/*.wav (or Audio/)",
)

FILE_RE = re.compile(r"^MSP-PODCAST_(?P<podcast>\d{4})_(?P<seg>\d{4})(?:_(?P<sub>\d{4}))?\.wav$")
LABEL_NAMES = ["labels_consensus.csv", "labels_concensus.csv"]
STEREO_OUTLIER = "MSP-PODCAST_1023_0235.wav"
UNKNOWN = {"", "unknown", "na", "nan", "none", "-1"}


def find_labels(root: Path) -> Path:
    path = _msp.find_file(root, [f"Labels/{n}" for n in LABEL_NAMES] + LABEL_NAMES, LABEL_NAMES)
    if path is None:
        raise CorpusError(f"MSP-Podcast: no Labels/labels_consensus.csv (or the misspelled "
                          f"labels_concensus.csv) under {root}")
    return path


def audio_dirs(root: Path, labels_csv: Path) -> List[Path]:
    release = labels_csv.parent.parent if labels_csv.parent.name.lower() == "labels" \
        else labels_csv.parent
    out: List[Path] = []
    for base in (release, root):
        for name in ("Audios", "Audio"):
            d = base / name
            if d.is_dir() and d.resolve() not in [x.resolve() for x in out]:
                out.append(d)
    if not out:
        raise CorpusError(f"MSP-Podcast: no Audios/ (or Audio/) folder in {release}")
    return out


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    csv_path = find_labels(root)
    dirs = audio_dirs(root, csv_path)
    audio, dups = _msp.index_audio(dirs)
    if not audio:
        raise CorpusError(f"MSP-Podcast: no wav files in {', '.join(map(str, dirs))}")
    rows = _msp.read_consensus_csv(csv_path)
    trans_dir = csv_path.parent.parent / "Transcripts" \
        if csv_path.parent.name.lower() == "labels" else csv_path.parent / "Transcripts"
    transcripts = set(os.listdir(trans_dir)) if trans_dir.is_dir() else set()

    data = CorpusData()
    files = _msp.LabelledAudio(data, audio, dups, "msp_podcast",
                               searched=f"in {', '.join(d.name for d in dirs)}/")
    other_splits: Counter = Counter()
    labelled = set()
    for row in rows:
        where = f"{csv_path}:{row.line}"
        name = row.file if row.file.lower().endswith(".wav") else row.file + ".wav"
        labelled.add(name)
        if row.split.strip().lower() != "train":
            other_splits[row.split.strip() or "(empty)"] += 1
            continue
        m = FILE_RE.match(name)
        if not m:
            data.drop(f"{where}: {row.file}", "file name does not match the MSP-Podcast pattern")
            continue
        utt_id = files.utt_id(f"{where}: {row.file}", name, f"line {row.line}")
        if utt_id is None:
            continue
        stem = name[:-4]
        spk = row.spkr.strip()
        if spk.lower() in UNKNOWN:
            speaker = f"msp_podcast_unk{m['podcast']}"
        else:
            speaker = f"msp_podcast_{_msp.sanitize(spk)}"
        vad = _msp.scaled_vad(labels, _msp.number(row.val, where), _msp.number(row.act, where),
                              _msp.number(row.dom, where), where)
        text = None
        if stem + ".txt" in transcripts:
            raw = (trans_dir / (stem + ".txt")).read_text(encoding="utf-8", errors="replace")
            text = " ".join(raw.split()) or None
        cat, why = labels.category(row.code)
        data.add(Utterance(
            utt_id=utt_id,
            path=audio[name],
            speaker=speaker,
            session=speaker,
            category=cat,
            vad=vad,
            text=text,
            split="Train",
            code=row.code,
        ), why)
    files.drop_unlabelled(labelled, f"audio file has no row in {csv_path.name}")
    if other_splits:
        total = sum(other_splits.values())
        data.notes.append(
            f"{total:,} rows outside the Train split are not used (paper: training set only; "
            "not listed in dropped.txt): "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(other_splits.items())))
    if STEREO_OUTLIER in files.seen and STEREO_OUTLIER in audio:
        data.notes.append(f"{STEREO_OUTLIER} is reportedly stereo 44.1 kHz (nkululeko); "
                          "the format stage down-mixes and resamples it")
    return data
