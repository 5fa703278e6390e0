"""SAVEE (Surrey Audio-Visual Expressed Emotion), corpora.md section 4.

Two layouts, both accepted (every ``*.wav`` under ``<root>`` is read recursively):

- official ``AudioData.zip``: ``AudioData/<SPK>/<emo><NN>.wav`` (``AudioData/DC/a01.wav``),
  the speaker from the parent folder; some copies hold a nested ``AudioData/AudioData/``
  (alone, or beside the outer one: then the same files appear twice);
- the flat Kaggle copy: ``<SPK>_<emo><NN>.wav`` in one folder (``JE_n23.wav``).

``<SPK>`` is one of DC, JE, JK, KL (four male British English speakers); ``<emo>`` is
a d f h n sa su (``conf/labels/savee.yaml``; all kept); NN runs 01-30 for neutral and
01-15 otherwise: 4 x (30 + 6 x 15) = 480 files at 44.1 kHz.

Utterance id ``savee_<SPK>_<emo><NN>`` in both layouts, so a file found twice (nested
``AudioData/AudioData``, or both layouts unpacked under one root) is kept once: the
shallowest copy; the others are recorded in ``dropped.txt`` as duplicates.
Speaker ``savee_<SPK>``; session = speaker (evaluation is leave-one-speaker-out over
the four speakers); no official split; no transcript is written (the sentence texts are
not part of the label files).

Dropped and recorded: names matching neither pattern, official-layout files outside a
speaker folder, duplicates. ``._*`` files are skipped silently.
"""

from __future__ import annotations

import re
from pathlib import Path

from espnet2_punser.corpora._files import add_files, depth, pick_files, walk_files
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig

INFO = CorpusInfo(
    name="savee",
    title="SAVEE",
    role="eval",
    kind="ACT",
    language="ENG",
    db_var="SAVEE",
    paper_utterances=480,
    paper_hours=0.5,
    paper_speakers="4",
    source="http://kahlan.eps.surrey.ac.uk/savee/ (AudioData.zip, registration); "
           "Kaggle copies hold <SPK>_<emo><NN>.wav",
    layout="<root>/AudioData/<SPK>/<emo><NN>.wav or <root>/**/<SPK>_<emo><NN>.wav",
)

SPEAKERS = ("DC", "JE", "JK", "KL")
# Lenient on the emotion code: an unknown code is dropped through the label map.
FLAT_RE = re.compile(r"^(?P<spk>DC|JE|JK|KL)_(?P<emo>[a-z]{1,2})(?P<idx>\d{2})$")
OFFICIAL_RE = re.compile(r"^(?P<emo>[a-z]{1,2})(?P<idx>\d{2})$")


def _key(path: Path):
    """(utterance key ``<SPK>_<emo><NN>``, None), or (None, why the file is dropped)."""
    m = FLAT_RE.match(path.stem)
    if m:
        return f"{m['spk']}_{m['emo']}{m['idx']}", None
    m = OFFICIAL_RE.match(path.stem)
    if not m:
        return None, ("file name does not match the SAVEE patterns "
                      "<emo><NN>.wav / <SPK>_<emo><NN>.wav")
    spk = path.parent.name.upper()
    if spk not in SPEAKERS:
        return None, f"not in a speaker folder ({'/'.join(SPEAKERS)})"
    return f"{spk}_{m['emo']}{m['idx']}", None


def _describe(key: str, path: Path):
    """(speaker, emotion code, no text) of a kept file from its key ``<SPK>_<emo><NN>``."""
    spk, _, rest = key.partition("_")
    return spk, rest[:-2], None


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    data = CorpusData()
    kept = pick_files(data, walk_files(root, (".wav",)), _key, rank=lambda p: (depth(p, root),))
    if not kept:
        raise CorpusError(f"SAVEE: neither AudioData/<SPK>/<emo><NN>.wav nor <SPK>_<emo><NN>.wav "
                          f"(e.g. AudioData/DC/a01.wav, DC_a01.wav) under {root}")
    add_files(data, labels, "savee", kept, _describe)
    return data
