"""Helpers shared by the fake-corpus builders."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_audio(path: Path, rng: np.random.Generator, fs: int = 16000, seconds: float = 0.05,
                channels: int = 1, empty: bool = False) -> Path:
    """A short noise clip (16-bit PCM) at ``fs``, or an empty file when ``empty``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if empty:
        path.write_bytes(b"")
        return path
    import soundfile

    n = max(1, int(seconds * fs))
    x = 0.1 * rng.standard_normal((n, channels)).astype(np.float32)
    fmt = "AIFF" if path.suffix.lower() in (".aiff", ".aif") else None
    soundfile.write(str(path), x, fs, subtype="PCM_16", format=fmt)
    return path


def write_mp4(path: Path, rng: np.random.Generator, fs: int = 48000, seconds: float = 0.3,
              channels: int = 6, empty: bool = False) -> Path:
    """An mp4 with one AAC audio track (``channels`` channels), like MELD's clips."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if empty:
        path.write_bytes(b"")
        return path
    import av

    layout = {1: "mono", 2: "stereo", 6: "5.1"}[channels]
    n = int(seconds * fs)
    t = np.arange(n) / fs
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("aac", rate=fs, layout=layout)
        frame_size = 1024
        for a in range(0, n, frame_size):
            chunk = np.stack([0.2 * np.sin(2 * np.pi * (220 + 40 * c) * t[a:a + frame_size])
                              for c in range(channels)]).astype(np.float32)
            chunk += 0.01 * rng.standard_normal(chunk.shape).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = fs
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def read_kaldi(d: Path, name: str) -> dict:
    p = Path(d) / name
    if not p.exists():
        return {}
    out = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    return out
