"""Kaldi-style data dir helpers used by the recipe's format and fold stages.

Files handed to training carry an explicit missing marker for every utterance
(design.md section 4): ``cat`` holds the unified class index or ``-1``; ``vad`` holds
three floats or ``nan``. The human-facing corpus dirs (``data/<corpus>``) keep the
missing lines instead (``utt2cat``, ``utt2vad``).
"""

from __future__ import annotations

import math
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from espnet2_punser.labels import EMOTION_INDEX, EMOTIONS, MISSING_CAT, format_vad

NAN3 = (math.nan, math.nan, math.nan)

# per-utterance files that subsets carry along (when present)
UTT_FILES = ("wav.scp", "utt2num_samples", "cat", "vad", "utt2spk", "utt2session",
             "utt2corpus", "utt2split", "text", "utt2cat", "utt2vad")


class DataDirError(RuntimeError):
    """A data dir problem; the message names the file and line."""


def read_map(path: Path, allow_missing: bool = False) -> Dict[str, str]:
    """Read a Kaldi ``key value`` file; raises naming the file and line on problems
    (empty line, duplicate key)."""
    path = Path(path)
    if not path.is_file():
        if allow_missing:
            return {}
        raise DataDirError(f"{path}: file not found")
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines[-1] == "":
        lines.pop()
    # fast path; the loop below finds the line of a problem
    out: Dict[str, str] = {k: v for k, _, v in (line.partition(" ") for line in lines)}
    if len(out) == len(lines) and all(line and not line.isspace() for line in lines):
        return out
    out = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            raise DataDirError(f"{path}:{n}: empty line")
        key, _, value = line.partition(" ")
        if key in out:
            raise DataDirError(f"{path}:{n}: duplicate key {key}")
        out[key] = value
    return out


def write_map(path: Path, rows: Iterable[Tuple[str, str]]) -> None:
    """Write ``key value`` lines through a temporary file (one write, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join([f"{k} {v}\n" for k, v in rows]))
    os.replace(tmp, path)


@contextmanager
def atomic_dir(out_dir: Path) -> Iterator[Path]:
    """Yield a temporary dir that replaces ``out_dir`` only if the block succeeds."""
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = out_dir.with_name(out_dir.name + ".old")
    if out_dir.exists():
        if old.exists():
            shutil.rmtree(old)
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old.exists():
        shutil.rmtree(old)


def cat_index(value: Optional[str], merge: Optional[Dict[str, str]] = None) -> int:
    if value is None:
        return MISSING_CAT
    if merge:
        value = merge.get(value, value)
    if value not in EMOTION_INDEX:
        raise DataDirError(f"unknown class {value!r}; unified classes: {list(EMOTIONS)}")
    return EMOTION_INDEX[value]


def training_labels(
    utts: Sequence[str], utt2cat: Dict[str, str], utt2vad: Dict[str, str],
    merge: Optional[Dict[str, str]] = None, classes: Optional[Sequence[str]] = None,
) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]]]:
    """``cat``/``vad`` rows for every utterance, with -1 / nan for missing labels.

    ``merge`` maps classes onto others (IEMOCAP 4-class: excited -> happy); categories
    outside ``classes`` (after merging) become missing.
    """
    cats, vads = [], []
    for u in utts:
        c = utt2cat.get(u)
        if c is not None and merge:
            c = merge.get(c, c)
        if c is not None and classes is not None and c not in classes:
            c = None
        cats.append((u, str(cat_index(c))))
        vads.append((u, utt2vad[u] if u in utt2vad else format_vad(NAN3)))
    return cats, vads


def subset_dir(src: Path, dst: Path, utts: Sequence[str],
               extra: Optional[Dict[str, Dict[str, str]]] = None) -> None:
    """Write the per-utterance files of ``src`` restricted to ``utts`` (sorted) into
    ``dst``; ``extra`` adds or replaces files (name -> map)."""
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    keep = sorted(set(utts))
    for name in UTT_FILES:
        if extra and name in extra:
            continue
        m = read_map(Path(src) / name, allow_missing=True)
        if not m:
            continue
        write_map(dst / name, ((u, m[u]) for u in keep if u in m))
    for name, m in (extra or {}).items():
        write_map(dst / name, ((u, m[u]) for u in keep if u in m))
    spk = read_map(dst / "utt2spk", allow_missing=True)
    if spk:
        spk2utt: Dict[str, List[str]] = {}
        for u, s in spk.items():
            spk2utt.setdefault(s, []).append(u)
        write_map(dst / "spk2utt", ((s, " ".join(v)) for s, v in sorted(spk2utt.items())))


# the files of a training set that the task reads (wav.scp, cat, vad) or the recipe
# needs for batching and caching (utt2num_samples); utt2spk is checked when present
TRAINING_FILES = ("wav.scp", "cat", "vad", "utt2num_samples")
CHECKED_IF_PRESENT = ("utt2spk", "utt2session", "utt2corpus")


def _read_lines(path: Path, problems: List[str]) -> Optional[Dict[str, Tuple[int, str]]]:
    """``key -> (line number, value)``; malformed lines are appended to ``problems``."""
    if not path.is_file():
        problems.append(f"{path}: file not found")
        return None
    out: Dict[str, Tuple[int, str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            key, _, value = line.partition(" ")
            if not line.strip():
                problems.append(f"{path}:{n}: empty line")
            elif key in out:
                problems.append(f"{path}:{n}: duplicate key {key} (first on line {out[key][0]})")
            elif not value.strip():
                problems.append(f"{path}:{n}: {key} has no value")
            else:
                out[key] = (n, value.strip())
    return out


def _allowed_categories(inventory: Optional[Sequence[str]]) -> Dict[int, str]:
    names = list(inventory) if inventory else list(EMOTIONS)
    unknown = [c for c in names if c not in EMOTION_INDEX]
    if unknown:
        raise DataDirError(f"inventory: unknown classes {unknown}; unified classes: {list(EMOTIONS)}")
    return {EMOTION_INDEX[c]: c for c in names}


def parse_cat(value: str, allowed: Dict[int, str]) -> Tuple[Optional[int], str]:
    """``(index, "")`` for a valid category value, ``(None, problem)`` otherwise."""
    try:
        k = int(value)
    except ValueError:
        return None, f"category {value!r} is not a class index (0-{len(EMOTIONS) - 1} or -1)"
    if k == MISSING_CAT or k in allowed:
        return k, ""
    if 0 <= k < len(EMOTIONS):
        return None, (f"category {k} ({EMOTIONS[k]}) is not in the inventory "
                      f"{[allowed[i] for i in sorted(allowed)]} (-1 = missing)")
    return None, f"category {k} is not a class index (0-{len(EMOTIONS) - 1} or -1)"


def parse_vad(value: str) -> Tuple[Optional[Tuple[float, float, float]], str]:
    """``((v, a, d), "")`` when ``value`` is three numbers in [0, 1] or nan."""
    try:
        vals = tuple(float(x) for x in value.split())
    except ValueError:
        vals = ()
    if len(vals) != 3 or any(math.isinf(v) or (not math.isnan(v) and not 0 <= v <= 1)
                             for v in vals):
        return None, f"V/A/D {value!r} is not three values in [0, 1] or nan"
    return vals, ""  # type: ignore[return-value]


def check_training_dir(d: Path, inventory: Optional[Sequence[str]] = None,
                       check_audio: bool = True, max_problems: int = 20) -> List[str]:
    """Problems of a dir handed to training, each ``file:line: message``: every key of
    ``wav.scp`` in every file the task reads (``cat``, ``vad``, ``utt2num_samples``; and
    ``utt2spk``/``utt2session``/``utt2corpus`` when present) and no other key;
    categories within ``inventory`` (class names; default all 8) or -1; V/A/D in [0, 1]
    or nan; positive sample counts; audio files that exist (``check_audio``); not
    empty. An empty list means the dir is valid."""
    d = Path(d)
    problems: List[str] = []
    allowed = _allowed_categories(inventory)
    wav = _read_lines(d / "wav.scp", problems)
    if wav is None:
        return problems
    if not wav and not problems:
        return [f"{d / 'wav.scp'}: empty set (no utterance)"]
    for key, (n, path) in wav.items():
        if check_audio and not path.endswith("|") and not os.path.exists(path):
            problems.append(f"{d / 'wav.scp'}:{n}: {key}: audio file not found: {path}")
    for name in TRAINING_FILES[1:] + CHECKED_IF_PRESENT:
        p = d / name
        if name in CHECKED_IF_PRESENT and not p.exists():
            continue
        rows = _read_lines(p, problems)
        if rows is None:
            continue
        for key, (n, value) in rows.items():
            if key not in wav:
                problems.append(f"{p}:{n}: {key} is not in wav.scp")
                continue
            if name == "cat":
                why = parse_cat(value, allowed)[1]
            elif name == "vad":
                why = parse_vad(value)[1]
            elif name == "utt2num_samples":
                why = "" if value.isdigit() and int(value) > 0 else \
                    f"sample count {value!r} is not a positive integer"
            else:
                why = ""
            if why:
                problems.append(f"{p}:{n}: {key}: {why}")
        for key, (n, _) in wav.items():
            if key not in rows:
                problems.append(f"{d / 'wav.scp'}:{n}: {key} has no line in {p}")
    if len(problems) > max_problems:
        problems = problems[:max_problems] + [f"{d}: ... and {len(problems) - max_problems} "
                                              f"more problems"]
    return problems


def expected_fold_labels(parent_cat: str, parent_vad: str, protocol: Optional[dict]):
    """The ``cat``/``vad`` values that a fold set derives from its corpus dir's values
    under ``protocol`` (``protocol.json``: class merges, class subset, dims)."""
    try:
        k = int(parent_cat)
    except ValueError:
        k = None
    if protocol is None or k is None or not MISSING_CAT <= k < len(EMOTIONS):
        return parent_cat, parent_vad
    if k != MISSING_CAT:
        name = EMOTIONS[k]
        name = (protocol.get("merge") or {}).get(name, name)
        classes = protocol.get("classes")
        k = MISSING_CAT if classes is not None and name not in classes else EMOTION_INDEX[name]
    vad = parent_vad if protocol.get("dims", True) else format_vad(NAN3)
    return str(k), vad


def _same_vad(a: str, b: str) -> bool:
    x, y = parse_vad(a)[0], parse_vad(b)[0]
    if x is None or y is None:
        return a == b
    return all((math.isnan(u) and math.isnan(v)) or abs(u - v) < 1e-5 for u, v in zip(x, y))


def check_set_against_parent(d: Path, parent: Path, protocol: Optional[dict] = None,
                             max_problems: int = 20) -> List[str]:
    """A fold set (``dump/eval/<c>/<p>/<fold>/<part>``) against its corpus dir
    (``dump/data/<c>``): every key exists there, with the same audio and length, and
    labels equal to the corpus labels mapped by the protocol (``protocol.json``)."""
    d, parent = Path(d), Path(parent)
    problems: List[str] = []
    mine = {n: _read_lines(d / n, problems) for n in TRAINING_FILES}
    theirs = {n: _read_lines(parent / n, problems) for n in TRAINING_FILES}
    for name in TRAINING_FILES:
        if mine[name] is None or theirs[name] is None:
            continue
        for key, (n, value) in mine[name].items():
            if key not in theirs[name]:
                problems.append(f"{d / name}:{n}: {key} is not in {parent / name}")
                continue
            m, pvalue = theirs[name][key]
            expected = pvalue
            if name in ("cat", "vad") and theirs["cat"] and theirs["vad"] \
                    and key in theirs["cat"] and key in theirs["vad"]:
                cat, vad = expected_fold_labels(theirs["cat"][key][1], theirs["vad"][key][1],
                                                protocol)
                expected = cat if name == "cat" else vad
            same = _same_vad(value, expected) if name == "vad" else value == expected
            if not same:
                problems.append(f"{d / name}:{n}: {key}: {value!r} differs from "
                                f"{parent / name}:{m} ({pvalue!r}"
                                f"{'' if expected == pvalue else f', expected {expected!r}'})")
    if len(problems) > max_problems:
        problems = problems[:max_problems] + [f"{d}: ... and {len(problems) - max_problems} "
                                              f"more problems"]
    return problems


def check_parts(parts: Dict[str, Path], unit: Optional[str] = None) -> List[str]:
    """Sets of one split (``train``/``valid``/``test`` of a fold, or of the pre-training
    set) share no utterance; ``unit`` (``utt2spk`` or ``utt2session``) also keeps the
    speakers or sessions of ``test`` out of ``train`` and ``valid`` (speaker- or
    session-independent folds); a ``train_pNN`` subset lies within ``train``."""
    problems: List[str] = []
    keys = {p: read_map(d / "wav.scp", allow_missing=True) for p, d in parts.items()}
    main = [p for p in ("train", "valid", "test") if p in parts]
    for i, a in enumerate(main):
        for b in main[i + 1:]:
            both = sorted(set(keys[a]) & set(keys[b]))
            if both:
                problems.append(f"{parts[b] / 'wav.scp'}: {len(both)} utterance(s) also in "
                                f"{parts[a]}, e.g. {both[0]}")
    for p, k in keys.items():
        if p.startswith("train_") and "train" in keys and set(k) - set(keys["train"]):
            extra = sorted(set(k) - set(keys["train"]))
            problems.append(f"{parts[p] / 'wav.scp'}: {len(extra)} utterance(s) not in "
                            f"{parts['train']}, e.g. {extra[0]}")
    if unit and "test" in parts:
        units = {p: read_map(parts[p] / unit, allow_missing=True) for p in main}
        held = set(units["test"].values())
        for p in ("train", "valid"):
            if p in units:
                crossing = sorted(held & set(units[p].values()))
                if crossing:
                    problems.append(f"{parts[p] / unit}: {unit[4:]} {crossing[0]} of the test "
                                    f"part {parts['test']} is also in {p}")
    return problems
