"""Fake SAVEE at 44.1 kHz in the layouts seen (corpora.md section 4):

- "official": ``AudioData/<SPK>/<emo><NN>.wav``;
- "nested": only ``AudioData/AudioData/<SPK>/...`` (a zip of the folder re-zipped);
- "nested_dup": both ``AudioData/<SPK>/`` and ``AudioData/AudioData/<SPK>/`` (the inner
  copies are dropped as duplicates);
- "flat": the Kaggle copy, ``<SPK>_<emo><NN>.wav`` directly in ``<root>``;
- "flat_all": the same in ``<root>/ALL/``.

Full size: 4 speakers x (30 neutral + 6 x 15) = 480.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from fake_corpora.common import AudioWriter

SPEAKERS = ["DC", "JE", "JK", "KL"]
CLASS = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral",
         "sa": "sad", "su": "surprised"}
LAYOUTS = ["official", "nested", "nested_dup", "flat", "flat_all"]


def names(full: bool):
    """(speaker, emo, index) of every file: neutral 01-30, others 01-15 (small: 01-04
    and 01-02)."""
    out = []
    for spk in SPEAKERS:
        for emo in CLASS:
            n = (30 if emo == "n" else 15) if full else (4 if emo == "n" else 2)
            out += [(spk, emo, f"{i:02d}") for i in range(1, n + 1)]
    return out


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          layout: str = "official") -> dict:
    files = names(full)
    dropped = []
    with AudioWriter(rng, fs=44100, empty=empty_audio) as write:
        for spk, emo, idx in files:
            if layout == "flat":
                write(root / f"{spk}_{emo}{idx}.wav")
            elif layout == "flat_all":
                write(root / "ALL" / f"{spk}_{emo}{idx}.wav")
            else:
                if layout in ("official", "nested_dup"):
                    write(root / "AudioData" / spk / f"{emo}{idx}.wav")
                if layout in ("nested", "nested_dup"):
                    p = write(root / "AudioData" / "AudioData" / spk / f"{emo}{idx}.wav")
                    if layout == "nested_dup":
                        dropped.append(str(p))
    junk_dir = root / ("ALL" if layout == "flat_all" else "")
    if layout.startswith("flat"):
        (junk_dir / "._DC_a01.wav").write_bytes(b"junk")
    else:
        (root / "AudioData" / "DC" if layout != "nested" else
         root / "AudioData" / "AudioData" / "DC").joinpath("._a01.wav").write_bytes(b"junk")
    return {
        "ids": [f"savee_{s}_{e}{i}" for s, e, i in files],
        "utterances": len(files),
        "classes": dict(Counter(CLASS[e] for _, e, _ in files)),
        "speakers": len(SPEAKERS),
        "dropped_paths": dropped,
    }
