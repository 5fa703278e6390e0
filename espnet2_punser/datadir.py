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
    path = Path(path)
    if not path.is_file():
        if allow_missing:
            return {}
        raise DataDirError(f"{path}: file not found")
    out: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                raise DataDirError(f"{path}:{n}: empty line")
            key, _, value = line.partition(" ")
            if key in out:
                raise DataDirError(f"{path}:{n}: duplicate key {key}")
            out[key] = value
    return out


def write_map(path: Path, rows: Iterable[Tuple[str, str]]) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for k, v in rows:
            f.write(f"{k} {v}\n")
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


def check_training_dir(d: Path, inventory: Optional[Sequence[str]] = None) -> List[str]:
    """Problems of a dir handed to training: every key in every file, categories in the
    inventory (or -1), V/A/D in [0, 1] or nan, not empty. ``file:line: message``."""
    d = Path(d)
    problems = []
    try:
        wav = read_map(d / "wav.scp")
    except DataDirError as e:
        return [str(e)]
    if not wav:
        return [f"{d / 'wav.scp'}: empty"]
    keys = list(wav)
    allowed = {EMOTION_INDEX[c] for c in (inventory or EMOTIONS)} | {MISSING_CAT}
    for name in ("cat", "vad", "utt2num_samples", "utt2spk"):
        p = d / name
        if not p.is_file():
            if name in ("cat", "vad"):
                problems.append(f"{p}: missing")
            continue
        with open(p, encoding="utf-8") as f:
            lines = f.read().splitlines()
        got = [ln.split(maxsplit=1)[0] if ln.strip() else "" for ln in lines]
        if got != keys:
            bad = next((i for i, (a, b) in enumerate(zip(got, keys)) if a != b), min(len(got), len(keys)))
            problems.append(f"{p}:{bad + 1}: keys differ from wav.scp "
                            f"(expected {keys[bad] if bad < len(keys) else 'end of file'})")
            continue
        for n, line in enumerate(lines, 1):
            parts = line.split()
            if name == "cat":
                if len(parts) != 2 or not parts[1].lstrip("-").isdigit() or int(parts[1]) not in allowed:
                    problems.append(f"{p}:{n}: category {parts[1:]} not in {sorted(allowed)}")
            elif name == "vad":
                try:
                    vals = [float(x) for x in parts[1:]]
                except ValueError:
                    vals = []
                if len(vals) != 3 or any(not (0 <= v <= 1) for v in vals if not math.isnan(v)):
                    problems.append(f"{p}:{n}: V/A/D {parts[1:]} not three values in [0, 1] or nan")
            if len(problems) > 20:
                return problems
    return problems
