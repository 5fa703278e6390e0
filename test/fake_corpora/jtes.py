"""Fake JTES: <top>/wav/{spk}/{emo}/{spk}_{emo}_{NN}.wav (corpora.md section 15).

The sample rate is unknown ([U]): 16 kHz by default, 22.05 kHz for the resampled
``jtes_v1.1_22k`` copy. Full size: 100 speakers (f01-f50, m01-m50) x 4 emotions x 50
sentences = 20,000.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from fake_corpora.common import AudioWriter

EMOTIONS = ["neu", "joy", "sad", "ang"]
CLASS = {"neu": "neutral", "joy": "happy", "sad": "sad", "ang": "angry"}
TOPS = {"jtes_v1.1": 16000, "jtes_v1.1_22k": 22050, "": 16000}


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          top: str = "jtes_v1.1") -> dict:
    """``top``: the corpus folder inside ``root`` ("" when ``root`` holds ``wav/``)."""
    if full:
        speakers = [f"{g}{i:02d}" for g in "fm" for i in range(1, 51)]
        sentences = range(1, 51)
    else:
        speakers, sentences = ["f01", "f50", "m01"], [1, 50]
    base = (root / top if top else root) / "wav"
    names = []
    with AudioWriter(rng, fs=TOPS[top], empty=empty_audio) as write:
        for spk in speakers:
            for emo in EMOTIONS:
                for s in sentences:
                    name = f"{spk}_{emo}_{s:02d}"
                    write(base / spk / emo / f"{name}.wav")
                    names.append(name)
    (base / "f01" / "ang" / "._f01_ang_01.wav").write_bytes(b"junk")  # macOS fork
    return {
        "names": names,
        "utterances": len(names),
        "classes": dict(Counter(CLASS[n.split("_")[1]] for n in names)),
        "speakers": len(speakers),
        "speaker_ids": [f"jtes_{s}" for s in speakers],
    }
