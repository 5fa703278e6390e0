"""Fake QuechuaSER, corpora.md section 14: ``Audios/<Audio>.wav``,
``Data/Data/Data.xlsx`` (sheet ``map``: File, Audio, Actor, Emotion, Duration (s)) and
``Labels/Labels/Labels.csv`` (Audio, Valence, Arousal, Dominance), with the known dirty
values: actors ``6-`` and ``2_``, the valence ``2.333.333.333`` and the varying
emotion spellings.

Layout variants (keyword arguments of :func:`build`):

- ``audio_ids``: ``"numeric"`` (Excel numbers 1, 2, ...; the loader's ``str(x)``) or
  ``"string"`` (``QU_00001``);
- ``where``: ``"official"`` (``Data/Data``, ``Labels/Labels``, ``Audios``) or ``"flat"``
  (both tables directly in ROOT, audio in ``Audio/``);
- ``columns``: ``"official"`` or ``"swapped"`` (Emotion in Labels.csv, Valence in
  Data.xlsx, headers in other case and with extra spaces);
- ``delimiter`` of Labels.csv.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Dict, List

import numpy as np

from fake_corpora.common import AudioWriter

# every spelling the public loader knows, plus "sad" (corpora.md) and one untidy cell
SPELLINGS = ["anger", "angry", "boredom", "bored", "happy", "sleepy", "sadness", "sad",
             "calm", "fear", "excited", "neutral"]
CLASS = {"anger": "angry", "angry": "angry", "happy": "happy", "sadness": "sad", "sad": "sad",
         "fear": "fear", "excited": "excited", "neutral": "neutral"}
VALUES = ["1", "2", "3", "4", "5", "2.333333333", "3.666666667", "1.666666667", "4.5"]
DIRTY_VALENCE = "2.333.333.333"
FULL_ROWS = 12420  # Table I's 12,419 + the row with the malformed valence (dropped)


def _scaled(text: str) -> float:
    return (float(text) - 1.0) / 4.0


def _rows(n: int, rng: np.random.Generator, audio_ids: str) -> List[Dict]:
    rows = []
    for i in range(n):
        num = i + 1
        aid = num if audio_ids == "numeric" else f"QU_{num:05d}"
        emo = SPELLINGS[i % len(SPELLINGS)]
        actor = f"a{(i // 3) % 6 + 1}"
        v, a, d = (VALUES[int(k)] for k in rng.integers(0, len(VALUES), 3))
        rows.append({"audio": aid, "actor": actor, "emotion": emo, "valence": v,
                     "arousal": a, "dominance": d, "file": f"{actor}_{num:05d}.wav",
                     "duration": round(float(rng.uniform(0.8, 6.0)), 3)})
    return rows


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          audio_ids: str = "numeric", where: str = "official", columns: str = "official",
          delimiter: str = ",") -> dict:
    import openpyxl

    n = FULL_ROWS if full else 24
    rows = _rows(n, rng, audio_ids)
    # dirty values: actor typos, one malformed valence, one untidy emotion cell
    rows[4]["actor"] = "6-"
    rows[9]["actor"] = "2_"
    rows[5]["valence"] = DIRTY_VALENCE
    rows[11]["emotion"] = " Neutral "
    if full:
        for k in (1000, 2000, 3000):
            rows[k]["actor"] = "6-"
        for k in (1500, 2500):
            rows[k]["actor"] = "2_"

    audio_dir = root / ("Audios" if where == "official" else "Audio")
    if where == "official":
        xlsx_path = root / "Data" / "Data" / "Data.xlsx"
        csv_path = root / "Labels" / "Labels" / "Labels.csv"
    else:
        xlsx_path, csv_path = root / "Data.xlsx", root / "Labels.csv"
    xlsx_path.parent.mkdir(parents=True, exist_ok=True)
    csv_path.parent.mkdir(parents=True, exist_ok=True)

    # extra cases, small fake only
    xlsx_only: List[Dict] = []   # in Data.xlsx, not in Labels.csv (no V/A/D)
    csv_only: List[Dict] = []    # in Labels.csv, not in Data.xlsx (no actor)
    no_audio: List[Dict] = []    # rows without an audio file
    if not full and columns == "official":
        extra = _rows(n + 4, rng, audio_ids)[n:]
        xlsx_only = [dict(extra[0], emotion="fear"), dict(extra[1], emotion="calm")]
        csv_only = [extra[2]]
        no_audio = [dict(extra[3], emotion="happy")]

    data_rows = rows + xlsx_only + no_audio
    label_rows = rows + csv_only + no_audio
    if columns == "official":
        xlsx_cols = [("File", "file"), ("Audio", "audio"), ("Actor", "actor"),
                     ("Emotion", "emotion"), ("Duration (s)", "duration")]
        csv_cols = [("Audio", "audio"), ("Valence", "valence"), ("Arousal", "arousal"),
                    ("Dominance", "dominance")]
    else:
        xlsx_cols = [("FILE", "file"), (" audio", "audio"), ("ACTOR ", "actor"),
                     ("Duration  (s)", "duration"), ("valence", "valence")]
        csv_cols = [(" Audio ", "audio"), ("EMOTION", "emotion"), ("arousal", "arousal"),
                    ("Dominance", "dominance")]

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("map")
    ws.append([h for h, _ in xlsx_cols])
    for r in data_rows:
        cells = []
        for _, key in xlsx_cols:
            value = r[key]
            if key == "valence" and value != DIRTY_VALENCE:
                value = float(value)  # a number cell; the malformed one stays text
            cells.append(value)
        ws.append(cells)
    wb.save(str(xlsx_path))
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        f.write(delimiter.join(h for h, _ in csv_cols) + "\n")
        for r in label_rows:
            f.write(delimiter.join(str(r[key]) for _, key in csv_cols) + "\n")

    def stem(r: Dict) -> str:
        return str(r["audio"])

    write = AudioWriter(rng, fs=16000, empty=empty_audio)
    for r in rows + xlsx_only + csv_only:
        write(audio_dir / f"{stem(r)}.wav")
    orphan = "QU_99999" if audio_ids == "string" else "99999"
    if not full:
        write(audio_dir / f"{orphan}.wav")
        (audio_dir / "._1.wav").write_bytes(b"junk")

    def uid(r: Dict) -> str:
        return f"quechua_ser_{stem(r)}"

    def actor(r: Dict) -> str:
        return {"6-": "a6", "2_": "a2"}.get(r["actor"], r["actor"])

    # the row with the malformed valence is dropped
    kept = [r for r in rows if r["valence"] != DIRTY_VALENCE]
    kept += [r for r in xlsx_only if r["emotion"] in CLASS]
    classes = Counter(CLASS[r["emotion"].strip().lower()] for r in kept
                      if r["emotion"].strip().lower() in CLASS)
    vad = {}
    for r in rows:
        if r["valence"] != DIRTY_VALENCE:
            vad[uid(r)] = tuple(_scaled(x) for x in (r["valence"], r["arousal"],
                                                     r["dominance"]))
    return {
        "utterances": len(kept),
        "classes": dict(classes),
        "speakers": sorted({f"quechua_ser_{actor(r)}" for r in kept}),
        "spk": {uid(r): f"quechua_ser_{actor(r)}" for r in kept},
        "cat": {uid(r): CLASS[r["emotion"].strip().lower()] for r in kept
                if r["emotion"].strip().lower() in CLASS},
        "vad": vad,
        "no_vad": [uid(r) for r in xlsx_only if r["emotion"] in CLASS],
        "dirty_valence": uid(rows[5]),
        "typo_actors": {uid(rows[4]): "quechua_ser_a6", uid(rows[9]): "quechua_ser_a2"},
        "untidy_emotion": uid(rows[11]),
        "dropped_category": [uid(r) for r in rows if r["valence"] != DIRTY_VALENCE and
                             r["emotion"].strip().lower() not in CLASS],
        "dropped_no_vad_no_cat": [uid(r) for r in xlsx_only if r["emotion"] not in CLASS],
        "dropped_no_actor": [uid(r) for r in csv_only],
        "dropped_no_audio": [uid(r) for r in no_audio],
        "orphan_audio": str(audio_dir / f"{orphan}.wav") if not full else None,
    }
