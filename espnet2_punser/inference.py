"""Inference with a trained PUNSER model: ``Speech2Emotion`` (shape of ESPnet's
``Speech2Text``) and length-sorted batching shared by the batch CLI and the cache.

    >>> s2e = Speech2Emotion.from_pretrained("exp/packed/punser.zip", cachedir="~/.cache/punser")
    >>> result = s2e(waveform, fs=44100)
    >>> result.label, result.probs["angry"], result.arousal
"""

from __future__ import annotations

import argparse
import logging
import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import yaml

from espnet2_punser.audio import TARGET_FS, to_mono_16k
from espnet2_punser.labels import DIMENSIONS, EMOTIONS
from espnet2_punser.ser.preprocess import normalize_waveform

logger = logging.getLogger(__name__)

MIN_SAMPLES = 400  # receptive field of the wav2vec-style CNN (25 ms at 16 kHz)


class ModelLoadError(RuntimeError):
    pass


@dataclass
class EmotionPrediction:
    """Result for one clip. ``probs`` covers the competing classes only."""

    label: Optional[str]
    probs: Dict[str, float]
    valence: float
    arousal: float
    dominance: float
    error: Optional[str] = None
    warnings: List[str] = field(default_factory=list)

    @property
    def vad(self) -> Tuple[float, float, float]:
        return (self.valence, self.arousal, self.dominance)

    @classmethod
    def failed(cls, error: str) -> "EmotionPrediction":
        nan = float("nan")
        return cls(None, {}, nan, nan, nan, error=error)


def load_state_dict_safely(model_file: Union[str, Path], device: str = "cpu") -> dict:
    """``torch.load(weights_only=True)``: a file whose pickle carries code is refused."""
    try:
        state = torch.load(str(model_file), map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as e:
        raise ModelLoadError(
            f"refusing to load {model_file}: it is not a plain tensor state dict "
            f"(its pickle carries code or objects; loading it could execute code). "
            f"Details: {str(e).splitlines()[0]}"
        ) from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{model_file}: expected a state dict of tensors")
    return state


def build_model(train_config: Union[str, Path], model_file: Optional[Union[str, Path]],
                device: str = "cpu"):
    """Model from a training ``config.yaml`` (+ weights, strictly). Returns (model, args)."""
    from espnet2_punser.tasks.ser import SERTask

    with open(train_config, encoding="utf-8") as f:
        args = argparse.Namespace(**yaml.safe_load(f))
    args.xeus_checkpoint = None  # the model file holds the encoder weights
    model = SERTask.build_model(args)
    if model_file is not None:
        state = load_state_dict_safely(model_file, "cpu")
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise ModelLoadError(
                f"{model_file} does not match {train_config}: missing "
                f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}"
            )
    return model.to(device).eval(), args


def length_batches(lengths: Sequence[int], batch_bins: int, max_batch_size: int = 256
                   ) -> List[List[int]]:
    """Indices grouped into length-sorted batches of at most ``batch_bins`` padded
    samples (longest x batch size)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches, cur = [], []
    for i in order:
        if cur and (len(cur) + 1) * lengths[i] > batch_bins or len(cur) >= max_batch_size:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def padding_ratio(lengths: Sequence[int], batches: Iterable[Sequence[int]]) -> float:
    """Padded samples / real samples (1.0 = no padding)."""
    real = sum(lengths)
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    return padded / real if real else 1.0


def pad_batch(waves: Sequence[np.ndarray]) -> Tuple[torch.Tensor, torch.Tensor]:
    lens = torch.tensor([len(w) for w in waves])
    x = torch.zeros(len(waves), int(lens.max()))
    for i, w in enumerate(waves):
        x[i, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
    return x, lens


def _as_mono(speech, fs: int) -> np.ndarray:
    x = speech.detach().cpu().numpy() if isinstance(speech, torch.Tensor) else np.asarray(speech)
    if x.ndim == 2 and x.shape[0] < x.shape[1]:
        x = x.T  # (channels, time) -> (time, channels)
    if x.ndim not in (1, 2):
        raise ValueError(f"expected (time,) or (time, channels) audio, got shape {x.shape}")
    return to_mono_16k(x.astype(np.float32), int(fs))


class Speech2Emotion:
    """Emotion of speech clips: probabilities over the classes, top class, V/A/D.

    Args:
        train_config: the ``config.yaml`` of the trained model.
        model_file: its weights (e.g. ``valid.loss.best.pth``).
        device: ``cpu`` or ``cuda``.
        class_subset: classes that compete (default: the model's, e.g. all 8).
        batch_bins: padded samples per batch in :meth:`predict_batch`.
    """

    def __init__(self, train_config, model_file=None, device: str = "cpu",
                 class_subset: Optional[Sequence[str]] = None, batch_bins: int = 800000,
                 **kwargs):
        if kwargs:
            logger.info(f"Speech2Emotion: ignoring {sorted(kwargs)}")
        self.model, self.train_args = build_model(train_config, model_file, device)
        if self.model.frontend is None:
            logger.info("this model takes cached pooled layers; waveforms need a full model")
        self.device = device
        self.class_subset = list(class_subset) if class_subset else None
        self.batch_bins = int(batch_bins)

    @staticmethod
    def from_pretrained(model_tag: Optional[str] = None, cachedir: Optional[str] = None,
                        **kwargs) -> "Speech2Emotion":
        """Load a packed model: a local zip or a Hugging Face repo id (``org/name``),
        through ``espnet_model_zoo``'s ``ModelDownloader``.

        ``cachedir`` defaults to ``~/.cache/espnet2_punser`` (NOTE: ModelDownloader's own
        default writes into site-packages)."""
        if model_tag:
            from espnet2_punser.packing import download_and_unpack

            kwargs.update(download_and_unpack(model_tag, cachedir))
        return Speech2Emotion(**kwargs)

    # ----------------------------------------------------------------- single clip
    def __call__(self, speech, fs: int = TARGET_FS,
                 class_subset: Optional[Sequence[str]] = None) -> EmotionPrediction:
        result = self.predict_batch([(speech, fs)], class_subset=class_subset)[0]
        if result.error:
            raise ValueError(result.error)
        return result

    # ------------------------------------------------------------------ many clips
    def predict_batch(self, clips: Sequence[Tuple[object, int]],
                      class_subset: Optional[Sequence[str]] = None,
                      progress: Optional[Callable[[int, int], None]] = None
                      ) -> List[EmotionPrediction]:
        """Predict many clips (``(waveform, fs)`` pairs) in length-sorted batches.

        A bad clip (NaN samples, too short for the encoder) gets a result with
        ``error`` set; the others are unaffected."""
        if self.model.frontend is None:
            raise ValueError("this model has no encoder (cached-feature model); pack or "
                             "assemble the full model first")
        results: List[Optional[EmotionPrediction]] = [None] * len(clips)
        waves: Dict[int, np.ndarray] = {}
        for i, (speech, fs) in enumerate(clips):
            try:
                x = _as_mono(speech, fs)
            except (ValueError, TypeError) as e:
                results[i] = EmotionPrediction.failed(str(e))
                continue
            if not np.all(np.isfinite(x)):
                results[i] = EmotionPrediction.failed("audio has NaN or Inf samples")
            elif x.size < MIN_SAMPLES:
                results[i] = EmotionPrediction.failed(
                    f"too short: {x.size} samples at 16 kHz < {MIN_SAMPLES} "
                    "(the encoder's receptive field)")
            else:
                waves[i] = x
        idx = list(waves)
        lengths = [waves[i].size for i in idx]
        batches = length_batches(lengths, self.batch_bins)
        done = 0
        for b in batches:
            ids = [idx[j] for j in b]
            norm = [normalize_waveform(waves[i]) for i in ids]
            x, lens = pad_batch(norm)
            out = self.model.predict(x.to(self.device), lens.to(self.device),
                                     class_subset=class_subset or self.class_subset)
            for k, i in enumerate(ids):
                results[i] = self._result(out, k)
                if float(np.abs(waves[i]).max()) < 1e-4:
                    results[i].warnings.append("silent input: the prediction is not meaningful")
            done += len(ids)
            if progress:
                progress(done, len(idx))
        return results  # type: ignore[return-value]

    @staticmethod
    def _result(out: Dict[str, torch.Tensor], k: int) -> EmotionPrediction:
        classes = [EMOTIONS[int(c)] for c in out["class_idx"]]
        probs = {c: float(p) for c, p in zip(classes, out["probs"][k].tolist())}
        v, a, d = (float(x) for x in out["vad"][k].tolist())
        return EmotionPrediction(max(probs, key=probs.get), probs, v, a, d)


def format_probs(probs: Dict[str, float]) -> str:
    return " ".join(f"{c}:{p:.6f}" for c, p in probs.items())


def format_vad_values(pred: EmotionPrediction) -> str:
    return " ".join("nan" if math.isnan(x) else f"{x:.6f}" for x in pred.vad)


__all__ = ["Speech2Emotion", "EmotionPrediction", "length_batches", "padding_ratio",
           "DIMENSIONS"]


def read_lengths(scp: Dict[str, str], shape_file: Optional[Path] = None) -> Dict[str, int]:
    """Samples per utterance: from ``utt2num_samples``/shape file, else from headers
    (``npy`` features: the number of layers, all equal)."""
    if shape_file is not None and Path(shape_file).is_file():
        out = {}
        for line in open(shape_file, encoding="utf-8"):
            k, v = line.split(maxsplit=1)
            out[k] = int(v.split(",")[0])
        missing = [k for k in scp if k not in out]
        if missing:
            raise ValueError(f"{shape_file}: no length for {missing[:3]}")
        return out
    import soundfile

    return {k: (soundfile.info(p).frames if not p.endswith(".npy") else 1) for k, p in scp.items()}


def load_input(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path)
    import soundfile

    x, fs = soundfile.read(path, dtype="float32", always_2d=False)
    if fs != TARGET_FS:
        raise ValueError(f"{path}: {fs} Hz; the formatted data must be 16 kHz")
    return x


def iterate_batches(scp: Dict[str, str], lengths: Dict[str, int], batch_bins: int,
                    max_batch_size: int = 256, keys: Optional[Sequence[str]] = None
                    ) -> Iterator[Tuple[List[str], List[np.ndarray]]]:
    """(keys, arrays) in length-sorted batches of at most ``batch_bins`` padded samples."""
    keys = list(keys if keys is not None else scp)
    batches = length_batches([lengths[k] for k in keys], batch_bins, max_batch_size)
    logger.info(f"{len(keys)} utterances in {len(batches)} length-sorted batches, padding "
                f"ratio {padding_ratio([lengths[k] for k in keys], batches):.3f}")
    for b in batches:
        ks = [keys[i] for i in b]
        yield ks, [load_input(scp[k]) for k in ks]
