"""Fake CREMA-D: <root>/AudioWAV/<actor>_<sentence>_<emo>_<level>.wav at 16 kHz, with the
GitHub repository's other folders and CSV files (corpora.md section 3).

Full size: 91 actors x (11 sentences x 6 emotions at XX + IEO: NEU at XX and 5 emotions
x LO/MD/HI) = 7,462 names, less 20 (3 of each emotion, 5 NEU) -> 7,442: 1,271 per
emotion, NEU 1,087, the real counts. The 20 left out are arbitrary (the real missing
names are not known here); ``1076_MTI_SAD_XX`` (silent in the real corpus) is kept.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from fake_corpora.common import AudioWriter

SENTENCES = ["IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI"]
EMOTIONS = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
CLASS = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral",
         "SAD": "sad"}
SILENT = "1076_MTI_SAD_XX"


def actor_names(actor: int):
    names = []
    for sent in SENTENCES:
        for emo in EMOTIONS:
            if sent == "IEO" and emo != "NEU":
                names += [f"{actor}_{sent}_{emo}_{lvl}" for lvl in ("LO", "MD", "HI")]
            else:
                names.append(f"{actor}_{sent}_{emo}_XX")
    return names


def full_names():
    names = [n for a in range(1001, 1092) for n in actor_names(a)]
    remove = {e: 3 for e in EMOTIONS if e != "NEU"}
    remove["NEU"] = 5
    out = []
    for n in reversed(names):  # drop from the last actors, never the silent file
        emo = n.split("_")[2]
        if remove.get(emo, 0) and n != SILENT:
            remove[emo] -= 1
            continue
        out.append(n)
    return sorted(out)


def small_names():
    """Actors 1001 and 1002 over all 12 sentences, every emotion and level, plus the
    silent 1076 file: every code and sentence appears."""
    names = []
    for i, actor in enumerate((1001, 1002)):
        for j, sent in enumerate(SENTENCES[1:]):  # IEO (with levels) below
            emo = EMOTIONS[(i + j) % len(EMOTIONS)]
            names.append(f"{actor}_{sent}_{emo}_XX")
    names += [f"1001_IEO_ANG_{lvl}" for lvl in ("LO", "MD", "HI")]
    names += ["1002_IEO_NEU_XX"]
    names.append(SILENT)
    return sorted(set(names))


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          extras: bool = True, subdir: str = "", lfs_pointers: bool = False) -> dict:
    """``extras``: the GitHub repository's AudioMP3/, VideoFlash/ and CSV files
    (``False``: a Kaggle-style copy with AudioWAV/ only). ``subdir``: put the corpus in
    ``<root>/<subdir>/`` (e.g. ``CREMA-D``). ``lfs_pointers``: a clone without
    ``git lfs pull``: every .wav is a Git LFS pointer (text)."""
    base = root / subdir if subdir else root
    names = full_names() if full else small_names()
    wav_dir = base / "AudioWAV"
    dropped_names = []
    with AudioWriter(rng, fs=16000, empty=empty_audio) as write:
        for name in names:
            path = wav_dir / f"{name}.wav"
            if name == SILENT and not empty_audio:  # no signal, as in the real file
                import soundfile

                path.parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(str(path), np.zeros(800, dtype=np.float32), 16000,
                                subtype="PCM_16")
            else:
                write(path)
        if not full:
            bad = write(wav_dir / "1001_DFA_ANG_XX_copy.wav")  # a stray copy: dropped
            dropped_names.append(bad.name)
    if lfs_pointers:
        for name in names:
            (wav_dir / f"{name}.wav").unlink()  # it may be a hard link (empty_audio)
            (wav_dir / f"{name}.wav").write_text(
                "version https://git-lfs.github.com/spec/v1\n"
                f"oid sha256:{rng.bytes(32).hex()}\nsize {rng.integers(30000, 90000)}\n")
    (wav_dir / "._1001_DFA_ANG_XX.wav").write_bytes(b"\x00\x05\x16\x07junk")  # macOS fork
    actors = sorted({int(n[:4]) for n in names})
    base.mkdir(parents=True, exist_ok=True)
    with open(base / "VideoDemographics.csv", "w") as f:
        f.write('"ActorID","Age","Sex","Race","Ethnicity"\n')
        for a in actors:
            sex = "Male" if a % 2 else "Female"
            f.write(f'{a},{20 + a % 40},"{sex}","Caucasian","Not Hispanic"\n')
    if extras:
        for name in names[:3]:
            (base / "AudioMP3").mkdir(exist_ok=True)
            (base / "AudioMP3" / f"{name}.mp3").write_bytes(b"ID3fake")
            (base / "VideoFlash").mkdir(exist_ok=True)
            (base / "VideoFlash" / f"{name}.flv").write_bytes(b"FLVfake")
        rows = "".join(f"{i},{n}\n" for i, n in enumerate(names[:3], 1))
        (base / "SentenceFilenames.csv").write_text("Stimulus_Number,Filename\n" + rows)
        (base / "processedResults").mkdir(exist_ok=True)
        (base / "processedResults" / "summaryTable.csv").write_text(
            ",fileName,VoiceVote,VoiceLevel,FaceVote,FaceLevel,MultiModalVote,MultiModalLevel\n"
            f"1,{names[0]},A,60,A,70,A,80\n")
    classes = Counter(CLASS[n.split("_")[2]] for n in names)
    return {
        "names": names,
        "utterances": len(names),
        "classes": dict(classes),
        "speakers": len(actors),
        "actors": actors,
        "dropped_names": dropped_names,
    }
