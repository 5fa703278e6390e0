"""Evaluation metrics: WA (accuracy), UA (mean per-class recall) and CCC.

Numpy implementations shared by the trainer's corpus-level validation and by scoring.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def weighted_accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """WA: the fraction of correct predictions (sklearn's ``accuracy_score``)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"shape mismatch: {t.shape} vs {p.shape}")
    if t.size == 0:
        return float("nan")
    return float(np.mean(t == p))


def unweighted_accuracy(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Optional[Sequence[int]] = None
) -> float:
    """UA: recall averaged over the classes present in ``y_true``
    (sklearn's ``balanced_accuracy_score``). ``labels`` restricts the classes averaged
    over (classes of ``labels`` absent from ``y_true`` are skipped)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"shape mismatch: {t.shape} vs {p.shape}")
    if t.size == 0:
        return float("nan")
    classes = np.unique(t) if labels is None else [c for c in labels if np.any(t == c)]
    return float(np.mean([np.mean(p[t == c] == c) for c in classes]))


def concordance_cc(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """CCC with population moments; ``nan`` entries of ``y_true`` are ignored."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(f"shape mismatch: {t.shape} vs {p.shape}")
    keep = np.isfinite(t)
    t, p = t[keep], p[keep]
    if t.size < 2:
        return float("nan")
    mt, mp = t.mean(), p.mean()
    cov = np.mean((t - mt) * (p - mp))
    denom = t.var() + p.var() + (mt - mp) ** 2
    return float(2.0 * cov / denom) if denom > 0 else float("nan")


def confusion(y_true, y_pred, labels: Sequence[int]) -> np.ndarray:
    """Confusion counts, rows = true class, columns = predicted, in ``labels`` order."""
    pos = {c: i for i, c in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        if t in pos and p in pos:
            m[pos[t], pos[p]] += 1
    return m
