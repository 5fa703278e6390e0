"""Helpers shared by the corpus parsers: finding and choosing files and, for the corpora
that take their labels from file names, turning the kept files into utterances.

- :func:`walk_files`: every file under a root whose extension is one of ``exts``,
  recursively, sorted, following directory symlinks once, skipping macOS ``._*``
  resource forks, ``__MACOSX/`` and hidden folders.
- :class:`Resolver`: the absolute path written to ``wav.scp`` (``path.resolve()``), or
  ``None`` (and a ``dropped.txt`` line) where it cannot be written as UTF-8 (raw bytes
  of a DOS code page left by ``unzip``).
- :func:`safe_id`: a name restricted to the characters of a Kaldi id.
- :func:`keep_one`: choose one file among several that give the same utterance id
  (the same corpus unpacked twice, a nested duplicate, .wav beside .aiff).
- :func:`pick_files`: the files a corpus keeps by utterance key (name checks, then
  :func:`keep_one`), every other file recorded in ``dropped.txt`` with its reason.
- :func:`add_files`: one utterance per kept file, its speaker and label code taken
  from its name (:func:`add_utterance` for one).
- :func:`entries`, :func:`levels`: the visible entries of a folder; breadth first below
  a root, level by level (the searches for a corpus's folders and label files).
- :func:`find_dirs`: folders of a given name at or below a root.
- :func:`show`: a path as text that can always be written to ``dropped.txt``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from espnet2_punser.corpora.base import CorpusData, LabelConfig, Utterance


def is_junk(name: str) -> bool:
    """macOS resource forks (``._x.wav``) and Finder files, skipped silently."""
    return name.startswith("._") or name == ".DS_Store"


def walk_files(root: Path, exts: Sequence[str] = (".wav",)) -> List[Path]:
    """Files under ``root`` (recursively) whose lower-cased suffix is in ``exts``.

    Sorted by path; ``._*`` files, ``__MACOSX`` and hidden folders (``.git``, ...)
    below ``root`` are skipped; symlinked directories are followed, each real
    directory visited once.
    """
    exts = tuple(e.lower() for e in exts)
    out: List[str] = []
    seen = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if d != "__MACOSX" and not d.startswith("."))
        for name in filenames:
            if is_junk(name):
                continue
            if os.path.splitext(name)[1].lower() in exts:
                out.append(os.path.join(dirpath, name))
    out.sort()
    return [Path(p) for p in out]


def safe_id(text: str) -> str:
    """``text`` with every character outside [A-Za-z0-9_.-] replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", text)


def _utf8(p: str) -> Optional[str]:
    try:
        p.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return p


def show(path) -> str:
    """``path`` as text that can always be written as UTF-8 (undecodable bytes of a
    file name appear as ``\\xNN``), for ``dropped.txt`` and messages."""
    text = str(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")


def depth(path: Path, root: Path) -> int:
    """How many folders down from ``root`` ``path`` lies (1 for a file in ``root``)."""
    p, r = str(path), str(root).rstrip(os.sep)
    if p.startswith(r + os.sep):
        p = p[len(r) + 1:]
    return p.count(os.sep) + 1


DUPLICATE = "duplicate: another file with the same id is kept"
KeyOf = Callable[[Path], Tuple[Optional[str], Optional[str]]]


def keep_one(
    groups: Dict[str, List[Path]],
    data: CorpusData,
    rank: Callable[[Path], Tuple],
    why: "str | Callable[[Path, Path], str]" = DUPLICATE,
) -> Dict[str, Path]:
    """For each key keep the file with the smallest ``rank`` (ties: the path); record
    every other file of the key in ``data.dropped`` with the reason ``why`` (or
    ``why(other, kept)``), kept generic so that ``summary.json`` can count them."""
    kept: Dict[str, Path] = {}
    n = 0
    for key, paths in groups.items():
        ordered = sorted(paths, key=lambda p: (rank(p), str(p)))
        kept[key] = ordered[0]
        for other in ordered[1:]:
            data.drop(show(other), why(other, ordered[0]) if callable(why) else why)
            n += 1
    if n:
        data.notes.append(f"{n} files dropped as copies of files kept under another path")
    return kept


def group_by(items: Iterable[Tuple[str, Path]]) -> Dict[str, List[Path]]:
    out: Dict[str, List[Path]] = {}
    for key, path in items:
        out.setdefault(key, []).append(path)
    return out


def pick_files(
    data: CorpusData,
    paths: Iterable[Path],
    key_of: KeyOf,
    rank: Callable[[Path], Tuple],
    why: "str | Callable[[Path, Path], str]" = DUPLICATE,
) -> Dict[str, Path]:
    """The files of ``paths`` a corpus keeps, by utterance key: ``key_of(path)`` gives
    ``(key, None)``, or ``(None, reason)`` for a file that is dropped (recorded in
    ``data`` at once); of several files with one key, :func:`keep_one` keeps one.
    Empty when no file has a key (the caller says what it expected)."""
    named: List[Tuple[str, Path]] = []
    for path in paths:
        key, reason = key_of(path)
        if key is None:
            data.drop(show(path), reason)
        else:
            named.append((key, path))
    return keep_one(group_by(named), data, rank, why) if named else {}


BAD_PATH = ("the path is not valid UTF-8 (a folder name unzipped in a DOS code page); "
            "rename it, e.g. convmv -r -f cp437 -t utf-8 --notest <root>")


class Resolver:
    """``path -> str(path.resolve())`` for many files: each folder is resolved once
    (a file that is itself a symlink is resolved in full). A path that cannot be
    written as UTF-8 gives ``None`` and is recorded in ``data`` (with a note, once)."""

    def __init__(self, data: CorpusData):
        self.data = data
        self._dirs: Dict[str, str] = {}

    def __call__(self, path: Path) -> Optional[str]:
        text = str(path)
        if os.path.islink(text):
            p: Optional[str] = str(Path(text).resolve())
        else:
            parent, name = os.path.split(text)
            real = self._dirs.get(parent)
            if real is None:
                real = self._dirs[parent] = str(Path(parent).resolve())
            p = os.path.join(real, name)
        p = _utf8(p)
        if p is None:
            self.data.drop(show(path), BAD_PATH)
            note = f"some files were dropped: {BAD_PATH}"
            if note not in self.data.notes:
                self.data.notes.append(note)
        return p


def add_utterance(data: CorpusData, labels: LabelConfig, corpus: str, key: str, path: str,
                  speaker: str, code: Optional[str], text: Optional[str] = None) -> None:
    """``data.add`` the utterance ``<corpus>_<key>`` of the audio file ``path``, with the
    speaker and session ``<corpus>_<speaker>`` (a corpus without sessions) and its
    category ``code`` mapped through ``labels``."""
    cat, why = labels.category(code)
    data.add(Utterance(
        utt_id=f"{corpus}_{key}",
        path=path,
        speaker=f"{corpus}_{speaker}",
        session=f"{corpus}_{speaker}",
        category=cat,
        text=text,
        code=code,
    ), why)


def add_files(data: CorpusData, labels: LabelConfig, corpus: str, files: Dict[str, Path],
              describe: Callable[[str, Path], Tuple[str, str, Optional[str]]]) -> None:
    """:func:`add_utterance` for each ``key -> path`` of ``files`` (in key order):
    ``describe(key, path)`` gives its ``(speaker, code, text)``; the path written is the
    :class:`Resolver`'s (a file it cannot write is dropped there)."""
    resolve = Resolver(data)
    for key, path in sorted(files.items()):
        speaker, code, text = describe(key, path)
        wav = resolve(path)
        if wav is not None:
            add_utterance(data, labels, corpus, key, wav, speaker, code, text)


def entries(folder) -> List[os.DirEntry]:
    """The entries of ``folder`` sorted by name, hidden ones (``.*``, so also ``._*``)
    left out; none where it cannot be read."""
    try:
        with os.scandir(folder) as it:
            return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError:
        return []


def levels(root: Path, descend: Callable[[os.DirEntry], bool],
           max_depth: int) -> Iterator[List[os.DirEntry]]:
    """Breadth first below ``root``: the :func:`entries` of ``root`` (level 0), then
    those of the folders among them for which ``descend(entry)`` holds, and so on; one
    list per level, ``max_depth + 1`` levels at most. Stop iterating to stop the walk."""
    level = [root]
    for _ in range(max_depth + 1):
        found = [e for d in level for e in entries(d)]
        yield found
        level = [e.path for e in found if e.is_dir() and descend(e)]
        if not level:
            return


def find_dirs(root: Path, name: str, max_depth: int = 4) -> List[Path]:
    """Folders called ``name`` (case-insensitive) at or below ``root``, at most
    ``max_depth`` levels down: ``[root]`` if it is one, else all those at the shallowest
    level where any is found."""
    root = Path(root)
    want = name.lower()
    if root.name.lower() == want:
        return [root]
    out: List[Path] = []
    for found in levels(root, lambda e: e.name != "__MACOSX" and e.name.lower() != want,
                        max_depth - 1):
        out = [Path(e.path) for e in found if e.is_dir() and e.name.lower() == want]
        if out:
            break
    return out
