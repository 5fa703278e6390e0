"""WHiSER (White House tapes speech emotion recognition, MSP lab), corpora.md section 12.

Layout (the GitHub release; ``Annotation_wav_files.zip`` must be extracted)::

    Labels/labels_consensus.csv  labels.txt  labels_consensus.json  labels_detailed.{csv,json}
    Annotation_wav_files/006-040.1-2_13.wav ...      (5,427 wavs)
    Annotation_wav_files_ref.txt  readme.txt

The Hugging Face mirror uses ``WHiSER/Labels/`` and ``wavs/``. The folder name inside
the zip is not verified [U], so the wavs are found by name anywhere under ``ROOT``
(recursively; ``Annotation_wav_files/`` then ``wavs/`` win a name found twice). The
label file is ``Labels/labels_consensus.csv``, then ``WHiSER/Labels/``, then the
shallowest ``labels_consensus.csv`` (or misspelled ``labels_concensus.csv``) under
``ROOT``. Only when there is no consensus CSV at all, ``labels.txt`` (same folders) is
parsed instead: its summary lines ``<file>; <code>; A:x; V:x; D:x;`` carry the same
consensus code and means.

File names: ``<source>.1-2_<segment>.wav`` [V], ``<source>`` being the tape
(``006-040``, ``rmn_e001a_10``, ...; 1,089 tapes).

Labels: ``labels_consensus.csv`` (``FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,
Gender,Split_Set``). ``EmoClass`` maps through ``conf/labels/whiser.yaml`` exactly as
for MSP-Podcast: N H S A U F D to the unified classes; C, O and X are dropped from
``utt2cat`` and the utterance is kept for its V/A/D (all 5,427 are kept; 4,454 have a
category). ``EmoVal, EmoAct, EmoDom`` (1-7) are min-max scaled to [0, 1].

Decisions:

- **Speaker**: every row has ``SpkrID=Unknown``, so the speaker is the source tape (the
  part of the file name before ``.1-2_``), ``whiser_<tape>``: segments of one tape share
  their speakers, so folds by tape never put one recording on both sides. **Session** =
  the speaker.
- **No split**: ``Split_Set`` is ``NA`` for every row.
- Dropped with a reason: rows whose audio is missing, duplicate rows, file names not of
  the ``<source>.1-2_<n>.wav`` form, wavs without a label row, and C/O/X categories.
- No transcripts are distributed. The sample rate is not verified [U]; nothing here
  reads audio (the format stage resamples whatever it finds).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

from espnet2_punser.corpora import _msp
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig, Utterance

INFO = CorpusInfo(
    name="whiser",
    title="WHiSER",
    role="pretrain",
    kind="SPNT",
    language="ENG",
    db_var="WHISER",
    paper_utterances=5427,
    paper_hours=6.4,
    paper_speakers=None,
    source="https://github.com/msplabresearch/WHiSER (labels; Annotation_wav_files.zip from "
           "the MSP lab) or the Hugging Face mirror Lab-MSP/whiser_parquet",
    layout="<root>/Labels/labels_consensus.csv (or WHiSER/Labels/) and the 5,427 wavs "
           "anywhere under <root> (Annotation_wav_files/ or wavs/)",
)

FILE_RE = re.compile(r"^(?P<source>.+)\.1-2_(?P<seg>\d+)\.wav$")
CSV_NAMES = ["labels_consensus.csv", "labels_concensus.csv"]
LABEL_DIRS = ["Labels", "WHiSER/Labels", "labels", "."]
PREFERRED_AUDIO = ["Annotation_wav_files", "wavs"]


def find_labels(root: Path):
    """(path, kind) with kind ``csv`` or ``txt``."""
    csv_path = _msp.find_file(root, [f"{d}/{n}" for d in LABEL_DIRS for n in CSV_NAMES],
                              CSV_NAMES)
    if csv_path is not None:
        return csv_path, "csv"
    txt = _msp.find_file(root, [f"{d}/labels.txt" for d in LABEL_DIRS], ["labels.txt"])
    if txt is not None:
        return txt, "txt"
    raise CorpusError(f"WHiSER: no Labels/labels_consensus.csv (nor WHiSER/Labels/, nor a "
                      f"labels.txt) under {root}")


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    label_path, kind = find_labels(root)
    dirs: List[Path] = [root / d for d in PREFERRED_AUDIO] + [root]
    audio, dups = _msp.index_audio(dirs)
    if not audio:
        zips = sorted(p.name for p in root.glob("*.zip"))
        hint = f" (extract {', '.join(zips)})" if zips else ""
        raise CorpusError(f"WHiSER: no wav files under {root}{hint}")

    data = CorpusData()
    files = _msp.LabelledAudio(data, audio, dups, "whiser", searched=f"under {root}")
    # one record per row: (where, file name, code, V, A, D)
    records = []
    if kind == "csv":
        for row in _msp.read_consensus_csv(label_path):
            where = f"{label_path}:{row.line}"
            records.append((where, row.file, row.code, _msp.number(row.val, where),
                            _msp.number(row.act, where), _msp.number(row.dom, where)))
    else:
        data.notes.append(f"no labels_consensus.csv: labels read from {label_path}")
        for s in _msp.read_summary_blocks(label_path):
            records.append((f"{label_path}:{s.line}", s.name, s.code, s.val, s.act, s.dom))

    for where, fname, code, v, a, d in records:
        name = fname if fname.lower().endswith(".wav") else fname + ".wav"
        m = FILE_RE.match(name)
        if not m:
            data.drop(f"{where}: {fname}", "file name is not of the form <source>.1-2_<n>.wav")
            continue
        utt_id = files.utt_id(f"{where}: {fname}", name, where)
        if utt_id is None:
            continue
        speaker = f"whiser_{_msp.sanitize(m['source'])}"
        cat, why = labels.category(code)
        data.add(Utterance(
            utt_id=utt_id,
            path=audio[name],
            speaker=speaker,
            session=speaker,
            category=cat,
            vad=_msp.scaled_vad(labels, v, a, d, where),
            code=code,
        ), why)
    files.drop_unlabelled(files.seen, f"audio file has no row in {label_path.name}")
    return data
