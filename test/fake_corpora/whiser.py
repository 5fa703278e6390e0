"""Fake WHiSER (corpora.md section 12).

GitHub layout: ``<root>/Labels/{labels_consensus.csv, labels.txt, labels_consensus.json,
labels_detailed.csv, labels_detailed.json}``, ``<root>/readme.txt``,
``<root>/Annotation_wav_files_ref.txt`` and the extracted
``<root>/Annotation_wav_files/<source>.1-2_<n>.wav``. ``layout="hf"``: the Hugging Face
mirror's ``<root>/WHiSER/Labels/`` and ``<root>/wavs/``. ``layout="nested"``: the wavs
one folder deeper (``Annotation_wav_files/Annotation_wav_files/``), as a zip extracted
into a folder of its own name would leave them.

Every consensus row has ``SpkrID=Unknown``, ``Gender=Unknown``, ``Split_Set=NA``.
Small tree: every code, both file-name families, a row without audio, a wav without a
row and ``._*`` junk. ``full=True``: the real 5,427 rows with the real class counts and
1,089 distinct source tapes (476 files of the ``ddd-ddd`` family).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from fake_corpora.common import AudioWriter

HEADER = "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"
CLASS = {"A": "angry", "S": "sad", "H": "happy", "U": "surprised", "F": "fear",
         "D": "disgust", "N": "neutral"}
FULL_COUNTS = {"N": 3492, "X": 916, "H": 345, "A": 293, "S": 284, "O": 47, "U": 33, "C": 10,
               "F": 6, "D": 1}
FULL_SOURCES = 1089
FULL_NUMERIC_FILES = 476
FULL_NUMERIC_SOURCES = 110  # not documented; the rest (979) are rmn_* tapes

# (file, code, A, V, D) of the small tree; the real first rows plus one per code
SMALL = [
    ("001-105.1-2_14.wav", "N", "3.4", "3.6", "3.6"),
    ("004-017.1-2_14.wav", "N", "4.222222", "3.888889", "4.333333"),
    ("004-017.1-2_2.wav", "X", "4.4", "4.6", "4.2"),
    ("006-040.1-2_13.wav", "H", "4.2", "4.8", "5.0"),
    ("017-046b.1-2_8.wav", "S", "4.0", "3.2", "4.4"),
    ("rmn_e001a_10.1-2_11.wav", "A", "5.6", "3.6", "5.6"),
    ("rmn_e001a_10.1-2_12.wav", "U", "4.6", "4.6", "4.0"),
    ("rmn_e012c.1-2_143.wav", "F", "2.4", "3.6", "2.6"),
    ("rmn_e027_18.1-2_0.wav", "D", "4.0", "2.5", "4.0"),
    ("rmn_e465b_8.1-2_2144.wav", "C", "4.4", "2.6", "4.4"),
    ("rmn_e465b_8.1-2_244.wav", "O", "1.0", "7.0", "4.0"),
    ("rmn_e465b_8.1-2_263.wav", "X", "3.8", "3.4", "3.2"),
    # its audio is missing
    ("rmn_e466a_4.1-2_92.wav", "N", "3.8", "3.6", "4.0"),
]
MISSING = "rmn_e466a_4.1-2_92.wav"
UNLABELLED = "rmn_e999a_1.1-2_5.wav"


def _full_rows(rng: np.random.Generator):
    numeric = [f"{i // 40 + 1:03d}-{(i * 7) % 170 + 1:03d}{'b' if i % 13 == 0 else ''}"
               for i in range(FULL_NUMERIC_SOURCES)]
    rmn = []
    for i in range(FULL_SOURCES - FULL_NUMERIC_SOURCES):
        tape = f"rmn_e{i // 3 + 1:03d}{'abc'[i % 3]}"
        rmn.append(tape if i % 7 == 0 else f"{tape}_{i % 30 + 1}")
    assert len(set(numeric)) == len(numeric) and len(set(rmn)) == len(rmn)
    # every source gets one file, the rest go round-robin within each family
    files = []
    for fam, n in ((numeric, FULL_NUMERIC_FILES), (rmn, 5427 - FULL_NUMERIC_FILES)):
        for k in range(n):
            files.append(f"{fam[k % len(fam)]}.1-2_{k // len(fam)}.wav")
    codes = [c for c, n in FULL_COUNTS.items() for _ in range(n)]
    rng.shuffle(codes)
    avd = np.round(rng.uniform(1, 7, (len(files), 3)), 6).tolist()
    return [(f, c, f"{a:g}", f"{v:g}", f"{d:g}") for f, c, (a, v, d) in zip(files, codes, avd)]


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          layout: str = "github", with_csv: bool = True) -> dict:
    """``layout``: ``github``, ``hf`` or ``nested``; ``with_csv=False`` leaves only
    ``labels.txt`` (and the detailed files) in the label folder."""
    labels_dir = root / ("WHiSER/Labels" if layout == "hf" else "Labels")
    wav_dir = root / {"github": "Annotation_wav_files", "hf": "wavs",
                      "nested": "Annotation_wav_files/Annotation_wav_files"}[layout]
    rows = _full_rows(rng) if full else list(SMALL)
    missing = set() if full else {MISSING}
    labels_dir.mkdir(parents=True, exist_ok=True)
    if with_csv:
        (labels_dir / "labels_consensus.csv").write_text(
            HEADER + "\n" + "".join(f"{f},{c},{a},{v},{d},Unknown,Unknown,NA\n"
                                    for f, c, a, v, d in rows))
        (labels_dir / "._labels_consensus.csv").write_bytes(b"\x00\x05\x16\x07junk")
    # labels.txt: summary line, worker lines, blank line
    blocks = []
    detailed = []
    for f, c, a, v, d in rows[: len(rows) if not full else 50]:
        workers = [f"WORKER{14325 + k:08d}; Neutral; Neutral,Concerned; A:{3 + k % 3:.6f}; "
                   f"V:4.000000; D:4.000000;" for k in range(5)]
        blocks.append(f"{f}; {c}; A:{float(a):.6f}; V:{float(v):.6f}; D:{float(d):.6f};\n"
                      + "\n".join(workers) + "\n")
        detailed += [f"{f},{w}" for w in workers]
    (labels_dir / "labels.txt").write_text("\n".join(blocks) + "\n")
    (labels_dir / "labels_detailed.csv").write_text("FileName,EmoDetail\n" + "\n".join(detailed)
                                                    + "\n")
    (labels_dir / "labels_consensus.json").write_text(json.dumps(
        {f: [{"EmoClass": c, "EmoAct": float(a), "EmoVal": float(v), "EmoDom": float(d),
              "SpkrID": "Unknown", "Gender": "Unknown", "Split_Set": "NA"}]
         for f, c, a, v, d in rows[:20]}))
    (labels_dir / "labels_detailed.json").write_text("{}")
    base = root / "WHiSER" if layout == "hf" else root
    (base / "readme.txt").write_text("The Annotation folder includes:\n")
    (base / "Annotation_wav_files_ref.txt").write_text("".join(
        f"{f} {f.split('.1-2_')[0]}.1-2.wav {k * 2.5:.2f} 2.40\n" for k, (f, *_) in
        enumerate(rows[:20])))
    wavs = [r[0] for r in rows if r[0] not in missing] + ([] if full else [UNLABELLED])
    AudioWriter(rng, fs=16000, empty=empty_audio).all(wav_dir / name for name in wavs)
    (wav_dir / "._001-105.1-2_14.wav").write_bytes(b"junk")

    kept = [r for r in rows if r[0] not in missing]
    cats = Counter(CLASS[r[1]] for r in kept if r[1] in CLASS)
    return {
        "utterances": len(kept),
        "classes": dict(cats),
        "with_category": sum(cats.values()),
        "dropped_codes": sum(1 for r in kept if r[1] not in CLASS),
        "speakers": len({r[0].split(".1-2_")[0] for r in kept}),
        "missing": sorted(missing),
        "unlabelled": None if full else UNLABELLED,
        "wav_dir": wav_dir,
    }
