"""Fake CMU-MOSEI (corpora.md section 10): ``CMU_MOSEI_Labels.csd`` written with h5py in
the SDK's computational-sequence structure (``All Labels/data/<video>/{features,
intervals}``, ``All Labels/metadata/<key>`` as 1-element JSON strings, including
``dimension names``), full-video wavs ``Raw/Audio/Full/WAV_16000/<video>.wav`` and
transcripts ``Raw/Transcript/Segmented/Combined/<video>.txt``
(``VIDEO___CLIP___START___END___TEXT``), plus junk of real copies.

The small tree holds crafted segments for the voting rule (a single highest emotion ->
class; ties and all-zero segments dropped), a negative start, transcripts that write
``0`` for ``0.0``, a segment without a transcript line, a video without a wav and a wav
without labels. ``full=True`` writes 3,228 videos / 23,453 segments (the CMU-MOSEI
paper's size; ``n_videos`` scales it) with random labels; the expected result is computed
here independently. With ``empty_audio`` the wavs are 0-byte files
(:class:`fake_corpora.common.EmptyFiles`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from fake_corpora.common import AudioWriter

DIM_NAMES = ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]
CLASS = {"happy": "happy", "sad": "sad", "anger": "angry", "surprise": "surprised",
         "disgust": "disgust", "fear": "fear"}
T = 1.0 / 3.0

# video -> [(start, end, sentiment, {emotion: intensity}, transcript (clip, start text,
#           text) or None)]
SMALL: Dict[str, list] = {
    "-3g5yACwYnA": [
        (8.2753, 10.0555, 1.0, {"happy": 1.0}, ("3", None, "I love it.")),
        (1.9919, 3.5299, -1.0, {"sad": 2 * T, "anger": 2 * T}, ("4", None, "Tie here.")),
        (0.484, 1.4052, 0.0, {}, ("0", None, "Nothing at all.")),
        (3.3211, 5.7521, -2.0, {"anger": 2.0, "disgust": 1.0}, ("1", None, "So mad ______ ok")),
    ],
    "-9YyBTjo1zo": [
        (-0.457596371882, 1.77959183673, 0.5, {"surprise": 4 * T, "happy": T},
         ("0", "-0.457596371882", "Oh wow.")),
        (0.81950113379, 5.96009070295, -0.3333, {"disgust": T}, ("1", None, "Gross.")),
        (5.97777777778, 9.6721088435, -1.0, {"fear": 1.0, "sad": 2 * T}, None),
    ],
    "81406": [
        (0.0, 9.213, -1.6667, {"sad": 7 * T, "happy": 2 * T}, ("0", "0", "It was hard.")),
        (9.014, 11.098, 0.0, {"happy": 3.0, "surprise": 3.0, "anger": 3.0},
         ("1", None, "Everything!")),
    ],
    "zz__9NoWav0": [  # labelled, no wav
        (0.5, 2.5, 1.0, {"happy": 2.0}, ("0", None, "No audio here.")),
    ],
}
NO_WAV = {"zz__9NoWav0"}
WAV_ONLY = "LabelLess0A"  # a wav that the .csd does not list
SECONDS = 12.0


def write_csd(path: Path, videos: Dict[str, Tuple[np.ndarray, np.ndarray]],
              dim_names: Optional[List[str]] = DIM_NAMES) -> None:
    """The SDK's write_CSD layout: <root>/data/<vid>/{features,intervals},
    <root>/metadata/<key> = [json.dumps(value)]."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        root = f.create_group("All Labels")
        data = root.create_group("data")
        for vid, (feats, ints) in videos.items():
            g = data.create_group(vid)
            g.create_dataset("features", data=feats.astype(np.float32))
            g.create_dataset("intervals", data=ints.astype(np.float64))
        meta = root.create_group("metadata")
        md = {"root name": "All Labels",
              "computational sequence description": "Labels for CMU-MOSEI dataset",
              "dimension names": dim_names,
              "computational sequence version": "1.0",
              "alignment compatible": True,
              "dataset name": "CMU-MOSEI",
              "dataset version": "1.0"}
        for key, value in md.items():
            if value is None:
                continue
            ds = meta.create_dataset(key, (1,), dtype=h5py.special_dtype(vlen=str))
            ds[0] = json.dumps(value)


def _num(x: float) -> str:
    return repr(float(x))


def expected_vote(emos: Dict[str, float]) -> Optional[str]:
    """Independent statement of the rule: a single highest intensity -> that emotion;
    ties and all-zero -> None."""
    vals = [round(emos.get(e, 0.0), 4) for e in DIM_NAMES[1:]]
    top = max(vals)
    if top == 0 or vals.count(top) > 1:
        return None
    return DIM_NAMES[1 + vals.index(top)]


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          layout: str = "ertk", dim_names: Optional[List[str]] = DIM_NAMES,
          n_videos: int = 3228) -> dict:
    """``layout``: ``"ertk"`` (``<root>/CMU_MOSEI_Labels.csd`` + ``<root>/Raw/...``) or
    ``"s3prl"`` (``Raw`` renamed to the corpus folder: ``<root>/Audio/...``, and the .csd in
    ``<root>/labels/``). ``n_videos`` scales the ``full`` tree down (3,228 videos and
    23,453 segments at the real size)."""
    raw = root / "Raw" if layout == "ertk" else root
    csd = root / "CMU_MOSEI_Labels.csd" if layout == "ertk" else root / "labels" / \
        "CMU_MOSEI_Labels.csd"
    wav_dir = raw / "Audio" / "Full" / "WAV_16000"
    trn_dir = raw / "Transcript" / "Segmented" / "Combined"
    wav_dir.mkdir(parents=True, exist_ok=True)
    trn_dir.mkdir(parents=True, exist_ok=True)
    spec = _full_spec(rng, n_videos) if full else SMALL
    write = AudioWriter(rng, fs=16000, empty=empty_audio)
    csd_data = {}
    expected_cats: Counter = Counter()
    kept_ids = []
    ties = zeros = no_audio = 0
    for vid, segs in spec.items():
        feats = np.zeros((len(segs), 7))
        ints = np.zeros((len(segs), 2))
        lines = []
        has_wav = vid not in NO_WAV
        for i, (start, end, senti, emos, trn) in enumerate(segs):
            feats[i, 0] = senti
            for e, v in emos.items():
                feats[i, DIM_NAMES.index(e)] = v
            ints[i] = (start, end)
            if trn is not None:
                clip, start_txt, text = trn
                s_txt = start_txt or _num(start)
                lines.append(f"{vid}___{clip}___{s_txt}___{_num(end)}___{text}\n")
            uid = f"cmu_mosei_{vid}_{trn[0]}" if trn else f"cmu_mosei_{vid}_seg{i}"
            code = expected_vote(emos)
            if not has_wav:
                no_audio += 1
            elif code is None:
                ties += bool(emos and max(emos.values()) > 0)
                zeros += not (emos and max(emos.values()) > 0)
            else:
                expected_cats[CLASS[code]] += 1
                kept_ids.append(uid)
        csd_data[vid] = (feats, ints)
        rng.shuffle(lines)  # transcript order differs from the .csd row order
        (trn_dir / f"{vid}.txt").write_text("".join(lines), encoding="utf-8")
        if has_wav:
            write(wav_dir / f"{vid}.wav", seconds=1.0 if full else SECONDS)
    write(wav_dir / f"{WAV_ONLY}.wav", seconds=0.5)
    write_csd(csd, csd_data, dim_names)
    # junk and neighbours of real copies
    (wav_dir / "._-3g5yACwYnA.wav").write_bytes(b"\x00\x05\x16\x07")
    (trn_dir / "._81406.txt").write_bytes(b"\x00\x05\x16\x07")
    (raw / "Audio" / "Full" / "COVAREP").mkdir(parents=True, exist_ok=True)
    (raw / "Audio" / "Full" / "COVAREP" / "81406.mat").write_bytes(b"")
    (raw / "Labels").mkdir(exist_ok=True)
    (raw / "Labels" / "Batch_2980374_batch_results.csv").write_text(
        "Input.VIDEO_ID,Input.CLIP,WorkerId,Answer.sentiment,Answer.anger\n81406,0,A1,-1,0\n")
    return {
        "utterances": len(kept_ids),
        "ids": sorted(kept_ids),
        "classes": dict(expected_cats),
        "ties": ties,
        "all_zero": zeros,
        "no_audio": no_audio,
        "speakers": len({u.rsplit("_", 1)[0] for u in kept_ids}),
        "wav_only": str(wav_dir / f"{WAV_ONLY}.wav"),
    }


def _full_spec(rng: np.random.Generator, n_videos: int = 3228) -> Dict[str, list]:
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
    n_segs = round(23453 * n_videos / 3228)
    per_video = np.full(n_videos, n_segs // n_videos)
    per_video[: n_segs - per_video.sum()] += 1
    levels = np.array([0, 0, 0, 0, 0, 0, T, T, 2 * T, 1.0, 4 * T, 5 * T, 2.0, 3.0])
    vals = rng.choice(levels, size=(n_segs, 6)).tolist()
    durations = rng.uniform(2.0, 9.0, size=n_segs).tolist()
    first = rng.uniform(-0.5, 0.5, size=n_videos).tolist()
    letters = rng.choice(alphabet, size=(n_videos, 11))
    numbers = rng.integers(10000, 400000, size=n_videos).tolist()
    spec: Dict[str, list] = {}
    k = 0
    for v in range(n_videos):
        vid = "".join(letters[v]) if v % 5 else str(numbers[v])
        while vid in spec:
            vid += "x"
        segs = []
        t = first[v]
        for c in range(per_video[v]):
            end = t + durations[k]
            emos = {e: x for e, x in zip(DIM_NAMES[1:], vals[k]) if x > 0}
            segs.append((round(t, 4), round(end, 4), 0.0, emos, (str(c), None, f"clip {c}")))
            t = end + 0.25
            k += 1
        spec[vid] = segs
    return spec
