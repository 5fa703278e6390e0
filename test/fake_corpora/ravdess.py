"""Fake RAVDESS speech audio: Actor_NN/03-01-EE-II-SS-RR-NN.wav at 48 kHz, with the
Actor folders placed as the known copies place them (corpora.md section 2).

Per actor: 60 files = 4 neutral (intensity 01 only) + 7 emotions x 2 intensities x 2
statements x 2 repetitions. Full size: 24 actors, 1,440 files (neutral 96, every other
code 192); 1,248 without calm.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from fake_corpora.common import AudioWriter

CLASS = {"01": "neutral", "03": "happy", "04": "sad", "05": "angry", "06": "fear",
         "07": "disgust", "08": "surprised"}  # 02 calm is dropped

# where the Actor_NN folders sit
PLACEMENTS = {
    "zenodo": [""],  # the zip unpacked in place: <root>/Actor_01
    "zenodo_dir": ["Audio_Speech_Actors_01-24"],
    "emobox": ["audio/Audio_Speech_Actors_01-24"],
    "ertk": ["Audio"],
    # the Kaggle copy holds the actors twice: Actor_NN/ and audio_speech_actors_01-24/Actor_NN/
    "kaggle": ["", "audio_speech_actors_01-24"],
}


def actor_names(actor: int, channel: str = "01"):
    names = []
    for emo in ["01", "02", "03", "04", "05", "06", "07", "08"]:
        for intensity in (["01"] if emo == "01" else ["01", "02"]):
            for statement in ("01", "02"):
                for rep in ("01", "02"):
                    names.append(f"03-{channel}-{emo}-{intensity}-{statement}-{rep}-{actor:02d}")
    return names


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          placement: str = "zenodo", with_song: bool = False) -> dict:
    """``placement``: one of :data:`PLACEMENTS`. ``with_song``: also unpack a few files of
    the song subset (03-02-*) into ``Audio_Song_Actors_01-24/Actor_01/`` (dropped)."""
    actors = list(range(1, 25)) if full else [1, 2]
    names = [n for a in actors for n in actor_names(a)]
    prefixes = PLACEMENTS[placement]
    dropped = []
    with AudioWriter(rng, fs=48000, empty=empty_audio) as write:
        for k, prefix in enumerate(prefixes):
            base = root / prefix if prefix else root
            for name in names:
                path = write(base / f"Actor_{int(name[-2:]):02d}" / f"{name}.wav")
                if k > 0:
                    dropped.append(str(path))
        if with_song:
            for name in actor_names(1, channel="02")[:3]:
                dropped.append(str(write(root / "Audio_Song_Actors_01-24" / "Actor_01" /
                                         f"{name}.wav")))
    first = root / prefixes[0] if prefixes[0] else root
    (first / "Actor_01" / "._03-01-01-01-01-01-01.wav").write_bytes(b"junk")  # macOS fork
    kept = [n for n in names if n.split("-")[2] != "02"]
    return {
        "names": names,
        "kept": kept,
        "utterances": len(kept),
        "classes": dict(Counter(CLASS[n.split("-")[2]] for n in kept)),
        "calm": len(names) - len(kept),
        "dropped_paths": dropped,
        "speakers": len(actors),
    }
