"""Fake MSP-Improv (corpora.md section 9).

``<root>/Evaluation.txt`` (or the misspelled ``Evalution.txt``): per clip a summary line
``UTD-IMPROV-<id>.avi; <code>; A:x; V:x; D:x ; N:x;``, rater lines, a blank line. Audio
``MSP-IMPROV-<id>.wav`` in one of the two reported placements:
``placement="ertk"``: ``<root>/session<k>/S<nn><E>/<C>/`` next to an ``.avi``;
``placement="audio"``: ``<root>/Audio/session<k>/S<nn><E>/<C>/``.

Small tree: every code (A H S N O X), a summary line without the N field (always), NaN in
D (category kept, V/A/D not) and in A of an X clip (dropped), extreme values, a 3-digit
turn, a clip without audio, a repeated summary line, a wav without a summary line,
repeated rater lines and ``._*`` junk. ``n_field=False`` drops the N field everywhere,
``space=False`` the space before ';' after D. ``full=True``: the 8,438 summary lines
with the per-condition class counts of the MSP-Improv paper (Table 4, quoted in
corpora.md), every clip with audio.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from fake_corpora.common import AudioWriter

CLASS = {"A": "angry", "H": "happy", "S": "sad", "N": "neutral"}
# condition code [U] -> class counts (A, S, H, N, O, X): target improvised / read, other
# improvised, natural interaction; 8,438 lines, 7,798 in A/H/S/N
FULL = {
    "P": {"A": 115, "S": 106, "H": 136, "N": 283, "O": 1, "X": 11},
    "R": {"A": 169, "S": 80, "H": 88, "N": 241, "O": 3, "X": 39},
    "S": {"A": 470, "S": 633, "H": 1048, "N": 1789, "O": 70, "X": 371},
    "T": {"A": 38, "S": 66, "H": 1372, "N": 1164, "O": 11, "X": 134},
}

# (id, code, A, V, D, N) of the small tree; N=None: a line without the N field
SMALL = [
    ("S01A-F01-P-FM01", "A", "4.000000", "2.000000", "4.500000", "4.000000"),
    ("S01A-F01-R-FM01", "N", "2.333333", "3.000000", "2.666667", "4.000000"),
    ("S02H-M01-S-MF02", "H", "3.500000", "4.250000", "3.000000", "3.500000"),
    ("S03S-F02-T-FM05", "S", "1.000000", "5.000000", "3.000000", "4.200000"),
    ("S04N-M02-P-MF01", "N", "3.000000", "3.500000", "3.000000", None),
    ("S05A-F03-S-FM03", "O", "3.200000", "2.800000", "3.400000", "3.000000"),
    ("S06H-M03-T-MF04", "X", "3.600000", "3.800000", "3.200000", "NaN"),
    ("S07S-F04-R-FM01", "N", "2.800000", "3.200000", "NaN", "4.000000"),
    ("S08N-M04-S-MF10", "X", "NaN", "3.000000", "3.000000", "3.000000"),
    ("S09A-F05-P-FM02", "A", "4.200000", "1.800000", "4.000000", "2.000000"),  # no audio
    ("S10H-M06-S-MF101", "H", "3.800000", "4.400000", "3.600000", "4.400000"),
    ("S11S-F06-T-FM07", "S", "2.200000", "2.000000", "2.400000", "4.600000"),
]
NO_AUDIO = "S09A-F05-P-FM02"
REPEATED = "S11S-F06-T-FM07"
UNLABELLED = "S12N-M05-P-MF01"


def _full_rows(rng: np.random.Generator):
    rows = []
    for cond, counts in FULL.items():
        codes = [c for c, n in counts.items() for _ in range(n)]
        rng.shuffle(codes)
        vals = np.round(rng.uniform(1, 5, (len(codes), 4)), 6).tolist()
        for idx, (code, (a, v, d, n)) in enumerate(zip(codes, vals)):
            session = idx % 6 + 1
            gender = "FM"[(idx // 6) % 2]
            sent = (idx // 12) % 20 + 1
            target = "AHNS"[(idx // 240) % 4]
            turn = ("FM" if gender == "F" else "MF") + f"{idx // 960 + 1:02d}"
            rows.append((f"S{sent:02d}{target}-{gender}{session:02d}-{cond}-{turn}", code,
                         f"{a:.6f}", f"{v:.6f}", f"{d:.6f}", f"{n:.6f}"))
    return rows


def _wav_path(root: Path, clip: str, placement: str) -> Path:
    sent_target, spk, cond, _ = clip.split("-")
    folder = Path(f"session{int(spk[1:])}") / sent_target / cond
    if placement == "audio":
        folder = Path("Audio") / folder
    return root / folder / f"MSP-IMPROV-{clip}.wav"


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          placement: str = "ertk", label_name: str = "Evaluation.txt", n_field: bool = True,
          space: bool = True) -> dict:
    rows = _full_rows(rng) if full else list(SMALL)
    blocks = []
    for k, (clip, code, a, v, d, n) in enumerate(rows):
        line = f"UTD-IMPROV-{clip}.avi; {code}; A:{a}; V:{v}; D:{d}{' ' if space else ''};"
        if n_field and n is not None:
            line += f" N:{n};"
        raters = []
        for j in range(3 if full else 5):
            emo = {"A": "Angry", "H": "Happy", "S": "Sad", "N": "Neutral"}.get(code, "Other")
            raters.append(f"HUMAN{k % 97:03d}-p{j:03d}; {emo}; {emo},Frustrated; A:3.000000; "
                          f"V:3.000000; D:3.000000; N:4.000000;")
        if not full and k % 4 == 0:
            raters.append(raters[0])  # raters are sometimes duplicated
        blocks.append("\n".join([line] + raters))
    if not full:  # the same clip again, other values: the first line is used
        blocks.append(f"UTD-IMPROV-{REPEATED}.avi; A; A:4.000000; V:2.000000; D:4.000000"
                      f"{' ' if space else ''}; N:3.000000;\nHUMAN001-p000; Angry; Angry; "
                      "A:4.000000; V:2.000000; D:4.000000; N:3.000000;")
    (root).mkdir(parents=True, exist_ok=True)
    (root / label_name).write_text("\n\n".join(blocks) + "\n\n")
    (root / ("._" + label_name)).write_bytes(b"\x00\x05\x16\x07junk")

    missing = set() if full else {NO_AUDIO}
    clips = [r[0] for r in rows if r[0] not in missing] + ([] if full else [UNLABELLED])
    AudioWriter(rng, fs=16000, empty=empty_audio).all(
        _wav_path(root, clip, placement) for clip in clips)
    if placement == "ertk" and not full:  # the videos next to the wavs
        for clip in clips:
            _wav_path(root, clip, placement).with_suffix(".avi").write_bytes(b"")
    junk = _wav_path(root, rows[0][0], placement)
    (junk.parent / ("._" + junk.name)).write_bytes(b"junk")

    def has_vad(r):
        return "NaN" not in r[2:5]

    kept = [r for r in rows if r[0] not in missing and (r[1] in CLASS or has_vad(r))]
    cats = Counter(CLASS[r[1]] for r in kept if r[1] in CLASS)
    return {
        "utterances": len(kept),
        "classes": dict(cats),
        "with_category": sum(cats.values()),
        "with_dimensions": sum(1 for r in kept if has_vad(r)),
        "lines": len(rows) + (0 if full else 1),
        "speakers": len({r[0].split("-")[1] for r in kept}),
        "sessions": len({r[0].split("-")[1][1:] for r in kept}),
    }
