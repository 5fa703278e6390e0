"""Fake IEMOCAP_full_release (corpora.md section 6).

Session{n}/dialog/EmoEvaluation/<dialog>.txt in the real format (``%`` header, TAB
separated summary lines, rater lines, blank lines), per-rater sub-folders that must be
ignored, transcriptions with non-utterance lines, sentences/wav/<dialog>/<utt>.wav,
macOS ``._*`` junk. Small by default; ``full=True`` writes the real size: 10,039 turns
with the real per-code counts, per-session totals 1,819/1,811/2,136/2,103/2,170 and the
EmoBox per-session 4-class counts. With ``empty_audio`` the wavs are 0-byte files
(:class:`fake_corpora.common.EmptyFiles`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from fake_corpora.common import AudioWriter

CLASS = {"neu": "neutral", "hap": "happy", "sad": "sad", "ang": "angry", "sur": "surprised",
         "fea": "fear", "dis": "disgust", "exc": "excited"}
DROPPED_CODES = ("fru", "oth", "xxx")
FOUR_CLASS = ("neu", "hap", "exc", "sad", "ang")
# real per-code totals (several independent sources agree): 10,039
FULL_COUNTS = {"xxx": 2507, "fru": 1849, "neu": 1708, "ang": 1103, "sad": 1084, "exc": 1041,
               "hap": 595, "sur": 107, "fea": 40, "oth": 3, "dis": 2}
SESSION_TOTALS = {1: 1819, 2: 1811, 3: 2136, 4: 2103, 5: 2170}
SESSION_4CLASS = {1: 1085, 2: 1023, 3: 1151, 4: 1031, 5: 1241}  # EmoBox
CAT_WORD = {"neu": "Neutral", "hap": "Happiness", "sad": "Sadness", "ang": "Anger",
            "sur": "Surprise", "fea": "Fear", "dis": "Disgust", "exc": "Excited",
            "fru": "Frustration", "oth": "Other", "xxx": "Neutral"}

# (utterance id, code, (V, A, D) on 1-5, has audio)
SMALL: List[Tuple[str, str, Tuple[float, float, float], bool]] = [
    ("Ses01F_impro01_F000", "neu", (2.5, 2.5, 2.5), True),
    ("Ses01F_impro01_M000", "fru", (2.0, 3.5, 3.5), True),
    ("Ses01F_impro01_F001", "hap", (4.0, 3.0, 3.0), True),
    ("Ses01F_impro01_M001", "xxx", (2.3333, 2.6667, 3.0), True),
    ("Ses01F_script01_1_M012", "ang", (1.5, 4.0, 4.5), True),
    ("Ses01F_script01_1_F003", "exc", (4.5, 4.5, 3.5), True),
    ("Ses02M_impro02_F000", "sad", (1.0, 1.5, 2.0), True),
    ("Ses02M_impro02_M001", "sur", (3.5, 4.0, 3.0), True),
    ("Ses03F_impro03_M000", "fea", (1.5, 3.5, 1.5), True),
    ("Ses03F_impro03_F001", "dis", (1.5, 3.0, 3.5), True),
    ("Ses04M_script02_2_F010", "oth", (3.0, 3.0, 3.0), True),
    ("Ses04M_script02_2_M011", "neu", (3.0, 2.0, 3.0), True),
    ("Ses05M_impro05b_F003", "exc", (3.3333, 3.6667, 3.0), True),
    ("Ses05M_impro05b_M004", "ang", (1.0, 5.0, 5.0), True),
    ("Ses05F_impro08a_F000", "neu", (3.0, 2.5, 2.5), False),  # labelled, wav missing
]
TEXT = {
    "Ses01F_impro01_F000": "Excuse me.",
    "Ses01F_impro01_M000": "Do you have your forms?",
    "Ses01F_script01_1_M012": "What the hell is that supposed to mean? [BREATHING]",
}


def _dialog(utt: str) -> str:
    return utt.rsplit("_", 1)[0]


def _label_block(start: float, end: float, utt: str, code: str,
                 vad: Tuple[float, float, float]) -> str:
    v, a, d = vad
    word = CAT_WORD[code]
    return (f"[{start:.4f} - {end:.4f}]\t{utt}\t{code}\t[{v:.4f}, {a:.4f}, {d:.4f}]\n"
            f"C-E2:\t{word};\t()\n"
            f"C-E3:\t{word};\t()\n"
            f"C-F1:\t{word};\t(curious)\n"
            f"A-E3:\tval {int(round(v))}; act {int(round(a))}; dom  {int(round(d))};\t()\n"
            f"A-F1:\tval 3; act 2; dom  1;\t()\n\n")


def _write_session(root: Path, session: int, turns: List[Tuple[str, str, tuple, bool]],
                   write: AudioWriter, texts: Optional[Dict[str, str]] = None) -> None:
    sdir = root / f"Session{session}"
    emo = sdir / "dialog" / "EmoEvaluation"
    trn = sdir / "dialog" / "transcriptions"
    for sub in ("Categorical", "Attribute", "Self-evaluation"):
        (emo / sub).mkdir(parents=True, exist_ok=True)
    trn.mkdir(parents=True, exist_ok=True)
    by_dialog: Dict[str, list] = defaultdict(list)
    for t in turns:
        by_dialog[_dialog(t[0])].append(t)
    for dialog, items in by_dialog.items():
        label = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"]
        trans = []
        cat = []
        t0 = 6.2901
        for utt, code, vad, has_audio in items:
            t1 = t0 + 1.9456
            label.append(_label_block(t0, t1, utt, code, vad))
            text = (texts or {}).get(utt, f"words of {utt.lower()}")
            trans.append(f"{utt} [{t0:08.4f}-{t1:08.4f}]: {text}\n")
            cat.append(f"{utt} :{CAT_WORD[code]}; ()\n")
            wav = sdir / "sentences" / "wav" / dialog / f"{utt}.wav"
            if has_audio:
                write(wav)
            t0 = t1 + 0.5
        # turns that carry no label (overlaps, noises) appear in the transcripts only
        mocap = dialog[5]
        trans.insert(1, f"{dialog}_{mocap}XX0 [{t0:08.4f}-{t0 + 1:08.4f}]: [LAUGHTER]\n")
        trans.append("M: [BREATHING]\n")
        (emo / f"{dialog}.txt").write_text("".join(label), encoding="utf-8")
        (trn / f"{dialog}.txt").write_text("".join(trans), encoding="utf-8")
        (emo / "Categorical" / f"{dialog}_e2_cat.txt").write_text("".join(cat))
        (emo / "Attribute" / f"{dialog}_e3_atr.txt").write_text(
            "".join(f"{u} :act 2; val 3; dom  2; ()\n" for u, *_ in items))
        # a per-rater file in a sub-folder that looks like a summary file: must be ignored
        (emo / "Self-evaluation" / f"{dialog}.txt").write_text(
            "".join(_label_block(1.0, 2.0, u, "sad", (1.0, 1.0, 1.0)) for u, *_ in items))
    first = next(iter(by_dialog))
    (emo / f"._{first}.txt").write_bytes(b"\x00\x05\x16\x07junk")
    (trn / f"._{first}.txt").write_bytes(b"\x00\x05\x16\x07junk")
    wav_dir = sdir / "sentences" / "wav" / first
    wav_dir.mkdir(parents=True, exist_ok=True)
    (wav_dir / f"._{by_dialog[first][0][0]}.wav").write_bytes(b"\x00\x05\x16\x07junk")
    # whole-dialog stereo wav: not an utterance
    write(sdir / "dialog" / "wav" / f"{first}.wav", channels=2)


def _full_turns(rng: np.random.Generator) -> Dict[int, list]:
    four = [c for c in FOUR_CLASS for _ in range(FULL_COUNTS[c])]
    other = [c for c in FULL_COUNTS if c not in FOUR_CLASS for _ in range(FULL_COUNTS[c])]
    rng.shuffle(four)
    rng.shuffle(other)
    dialogs_of = {}
    for s in SESSION_TOTALS:
        names = []
        for mocap in "FM":
            for d in ("impro01", "impro02", "impro03", "impro04", "impro05a", "impro05b",
                      "impro06", "impro07", "impro08a", "impro08b", "script01_1",
                      "script01_2", "script01_3", "script02_1", "script02_2", "script03_1",
                      "script03_2"):
                names.append(f"Ses0{s}{mocap}_{d}")
        dialogs_of[s] = names
    out: Dict[int, list] = {}
    i4 = io = 0
    for s, total in SESSION_TOTALS.items():
        n4 = SESSION_4CLASS[s]
        codes = four[i4:i4 + n4] + other[io:io + total - n4]
        i4 += n4
        io += total - n4
        rng.shuffle(codes)
        counters: Dict[Tuple[str, str], int] = defaultdict(int)
        turns = []
        for k, code in enumerate(codes):
            dialog = dialogs_of[s][k % len(dialogs_of[s])]
            g = "FM"[int(rng.integers(2))]
            n = counters[(dialog, g)]
            counters[(dialog, g)] += 1
            vad = tuple(float(x) for x in rng.integers(2, 11, size=3) / 2.0)
            turns.append((f"{dialog}_{g}{n:03d}", code, vad, True))
        out[s] = turns
    assert i4 == len(four) and io == len(other)
    return out


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          release_dir: str = "") -> dict:
    """``release_dir``: write the sessions under ``root/<release_dir>`` (e.g.
    ``IEMOCAP_full_release``) to check that the parser finds them."""
    base = root / release_dir if release_dir else root
    if full:
        sessions = _full_turns(rng)
        texts = None
    else:
        sessions = defaultdict(list)
        for t in SMALL:
            sessions[int(t[0][4])].append(t)
        texts = TEXT
    write = AudioWriter(rng, fs=16000, empty=empty_audio)
    for s, turns in sorted(sessions.items()):
        _write_session(base, s, turns, write, texts)
    kept = [t for ts in sessions.values() for t in ts if t[3]]
    cats = Counter(CLASS[c] for _, c, _, _ in kept if c in CLASS)
    return {
        "utterances": len(kept),
        "classes": dict(cats),
        "with_category": sum(cats.values()),
        "four_class": sum(1 for _, c, _, _ in kept if c in FOUR_CLASS),
        "four_class_per_session": dict(Counter(
            f"iemocap_Ses0{u[4]}" for u, c, _, _ in kept if c in FOUR_CLASS)),
        "dropped_codes": dict(Counter(c for _, c, _, _ in kept if c in DROPPED_CODES)),
        "missing_audio": [u for ts in sessions.values() for u, _, _, a in ts if not a],
        "speakers": len({u[:5] + u.rsplit("_", 1)[1][0] for u, *_ in kept}),
    }
