"""The unified label space of PUNSER (paper section II-D, design.md section 4).

Categories: 8 unified classes; an utterance without a category carries ``MISSING_CAT``
(-1) in the training files. Dimensions: valence, arousal, dominance, min-max scaled to
[0, 1]; a missing dimension is ``nan``.
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

EMOTIONS: Tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "angry",
    "surprised",
    "fear",
    "disgust",
    "excited",
)
EMOTION_INDEX: Dict[str, int] = {name: i for i, name in enumerate(EMOTIONS)}
DIMENSIONS: Tuple[str, ...] = ("valence", "arousal", "dominance")
MISSING_CAT = -1


def class_indices(subset: Optional[Sequence[str]]) -> List[int]:
    """Indices (in unified order) of a class subset; all 8 classes for ``None``.

    Raises ``ValueError`` naming unknown or repeated classes.
    """
    if subset is None:
        return list(range(len(EMOTIONS)))
    names = [str(c) for c in subset]
    unknown = [c for c in names if c not in EMOTION_INDEX]
    if unknown:
        raise ValueError(f"unknown classes {unknown}; the unified classes are {list(EMOTIONS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"class subset has repeated classes: {names}")
    if len(names) < 2:
        raise ValueError(f"a class subset needs at least 2 classes, got {names}")
    return sorted(EMOTION_INDEX[c] for c in names)


def minmax_scale(value: float, low: float, high: float) -> float:
    """Scale ``value`` from the corpus scale [low, high] to [0, 1].

    Raises ``ValueError`` for values outside the documented scale (a parsing error or a
    wrong scale must not pass silently).
    """
    if not high > low:
        raise ValueError(f"invalid scale [{low}, {high}]")
    v = float(value)
    if math.isnan(v):
        return v
    if v < low - 1e-9 or v > high + 1e-9:
        raise ValueError(f"value {v} outside the documented scale [{low}, {high}]")
    return min(1.0, max(0.0, (v - low) / (high - low)))


def format_vad(values: Iterable[float]) -> str:
    """Kaldi text form of a V/A/D triple (``nan`` for missing)."""
    vals = list(values)
    if len(vals) != 3:
        raise ValueError(f"expected 3 values (V A D), got {vals}")
    return " ".join("nan" if math.isnan(float(v)) else f"{float(v):.6f}" for v in vals)
