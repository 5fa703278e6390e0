"""ASVP-ESD (Audio, Speech and Vision Processing Lab Emotional Sound Database),
corpora.md section 11.

Layout (Zenodo record 7132783, ``ASVP-ESD-Update.zip``; EmoBox paths)::

    <root>/[ASVP-ESD-Update/]Audio/actor_<N>/*.wav   (12,625 files, 131 actor folders)
    <root>/[ASVP-ESD-Update/]Bonus/actor_<N>/*.wav   (1,339 files)

Every ``*.wav`` under ``<root>`` is read recursively; it must sit in an
``actor_<N>`` folder. Files whose grandparent folder is ``Bonus`` form the Bonus part,
all others the Audio part.

Naming: 8 to 12 hyphen-separated numeric fields,
``03-<vocal>-<emotion>-<intensity>-<statement>-<actor>[-...]``
(``03-01-09-01-06-36-02-02-01-39.wav``): modality, vocal channel (01 speech, 02
non-speech), emotion, intensity (with junk values), statement/index, actor. Only the
emotion field is used (a name needs at least 6 fields of letters/digits): fields beyond
the 6th (age, source, language in EmoBox; other codes in nkululeko) are [U] in
corpora.md and the actor field is not trusted (below).

Labels: the emotion field through ``conf/labels/asvp_esd.yaml``: 02-09 are kept
(neutral happy sad angry fear disgust surprised excited); **01 boredom/sigh, 10
pleasure, 11 pain, 12 disappointment, 13 breath and the stray 17 are dropped**. That
leaves 11,679 of 13,964 files (Audio + Bonus), the paper's Table I count.

Speaker: from the **folder** ``actor_<N>`` -> ``asvp_esd_<N>`` (N as written), not from
the name's actor field, which disagrees with the folder in 968 files (a note counts
them). Decision [U]: an ``actor_<N>`` of Bonus is taken to be the same person as the
``actor_<N>`` of Audio (one numbering scheme). Session = speaker; no official split.

Utterance id: ``asvp_esd_audio_<name>`` / ``asvp_esd_bonus_<name>``: a Bonus file may
have the same name as an Audio file, and both are kept. The same name twice within one
part (a second copy of the corpus under ``<root>``) is kept once (the shallowest copy)
and the other copies are recorded as duplicates.

Dropped and recorded: the codes above, names that do not match, files outside an
``actor_<N>`` folder, duplicates. ``._*`` files are skipped silently.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from espnet2_punser.corpora._files import add_files, depth, pick_files, safe_id, walk_files
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig

INFO = CorpusInfo(
    name="asvp_esd",
    title="ASVP-ESD",
    role="pretrain",
    kind="SPNT",
    language="CHN+",
    db_var="ASVP_ESD",
    paper_utterances=11679,
    paper_hours=15.5,
    paper_speakers="128+",
    source="https://zenodo.org/records/7132783 (ASVP-ESD-Update.zip)",
    layout="<root>/[ASVP-ESD-Update/]{Audio,Bonus}/actor_<N>/03-*.wav",
)

# Only the first three fields are required (the emotion is the third); the others vary
# (8 to 12 fields, junk intensities), so they are not parsed beyond the actor field;
# a name with spaces or brackets ("... (copy).wav") does not match.
FILE_RE = re.compile(r"^(?P<modality>\d{2})-(?P<vocal>\d{2})-(?P<emo>\d{2})-(?P<rest>[\w-]+)$")
ACTOR_DIR_RE = re.compile(r"^actor_(?P<n>\d+)$", re.IGNORECASE)


def part_of(path: Path) -> str:
    """``bonus`` for files of ``Bonus/actor_<N>/``, else ``audio``."""
    return "bonus" if path.parent.parent.name.lower() == "bonus" else "audio"


def actor_folder(path: Path) -> str:
    """``<N>`` of the ``actor_<N>`` folder holding ``path``: the speaker."""
    return ACTOR_DIR_RE.match(path.parent.name)["n"]


def _key(path: Path):
    """(utterance key ``<part>_<name>``, None), or (None, why the file is dropped)."""
    if not ACTOR_DIR_RE.match(path.parent.name):
        return None, "not in an actor_<N> folder (Audio/actor_<N>/ or Bonus/actor_<N>/)"
    if not FILE_RE.match(path.stem) or path.stem.count("-") < 5:
        return None, ("file name does not match the ASVP-ESD pattern "
                      "03-VV-EE-II-SS-AA[-...].wav (at least 6 fields)")
    return f"{part_of(path)}_{safe_id(path.stem)}", None


def _describe(key: str, path: Path):
    """(actor folder, emotion code, no text) of a kept file."""
    return actor_folder(path), FILE_RE.match(path.stem)["emo"], None


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    data = CorpusData()
    kept = pick_files(data, walk_files(root, (".wav",)), _key, rank=lambda p: (depth(p, root),))
    if not kept:
        raise CorpusError(f"ASVP-ESD: no Audio/actor_<N>/*.wav nor Bonus/actor_<N>/*.wav "
                          f"(ASVP-ESD-Update/...) under {root}")
    add_files(data, labels, "asvp_esd", kept, _describe)
    mismatched = 0
    folders = {"audio": set(), "bonus": set()}
    for path in kept.values():
        folder = actor_folder(path)
        folders[part_of(path)].add(folder)
        actor = path.stem.split("-")[5]
        if not actor.isdigit() or int(actor) != int(folder):
            mismatched += 1
    parts = Counter(k.split("_", 1)[0] for k in kept)
    data.notes.append(f"files: Audio {parts['audio']:,}, Bonus {parts['bonus']:,}")
    if mismatched:
        data.notes.append(f"{mismatched} files have an actor field that differs from their "
                          "actor_<N> folder; the folder is the speaker")
    shared = sorted(folders["audio"] & folders["bonus"], key=int)
    if shared:
        data.notes.append(f"Bonus actor folders {shared} also exist in Audio; taken as the "
                          "same speakers")
    return data
