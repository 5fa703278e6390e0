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
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from espnet2_punser.inference import iterate_batches, pad_batch
from espnet2_punser.ser.preprocess import normalize_waveform

logger = logging.getLogger(__name__)


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


def _entry_ok(path: Path, shape) -> bool:
    try:
        x = np.load(path)
    except (OSError, ValueError, EOFError):
        return False
    return x.shape == tuple(shape) and x.dtype == np.float32 and bool(np.all(np.isfinite(x)))


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


@torch.no_grad()
def build_cache(model, scp: Dict[str, str], lengths: Dict[str, int], out_dir: Path,
                batch_bins: int = 800000, device: str = "cpu") -> Dict[str, object]:
    """Compute missing or bad entries of the cache in ``out_dir``; returns the manifest."""
    out_dir = Path(out_dir)
    data_dir = out_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    shape = (model.num_layers, model.feat_dim)
    digest = encoder_hash(model)
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
        p = data_dir / f"{utt}.npy"
        if not p.is_file():
            todo.append(utt)
        elif known.get(utt) != current[utt]:
            changed.append(utt)
        elif not _entry_ok(p, shape):
            bad.append(utt)
    if bad:
        logger.warning(f"{out_dir}: {len(bad)} truncated or corrupted entries will be "
                       f"recomputed: {bad[:10]}{' ...' if len(bad) > 10 else ''}")
    if changed:
        logger.warning(f"{out_dir}: the audio of {len(changed)} entries changed since they "
                       f"were cached; recomputed: {changed[:10]}{' ...' if len(changed) > 10 else ''}")
    todo = sorted(todo + bad + changed)
    model.eval().to(device)
    start, done, seconds_done = time.time(), 0, 0.0
    last_flush = start
    total_audio = sum(lengths[u] for u in todo) / 16000.0
    if todo:
        logger.info(f"encoder {digest}: computing pooled layers {shape} for {len(todo)} "
                    f"utterances ({total_audio / 3600:.2f} h)")
    for keys, waves in iterate_batches(scp, lengths, batch_bins, keys=todo):
        x, lens = pad_batch([normalize_waveform(w) for w in waves])
        pooled = model.pooled_layers(x.to(device), lens.to(device)).float().cpu().numpy()
        for k, feats in zip(keys, pooled):
            tmp = data_dir / f"{k}.npy.tmp"
            with open(tmp, "wb") as f:
                np.save(f, feats.astype(np.float32))
            tmp.replace(data_dir / f"{k}.npy")
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
    manifest = {"encoder_hash": digest, "shape": list(shape), "utterances": len(scp),
                "computed": len(todo), "recomputed": len(bad) + len(changed)}
    tmp = out_dir / "feats.scp.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for utt in sorted(scp):
            f.write(f"{utt} {(data_dir / f'{utt}.npy').resolve()}\n")
    tmp.replace(out_dir / "feats.scp")
    tmp = manifest_path.with_name(manifest_path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.replace(manifest_path)
    return manifest
