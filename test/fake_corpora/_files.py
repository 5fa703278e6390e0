"""Writing many fake audio files quickly (used by the builders of the corpora labelled
by file name, whose full-size trees hold up to 20,000 files)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from fake_corpora.common import write_audio


class AudioWriter:
    """``writer(path)`` writes a short noise clip at ``fs`` or, with ``empty``, an
    empty file. Empty files are hard links of one empty file (creating thousands of
    files one by one takes seconds on some file systems); the template is removed
    by :meth:`close` (the links stay). Parent folders are created once each."""

    def __init__(self, root: Path, rng: np.random.Generator, fs: int, empty: bool = False):
        self.root = Path(root)
        self.rng = rng
        self.fs = fs
        self.empty = empty
        self._template: Optional[Path] = None
        self._dirs = set()

    def __enter__(self) -> "AudioWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __call__(self, path: Path, fs: Optional[int] = None, seconds: float = 0.05) -> Path:
        path = Path(path)
        parent = str(path.parent)
        if parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        if not self.empty:
            return write_audio(path, self.rng, fs=fs or self.fs, seconds=seconds)
        if self._template is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._template = self.root / ".fake_empty_audio"
            self._template.write_bytes(b"")
        try:
            os.link(self._template, path)
        except OSError:
            path.write_bytes(b"")
        return path

    def close(self) -> None:
        if self._template is not None and self._template.exists():
            self._template.unlink()
        self._template = None
