"""Fake CaFE: <emotion>/{Faible,Fort}/NN-E-I-S.wav (48 kHz) or .aiff (192 kHz), Neutre/
without an intensity folder, and the accented folder names as the zip's DOS code page
leaves them after unzipping (corpora.md section 5).

Full size: 12 actors x 6 sentences x (6 emotions x 2 intensities + neutral) = 936.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from fake_corpora.common import AudioWriter

CLASS = {"C": "angry", "D": "disgust", "J": "happy", "N": "neutral", "P": "fear",
         "S": "surprised", "T": "sad"}
# emotion folder names as unzipped: UTF-8, EmoBox's (CP437 bytes read as CP1252) and
# nkululeko's (CP437 bytes read as CP866)
FOLDERS = {
    "utf8": {"C": "Colère", "D": "Dégoût"},
    "emobox": {"C": "ColŠre", "D": "D‚go–t"},
    "nkululeko": {"C": "ColКre", "D": "DВgoЦt"},
}
PLAIN = {"J": "Joie", "N": "Neutre", "P": "Peur", "S": "Surprise", "T": "Tristesse"}
RELEASES = {"48k": [(".wav", 48000)], "192k": [(".aiff", 192000)],
            "both": [(".wav", 48000), (".aiff", 192000)]}


def names(actors, sentences):
    out = []
    for a in actors:
        for s in sentences:
            for emo in "CDJPST":
                out += [f"{a:02d}-{emo}-{i}-{s}" for i in (1, 2)]
            out.append(f"{a:02d}-N-1-{s}")
    return out


def rel_path(name: str, folders: dict) -> str:
    emo, intensity = name[3], name[5]
    if emo == "N":
        return f"Neutre/{name}"
    return f"{folders.get(emo, PLAIN.get(emo))}/{'Faible' if intensity == '1' else 'Fort'}/{name}"


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          folder_names: str = "utf8", release: str = "48k", top: str = "CaFE_48k") -> dict:
    """``folder_names``: "utf8", "emobox", "nkululeko" (text names) or "raw" (the CP437
    bytes themselves, not valid UTF-8). ``release``: "48k" (wav), "192k" (aiff) or
    "both" (the same ids as wav and aiff: the aiff copies are dropped). ``top``: the
    folder inside ``root`` holding the emotion folders ("" for none)."""
    ids = names(range(1, 13), range(1, 7)) if full else names([1, 2], [1, 2])
    raw = folder_names == "raw"
    folders = dict(FOLDERS["utf8" if raw else folder_names])  # a copy: "raw" renames them
    base = root / top if top else root
    dropped = []
    with AudioWriter(rng, fs=48000, empty=empty_audio) as write:
        for k, (ext, fs) in enumerate(RELEASES[release]):
            for name in ids:
                path = write(base / f"{rel_path(name, folders)}{ext}", fs=fs, seconds=0.02)
                if k > 0:
                    dropped.append(str(path))
    first_ext = RELEASES[release][0][0]
    (base / "Peur" / "Fort" / f"._01-P-2-1{first_ext}").write_bytes(b"junk")  # macOS fork
    (base / ".DS_Store").write_bytes(b"junk")
    if raw:  # rename the accented folders to their CP437 bytes (as a plain unzip does)
        for k, name in list(folders.items()):
            folders[k] = os.fsdecode(name.encode("cp437"))
            os.rename(os.fsencode(str(base / name)), os.fsencode(str(base / folders[k])))
    kept = [n for n in ids if not (raw and n[3] in "CD")]
    return {
        "ids": ids,
        "kept": kept,
        "utterances": len(kept),
        "classes": dict(Counter(CLASS[n[3]] for n in kept)),
        "speakers": len({n[:2] for n in kept}),
        "dropped_paths": dropped,
        "undecodable": len(ids) - len(kept),
        "folders": folders,
    }
