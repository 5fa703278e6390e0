#!/usr/bin/env python3
"""Validate the data sets handed to training, before a training stage starts.

Usage:
    python -m espnet2_punser.bin.validate_data DIR... [--inventory "neutral happy ..."]
        [--check_audio false]

    # before pre-training (recipe stage 4) and fine-tuning (stage 5)
    python -m espnet2_punser.bin.validate_data dump/pretrain/train dump/pretrain/valid
    python -m espnet2_punser.bin.validate_data dump/eval/iemocap dump/eval/meld

A DIR is a set (a dir with ``wav.scp``) or a dir above sets: every set below it is
checked (``format``, ``audio``, ``cache``, ``split`` and ``log`` dirs are not entered).
For every set:

- every key of ``wav.scp`` has a line in ``cat``, ``vad`` and ``utt2num_samples`` (and
  in ``utt2spk``/``utt2session``/``utt2corpus`` when present), and no file has a key
  that ``wav.scp`` lacks; no empty, duplicate or value-less line; the audio files exist;
- categories are class indices within the inventory (``--inventory``; for a fold set,
  the classes of its ``protocol.json``; otherwise all 8), or -1 for missing;
- V/A/D are three values in [0, 1], ``nan`` for missing; sample counts are positive;
- no set is empty.

A fold set ``dump/eval/<c>/<p>/<fold>/<part>`` is also checked against its corpus dir
``dump/data/<c>``: every key exists there with the same audio and length, and its labels
are the corpus labels mapped by the protocol (merged classes, class subset, dims). The
parts of a fold (and ``dump/pretrain/{train,valid}``) share no utterance; the test
speakers (or sessions) of a speaker- (or session-) independent fold are in no other part;
a ``train_pNN`` subset lies within ``train``. Dirs named ``*.tmp``/``*.old`` (left by an
interrupted ``make_sets``) and protocol dirs without ``protocol.json`` are errors.

Every problem is printed as ``file:line: message`` (or ``path: message``) on stderr;
exit status 1 if there is any, 0 otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from espnet2_punser.bin import doc_parser
from espnet2_punser.datadir import (
    DataDirError,
    check_parts,
    check_set_against_parent,
    check_training_dir,
)

SKIP = {"format", "audio", "cache", "split", "log"}
PARTS = ("train", "valid", "test")


def find_sets(root: Path, problems: List[str]) -> List[Path]:
    """The sets at or below ``root`` (sorted); leftovers of interrupted runs are problems."""
    if (root / "wav.scp").is_file():
        return [root]
    if not root.is_dir():
        problems.append(f"{root}: not found")
        return []
    found: List[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in sorted(dirnames):
            if name.endswith((".tmp", ".old")):
                problems.append(f"{here / name}: left by an interrupted run; re-run the "
                                f"format stage (make_sets) to rebuild the sets")
        if "wav.scp" in filenames and here != root:
            found.append(here)
            dirnames[:] = []
            continue
        dirnames[:] = sorted(n for n in dirnames if n not in SKIP and not n.endswith((".tmp", ".old")))
    if not found:
        problems.append(f"{root}: no data set (no wav.scp) found")
    return sorted(found)


def fold_context(d: Path) -> Optional[Tuple[Path, Path]]:
    """``(corpus dir, protocol dir)`` of a set ``<dump>/eval/<c>/<p>/<fold>/<part>``."""
    parts = d.parts
    if len(parts) >= 5 and parts[-5] == "eval":
        dump = Path(*parts[:-5]) if len(parts) > 5 else Path(".")
        return dump / "data" / parts[-4], d.parent.parent
    return None


def load_protocol(pdir: Path, problems: List[str], cache: Dict[Path, Optional[dict]]):
    if pdir not in cache:
        f = pdir / "protocol.json"
        if not f.is_file():
            problems.append(f"{f}: missing, so the folds of {pdir} are incomplete (an "
                            f"interrupted make_sets); re-run the format stage")
            cache[pdir] = None
        else:
            try:
                cache[pdir] = json.loads(f.read_text())["protocol"]
            except (ValueError, KeyError) as e:
                problems.append(f"{f}: unreadable ({e})")
                cache[pdir] = None
    return cache[pdir]


def validate(dirs: List[Path], inventory: Optional[List[str]] = None,
             check_audio: bool = True) -> Tuple[List[str], int, int]:
    """``(problems, number of sets, number of utterances)``."""
    problems: List[str] = []
    sets: List[Path] = []
    for root in dirs:
        sets += [s for s in find_sets(Path(os.path.abspath(root)), problems) if s not in sets]
    protocols: Dict[Path, Optional[dict]] = {}
    groups: Dict[Path, Dict[str, Path]] = {}
    utterances = 0
    for d in sets:
        ctx = fold_context(d)
        protocol = load_protocol(ctx[1], problems, protocols) if ctx else None
        inv = inventory or (protocol or {}).get("classes")
        problems += check_training_dir(d, inv, check_audio=check_audio)
        if ctx is not None:
            problems += check_set_against_parent(d, ctx[0], protocol)
        if d.name in PARTS or d.name.startswith("train_"):
            groups.setdefault(d.parent, {})[d.name] = d
        if (d / "wav.scp").is_file():
            utterances += sum(1 for _ in open(d / "wav.scp", encoding="utf-8"))
    for parent, parts in sorted(groups.items()):
        if len(parts) < 2:
            continue
        ctx = fold_context(next(iter(parts.values())))
        protocol = protocols.get(ctx[1]) if ctx else None
        unit = {"speaker": "utt2spk", "session": "utt2session"}.get((protocol or {}).get("folds"))
        problems += check_parts(parts, unit)
    return problems, len(sets), utterances


def get_parser():
    p = doc_parser(__doc__)
    p.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    p.add_argument("--inventory", default=None,
                   help="allowed classes (names, space/comma separated); default: the "
                        "protocol's classes for fold sets, all 8 otherwise")
    p.add_argument("--check_audio", default="true", choices=["true", "false"],
                   help="check that the audio files of wav.scp exist")
    return p


def main(cmd=None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s (validate_data) %(levelname)s: %(message)s")
    inventory = args.inventory.replace(",", " ").split() if args.inventory else None
    try:
        problems, nsets, nutt = validate(args.dirs, inventory, args.check_audio == "true")
    except DataDirError as e:  # a bad --inventory
        problems, nsets, nutt = [str(e)], 0, 0
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        logging.error(f"{len(problems)} problem(s) in the data of "
                      f"{' '.join(map(str, args.dirs))} (listed above as file:line: message)")
        return 1
    logging.info(f"{nsets} set(s), {nutt} utterances: valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
