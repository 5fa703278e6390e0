"""Inference with a trained PUNSER model: ``Speech2Emotion`` (shape of ESPnet's
``Speech2Text``) and length-sorted batching shared by the batch CLI and the cache.

    >>> from espnet2_punser.inference import Speech2Emotion
    >>> s2e = Speech2Emotion.from_pretrained("org/punser")         # or a local .zip
    >>> result = s2e(waveform, fs=44100)          # numpy or torch, any rate, mono/multi
    >>> result.label, result.probs["angry"], result.arousal

- ``__call__(speech, fs)``: one clip -> :class:`EmotionPrediction` (raises
  ``ValueError`` for a clip that cannot be processed: NaN samples, too short).
- ``predict_batch([(speech, fs), ...])``: many clips in length-sorted batches; a bad
  clip gets a result with ``error`` set, the others are unaffected.
- ``predict_windows(speech, fs, window, hop)``: a long recording as a timeline of
  sliding windows (batched).

Input audio is down-mixed to mono (mean of the channels), resampled to 16 kHz (soxr)
and normalised per clip (zero mean, unit variance), exactly as in training. The
probabilities cover the model's class subset (the 8 unified classes for a pre-trained
model, the corpus's classes for a fine-tuned one) or a subset given by the caller;
V/A/D are in [0, 1].
"""

from __future__ import annotations

import argparse
import logging
import math
import pickle
import re
from dataclasses import asdict, dataclass, field
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
SILENCE_PEAK = 1e-4  # peak amplitude (full scale 1.0) below which a clip counts as silent
SILENCE_WARNING = "silent input: the prediction is not meaningful"


class ModelLoadError(RuntimeError):
    """A model file that is refused (not plain tensors) or does not match its config."""


@dataclass
class EmotionPrediction:
    """Result for one clip. ``probs`` covers the competing classes only (in the
    unified class order); ``label`` is the most probable of them."""

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

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in DIMENSIONS:  # JSON has no NaN
            if isinstance(d[k], float) and math.isnan(d[k]):
                d[k] = None
        return d

    @classmethod
    def failed(cls, error: str) -> "EmotionPrediction":
        nan = float("nan")
        return cls(None, {}, nan, nan, nan, error=error)

    @classmethod
    def mean(cls, preds: Sequence["EmotionPrediction"]) -> "EmotionPrediction":
        """Average of several predictions (e.g. the windows of a long recording):
        mean probabilities and V/A/D of the predictions without error."""
        good = [p for p in preds if p.ok]
        if not good:
            errors = sorted({p.error for p in preds if p.error})
            return cls.failed("; ".join(errors) or "nothing to average")
        probs = {c: float(np.mean([p.probs[c] for p in good])) for c in good[0].probs}
        v, a, d = (float(np.mean([p.vad[i] for p in good])) for i in range(3))
        return cls(max(probs, key=probs.get), probs, v, a, d)


@dataclass
class WindowPrediction:
    """One window of a long recording: [start, end) in seconds."""

    start: float
    end: float
    prediction: EmotionPrediction


# ---------------------------------------------------------------------------- loading
def _describe_refused_pickle(e: Exception) -> str:
    text = str(e)
    m = re.search(r"unsupported GLOBAL (\S+)", text)
    if m:
        return f"its pickle references {m.group(1)}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # torch's first line suggests weights_only=False, which is exactly what not to do
    detail = next((line for line in lines if "weights_only" not in line), lines[0] if lines else "")
    return f"it is not plain tensor data ({detail[:200]})"


def load_state_dict_safely(model_file: Union[str, Path], device: str = "cpu") -> dict:
    """``torch.load(weights_only=True)``: a file whose pickle carries code is refused.

    Raises :class:`ModelLoadError` (naming the offending global where torch reports
    it) instead of executing anything; PUNSER model files are plain state dicts
    (``torch.save(model.state_dict())``), as ESPnet's trainer writes them.
    """
    model_file = Path(model_file)
    if not model_file.is_file():
        raise FileNotFoundError(f"model file not found: {model_file}")
    try:
        state = torch.load(str(model_file), map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError, EOFError,
            ValueError) as e:
        raise ModelLoadError(
            f"refusing to load {model_file}: {_describe_refused_pickle(e)}. Loading it "
            "could execute arbitrary code, so it was not loaded (torch.load with "
            "weights_only=True). A PUNSER model file holds a state dict of tensors only; "
            "do not load this file with weights_only=False unless you trust its source."
        ) from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        kinds = sorted({type(v).__name__ for v in state.values()}) if isinstance(state, dict) \
            else [type(state).__name__]
        raise ModelLoadError(
            f"{model_file}: expected a state dict of tensors (a *.pth written by the "
            f"trainer, e.g. valid.loss.best.pth), found {kinds}; a trainer checkpoint.pth "
            "is not a model file"
        )
    return state


def _resolve_xeus_config(args: argparse.Namespace, train_config: Path) -> None:
    """A relative ``frontend_conf.xeus_config`` is relative to the recipe dir. When it
    does not exist from the current directory, look for it from the directories above
    the train config (``<recipe>/exp/<model>/config.yaml``, or an unzipped pack)."""
    conf = getattr(args, "frontend_conf", None)
    if getattr(args, "frontend", None) is None or not isinstance(conf, dict):
        return
    path = conf.get("xeus_config")
    if not isinstance(path, str) or Path(path).is_absolute() or Path(path).is_file():
        return
    for base in Path(train_config).resolve().parents:
        if (base / path).is_file():
            conf["xeus_config"] = str(base / path)
            logger.info(f"XEUS architecture config {path!r} found as {conf['xeus_config']}")
            return
    raise FileNotFoundError(
        f"{train_config}: frontend_conf.xeus_config {path!r} (a path relative to the recipe "
        "directory) exists neither from the current directory nor above the config; run "
        "from the recipe directory, or load the packed model (Speech2Emotion.from_pretrained)"
    )


def build_model(train_config: Union[str, Path], model_file: Optional[Union[str, Path]],
                device: str = "cpu"):
    """Model from a training ``config.yaml`` (+ weights, strictly). Returns (model, args).

    The encoder is built from the XEUS architecture config that the train config
    names; its weights come from ``model_file`` (no XEUS checkpoint is read).
    """
    from espnet2_punser.tasks.ser import SERTask

    train_config = Path(train_config)
    if not train_config.is_file():
        raise FileNotFoundError(f"train config not found: {train_config}")
    with open(train_config, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    if not isinstance(cfg, dict):
        raise ValueError(f"{train_config}: expected a YAML mapping (an ESPnet config.yaml)")
    args = argparse.Namespace(**cfg)
    args.xeus_checkpoint = None  # the model file holds the encoder weights
    _resolve_xeus_config(args, train_config)
    state = load_state_dict_safely(model_file, "cpu") if model_file is not None else None
    model = SERTask.build_model(args)
    if state is not None:
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise ModelLoadError(
                f"{model_file} does not match {train_config}: "
                f"{len(result.missing_keys)} missing keys {result.missing_keys[:5]}, "
                f"{len(result.unexpected_keys)} unexpected {result.unexpected_keys[:5]}"
            )
    return model.to(device).eval(), args


# --------------------------------------------------------------------------- batching
def length_batches(lengths: Sequence[int], batch_bins: int, max_batch_size: int = 256
                   ) -> List[List[int]]:
    """Indices grouped into length-sorted batches of at most ``batch_bins`` padded
    samples (longest x batch size) and ``max_batch_size`` clips; a clip longer than
    ``batch_bins`` gets a batch of its own."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches, cur = [], []
    for i in order:
        if cur and ((len(cur) + 1) * lengths[i] > batch_bins or len(cur) >= max_batch_size):
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
    """Zero-padded (B, T) float32 batch and the lengths (B,)."""
    lens = torch.tensor([len(w) for w in waves])
    x = torch.zeros(len(waves), int(lens.max()))
    for i, w in enumerate(waves):
        x[i, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
    return x, lens


def sliding_windows(n_samples: int, window: int, hop: int) -> List[Tuple[int, int]]:
    """[start, end) sample ranges of windows of ``window`` samples every ``hop``
    samples. The last window ends at the end of the recording (it may overlap its
    predecessor more than ``hop`` says), so the whole recording is covered; a
    recording shorter than one window is one window."""
    if window <= 0 or hop <= 0:
        raise ValueError(f"window and hop must be positive, got {window}, {hop}")
    if n_samples <= window:
        return [(0, n_samples)]
    starts = list(range(0, n_samples - window + 1, hop))
    if starts[-1] + window < n_samples:
        starts.append(n_samples - window)
    return [(s, s + window) for s in starts]


def _as_mono(speech, fs: int) -> np.ndarray:
    """numpy/torch (T,), (T, C) or (C, T) at ``fs`` -> float32 (T,) at 16 kHz."""
    if isinstance(speech, torch.Tensor):
        t = speech.detach().cpu()
        x = (t.float() if t.is_floating_point() else t).numpy()
    else:
        x = np.asarray(speech)
    if x.dtype.kind in "iu":  # integer PCM -> [-1, 1]
        info = np.iinfo(x.dtype)
        x = x.astype(np.float32) / float(max(abs(info.min), info.max))
    elif x.dtype.kind != "f":
        raise TypeError(f"audio must be a float or integer array, got dtype {x.dtype}")
    if x.ndim == 2 and x.shape[0] < x.shape[1]:
        x = x.T  # (channels, time) -> (time, channels)
    if x.ndim not in (1, 2):
        raise ValueError(f"expected (time,) or (time, channels) audio, got shape {x.shape}")
    if not fs or int(fs) <= 0:
        raise ValueError(f"invalid sample rate {fs}")
    return to_mono_16k(x.astype(np.float32), int(fs))


def check_clip(x: np.ndarray) -> Optional[str]:
    """Why a 16 kHz mono clip cannot be processed (``None`` if it can)."""
    if x.size and not np.all(np.isfinite(x)):
        return "audio has NaN or Inf samples"
    if x.size < MIN_SAMPLES:
        return (f"too short: {x.size} samples at 16 kHz < {MIN_SAMPLES} "
                "(the encoder's receptive field, 25 ms)")
    return None


# -------------------------------------------------------------------------- the class
class Speech2Emotion:
    """Emotion of speech clips: probabilities over the classes, top class, V/A/D.

    Args:
        train_config: the ``config.yaml`` of the trained model (a full model: XEUS
            frontend + heads).
        model_file: its weights (e.g. ``valid.loss.best.pth``), loaded with
            ``weights_only=True``.
        device: ``cpu`` or ``cuda``.
        class_subset: classes that compete (default: the model's, e.g. all 8).
        batch_bins: padded samples per batch in :meth:`predict_batch`.
        max_batch_size: clips per batch at most.
    """

    def __init__(self, train_config, model_file=None, device: str = "cpu",
                 class_subset: Optional[Sequence[str]] = None, batch_bins: int = 800000,
                 max_batch_size: int = 256, **kwargs):
        if kwargs:
            logger.info(f"Speech2Emotion: ignoring {sorted(kwargs)}")
        model, train_args = build_model(train_config, model_file, device)
        self._setup(model, train_args, device, class_subset, batch_bins, max_batch_size)

    def _setup(self, model, train_args, device, class_subset, batch_bins, max_batch_size):
        self.model, self.train_args = model.to(device).eval(), train_args
        if self.model.frontend is None:
            logger.info("this model takes cached pooled layers; waveforms need a full model")
        self.device = device
        if class_subset:
            from espnet2_punser.labels import class_indices

            class_indices(class_subset)  # unknown classes fail here, not per clip
        self.class_subset = list(class_subset) if class_subset else None
        self.batch_bins = int(batch_bins)
        self.max_batch_size = int(max_batch_size)

    @classmethod
    def from_model(cls, model, device: str = "cpu", class_subset: Optional[Sequence[str]] = None,
                   batch_bins: int = 800000, max_batch_size: int = 256) -> "Speech2Emotion":
        """Wrap a ``PunserModel`` that is already in memory (tests, benchmarks)."""
        self = cls.__new__(cls)
        self._setup(model, None, device, class_subset, batch_bins, max_batch_size)
        return self

    @staticmethod
    def from_pretrained(model_tag: Optional[str] = None, cachedir: Optional[str] = None,
                        **kwargs) -> "Speech2Emotion":
        """Load a packed model: a local zip (or unzipped pack folder) or a Hugging Face
        repo id (``org/name``, ``org/name@revision``), through ``espnet_model_zoo``'s
        ``ModelDownloader``.

        ``cachedir`` defaults to ``~/.cache/espnet2_punser`` (NOTE: ModelDownloader's own
        default writes into site-packages). Other keyword arguments go to ``__init__``
        (``device``, ``class_subset``, ``batch_bins``)."""
        if model_tag:
            from espnet2_punser.packing import download_and_unpack

            kwargs.update(download_and_unpack(model_tag, cachedir))
        return Speech2Emotion(**kwargs)

    @property
    def classes(self) -> List[str]:
        """The classes that compete by default."""
        if self.class_subset:
            return [c for c in EMOTIONS if c in self.class_subset]
        return [EMOTIONS[i] for i in self.model.class_idx]

    # ----------------------------------------------------------------- single clip
    def __call__(self, speech, fs: int = TARGET_FS,
                 class_subset: Optional[Sequence[str]] = None) -> EmotionPrediction:
        """One clip (numpy or torch; (T,), (T, C) or (C, T); any rate).

        Raises ``ValueError`` when the clip cannot be processed; a silent clip gives
        a prediction with a warning in ``.warnings``."""
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

        A bad clip (NaN samples, too short for the encoder, not audio) gets a result
        with ``error`` set; the others are unaffected. ``progress(done, total)`` is
        called after every batch."""
        if self.model.frontend is None:
            raise ValueError("this model has no encoder (a cached-feature model); assemble "
                             "the full model first (espnet2_punser.packing."
                             "assemble_full_model or bin/pack.py --head_config)")
        results: List[Optional[EmotionPrediction]] = [None] * len(clips)
        waves: Dict[int, np.ndarray] = {}
        for i, (speech, fs) in enumerate(clips):
            try:
                x = _as_mono(speech, fs)
            except (ValueError, TypeError) as e:
                results[i] = EmotionPrediction.failed(str(e))
                continue
            problem = check_clip(x)
            if problem:
                results[i] = EmotionPrediction.failed(problem)
            else:
                waves[i] = x
        idx = list(waves)
        lengths = [waves[i].size for i in idx]
        batches = length_batches(lengths, self.batch_bins, self.max_batch_size)
        subset = class_subset or self.class_subset
        done = 0
        for b in batches:
            ids = [idx[j] for j in b]
            x, lens = pad_batch([normalize_waveform(waves[i]) for i in ids])
            out = self.model.predict(x.to(self.device), lens.to(self.device),
                                     class_subset=subset)
            for k, i in enumerate(ids):
                results[i] = self._result(out, k)
                if float(np.abs(waves[i]).max()) < SILENCE_PEAK:
                    results[i].warnings.append(SILENCE_WARNING)
            done += len(ids)
            if progress:
                progress(done, len(idx))
        return results  # type: ignore[return-value]

    def predict_windows(self, speech, fs: int, window: float, hop: float,
                        class_subset: Optional[Sequence[str]] = None,
                        progress: Optional[Callable[[int, int], None]] = None
                        ) -> List[WindowPrediction]:
        """A long recording as sliding windows of ``window`` seconds every ``hop``
        seconds (see :func:`sliding_windows`), predicted in batches."""
        x = _as_mono(speech, fs)
        spans = sliding_windows(x.size, int(round(window * TARGET_FS)),
                                int(round(hop * TARGET_FS)))
        preds = self.predict_batch([(x[a:b], TARGET_FS) for a, b in spans],
                                   class_subset=class_subset, progress=progress)
        return [WindowPrediction(a / TARGET_FS, b / TARGET_FS, p)
                for (a, b), p in zip(spans, preds)]

    @staticmethod
    def _result(out: Dict[str, torch.Tensor], k: int) -> EmotionPrediction:
        classes = [EMOTIONS[int(c)] for c in out["class_idx"]]
        probs = {c: float(p) for c, p in zip(classes, out["probs"][k].tolist())}
        v, a, d = (float(x) for x in out["vad"][k].tolist())
        return EmotionPrediction(max(probs, key=probs.get), probs, v, a, d)


def format_probs(probs: Dict[str, float], digits: int = 8) -> str:
    """``class:probability`` pairs (the ``probs`` file of the decode dirs)."""
    return " ".join(f"{c}:{p:.{digits}f}" for c, p in probs.items())


def format_vad_values(pred: EmotionPrediction, digits: int = 8) -> str:
    return " ".join("nan" if math.isnan(x) else f"{x:.{digits}f}" for x in pred.vad)


def parse_probs(text: str) -> Dict[str, float]:
    """Inverse of :func:`format_probs`."""
    return {c: float(p) for c, p in (item.split(":") for item in text.split())}


__all__ = ["Speech2Emotion", "EmotionPrediction", "WindowPrediction", "ModelLoadError",
           "build_model", "load_state_dict_safely", "length_batches", "padding_ratio",
           "sliding_windows", "DIMENSIONS"]


# ------------------------------------------------------------- Kaldi-style data lists
def read_lengths(scp: Dict[str, str], shape_file: Optional[Path] = None,
                 errors: Optional[Dict[str, str]] = None) -> Dict[str, int]:
    """Samples per utterance of ``scp``: from ``utt2num_samples``/a shape file, else
    from the audio headers (``npy`` features count as 1: all have the same shape).

    With ``errors``, an unreadable header is recorded there (and the utterance left
    out) instead of raising.
    """
    if shape_file is not None and Path(shape_file).is_file():
        lens = {}
        for line in open(shape_file, encoding="utf-8"):
            k, v = line.split(maxsplit=1)
            lens[k] = int(v.split(",")[0])
        missing = [k for k in scp if k not in lens]
        if missing:
            raise ValueError(f"{shape_file}: no length for {missing[:3]}")
        return {k: lens[k] for k in scp}
    import soundfile

    out = {}
    for k, p in scp.items():
        if p.endswith(".npy"):
            out[k] = 1
            continue
        try:
            out[k] = soundfile.info(p).frames
        except Exception as e:  # noqa: BLE001 - soundfile raises several types
            if errors is None:
                raise
            detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            errors[k] = f"cannot read {p}: {detail}"
    return out


def load_input(path: str) -> np.ndarray:
    """A 16 kHz wav/flac (T,) or (T, C), or a cached ``.npy`` feature array."""
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
