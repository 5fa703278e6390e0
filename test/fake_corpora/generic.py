"""Fake corpora in the generic format (espnet2_punser/corpora/generic.py):
``ROOT/metadata.csv`` (or ``.tsv``) plus a label map ``ROOT/labels.yaml``.

``kind="generic"``: a small hand-made table that exercises every rule (relative and
absolute paths, sessions, mapped / null / unknown codes, partial V/A/D, splits, quoted
text, explicit and sanitised ids, a ``._`` row, a row without any label). With
``full=True``: ``n`` regular rows.

``kind="escorpus_pe"``: what a user would write for ESCorpus-PE (path, speaker,
valence, arousal, dominance on 0-5, plus a ``category`` column that the corpus's label
map ignores); ``full=True`` writes Table I's 3,764 rows.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from fake_corpora.common import AudioWriter

LABELS_YAML = """\
# test label map for the generic format
corpus: {corpus}
classes: [neutral, happy, angry]
codes:
    neu: neutral
    hap: happy
    ang: angry
    bor: null     # boredom
dimensions:
    scale: [1, 5]
"""
ESCORPUS_FULL = 3764


def _write_table(path: Path, header: List[str], rows: List[Dict[str, str]]) -> None:
    delimiter = "\t" if path.suffix == ".tsv" else ","
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header])


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          kind: str = "generic", fmt: str = "csv", corpus: Optional[str] = "mycorpus",
          n: int = 200) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    table = root / f"metadata.{fmt}"
    write = AudioWriter(rng, fs=16000, empty=empty_audio)
    if kind == "escorpus_pe":
        return _build_escorpus(root, table, rng, full, write)
    labels = root / "labels.yaml"
    text = LABELS_YAML.format(corpus=corpus or "")
    if corpus is None:
        text = "\n".join(l for l in text.splitlines() if not l.startswith("corpus:")) + "\n"
    labels.write_text(text)
    p = corpus or "generic"
    outside = root.parent / f"{root.name}_extra"  # an absolute path outside ROOT
    header = ["path", "speaker", "session", "utt_id", "category", "valence", "arousal",
              "dominance", "split", "text"]
    if full:
        rows = []
        for i in range(n):
            rows.append({"path": f"wav/spk{i % 10}/u{i:05d}.wav", "speaker": f"spk{i % 10}",
                         "category": ["neu", "hap", "ang", "bor"][i % 4],
                         "valence": str(1 + i % 5), "arousal": "3", "dominance": "2.5"})
        for r in rows:
            write(root / r["path"])
        _write_table(table, header, rows)
        return {"utterances": n, "labels": labels, "table": table,
                "with_category": n - n // 4}
    rows = [
        {"path": "wav/s01_001.wav", "speaker": "s01", "session": "day1", "category": "hap",
         "valence": "4", "arousal": "3.5", "dominance": "3", "split": "train",
         "text": "hello, world"},
        {"path": "wav/s01_002.wav", "speaker": "s01", "session": "day1", "valence": "2",
         "arousal": "2", "dominance": "1", "split": "train"},
        {"path": str(outside / "s02_001.wav"), "speaker": "s02", "category": "neu",
         "split": "test"},
        {"path": "wav/s02_002.wav", "speaker": "s 02", "category": "bor", "valence": "5",
         "arousal": "5", "dominance": "5", "split": "test"},
        {"path": "wav/s02_003.wav", "speaker": "s02", "category": "xyz"},
        {"path": "wav/sub/s03_001.wav", "speaker": "s03", "utt_id": "custom#1",
         "category": "ang", "valence": "1"},
        {"path": "wav/._s03_001.wav", "speaker": "s03", "category": "ang"},
        {"path": "wav/s03_002.wav", "speaker": "s03"},
    ]
    for r in rows:
        path = Path(r["path"]) if Path(r["path"]).is_absolute() else root / r["path"]
        if path.name.startswith("._"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"junk")
        else:
            write(path)
    _write_table(table, header, rows)
    with open(table, "a", encoding="utf-8") as f:
        f.write("\n")  # a trailing blank line is ignored
    nan = float("nan")
    return {
        "labels": labels,
        "table": table,
        "prefix": p,
        "utterances": 5,
        "cat": {f"{p}_s01_001": "happy", f"{p}_s02_001": "neutral", f"{p}_custom_1": "angry"},
        "vad": {f"{p}_s01_001": (0.75, 0.625, 0.5), f"{p}_s01_002": (0.25, 0.25, 0.0),
                f"{p}_s02_002": (1.0, 1.0, 1.0), f"{p}_custom_1": (0.0, nan, nan)},
        "spk": {f"{p}_s01_001": f"{p}_s01", f"{p}_s01_002": f"{p}_s01",
                f"{p}_s02_001": f"{p}_s02", f"{p}_s02_002": f"{p}_s_02",
                f"{p}_custom_1": f"{p}_s03"},
        "session": {f"{p}_s01_001": f"{p}_day1", f"{p}_s01_002": f"{p}_day1",
                    f"{p}_s02_001": f"{p}_s02", f"{p}_s02_002": f"{p}_s_02",
                    f"{p}_custom_1": f"{p}_s03"},
        "split": {f"{p}_s01_001": "train", f"{p}_s01_002": "train", f"{p}_s02_001": "test",
                  f"{p}_s02_002": "test", f"{p}_custom_1": "none"},
        "text": {f"{p}_s01_001": "hello, world"},
        "abs_path": str((outside / "s02_001.wav").resolve()),
        "dropped": {
            f"{p}_s02_002": "category code 'bor' is not one of the 8 classes; kept for its "
                            "V/A/D only",
            f"{p}_s02_003": "unknown category code 'xyz'",
            f"metadata.{fmt}:8": "macOS resource fork (._ file)",
            f"{p}_s03_002": "neither a category nor dimensions",
        },
    }


def _build_escorpus(root: Path, table: Path, rng: np.random.Generator, full: bool,
                    write: AudioWriter) -> dict:
    n = ESCORPUS_FULL if full else 10
    header = ["path", "speaker", "valence", "arousal", "dominance", "category"]
    values = ["0", "0.5", "1", "2.5", "3", "4.25", "5"]
    rows, vad = [], {}
    for i in range(n):
        v, a, d = (values[int(k)] for k in rng.integers(0, len(values), 3))
        if i == 3:
            v = ""  # one missing valence
        rows.append({"path": f"audio/esc_{i:05d}.wav", "speaker": f"p{i % 7:02d}",
                     "valence": v, "arousal": a, "dominance": d,
                     "category": "alegria" if i == 2 else ""})
        vad[f"escorpus_pe_esc_{i:05d}"] = tuple(float(x) / 5.0 if x else float("nan")
                                                for x in (v, a, d))
    for r in rows:
        write(root / r["path"])
    _write_table(table, header, rows)
    return {
        "utterances": n,
        "table": table,
        "vad": vad,
        "speakers": sorted({f"escorpus_pe_{r['speaker']}" for r in rows}),
        "dropped": {"escorpus_pe_esc_00002": "unknown category code 'alegria'; kept for its "
                                             "V/A/D only"},
    }
