"""Per-utterance preprocessing for SERTask (runs inside ESPnet's Dataset, numpy).

- ``speech`` (waveform, shape (T,) or (T, C)): down-mixed to mono, checked for NaN/Inf,
  normalised to zero mean and unit variance per utterance.
  NOTE: XEUS's own ``normalize_audio`` normalises the whole padded batch, which makes
  a clip's features depend on its batch mates; it is switched off in ``XeusUpstream``.
- ``speech`` as cached pooled layer vectors (L, D) (``waveform=False``): passed through.
- ``cat`` (one int, -1 = missing) must be a class of the model's subset.
- ``vad`` (three floats, nan = missing) must lie in [0, 1].

Every error names the utterance.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np

from espnet2_punser.labels import EMOTIONS, MISSING_CAT, class_indices

NORM_EPS = 1e-5


def normalize_waveform(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance (``(x - mean) / sqrt(var + 1e-5)``), float32, mono."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    x = x - x.mean()
    return (x / np.sqrt(np.mean(x * x) + NORM_EPS)).astype(np.float32)


class SERPreprocessor:
    def __init__(
        self,
        train: bool,
        waveform: bool = True,
        class_subset: Optional[Sequence[str]] = None,
        speech_name: str = "speech",
    ):
        self.train = train
        self.waveform = waveform
        self.allowed = set(class_indices(class_subset))
        self.subset_names = [EMOTIONS[i] for i in sorted(self.allowed)]
        self.speech_name = speech_name

    def __call__(self, uid: str, data: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        out = dict(data)
        if self.speech_name in out:
            x = np.asarray(out[self.speech_name])
            if self.waveform:
                if x.ndim not in (1, 2) or x.shape[0] == 0:
                    raise ValueError(f"utterance {uid}: bad waveform shape {x.shape}")
                if not np.all(np.isfinite(x)):
                    raise ValueError(f"utterance {uid}: waveform has NaN or Inf samples")
                out[self.speech_name] = normalize_waveform(x)
            else:
                if x.ndim != 2:
                    raise ValueError(
                        f"utterance {uid}: cached features must be (layers, dim), got {x.shape}"
                    )
                out[self.speech_name] = x.astype(np.float32)
        if "cat" in out:
            c = np.asarray(out["cat"]).reshape(-1)
            if c.size != 1:
                raise ValueError(f"utterance {uid}: 'cat' must hold one class index, got {c}")
            k = int(c[0])
            if k != MISSING_CAT and k not in self.allowed:
                raise ValueError(
                    f"utterance {uid}: category index {k} is not one of the classes "
                    f"{self.subset_names} (indices {sorted(self.allowed)}; -1 = missing)"
                )
            out["cat"] = np.asarray([k], dtype=np.int64)
        if "vad" in out:
            v = np.asarray(out["vad"], dtype=np.float32).reshape(-1)
            if v.size != 3:
                raise ValueError(f"utterance {uid}: 'vad' must hold 3 values (V A D), got {v}")
            finite = v[np.isfinite(v)]
            if np.any(np.isinf(v)) or np.any((finite < -1e-6) | (finite > 1 + 1e-6)):
                raise ValueError(
                    f"utterance {uid}: V/A/D {v.tolist()} outside [0, 1] (nan = missing)"
                )
            out["vad"] = v
        return out
