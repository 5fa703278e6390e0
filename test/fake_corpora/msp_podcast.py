"""Fake MSP-Podcast v1.11 (corpora.md section 8).

``<root>/Audios/MSP-PODCAST_<podcast>_<seg>[_<sub>].wav`` (or ``Audio/``),
``<root>/Labels/labels_consensus.csv`` (or the misspelled ``labels_concensus.csv``) with the
8-column header, plus the other files of a release (``labels_consensus.json``,
``labels_detailed.csv``, ``labels.txt``, ``Transcripts/``, ``Speaker_ids.txt``,
``Partition.txt``, ``readme.txt``, ``Previous_releases_information/``) and ``._*`` junk.

Small tree: every code of the Train split, known and ``Unknown`` speakers, a three-part
file name, a Train row without audio, a wav without a row, transcripts for some files and
rows of the other splits (``Development``/``Validation``, ``Test1``, ``Test2`` and
``Test3`` present, empty or missing). ``full=True``: 84,030 Train rows (1,409 speakers)
plus 20 rows of each other split.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Optional

import numpy as np

from fake_corpora.common import AudioWriter

HEADER = "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"
CLASS = {"A": "angry", "S": "sad", "H": "happy", "U": "surprised", "F": "fear",
         "D": "disgust", "N": "neutral"}
DROPPED = ("C", "O", "X")
FULL_TRAIN = 84030
FULL_SPEAKERS = 1409
# class shares of the full fake's Train split (not the real distribution, which
# corpora.md does not give)
FULL_SHARES = {"N": 0.30, "H": 0.15, "X": 0.14, "A": 0.08, "S": 0.08, "C": 0.06, "O": 0.05,
               "U": 0.05, "D": 0.05, "F": 0.04}


def _small_rows():
    """(file, code, act, val, dom, spkr, gender, split) of the small tree."""
    t = "Train"
    rows = [
        # one per code, known speakers; (A, V, D) chosen for exact scaled values
        ("MSP-PODCAST_0001_0008.wav", "N", "2.5", "4.0", "5.5", "30", "Male", t),
        ("MSP-PODCAST_0001_0009.wav", "H", "5.2", "6.4", "4.6", "30", "Male", t),
        ("MSP-PODCAST_0001_0010.wav", "S", "2.2", "2.0", "3.0", "31", "Female", t),
        ("MSP-PODCAST_0002_0001.wav", "A", "6.0", "1.6", "6.2", "31", "Female", t),
        ("MSP-PODCAST_0002_0002.wav", "U", "4.8", "4.6", "4.0", "127", "Male", t),
        ("MSP-PODCAST_0002_0003.wav", "F", "4.4", "2.8", "2.6", "127", "Male", t),
        ("MSP-PODCAST_0003_0001.wav", "D", "3.8", "2.4", "4.2", "127", "Male", t),
        ("MSP-PODCAST_0003_0002.wav", "C", "4.0", "2.6", "4.4", "30", "Male", t),
        ("MSP-PODCAST_0003_0003.wav", "O", "3.4", "3.2", "3.8", "31", "Female", t),
        ("MSP-PODCAST_0003_0004.wav", "X", "1.0", "7.0", "4.0", "31", "Female", t),
        # three-part name
        ("MSP-PODCAST_0047_0295_0001.wav", "N", "3.0", "4.0", "4.0", "127", "Male", t),
        # unknown speakers: one pseudo-speaker per podcast
        ("MSP-PODCAST_0153_0010.wav", "H", "4.0", "5.0", "4.0", "Unknown", "Unknown", t),
        ("MSP-PODCAST_0153_0011.wav", "X", "4.2", "3.8", "4.0", "Unknown", "Unknown", t),
        ("MSP-PODCAST_0154_0001.wav", "N", "3.6", "4.2", "4.0", "Unknown", "Female", t),
        # Train row whose audio is missing
        ("MSP-PODCAST_0004_0001.wav", "N", "3.0", "4.0", "4.0", "32", "Male", t),
    ]
    return rows


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          audio_dir: str = "Audios", labels_name: str = "labels_consensus.csv",
          dev_name: str = "Development", test3: str = "present",
          release_dir: Optional[str] = None) -> dict:
    """``test3``: ``present`` (rows with labels), ``empty`` (rows with empty labels) or
    ``missing`` (no Test3 rows). ``release_dir``: put the release one folder below
    ``root`` (e.g. ``MSP-PODCAST-Publish-1.11``)."""
    base = root / release_dir if release_dir else root
    adir = base / audio_dir
    rows = []
    if full:
        codes = list(FULL_SHARES)
        counts = {c: int(FULL_TRAIN * FULL_SHARES[c]) for c in codes}
        counts["N"] += FULL_TRAIN - sum(counts.values())
        seq = [c for c in codes for _ in range(counts[c])]
        rng.shuffle(seq)
        avd = np.round(rng.uniform(1, 7, (FULL_TRAIN, 3)), 1).tolist()
        for i, code in enumerate(seq):
            podcast, seg = divmod(i, 60)
            k = 1 + i % FULL_SPEAKERS
            a, v, d = avd[i]
            rows.append((f"MSP-PODCAST_{podcast + 1:04d}_{seg + 1:04d}.wav", code, str(a), str(v),
                         str(d), str(k), "Female" if k % 2 else "Male", "Train"))
        n_other = 20
        other_first = 5000
    else:
        rows = _small_rows()
        n_other = 2
        other_first = 8000
    missing = set() if full else {"MSP-PODCAST_0004_0001.wav"}
    train_rows = [r for r in rows if r[0] not in missing]
    # other splits: their own podcasts (speaker-disjoint, as released)
    splits = [dev_name, "Test1", "Test2"] + ([] if test3 == "missing" else ["Test3"])
    other = []
    for k, split in enumerate(splits):
        for j in range(n_other):
            name = f"MSP-PODCAST_{other_first + k:04d}_{j + 1:04d}.wav"
            if split == "Test3" and test3 == "empty":
                other.append((name, "", "", "", "", "", "", "Test3"))
            else:
                other.append((name, "N", "4.0", "4.0", "4.0", str(9000 + k), "Male", split))
    all_rows = rows + other
    order = rng.permutation(len(all_rows))
    lines = [HEADER] + [",".join(all_rows[i]) for i in order]
    labels_dir = base / "Labels"
    labels_dir.mkdir(parents=True, exist_ok=True)
    (labels_dir / labels_name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (labels_dir / ("._" + labels_name)).write_bytes(b"\x00\x05\x16\x07junk")
    # the other label files of a release (not parsed)
    json_name = labels_name.replace(".csv", ".json")
    (labels_dir / json_name).write_text(json.dumps({r[0]: {"EmoClass": r[1]} for r in rows[:3]}))
    (labels_dir / "labels_detailed.csv").write_text(
        "FileName,EmoDetail\n" + "".join(
            f"{r[0]},WORKER00000001; Neutral; Neutral; A:4.000000; V:4.000000; D:4.000000;\n"
            for r in rows[:3]))
    (labels_dir / "labels.txt").write_text("".join(
        f"{r[0]}; {r[1]}; A:{r[2]}; V:{r[3]}; D:{r[4]};\n"
        "WORKER00000001; Neutral; Neutral; A:4.000000; V:4.000000; D:4.000000;\n\n"
        for r in rows[:3]))
    # an older release's label file that must not be picked up
    prev = base / "Previous_releases_information" / "previous_releases_info"
    prev.mkdir(parents=True, exist_ok=True)
    (prev / "labels_consensus.csv").write_text(HEADER + "\nbroken,row\n")
    (base / "Previous_releases_information" / "files_removed_from_prev_versions").mkdir(
        exist_ok=True)
    (base / "readme.txt").write_text("MSP-Podcast corpus release 1.11\n")
    (base / "Speaker_ids.txt").write_text("".join(f"{r[0]}; {r[5]}\n" for r in rows[:3]))
    (base / "Partition.txt").write_text("".join(f"{r[7]}; {r[0]}\n" for r in rows[:3]))
    (base / "ForceAligned").mkdir(exist_ok=True)
    # audio: every row except the one whose audio is missing; one unlabelled wav
    wavs = [r[0] for r in all_rows if r[0] not in missing]
    unlabelled = "MSP-PODCAST_9999_0001.wav"
    wavs.append(unlabelled)
    AudioWriter(rng, fs=16000, empty=empty_audio).all(adir / name for name in wavs)
    (adir / "._MSP-PODCAST_0001_0008.wav").write_bytes(b"junk")
    # transcripts (small tree only)
    texts = {}
    if not full:
        tdir = base / "Transcripts"
        tdir.mkdir(exist_ok=True)
        texts = {"MSP-PODCAST_0001_0008": "so I think  that's\nwhat we do",
                 "MSP-PODCAST_0153_0010": "yeah absolutely"}
        for stem, text in texts.items():
            (tdir / f"{stem}.txt").write_text(text + "\n")

    cats = Counter(CLASS[r[1]] for r in train_rows if r[1] in CLASS)
    other_counts = Counter(r[7] for r in other)
    return {
        "utterances": len(train_rows),
        "classes": dict(cats),
        "with_category": sum(cats.values()),
        "dropped_codes": sum(1 for r in train_rows if r[1] in DROPPED),
        "speakers": len({r[5] if r[5] != "Unknown" else "unk" + r[0][12:16] for r in train_rows}),
        "other_splits": dict(other_counts),
        "missing_audio": sorted(missing),
        "unlabelled": unlabelled,
        "texts": {k: " ".join(v.split()) for k, v in texts.items()},
    }
