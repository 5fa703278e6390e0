"""Fake ASVP-ESD: {Audio,Bonus}/actor_<N>/03-*.wav at 16 kHz (corpora.md section 11).

Small: real-looking names (taken from the shapes of EmoBox's paths) with 8 to 12
fields, every emotion code (01-13 and the stray 17), an actor field that differs from
its folder, a Bonus file with the same name as an Audio file, a ``._*`` fork and a
stray copy.

Full size (``full=True``): the real totals: 12,625 Audio files in 131 actor folders and
1,339 Bonus files in ``actor_50``, ``actor_150``, ``actor_200`` (the Bonus folders of
the real release); per code the real kept counts (02: 1,598, 03: 1,868, 04: 2,694,
05: 1,453, 06: 1,180, 07: 899, 08: 1,586, 09: 401 -> 11,679) and 2,285 dropped
(01, 10-13 in an arbitrary split, 17 once) -> 13,964; the real field-count mix
(8: 99, 9: 2,983, 10: 7,972, 11: 2,900, 12: 10) and 968 actor fields that differ from
their folder. The Audio folders are numbered 1-131 (an assumption: the real numbers
are not all known), so ``actor_50`` exists in both parts and the fake has 133 speakers.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from fake_corpora.common import AudioWriter

CLASS = {"02": "neutral", "03": "happy", "04": "sad", "05": "angry", "06": "fear",
         "07": "disgust", "08": "surprised", "09": "excited"}
KEPT_COUNTS = {"02": 1598, "03": 1868, "04": 2694, "05": 1453, "06": 1180, "07": 899,
               "08": 1586, "09": 401}
DROPPED_COUNTS = {"01": 500, "10": 300, "11": 784, "12": 400, "13": 300, "17": 1}
FIELD_COUNTS = {8: 99, 9: 2983, 10: 7972, 11: 2900, 12: 10}
N_AUDIO, N_BONUS, N_MISMATCH = 12625, 1339, 968
BONUS_ACTORS = [50, 150, 200]

# (part, folder actor, name) of the small tree
SMALL = [
    ("Audio", 36, "03-01-02-01-03-36-03-03"),
    ("Audio", 36, "03-01-03-01-01-36-03-03-01-77"),
    ("Audio", 36, "03-01-04-01-10-36-03-03-01"),
    ("Audio", 36, "03-01-05-02-01-36-03-03-01"),
    ("Audio", 36, "03-02-06-01-42-36-02-01-00-16"),
    ("Audio", 36, "03-02-07-01-00-36-02-01-00-17"),
    ("Audio", 36, "03-02-08-02-81-36-03-03-01-18"),
    ("Audio", 36, "03-01-09-01-06-36-02-02-01-39"),
    ("Audio", 36, "03-01-01-01-01-36-03-03-01"),
    ("Audio", 36, "03-01-12-01-01-36-03-03-01"),
    ("Audio", 101, "03-02-04-01-28-101-02-01-00-14-02"),
    ("Audio", 101, "03-02-11-02-58-101-02-01-00-11"),
    ("Audio", 101, "03-02-10-01-05-101-02-01-00-14-77-02"),
    ("Audio", 101, "03-02-13-01-05-101-02-01-00-14"),
    ("Audio", 101, "03-02-05-01-22-100-02-01-00-15"),  # actor field 100 in actor_101/
    ("Audio", 101, "03-01-03-01-02-101-02-01-00"),
    ("Audio", 12, "03-01-02-01-01-12-02-01"),
    ("Audio", 12, "03-01-06-02-01-12-02-01-02"),
    ("Audio", 12, "03-01-17-01-01-12-02-01-02"),  # the stray code 17
    ("Bonus", 50, "03-02-03-01-35-50-02-01-00-13-06"),
    ("Bonus", 50, "03-02-04-01-19-50-04-01-00-14"),
    ("Bonus", 50, "03-02-04-01-09-50-04-01-00-14-77-02"),
    ("Bonus", 50, "03-02-01-01-01-50-04-01-00-14"),
    ("Bonus", 150, "03-01-09-01-06-36-02-02-01-39"),  # same name as an Audio file
    ("Bonus", 150, "03-02-08-01-37-150-02-01-00-18"),
]


def full_files(rng: np.random.Generator):
    codes = [c for c, n in {**KEPT_COUNTS, **DROPPED_COUNTS}.items() for _ in range(n)]
    fields = [k for k, n in FIELD_COUNTS.items() for _ in range(n)]
    assert len(codes) == len(fields) == N_AUDIO + N_BONUS
    codes = list(rng.permutation(codes))
    fields = list(rng.permutation(fields))
    mismatch = set(rng.choice(len(codes), N_MISMATCH, replace=False).tolist())
    files = []
    for i, (code, k) in enumerate(zip(codes, fields)):
        if i < N_AUDIO:
            part, folder = "Audio", 1 + i % 131
        else:
            part, folder = "Bonus", BONUS_ACTORS[(i - N_AUDIO) % len(BONUS_ACTORS)]
        actor = folder + 300 if i in mismatch else folder
        vocal = "01" if i % 3 else "02"
        extra = ["02", "01", "00", "14", "77", "02"][: k - 6]
        name = "-".join(["03", vocal, code, "01", f"{i:02d}", str(actor)] + extra)
        files.append((part, folder, name))
    return files


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          top: str = "ASVP-ESD-Update") -> dict:
    """``top``: the folder inside ``root`` holding Audio/ and Bonus/ ("" for none)."""
    base = root / top if top else root
    files = full_files(rng) if full else SMALL
    stray = []
    with AudioWriter(rng, fs=16000, empty=empty_audio) as write:
        for part, folder, name in files:
            write(base / part / f"actor_{folder}" / f"{name}.wav")
        if not full:
            copy = base / "Audio" / "actor_12" / "03-01-02-01-01-12-02-01 (copy).wav"
            stray.append(str(write(copy)))
    (base / "Audio" / "actor_36" / "._03-01-02-01-03-36-03-03.wav").write_bytes(b"junk")
    (base / "Readme.txt").write_text("ASVP-ESD\n")
    kept = [(p, f, n) for p, f, n in files if n.split("-")[2] in CLASS]
    dropped_codes = Counter(n.split("-")[2] for _, _, n in files if n.split("-")[2] not in CLASS)
    return {
        "files": files,
        "kept": kept,
        "ids": sorted(f"asvp_esd_{p.lower()}_{n}" for p, _, n in kept),
        "utterances": len(kept),
        "classes": dict(Counter(CLASS[n.split("-")[2]] for _, _, n in kept)),
        "dropped_codes": dict(dropped_codes),
        "speakers": len({f for _, f, _ in kept}),
        "mismatched": sum(int(n.split("-")[5]) != f for _, f, n in files),
        "stray": stray,
    }
