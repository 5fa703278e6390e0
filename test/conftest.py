"""Shared fixtures: the repository layout, the tiny XEUS config, generated clips."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from espnet2_punser.espnet_imports import defer_slow_espnet_imports

defer_slow_espnet_imports()

REPO = Path(__file__).resolve().parent.parent
RECIPE = REPO / "egs2" / "punser" / "ser1"
TINY_XEUS = RECIPE / "conf" / "xeus" / "tiny.yaml"
FULL_XEUS = RECIPE / "conf" / "xeus" / "xeus.yaml"
PYTHON = sys.executable


@pytest.fixture
def tiny_xeus_config() -> Path:
    return TINY_XEUS


def write_wav(path: Path, x: np.ndarray, fs: int = 16000) -> None:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), x.astype(np.float32), fs, subtype="PCM_16")


def make_tone_set(root: Path, n: int, seed: int, name: str = "set"):
    """Write ``n`` learnable clips: the class sets the pitch, V/A/D follow it.

    Every third clip has a category only, every third V/A/D only, the rest both.
    Returns the data dir with ``wav.scp``, ``cat`` (-1 = missing) and ``vad``
    (nan = missing).
    """
    rng = np.random.default_rng(seed)
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    fs = 16000
    lines = {"wav.scp": [], "cat": [], "vad": []}
    for i in range(n):
        k = i % 4
        dur = rng.uniform(0.6, 1.2)
        t = np.arange(int(dur * fs)) / fs
        f0 = [120.0, 220.0, 400.0, 700.0][k] * rng.uniform(0.95, 1.05)
        x = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
        x = x + 0.05 * rng.standard_normal(t.size)
        utt = f"{name}_{i:04d}"
        write_wav(d / "wav" / f"{utt}.wav", 0.3 * x / np.abs(x).max(), fs)
        lines["wav.scp"].append(f"{utt} {d / 'wav' / (utt + '.wav')}")
        has_cat = i % 3 != 1
        has_vad = i % 3 != 0
        lines["cat"].append(f"{utt} {k if has_cat else -1}")
        v = [k / 3.0, 1 - k / 3.0, 0.5] if has_vad else [float("nan")] * 3
        lines["vad"].append(f"{utt} " + " ".join("nan" if np.isnan(a) else f"{a:.4f}" for a in v))
    for fname, rows in lines.items():
        (d / fname).write_text("\n".join(sorted(rows)) + "\n")
    return d


@pytest.fixture
def fast_tmp(tmp_path):
    """Scratch space in RAM where there is some (the full-size fake corpora are many
    small files, slow on disk); ``tmp_path`` otherwise."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        d = Path(tempfile.mkdtemp(dir=shm, prefix="punser_test_"))
        yield d
        shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "2"))
