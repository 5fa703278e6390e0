"""Fake EmoDB: <root>/wav/SSaNNEv.wav (535 files at full size), corpora.md section 1."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from fake_corpora.common import AudioWriter

SPEAKERS = ["03", "08", "09", "10", "11", "12", "13", "14", "15", "16"]
SENTENCES = ["a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10"]
# real per-emotion totals (EmoBox manifest): 535 in all
FULL_COUNTS = {"W": 127, "L": 81, "E": 46, "A": 69, "F": 71, "N": 79, "T": 62}
CLASS = {"W": "angry", "E": "disgust", "A": "fear", "F": "happy", "N": "neutral", "T": "sad"}


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          wav_dir: str = "wav") -> dict:
    counts = FULL_COUNTS if full else {k: 2 for k in FULL_COUNTS}
    files = []
    for emo, n in counts.items():
        for i in range(n):
            spk = SPEAKERS[i % len(SPEAKERS)]
            sent = SENTENCES[(i // len(SPEAKERS)) % len(SENTENCES)]
            version = "abcdefghij"[i // (len(SPEAKERS) * len(SENTENCES))]
            files.append(f"{spk}{sent}{emo}{version}.wav")
    write = AudioWriter(rng, fs=16000, empty=empty_audio)
    for name in files:
        write(root / wav_dir / name)
    # label/aux files of the official zip
    (root / "erkennung.txt").write_text("Satz erkannt\n03a01Fa.wav 90,5\n", encoding="latin-1")
    for sub in ("lablaut", "labsilb", "silb"):
        (root / sub).mkdir(exist_ok=True)
    (root / wav_dir / "._03a01Fa.wav").write_bytes(b"junk")  # macOS resource fork
    expected_cats = Counter(CLASS[f[5]] for f in files if f[5] != "L")
    return {
        "utterances": sum(expected_cats.values()),
        "classes": dict(expected_cats),
        "dropped": counts["L"],
        "speakers": len({f[:2] for f in files}),
    }
