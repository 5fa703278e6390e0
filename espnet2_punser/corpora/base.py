"""What every corpus module shares: records, label maps, the Kaldi writer, validation.

A corpus module (one file per corpus, listed in ``espnet2_punser.corpora.REGISTRY``)
defines ``INFO: CorpusInfo`` and ``prepare(root: Path, labels: LabelConfig) -> CorpusData``.
``prepare`` only parses metadata (it never decodes audio) and returns one
:class:`Utterance` per audio file with the corpus's own label codes already mapped
through ``labels`` (``conf/labels/<corpus>.yaml``), plus every file it left out and why.
:func:`write_data_dir` turns that into the Kaldi data dir of design.md section 4,
atomically, and validates it.

Kaldi data dir (one per corpus):

| file | content |
|---|---|
| ``wav.scp`` | ``utt path`` (``rec path`` with ``segments``) |
| ``segments`` | ``utt rec start end`` (only for corpora cut from longer recordings) |
| ``utt2spk``, ``spk2utt`` | corpus-prefixed speaker ids |
| ``utt2cat`` | one of the 8 unified classes, only where the utterance has one |
| ``utt2vad`` | ``V A D`` in [0, 1], only where the utterance has dimensions |
| ``utt2corpus``, ``utt2session`` | corpus name; session / fold unit |
| ``utt2split`` | official split (only for corpora that publish one) |
| ``text`` | transcript, where the corpus has one |
| ``dropped.txt`` | ``item<TAB>reason`` for every file or label left out |
| ``summary.json`` | counts, hours, classes, speakers, the paper's Table I count |
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from espnet2_punser.datadir import DataDirError, read_map, write_map
from espnet2_punser.labels import EMOTIONS, format_vad, minmax_scale

logger = logging.getLogger(__name__)

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class CorpusError(DataDirError):
    """A corpus that cannot be prepared; the message says which file and why."""


@dataclass(frozen=True)
class CorpusInfo:
    """Static facts about a corpus (paper Table I and corpora.md)."""

    name: str  # registry key, e.g. "emodb"
    title: str  # e.g. "EmoDB"
    role: str  # "pretrain", "eval", "synthetic" or "generic"
    kind: str  # ACT / IMPRO / SPNT, as in Table I
    language: str  # ENG, GER, ... as in Table I
    db_var: str  # variable of db.sh holding the corpus root
    paper_utterances: Optional[int] = None
    paper_hours: Optional[float] = None
    paper_speakers: Optional[str] = None
    splits_disjoint: bool = True  # official splits must not share speakers
    source: str = ""  # where to get it
    layout: str = ""  # what ``root`` must contain


@dataclass
class Utterance:
    utt_id: str  # corpus-prefixed, unique, e.g. "emodb_03a01Fa"
    path: str  # audio file (absolute) or recording path for segments
    speaker: str  # corpus-prefixed, e.g. "emodb_03"
    session: str  # fold unit (corpus-prefixed); the speaker where there is none
    category: Optional[str] = None  # unified class, None = no category
    vad: Optional[Tuple[float, float, float]] = None  # scaled to [0, 1]
    text: Optional[str] = None
    split: Optional[str] = None  # official split name
    segment: Optional[Tuple[float, float]] = None  # (start, end) seconds in ``path``
    code: Optional[str] = None  # the corpus's own category code


@dataclass
class Dropped:
    item: str  # utterance id or path
    reason: str


@dataclass
class CorpusData:
    utterances: List[Utterance] = field(default_factory=list)
    dropped: List[Dropped] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def drop(self, item: str, reason: str) -> None:
        self.dropped.append(Dropped(str(item), reason))

    def add(self, utt: Utterance, category_problem: Optional[str] = None) -> None:
        """Keep ``utt``; ``category_problem`` (from :meth:`LabelConfig.category`) says
        why its category was not mapped. Without dimensions the utterance is then
        dropped; with dimensions it is kept for them and the dropped category is
        recorded."""
        if category_problem:
            if utt.vad is None:
                self.drop(utt.utt_id, category_problem)
                return
            self.drop(utt.utt_id, f"{category_problem}; kept for its V/A/D only")
        self.utterances.append(utt)


@dataclass
class LabelConfig:
    """A corpus's label inventory and code map (``conf/labels/<corpus>.yaml``).

    ``codes`` maps each of the corpus's category codes to a unified class, or to
    ``null`` for codes that are dropped from ``utt2cat`` (the utterance keeps its
    dimensions). ``scale`` is the documented V/A/D scale ``[low, high]``.
    """

    corpus: str
    classes: List[str]
    codes: Dict[str, Optional[str]]
    scale: Optional[Tuple[float, float]] = None
    path: Optional[Path] = None
    protocols: Dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "LabelConfig":
        path = Path(path)
        if not path.is_file():
            raise CorpusError(f"label config not found: {path}")
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
        classes = [str(c) for c in raw.get("classes") or []]
        codes = {str(k): (None if v is None else str(v)) for k, v in (raw.get("codes") or {}).items()}
        bad = sorted({c for c in classes + [v for v in codes.values() if v]} - set(EMOTIONS))
        if bad:
            raise CorpusError(f"{path}: classes {bad} are not among the unified {list(EMOTIONS)}")
        outside = sorted({v for v in codes.values() if v and v not in classes})
        if outside:
            raise CorpusError(f"{path}: codes map to {outside}, which are not in 'classes'")
        dims = raw.get("dimensions") or None
        scale = None
        if dims:
            lo, hi = dims["scale"]
            scale = (float(lo), float(hi))
        return cls(
            corpus=str(raw.get("corpus", path.stem)),
            classes=[c for c in EMOTIONS if c in classes],
            codes=codes,
            scale=scale,
            path=path,
            protocols=raw.get("protocols") or {},
        )

    def category(self, code: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
        """Map a corpus code -> (unified class or None, reason it was dropped or None)."""
        if code is None:
            return None, None
        code = str(code)
        if code not in self.codes:
            return None, f"unknown category code {code!r}"
        cls = self.codes[code]
        if cls is None:
            return None, f"category code {code!r} is not one of the 8 classes"
        return cls, None

    def scale_vad(self, v, a, d) -> Tuple[float, float, float]:
        """Min-max scale V, A, D from the corpus scale to [0, 1]."""
        if self.scale is None:
            raise CorpusError(f"{self.path}: the corpus has no 'dimensions: scale'")
        lo, hi = self.scale
        return tuple(minmax_scale(float(x), lo, hi) for x in (v, a, d))  # type: ignore


def default_labels_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "conf" / "labels"


def load_labels(name: str, labels_dir: Optional[Path] = None) -> LabelConfig:
    return LabelConfig.load(Path(labels_dir or default_labels_dir()) / f"{name}.yaml")


# --------------------------------------------------------------------------- writing
def _atomic_dir(out_dir: Path) -> Path:
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def finalize(data: CorpusData) -> CorpusData:
    """Drop utterances that carry no label at all (no category and no dimensions);
    check ids. Returns the data sorted by utterance id."""
    kept: List[Utterance] = []
    for u in data.utterances:
        if u.category is None and u.vad is None:
            data.drop(u.utt_id, "neither a category nor dimensions")
            continue
        kept.append(u)
    kept.sort(key=lambda u: u.utt_id)
    seen = Counter(u.utt_id for u in kept)
    dup = [k for k, n in seen.items() if n > 1]
    if dup:
        raise CorpusError(f"duplicate utterance ids: {dup[:5]}")
    checked = set()  # speakers and sessions already found valid
    match = ID_RE.match
    for u in kept:
        for value, what in ((u.utt_id, "utterance id"), (u.speaker, "speaker"),
                            (u.session, "session")):
            if value in checked:
                continue
            if not match(value):
                raise CorpusError(f"{what} {value!r} (file {u.path}) has characters "
                                  "outside [A-Za-z0-9_.-]")
            if what != "utterance id":
                checked.add(value)
    data.utterances = kept
    return data


def write_data_dir(
    data: CorpusData,
    info: CorpusInfo,
    labels: LabelConfig,
    out_dir: Path,
    check_audio: bool = True,
    with_hours: bool = True,
) -> dict:
    """Write the Kaldi dir (to ``out_dir.tmp``, then moved into place), validate it,
    and return (and save) its summary."""
    out_dir = Path(out_dir)
    data = finalize(data)
    if not data.utterances:
        raise CorpusError(f"{info.title}: no utterance left to write ({len(data.dropped)} dropped)")
    tmp = _atomic_dir(out_dir)
    utts = data.utterances
    if any(u.segment for u in utts):
        if not all(u.segment for u in utts):
            raise CorpusError(f"{info.title}: mix of segmented and whole-file utterances")
        recs = {}
        for u in utts:
            rec = recording_id(info.name, u.path)
            recs[rec] = u.path
        write_map(tmp / "wav.scp", sorted(recs.items()))
        write_map(tmp / "segments", (
            (u.utt_id, f"{recording_id(info.name, u.path)} {u.segment[0]:.3f} {u.segment[1]:.3f}")
            for u in utts))
    else:
        write_map(tmp / "wav.scp", ((u.utt_id, u.path) for u in utts))
    write_map(tmp / "utt2spk", ((u.utt_id, u.speaker) for u in utts))
    spk2utt: Dict[str, List[str]] = defaultdict(list)
    for u in utts:
        spk2utt[u.speaker].append(u.utt_id)
    write_map(tmp / "spk2utt", ((s, " ".join(v)) for s, v in sorted(spk2utt.items())))
    write_map(tmp / "utt2cat", ((u.utt_id, u.category) for u in utts if u.category))
    write_map(tmp / "utt2vad", ((u.utt_id, format_vad(u.vad)) for u in utts if u.vad))
    write_map(tmp / "utt2corpus", ((u.utt_id, info.name) for u in utts))
    write_map(tmp / "utt2session", ((u.utt_id, u.session) for u in utts))
    if any(u.split for u in utts):
        write_map(tmp / "utt2split", ((u.utt_id, u.split or "none") for u in utts))
    if any(u.text for u in utts):
        write_map(tmp / "text", ((u.utt_id, " ".join((u.text or "").split()) or "<none>")
                                  for u in utts))
    with open(tmp / "dropped.txt", "w", encoding="utf-8") as f:
        for d in data.dropped:
            f.write(f"{d.item}\t{d.reason}\n")
    problems = validate_data_dir(tmp, labels.classes or list(EMOTIONS),
                                 check_audio=check_audio, splits_disjoint=info.splits_disjoint)
    if problems:
        raise CorpusError(f"{info.title}: the prepared data dir is invalid:\n  " +
                          "\n  ".join(problems[:20]))
    summary = summarize(tmp, info, data, with_hours=with_hours)
    (tmp / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return summary


def recording_id(corpus: str, path: str) -> str:
    stem = Path(path).stem
    return f"{corpus}_" + re.sub(r"[^A-Za-z0-9_.\-]", "_", stem)


# ------------------------------------------------------------------------ validation
def validate_data_dir(
    d: Path,
    inventory: Sequence[str] = EMOTIONS,
    check_audio: bool = True,
    splits_disjoint: bool = True,
) -> List[str]:
    """Check a corpus data dir; returns problems as ``file:line: message`` strings.

    Checks: ids sorted and unique, the same keys in every per-utterance file,
    categories in the inventory, V/A/D in [0, 1], audio paths exist, speakers do not
    cross official splits (where they must not).
    """
    d = Path(d)
    problems: List[str] = []
    required = ("wav.scp", "utt2spk", "utt2corpus", "utt2session")
    for name in required:
        if not (d / name).is_file():
            problems.append(f"{d / name}: missing")
    if problems:
        return problems
    segmented = (d / "segments").is_file()
    keys_file = "segments" if segmented else "wav.scp"
    maps: Dict[str, Dict[str, str]] = {}  # each file is read once

    def read(name: str) -> Dict[str, str]:
        if name not in maps:
            maps[name] = read_map(d / name)
        return maps[name]

    try:
        base = read(keys_file)
    except DataDirError as e:
        return [str(e)]
    ids = list(base)
    if ids != sorted(ids):
        problems.append(f"{d / keys_file}: ids are not sorted")
    for name in ("utt2spk", "utt2corpus", "utt2session", "utt2split", "text"):
        p = d / name
        if not p.is_file():
            continue
        try:
            m = read(name)
        except DataDirError as e:
            problems.append(str(e))
            continue
        if list(m) != ids:
            extra = sorted(set(m) - set(ids))[:3]
            missing = sorted(set(ids) - set(m))[:3]
            problems.append(f"{p}: keys differ from {keys_file} (extra {extra}, missing {missing})")
    for name in ("utt2cat", "utt2vad"):
        p = d / name
        if not p.is_file():
            continue
        idset = set(ids)
        with open(p, encoding="utf-8") as f:
            prev = None
            for n, line in enumerate(f, 1):
                parts = line.split()
                if not parts or parts[0] not in idset:
                    problems.append(f"{p}:{n}: unknown utterance {parts[:1]}")
                    continue
                if prev is not None and parts[0] <= prev:
                    problems.append(f"{p}:{n}: not sorted or duplicate key {parts[0]}")
                prev = parts[0]
                if name == "utt2cat":
                    if len(parts) != 2 or parts[1] not in inventory:
                        problems.append(f"{p}:{n}: category {parts[1:]} not in {list(inventory)}")
                else:
                    try:
                        vals = [float(x) for x in parts[1:]]
                    except ValueError:
                        vals = []
                    if len(vals) != 3 or any(not (0.0 <= v <= 1.0) for v in vals if not math.isnan(v)):
                        problems.append(f"{p}:{n}: V/A/D {parts[1:]} not three values in [0, 1]")
    if check_audio:
        wav = read("wav.scp")
        isfile = os.path.isfile
        for n, (k, path) in enumerate(wav.items(), 1):
            if path.rstrip().endswith("|"):
                continue  # a pipe
            if not isfile(path):
                problems.append(f"{d / 'wav.scp'}:{n}: audio file not found: {path}")
                if len(problems) > 50:
                    break
    if splits_disjoint and (d / "utt2split").is_file():
        spk = read("utt2spk")
        split = read("utt2split")
        where: Dict[str, set] = defaultdict(set)
        for u, s in spk.items():
            where[s].add(split.get(u))
        crossing = sorted(s for s, v in where.items() if len(v) > 1)
        if crossing:
            problems.append(f"{d / 'utt2split'}: speakers in several splits: {crossing[:5]}")
    return problems


# ------------------------------------------------------------------------- summaries
def data_dir_hours(d: Path) -> Tuple[float, int]:
    """Total hours from audio headers (or segment times); returns (hours, unreadable)."""
    from espnet2_punser.audio import AudioError, audio_info

    d = Path(d)
    if (d / "segments").is_file():
        total = 0.0
        for line in open(d / "segments", encoding="utf-8"):
            _, _, a, b = line.split()
            total += float(b) - float(a)
        return total / 3600.0, 0
    total, bad = 0.0, 0
    for path in read_map(d / "wav.scp").values():
        try:
            total += audio_info(path).duration
        except (AudioError, OSError):
            bad += 1
    return total / 3600.0, bad


def summarize(d: Path, info: CorpusInfo, data: CorpusData, with_hours: bool = True) -> dict:
    utts = data.utterances
    cats = Counter(u.category for u in utts if u.category)
    hours, unreadable = data_dir_hours(d) if with_hours else (float("nan"), 0)
    reasons = Counter(x.reason for x in data.dropped)
    summary = {
        "corpus": info.name,
        "title": info.title,
        "role": info.role,
        "type": info.kind,
        "language": info.language,
        "utterances": len(utts),
        "paper_utterances": info.paper_utterances,
        "hours": None if math.isnan(hours) else round(hours, 6),
        "paper_hours": info.paper_hours,
        "unreadable_headers": unreadable,
        "speakers": len({u.speaker for u in utts}),
        "paper_speakers": info.paper_speakers,
        "sessions": len({u.session for u in utts}),
        "with_category": sum(cats.values()),
        "classes": {c: cats[c] for c in EMOTIONS if c in cats},
        "with_dimensions": sum(1 for u in utts if u.vad),
        "splits": dict(Counter(u.split for u in utts if u.split)),
        "dropped": len(data.dropped),
        "dropped_reasons": dict(reasons.most_common()),
        "notes": list(data.notes),
    }
    return summary


def log_summary(summary: dict) -> None:
    paper = summary.get("paper_utterances")
    cmp = f" (paper: {paper:,})" if paper else ""
    hours = summary.get("hours")
    logger.info(
        f"{summary['title']}: {summary['utterances']:,} utterances{cmp}, "
        f"{'?' if hours is None else f'{hours:.2f}'} h, {summary['speakers']} speakers, "
        f"{summary['with_category']:,} with a category {summary['classes']}, "
        f"{summary['with_dimensions']:,} with V/A/D, {summary['dropped']:,} dropped "
        f"{summary['dropped_reasons']}"
    )
    for note in summary.get("notes", []):
        logger.info(f"{summary['title']}: NOTE: {note}")
    if paper and summary["utterances"] != paper:
        logger.warning(
            f"{summary['title']}: {summary['utterances']:,} utterances, the paper's Table I "
            f"has {paper:,}"
        )

