"""Helpers shared by the fake-corpus builders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional

import numpy as np


class EmptyFiles:
    """Writes 0-byte files quickly (the empty audio of the full-size fake trees, up to
    ~85,000 files): after the first one, each file is a hard link of an earlier one
    (creating inodes is what makes writing many files slow on some file systems; a link
    is much cheaper), with a fresh source every ``max_links`` links (ext4 allows 65,000
    links per inode) and a plain new file wherever linking fails (another file system,
    the link limit). Parent folders are created once each.

    Use one instance per build: the files of an instance share inodes, so a file that a
    test wants to change must be replaced (unlinked first), not written into.
    """

    def __init__(self, max_links: int = 50000):
        self.max_links = max_links
        self._source: Optional[str] = None
        self._links = 0
        self._dirs: set = set()

    def __call__(self, path) -> Path:
        path = Path(path)
        parent = str(path.parent)
        if parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        if self._source is not None and self._links < self.max_links:
            try:
                os.link(self._source, path)
                self._links += 1
                return path
            except OSError:
                pass
        if path.is_symlink() or path.exists():
            path.unlink()  # never write into a file that may be linked
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644))
        self._source, self._links = str(path), 0
        return path

    def all(self, paths: Iterable) -> None:
        for path in paths:
            self(path)


def write_audio(path: Path, rng: np.random.Generator, fs: int = 16000, seconds: float = 0.05,
                channels: int = 1, empty: bool = False,
                empty_files: Optional[EmptyFiles] = None) -> Path:
    """A short noise clip (16-bit PCM) at ``fs``, or, when ``empty``, a 0-byte file made
    by ``empty_files`` (a hard link where it can; see :class:`EmptyFiles`)."""
    if empty:
        return (empty_files or EmptyFiles())(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    import soundfile

    n = max(1, int(seconds * fs))
    x = 0.1 * rng.standard_normal((n, channels)).astype(np.float32)
    fmt = "AIFF" if path.suffix.lower() in (".aiff", ".aif") else None
    soundfile.write(str(path), x, fs, subtype="PCM_16", format=fmt)
    return path


def write_mp4(path: Path, rng: np.random.Generator, fs: int = 48000, seconds: float = 0.3,
              channels: int = 6, empty: bool = False,
              empty_files: Optional[EmptyFiles] = None) -> Path:
    """An mp4 with one AAC audio track (``channels`` channels), like MELD's clips, or a
    0-byte file when ``empty`` (see :func:`write_audio`)."""
    if empty:
        return (empty_files or EmptyFiles())(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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


class AudioWriter:
    """``write(path)`` writes a short noise clip at ``fs`` or, with ``empty``, a 0-byte
    file through one :class:`EmptyFiles` (hard links) for the whole build. Use it as a
    context manager or call it directly; one instance per build."""

    def __init__(self, rng: np.random.Generator, fs: int = 16000, empty: bool = False):
        self.rng = rng
        self.fs = fs
        self.empty = empty
        self.empty_files = EmptyFiles()

    def __enter__(self) -> "AudioWriter":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def __call__(self, path: Path, fs: Optional[int] = None, seconds: float = 0.05,
                 channels: int = 1) -> Path:
        return write_audio(Path(path), self.rng, fs=fs or self.fs, seconds=seconds,
                           channels=channels, empty=self.empty,
                           empty_files=self.empty_files)

    def all(self, paths: Iterable, **kw) -> None:
        for path in paths:
            self(path, **kw)


def read_kaldi(d: Path, name: str) -> dict:
    p = Path(d) / name
    if not p.exists():
        return {}
    out = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    return out
