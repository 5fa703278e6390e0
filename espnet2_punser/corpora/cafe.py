"""CaFE (Canadian French Emotional speech), corpora.md section 5.

Layout: Zenodo record 1478765, ``CaFE_48k.zip`` (48 kHz wav) or the 192 kHz release
(aiff)::

    <root>/[CaFE_48k/]Colère/{Faible,Fort}/NN-C-I-S.wav
    <root>/[CaFE_48k/]Dégoût/{Faible,Fort}/...   Joie/  Peur/  Surprise/  Tristesse/
    <root>/[CaFE_48k/]Neutre/NN-N-1-S.wav          (no intensity subfolder)

The zip stores the accented folder names in a DOS code page, so unzipping gives
``ColŠre``/``D‚go–t`` (EmoBox), ``ColКre``/``DВgoЦt`` (nkululeko), or raw bytes. The
folders are therefore **never** read: every ``*.wav``/``*.aiff``/``*.aif`` under
``<root>`` is found recursively and labelled from its file name. A file whose path is
not valid UTF-8 (raw code-page bytes) cannot be written to ``wav.scp``: it is dropped
with a note that says how to rename the folders.

Naming: ``<actor>-<emotion>-<intensity>-<sentence>.<ext>``: actor 01-12 (odd male,
even female), emotion letter C D J N P S T (``conf/labels/cafe.yaml``; all kept),
intensity 1 Faible / 2 Fort (neutral always 1), sentence 1-6 (its fixed French text
goes to ``text``). 936 files = 12 x 6 x (6 x 2 + 1).

Speaker: ``cafe_<actor>``; session = speaker; no official split.

Duplicates: where the same id exists as .wav and .aiff (both releases under one root)
the .wav is kept (then the shallowest copy) and the others are recorded in
``dropped.txt``. Names that do not match are recorded too; ``._*`` files are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from espnet2_punser.corpora._files import add_files, depth, pick_files, walk_files
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig

INFO = CorpusInfo(
    name="cafe",
    title="CaFE",
    role="pretrain",
    kind="ACT",
    language="FRA",
    db_var="CAFE",
    paper_utterances=936,
    paper_hours=1.2,
    paper_speakers="12",
    source="https://zenodo.org/records/1478765 (CaFE_48k.zip, or the 192 kHz aiff release)",
    layout="<root>/**/NN-E-I-S.wav (or .aiff), in <emotion>/[<intensity>/] folders of any name",
)

EXTS = (".wav", ".aiff", ".aif")
# Lenient on the emotion letter: an unknown letter is dropped through the label map.
FILE_RE = re.compile(r"^(?P<actor>\d{2})-(?P<emo>[A-Z])-(?P<intensity>\d)-(?P<sentence>\d)$")
SENTENCES = {
    "1": "Un cheval fou dans mon jardin",
    "2": "Deux ânes aigris au pelage brun",
    "3": "Trois cygnes aveugles au bord du lac",
    "4": "Quatre vieilles truies éléphantesques",
    "5": "Cinq pumas fiers et passionnés",
    "6": "Six ours aimants domestiqués",
}


def _key(path: Path):
    """(utterance key, None), or (None, why the file is dropped)."""
    if not FILE_RE.match(path.stem):
        return None, "file name does not match the CaFE pattern NN-E-I-S.wav"
    return path.stem, None


def _describe(stem: str, path: Path):
    """(actor, emotion letter, sentence text) of a kept file."""
    m = FILE_RE.match(stem)
    return m["actor"], m["emo"], SENTENCES.get(m["sentence"])


def _duplicate(other: Path, kept: Path) -> str:
    if other.suffix.lower() != kept.suffix.lower():
        return f"duplicate: the {kept.suffix.lower()} file of the same id is kept"
    return "duplicate: another file with the same id is kept"


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    data = CorpusData()
    kept = pick_files(data, walk_files(root, EXTS), _key, why=_duplicate,
                      rank=lambda p: (p.suffix.lower() != ".wav", depth(p, root)))
    if not kept:
        raise CorpusError(f"CaFE: no NN-E-I-S.wav (or .aiff) file under {root} "
                          "(expected <emotion>/<Faible|Fort>/01-C-1-1.wav and Neutre/01-N-1-1.wav)")
    add_files(data, labels, "cafe", kept, _describe)
    return data
