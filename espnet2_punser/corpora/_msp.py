"""Helpers shared by the MSP-lab corpora (MSP-Podcast, WHiSER, MSP-Improv).

- :func:`find_file`: a label file at its documented place, or (fallback) the shallowest
  file of that name under the root (so a root one level above the release also works).
- :func:`index_audio`: every audio file under some folders, by file name, without
  opening one (``._*`` macOS resource forks skipped).
- :class:`LabelledAudio`: the label rows' audio files, each once, with every copy,
  repeated row, missing and unlabelled file recorded in ``dropped.txt``.
- :func:`read_consensus_csv`: the 8-column ``labels_consensus.csv`` of MSP-Podcast and
  WHiSER (``FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set``).
- :func:`read_summary_blocks`: the ``labels.txt`` / ``Evaluation.txt`` block format
  (a summary line ``<file>; <code>; A:x; V:x; D:x; [N:x;]`` followed by one line per
  rater and a blank line).
- :func:`scaled_vad`: V/A/D (always in that order) through ``labels.scale_vad``, with
  the file and line in the error when a value is outside the documented scale.
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from espnet2_punser.corpora._files import entries, levels
from espnet2_punser.corpora.base import CorpusData, CorpusError, LabelConfig

CONSENSUS_COLUMNS = ("FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender",
                     "Split_Set")
MISSING = {"", "na", "nan", "n/a", "none", "null", "-"}
# folders never searched for label files (older releases' copies live there)
_SKIP_DIRS = {"previous_releases_information", "__macosx"}


def sanitize(s: str) -> str:
    """Characters outside [A-Za-z0-9_.-] become ``_`` (Kaldi ids)."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", s)


def find_file(root: Path, relpaths: Sequence[str], names: Sequence[str],
              max_depth: int = 3) -> Optional[Path]:
    """The first of ``root/relpaths`` that is a file; otherwise the shallowest file under
    ``root`` (at most ``max_depth`` folders down) named one of ``names`` (earlier names
    preferred at equal depth; case-insensitive). ``None`` when there is none."""
    for rel in relpaths:
        p = root / rel
        if p.is_file():
            return p
    wanted = [n.lower() for n in names]
    for level in levels(root, lambda e: e.name.lower() not in _SKIP_DIRS, max_depth):
        found = sorted((wanted.index(e.name.lower()), e.path) for e in level
                       if not e.is_dir() and e.name.lower() in wanted)
        if found:
            return Path(found[0][1])
    return None


def index_audio(dirs: Iterable[Path], suffixes: Sequence[str] = (".wav",),
                ) -> Tuple[Dict[str, str], List[str]]:
    """Audio files under ``dirs`` (recursively), by file name -> absolute path.

    Paths are absolute and resolved (each folder once; a file that is itself a symlink
    on its own), nothing is opened. Earlier folders, then sorted paths (a folder's files
    before its subfolders) win a name that occurs twice; the losers are returned as the
    second value. A folder reached twice is listed once.
    """
    suffixes = tuple(s.lower() for s in suffixes)
    out: Dict[str, str] = {}
    dups: List[str] = []
    visited = set()

    def walk(d: str) -> None:
        if d in visited:
            return
        visited.add(d)
        subdirs = []
        for e in entries(d):  # ._* resource forks, hidden files and folders left out
            name = e.name
            if e.is_dir():
                if name.lower() != "__macosx":
                    subdirs.append(os.path.realpath(e.path) if e.is_symlink() else e.path)
                continue
            if not name.lower().endswith(suffixes):
                continue
            path = os.path.realpath(e.path) if e.is_symlink() else e.path
            if name in out:
                if out[name] != path:
                    dups.append(path)
                continue
            out[name] = path
        for sub in subdirs:
            walk(sub)

    for top in dirs:
        if Path(top).is_dir():
            walk(os.path.realpath(top))
    return out, dups


class LabelledAudio:
    """The audio files that label rows name, each once, for one corpus.

    Made from :func:`index_audio`'s ``(audio, dups)``: the copies are recorded in ``data``
    at once. :meth:`utt_id` takes the rows in order; :meth:`drop_unlabelled` records the
    audio files no row names. ``searched`` says where audio was looked for (``under
    <root>``); ``repeat`` names a repeated row in ``dropped.txt``.
    """

    def __init__(self, data: CorpusData, audio: Dict[str, str], dups: List[str], corpus: str,
                 searched: str, repeat: str = "duplicate row"):
        self.data, self.audio, self.corpus = data, audio, corpus
        self.searched, self.repeat = searched, repeat
        self.seen: Dict[str, str] = {}  # wav name -> where its row is ("line 12")
        for path in dups:
            data.drop(path, "duplicate audio file name (another copy is used)")

    def utt_id(self, item: str, wav: str, first: str) -> Optional[str]:
        """The utterance id ``<corpus>_<wav stem>`` of the row ``item`` (``file:line:
        name``, found at ``first``) naming ``wav``; ``None`` (recorded in ``data``) for
        a repeat of an earlier row or a file not in the audio index."""
        if wav in self.seen:
            self.data.drop(item, f"{self.repeat} (first at {self.seen[wav]})")
            return None
        self.seen[wav] = first
        utt_id = f"{self.corpus}_{sanitize(wav[:-4])}"
        if wav not in self.audio:
            self.data.drop(utt_id, f"audio file {wav} not found {self.searched}")
            return None
        return utt_id

    def drop_unlabelled(self, named: Iterable[str], why: str) -> None:
        """Record every audio file not in ``named`` (file names), in name order."""
        for name in sorted(set(self.audio) - set(named)):
            self.data.drop(self.audio[name], why)


@dataclass
class ConsensusRow:
    line: int
    file: str
    code: Optional[str]
    act: str
    val: str
    dom: str
    spkr: str
    gender: str
    split: str


def read_consensus_csv(path: Path) -> List[ConsensusRow]:
    """Rows of an MSP ``labels_consensus.csv`` (blank lines skipped, BOM tolerated).

    Raises :class:`CorpusError` naming the file (and line) for a missing column or a
    row with the wrong number of fields. Values stay strings (see :func:`number`).
    """
    rows: List[ConsensusRow] = []
    try:
        f = open(path, encoding="utf-8-sig", newline="")
    except OSError as e:
        raise CorpusError(f"{path}: cannot read: {e}") from e
    with f:
        reader = csv.reader(f)
        header: Optional[List[str]] = None
        for rec in reader:
            if not rec or all(not x.strip() for x in rec):
                continue
            if header is None:
                header = [h.strip() for h in rec]
                lower = [h.lower() for h in header]  # column names matched case-insensitively
                missing = [c for c in CONSENSUS_COLUMNS if c.lower() not in lower]
                if missing:
                    raise CorpusError(f"{path}:{reader.line_num}: header {header} lacks the "
                                      f"columns {missing} (expected {','.join(CONSENSUS_COLUMNS)})")
                idx = [lower.index(c.lower()) for c in CONSENSUS_COLUMNS]
                continue
            if len(rec) != len(header) and not (len(rec) > len(header)
                                                and all(not x.strip() for x in rec[len(header):])):
                raise CorpusError(f"{path}:{reader.line_num}: {len(rec)} fields, the header has "
                                  f"{len(header)}: {','.join(rec)[:200]}")
            f_, c_, a_, v_, d_, s_, g_, p_ = (rec[i].strip() for i in idx)
            rows.append(ConsensusRow(reader.line_num, f_, None if c_.lower() in MISSING else c_,
                                     a_, v_, d_, s_, g_, p_))
        if header is None:
            raise CorpusError(f"{path}: empty file (no header)")
    return rows


def number(value: str, where: str) -> float:
    """A rating as float; ``nan`` for an empty/NA value; CorpusError otherwise."""
    v = value.strip()
    if v.lower() in MISSING:
        return math.nan
    try:
        return float(v)
    except ValueError:
        raise CorpusError(f"{where}: {value!r} is not a number") from None


def scaled_vad(labels: LabelConfig, v: float, a: float, d: float,
               where: str) -> Optional[Tuple[float, float, float]]:
    """``labels.scale_vad(v, a, d)``; ``None`` when any of the three is missing (NaN).
    A value outside the documented scale raises :class:`CorpusError` naming ``where``."""
    if any(math.isnan(x) for x in (v, a, d)):
        return None
    try:
        return labels.scale_vad(v, a, d)
    except ValueError as e:
        raise CorpusError(f"{where}: V/A/D ({v}, {a}, {d}): {e} (scale from {labels.path})") from e


# ------------------------------------------------------------------ labels.txt blocks
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[Nn][Aa][Nn]"
SUMMARY_RE = re.compile(
    rf"^(?P<name>[^;\s]+)\s*;\s*(?P<code>[^;]*?)\s*;"
    rf"\s*A:\s*(?P<A>{_NUM})\s*;\s*V:\s*(?P<V>{_NUM})\s*;\s*D:\s*(?P<D>{_NUM})\s*;"
    rf"(?:\s*N:\s*(?P<N>{_NUM})\s*;)?\s*$")
_MEDIA_RE = re.compile(r"^[^;\s]+\.(?:wav|avi|mp4)\s*;", re.IGNORECASE)


@dataclass
class SummaryLine:
    line: int
    name: str
    code: Optional[str]
    act: float
    val: float
    dom: float
    nat: Optional[float]
    raters: int = 0


def read_summary_blocks(path: Path) -> List[SummaryLine]:
    """Summary lines of a ``labels.txt`` / ``Evaluation.txt`` file.

    A summary line starts with a media file name (``.wav``/``.avi``) and must match
    ``<file>; <code>; A:x; V:x; D:x;`` with an optional ``N:x;`` (the space before a ';'
    is optional, values may be ``NaN``); anything else that is not blank is a rater line
    of the current block. A malformed summary line raises :class:`CorpusError` with the
    file and line.
    """
    out: List[SummaryLine] = []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise CorpusError(f"{path}: cannot read: {e}") from e
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        if _MEDIA_RE.match(s):
            m = SUMMARY_RE.match(s)
            if not m:
                raise CorpusError(f"{path}:{n}: malformed summary line (expected "
                                  f"'<file>; <code>; A:x; V:x; D:x; [N:x;]'): {s[:200]}")
            code = m["code"].strip()
            where = f"{path}:{n}"
            out.append(SummaryLine(
                line=n, name=m["name"], code=code or None,
                act=number(m["A"], where), val=number(m["V"], where), dom=number(m["D"], where),
                nat=None if m["N"] is None else number(m["N"], where)))
        elif out:
            out[-1].raters += 1
        # text before the first summary line (none in the releases) is ignored
    return out
