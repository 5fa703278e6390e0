"""Cached encoder features: per-layer mean-pooled XEUS outputs, once per utterance.

With XEUS frozen (fine-tuning, zero-shot inference, SSL baselines) the shared encoder
output is ``Linear(pool(sum_l w_l h_l)) = Linear(sum_l w_l pool(h_l))``: the pooled
layer vectors ``pool(h_l)`` (L x D per utterance) determine every prediction. They are
computed once (eval mode, length-sorted batches) and stored as

    <cache_root>/<encoder hash>/<set name>/
        feats.scp            utt -> data/<utt>.npy  (float32, (L, D))
        manifest.json        encoder hash, shape, utterances

The encoder hash covers the encoder's config and every weight tensor, so a cache
written by another encoder is never reused. ``sources.tsv`` records the audio each entry
was computed from (path, size, modification time, samples): an entry whose audio has
changed since is recomputed. A truncated or corrupted file is detected when the cache
is opened (each entry is loaded and checked) and recomputed, with a warning naming it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from espnet2_punser.inference import iterate_batches, pad_batch, read_lengths
from espnet2_punser.ser.model import masked_mean_layers
from espnet2_punser.ser.preprocess import normalize_waveform

logger = logging.getLogger(__name__)


def read_data_dir(data_dir: Path) -> Tuple[Dict[str, str], Dict[str, int]]:
    """``wav.scp`` and the samples per utterance (``utt2num_samples``) of a data dir."""
    scp = dict(line.rstrip("\n").split(maxsplit=1)
               for line in open(Path(data_dir) / "wav.scp", encoding="utf-8"))
    return scp, read_lengths(scp, Path(data_dir) / "utt2num_samples")


def announce(out_dir: Path, out_file: Optional[Path]) -> None:
    """Write a finished cache's directory to ``out_file`` (read by the recipe) and stdout."""
    if out_file:
        Path(out_file).parent.mkdir(parents=True, exist_ok=True)
        Path(out_file).write_text(str(Path(out_dir).resolve()) + "\n")
    print(out_dir)


def encoder_hash(model) -> str:
    """SHA-1 of the encoder's architecture and weights (``frontend.*``)."""
    h = hashlib.sha1()
    fe = model.frontend
    h.update(repr(type(fe).__name__).encode())
    h.update(json.dumps(getattr(fe, "arch_config", {}), sort_keys=True, default=str).encode())
    h.update(str(bool(getattr(fe, "mask_padding", True))).encode())
    for name, tensor in sorted(fe.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(tensor.shape)).encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _entry_ok(path: Path, shape, dtype=np.float32) -> bool:
    try:
        x = np.load(path)
    except (OSError, ValueError, EOFError):
        return False
    return x.shape == tuple(shape) and x.dtype == dtype and bool(np.all(np.isfinite(x)))


def _source_signature(path: str, num_samples: int) -> str:
    st = os.stat(path)
    return f"{path}\t{st.st_size}\t{st.st_mtime_ns}\t{num_samples}"


def _read_sources(path: Path) -> Dict[str, str]:
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        utt, _, sig = line.partition("\t")
        out[utt] = sig
    return out


def _write_sources(path: Path, sources: Dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(f"{u}\t{sources[u]}\n" for u in sorted(sources)), encoding="utf-8")
    tmp.replace(path)


@dataclass
class CacheOutput:
    """One array per utterance: ``<name>/<utt>.npy`` listed in ``<name>.scp``."""

    name: str
    shape: Callable[[str], Tuple[int, ...]]  # expected shape of an utterance's array
    dtype: type = np.float32
    scp: Optional[str] = None  # file name of the list (default: <name>.scp)


def fill_cache(out_dir: Path, digest: str, scp: Dict[str, str], lengths: Dict[str, int],
               outputs: Sequence[CacheOutput],
               compute: Callable[[List[str], List[np.ndarray]], Dict[str, List[np.ndarray]]],
               batch_bins: int = 800000, what: str = "features",
               manifest_extra: Optional[dict] = None) -> Dict[str, object]:
    """Compute the missing, changed or corrupted entries of a per-utterance cache.

    ``compute(keys, waves)`` returns, per output name, one array per key. Entries whose
    file exists, loads with the expected shape and dtype, and whose audio did not
    change (``sources.tsv``) are reused.
    """
    out_dir = Path(out_dir)
    for o in outputs:
        (out_dir / o.name).mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    if old and old.get("encoder_hash") != digest:
        raise RuntimeError(f"{out_dir} holds features of encoder {old.get('encoder_hash')}, "
                           f"not {digest}; use the directory named after the hash")
    sources_path = out_dir / "sources.tsv"
    known = _read_sources(sources_path)
    current = {utt: _source_signature(scp[utt], lengths[utt]) for utt in scp}
    todo: List[str] = []
    bad: List[str] = []
    changed: List[str] = []
    for utt in scp:
        paths = [(out_dir / o.name / f"{utt}.npy", o) for o in outputs]
        if not all(p.is_file() for p, _ in paths):
            todo.append(utt)
        elif known.get(utt) != current[utt]:
            changed.append(utt)
        elif not all(_entry_ok(p, o.shape(utt), o.dtype) for p, o in paths):
            bad.append(utt)
    if bad:
        logger.warning(f"{out_dir}: {len(bad)} truncated or corrupted entries will be "
                       f"recomputed: {bad[:10]}{' ...' if len(bad) > 10 else ''}")
    if changed:
        logger.warning(f"{out_dir}: the audio of {len(changed)} entries changed since they "
                       f"were cached; recomputed: {changed[:10]}{' ...' if len(changed) > 10 else ''}")
    todo = sorted(todo + bad + changed)
    start, done, seconds_done = time.time(), 0, 0.0
    last_flush = start
    if todo:
        logger.info(f"encoder {digest}: computing {what} for {len(todo)} utterances "
                    f"({sum(lengths[u] for u in todo) / 16000.0 / 3600:.2f} h)")
    for keys, waves in iterate_batches(scp, lengths, batch_bins, keys=todo):
        arrays = compute(keys, waves)
        for o in outputs:
            for k, a in zip(keys, arrays[o.name]):
                tmp = out_dir / o.name / f"{k}.npy.tmp"
                with open(tmp, "wb") as f:
                    np.save(f, np.asarray(a, dtype=o.dtype))
                tmp.replace(out_dir / o.name / f"{k}.npy")
        done += len(keys)
        seconds_done += sum(lengths[k] for k in keys) / 16000.0
        el = time.time() - start
        logger.info(f"cache: {done}/{len(todo)} utterances, {el:.1f} s "
                    f"({seconds_done / max(el, 1e-9):.1f} x real time)")
        known.update({k: current[k] for k in keys})
        if time.time() - last_flush > 60:  # progress survives an interruption
            _write_sources(sources_path, known)
            last_flush = time.time()
    _write_sources(sources_path, known)
    for o in outputs:
        tmp = out_dir / f"{o.scp or o.name + '.scp'}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for utt in sorted(scp):
                f.write(f"{utt} {(out_dir / o.name / f'{utt}.npy').resolve()}\n")
        tmp.replace(out_dir / (o.scp or o.name + ".scp"))
    manifest = {"encoder_hash": digest, "utterances": len(scp), "computed": len(todo),
                "recomputed": len(bad) + len(changed), **(manifest_extra or {})}
    tmp = manifest_path.with_name(manifest_path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.replace(manifest_path)
    return manifest


@torch.no_grad()
def build_cache(model, scp: Dict[str, str], lengths: Dict[str, int], out_dir: Path,
                batch_bins: int = 800000, device: str = "cpu") -> Dict[str, object]:
    """Per-layer pooled encoder outputs (L, D) of every utterance (``feats.scp``)."""
    shape = (model.num_layers, model.feat_dim)
    model.eval().to(device)

    def compute(keys, waves):
        x, lens = pad_batch([normalize_waveform(w) for w in waves])
        return {"data": list(model.pooled_layers(x.to(device), lens.to(device)).float().cpu().numpy())}

    return fill_cache(out_dir, encoder_hash(model), scp, lengths,
                      [CacheOutput("data", lambda u: shape, np.float32, "feats.scp")],
                      compute, batch_bins, what=f"pooled layers {shape}",
                      manifest_extra={"shape": list(shape)})


# ------------------------------------------- pre-training: the frozen lower XEUS stack
def frozen_stack_hash(upstream) -> str:
    """SHA-1 of the frozen part of an XeusUpstream (config, K and frozen weights)."""
    h = hashlib.sha1()
    h.update(json.dumps(getattr(upstream, "arch_config", {}), sort_keys=True, default=str).encode())
    h.update(f"K={upstream.first_trainable} mask={upstream.mask_padding}".encode())
    for module in upstream.frozen_modules():
        for name, tensor in sorted(module.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def cnn_frames(upstream, num_samples: int) -> int:
    """Frames the CNN frontend makes of ``num_samples`` (as its conv layers compute)."""
    n = num_samples
    for layer in upstream.upstream.frontend.layers:
        n = (n - layer.kernel_size) // layer.stride + 1
    return max(n, 0)


def frame_cache_bytes(upstream, lengths: Dict[str, int], dtype: str = "float16") -> int:
    """Disk the frame cache of these utterances needs (frames + frozen pooled vectors)."""
    d = upstream.output_size()
    item = np.dtype(dtype).itemsize
    frames = sum(cnn_frames(upstream, n) for n in lengths.values())
    return frames * d * item + len(lengths) * upstream.first_trainable * d * 4


@torch.no_grad()
def build_frame_cache(upstream, scp: Dict[str, str], lengths: Dict[str, int], out_dir: Path,
                      dtype: str = "float16", batch_bins: int = 800000,
                      device: str = "cpu") -> Dict[str, object]:
    """Outputs of the frozen XEUS stack for pre-training with only the top L blocks
    computed: ``frames/<utt>.npy`` (T', D), the input of the first trainable block, and
    ``frozen/<utt>.npy`` (K, D), the mean-pooled outputs of the K frozen blocks.

    In eval mode the model fed these equals the model fed the audio (float32 storage:
    to float rounding; float16 halves the disk, at 1e-3 relative precision)."""
    k, d = upstream.first_trainable, upstream.output_size()
    upstream.eval().to(device)

    def compute(keys, waves):
        x, lens = pad_batch([normalize_waveform(w) for w in waves])
        h, valid, flens, hs = upstream.frozen_stack(x.to(device), lens.to(device))
        frozen = masked_mean_layers(hs, valid) if hs else h.new_zeros(h.size(0), 0, d)
        return {"frames": [h[i, : int(flens[i])].float().cpu().numpy() for i in range(len(keys))],
                "frozen": list(frozen.float().cpu().numpy())}

    np_dtype = np.dtype(dtype).type
    outputs = [CacheOutput("frames", lambda u: (cnn_frames(upstream, lengths[u]), d), np_dtype),
               CacheOutput("frozen", lambda u: (k, d), np.float32)]
    return fill_cache(out_dir, frozen_stack_hash(upstream), scp, lengths, outputs, compute,
                      batch_bins, what=f"frozen-stack frames (K={k}, {dtype})",
                      manifest_extra={"first_trainable": k, "dim": d, "dtype": dtype})
