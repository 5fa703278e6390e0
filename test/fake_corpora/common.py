"""Helpers shared by the fake-corpus builders and the corpus tests.

- :class:`EmptyFiles`, :func:`write_audio`, :func:`write_mp4`, :class:`AudioWriter`: the
  audio of a fake tree (short clips, or 0-byte files for the full-size trees);
  :func:`encode_av`: a signal through a PyAV encoder (mp4, mp3).
- :func:`build_and_prepare`: build a fake corpus and prepare its data dir.
- :func:`prepare_fails`: preparing a (broken) tree raises the expected error.
- :func:`read_kaldi`, :func:`dropped_lines`, :func:`dropped_pairs`: read a data dir.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Iterable, List, NamedTuple, Optional

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
    n, frame = int(seconds * fs), 1024
    t = np.arange(n) / fs
    x = np.stack([0.2 * np.sin(2 * np.pi * (220 + 40 * c) * t)
                  for c in range(channels)]).astype(np.float32)
    for a in range(0, n, frame):  # the noise drawn frame by frame
        x[:, a:a + frame] += 0.01 * rng.standard_normal(x[:, a:a + frame].shape).astype(np.float32)
    return encode_av(path, x, fs, "mp4", "aac", frame)


def encode_av(path: Path, x: np.ndarray, fs: int, fmt: str, codec: str,
              frame: int = 1024) -> Path:
    """Encode ``x`` (channels x samples; 1, 2 or 6 channels) at ``fs`` with the PyAV
    ``codec`` into a ``fmt`` container at ``path``, ``frame`` samples a frame."""
    import av

    layout = {1: "mono", 2: "stereo", 6: "5.1"}[x.shape[0]]
    with av.open(str(path), mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=fs, layout=layout)
        for a in range(0, x.shape[1], frame):
            f = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, a:a + frame], np.float32),
                                           format="fltp", layout=layout)
            f.sample_rate = fs
            for packet in stream.encode(f):
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


class Prepared(NamedTuple):
    expected: dict  # what the builder says the parser should produce
    out: Path  # the data dir
    summary: dict  # prepare_corpus's summary


def build_and_prepare(fake: ModuleType, root: Path, seed: int = 0, *, full: bool = False,
                      corpus: Optional[str] = None, with_hours: bool = True,
                      **build) -> Prepared:
    """Build the fake corpus of module ``fake`` (of this package) at ``root`` with
    ``default_rng(seed)`` and the builder's options ``build``, then prepare it as
    ``corpus`` (default: the module's name) into ``out`` beside ``root``. ``full``: the
    full-size tree with 0-byte audio, so prepared without reading hours."""
    from espnet2_punser import corpora

    expected = fake.build(root, np.random.default_rng(seed), full=full, empty_audio=full,
                          **build)
    out = Path(root).parent / "out"
    summary = corpora.prepare_corpus(corpus or fake.__name__.rsplit(".", 1)[-1], root, out,
                                     with_hours=with_hours and not full)
    return Prepared(expected, out, summary)


def prepare_fails(corpus: str, root: Path, match: str, **kw) -> None:
    """Preparing ``root`` as ``corpus`` (into ``out`` beside it) raises a
    :class:`CorpusError` whose message matches the regex ``match``."""
    import pytest

    from espnet2_punser import corpora
    from espnet2_punser.corpora.base import CorpusError

    with pytest.raises(CorpusError, match=match):
        corpora.prepare_corpus(corpus, root, Path(root).parent / "out", **kw)


def dropped_lines(d: Path) -> List[str]:
    """The lines of ``d/dropped.txt`` (``item<TAB>reason``)."""
    return (Path(d) / "dropped.txt").read_text(encoding="utf-8").splitlines()


def dropped_pairs(d: Path) -> List[List[str]]:
    """``[item, reason]`` per line of ``d/dropped.txt``; ``dict()`` of it maps item to
    reason."""
    return [line.split("\t", 1) for line in dropped_lines(d)]


def read_kaldi(d: Path, name: str) -> dict:
    """``d/name`` as a ``key -> value`` map (``{}`` where there is no such file), read by
    the package's own reader, which also rejects empty lines and repeated keys."""
    from espnet2_punser.datadir import read_map

    return read_map(Path(d) / name, allow_missing=True)
