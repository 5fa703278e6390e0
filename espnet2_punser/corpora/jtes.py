"""JTES (Japanese Twitter-based Emotional Speech, Tohoku University), corpora.md
section 15. The corpus is private (request it from the authors).

Layout (several scripts agree; real path ``/data/jtes_v1.1/wav/f01/ang/f01_ang_01.wav``)::

    <root>/[jtes_v1.1/]wav/{spk}/{emo}/{spk}_{emo}_{NN}.wav

Every ``*.wav`` under ``<root>`` is read recursively, so ``<root>`` may be the corpus
folder, its parent, or ``wav/`` itself, and resampled copies (``jtes_v1.1_22k``) work
too; the sample rate is not read here ([U] in corpora.md; the format stage resamples).

Naming: ``{spk}_{emo}_{NN}.wav``: speaker ``f01``-``f50``, ``m01``-``m50``; emotion
``neu joy sad ang`` (``conf/labels/jtes.yaml``; all kept); NN the sentence 01-50 (a
different set of 50 per emotion): 100 x 4 x 50 = 20,000 files. The label comes from
the file name; where the parent folder is itself an emotion code and disagrees with
the name, the file is dropped (ambiguous label). No transcript is written (the
sentence texts are not distributed with the audio).

Speaker ``jtes_<spk>`` (``jtes_f01``); session = speaker; no official split (the
sentence-based split of nkululeko is a benchmark choice, not written here).

Duplicates (the same name found twice under ``<root>``, e.g. two copies at different
rates) are kept once: the copy under a ``wav/`` folder, then the shallowest; the others
are recorded in ``dropped.txt``. Names that do not match are recorded; ``._*`` files are
skipped silently.
"""

from __future__ import annotations

import re
from pathlib import Path

from espnet2_punser.corpora._files import add_files, depth, pick_files, walk_files
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig

INFO = CorpusInfo(
    name="jtes",
    title="JTES",
    role="pretrain",
    kind="ACT",
    language="JPN",
    db_var="JTES",
    paper_utterances=20000,
    paper_hours=23.6,
    paper_speakers="100",
    source="private; request from Tohoku University (Takeishi et al., O-COCOSDA 2016)",
    layout="<root>/[jtes_v1.1/]wav/<spk>/<emo>/<spk>_<emo>_<NN>.wav",
)

# Lenient on the emotion code: an unknown code is dropped through the label map.
FILE_RE = re.compile(r"^(?P<spk>[fm]\d{2})_(?P<emo>[a-z]{3})_(?P<sent>\d{2})$")
EMOTION_DIRS = ("neu", "joy", "sad", "ang")


def _key(path: Path):
    """(utterance key, None), or (None, why the file is dropped)."""
    m = FILE_RE.match(path.stem)
    if not m:
        return None, "file name does not match the JTES pattern <spk>_<emo>_<NN>.wav"
    folder = path.parent.name.lower()
    if folder in EMOTION_DIRS and folder != m["emo"]:
        return None, f"the folder says {folder!r}, the file name {m['emo']!r}"
    return path.stem, None


def _describe(stem: str, path: Path):
    """(speaker, emotion code, no text) of a kept file."""
    m = FILE_RE.match(stem)
    return m["spk"], m["emo"], None


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    data = CorpusData()
    kept = pick_files(
        data, walk_files(root, (".wav",)), _key,
        rank=lambda p: ("wav" not in (x.lower() for x in p.parts[:-1]), depth(p, root)))
    if not kept:
        raise CorpusError(f"JTES: no wav/<spk>/<emo>/<spk>_<emo>_<NN>.wav "
                          f"(e.g. jtes_v1.1/wav/f01/ang/f01_ang_01.wav) under {root}")
    add_files(data, labels, "jtes", kept, _describe)
    return data
