#!/usr/bin/env python3
"""Build the training sets of the recipe from prepared and formatted corpora.

Usage:
    python -m espnet2_punser.bin.make_sets --data_dir data --format_dir dump/format \
        --dump_dir dump --pretrain "c1 c2 ..." --eval "e1 e2 ..." [--seed 0]

Reads ``data/<corpus>`` (labels, speakers) and ``dump/format/<corpus>`` (16 kHz wav.scp,
utt2num_samples, rejected.txt) and writes:

- ``dump/data/<corpus>/``: the accepted utterances with ``cat`` (class index, -1 =
  missing) and ``vad`` (V A D, nan = missing) for training;
- ``dump/pretrain/{train,valid}/``: the pre-training corpora combined, split at random
  into 90 % / 10 % (``--valid_ratio``, seeded; paper section III-A);
- ``dump/eval/<corpus>/<protocol>/<fold>/{train,valid,test}/``: the evaluation
  protocols of ``conf/labels/<corpus>.yaml`` (plus ``train_pNN`` low-resource subsets
  for ``--fractions``);
- ``dump/sets.json``: every set with its size, per-class counts and a checksum of its
  utterance list (provenance).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence

from espnet2_punser.bin import doc_parser
from espnet2_punser.corpora.base import load_labels
from espnet2_punser.datadir import (
    DataDirError,
    atomic_dir,
    check_training_dir,
    read_map,
    subset_dir,
    training_labels,
    write_map,
)
from espnet2_punser.protocols import (
    ProtocolError,
    list_checksum,
    load_protocols,
    make_folds,
    missing_classes_warnings,
    random_split,
    subset_fraction,
)

log = logging.getLogger("make_sets")


def set_stats(d: Path) -> dict:
    cat = read_map(d / "cat")
    vad = read_map(d / "vad")
    from espnet2_punser.labels import EMOTIONS

    counts = Counter(EMOTIONS[int(v)] for v in cat.values() if int(v) >= 0)
    return {
        "utterances": len(cat),
        "classes": dict(sorted(counts.items())),
        "with_vad": sum(1 for v in vad.values() if "nan" not in v),
        "speakers": len(set(read_map(d / "utt2spk").values())),
        "checksum": list_checksum(list(cat)),
    }


def build_corpus(name: str, data_dir: Path, format_dir: Path, out: Path) -> List[str]:
    src, fmt = data_dir / name, format_dir / name
    for p in (src / "utt2spk", fmt / "wav.scp"):
        if not p.is_file():
            raise DataDirError(f"{p} is missing: run the data preparation (stage 1) "
                               f"and format (stage 2) for {name}")
    wav = read_map(fmt / "wav.scp")
    nsamp = read_map(fmt / "utt2num_samples")
    utts = sorted(wav)
    cats, vads = training_labels(utts, read_map(src / "utt2cat", True), read_map(src / "utt2vad", True))
    with atomic_dir(out) as tmp:
        subset_dir(src, tmp, utts, extra={"wav.scp": wav, "utt2num_samples": nsamp,
                                          "cat": dict(cats), "vad": dict(vads)})
        rejected = fmt / "rejected.txt"
        if rejected.is_file():
            shutil.copy(rejected, tmp / "rejected.txt")
    return utts


def write_set(src_dirs: Dict[str, Path], utts: Sequence[str], dst: Path,
              cats=None, vads=None) -> None:
    """Write ``utts`` drawn from several corpus dirs (keys are unique across corpora)."""
    with atomic_dir(dst) as tmp:
        merged: Dict[str, Dict[str, str]] = {}
        for d in src_dirs.values():
            for name in ("wav.scp", "utt2num_samples", "cat", "vad", "utt2spk",
                         "utt2session", "utt2corpus"):
                merged.setdefault(name, {}).update(read_map(d / name, allow_missing=True))
        if cats is not None:
            merged["cat"], merged["vad"] = dict(cats), dict(vads)
        keep = sorted(utts)
        for name, m in merged.items():
            if m:
                write_map(tmp / name, ((u, m[u]) for u in keep if u in m))
        problems = check_training_dir(tmp)
        if problems:
            raise DataDirError("invalid set " + str(dst) + ":\n  " + "\n  ".join(problems[:10]))


def get_parser():
    p = doc_parser(__doc__)
    p.add_argument("--data_dir", type=Path, default=Path("data"))
    p.add_argument("--format_dir", type=Path, default=Path("dump/format"))
    p.add_argument("--dump_dir", type=Path, default=Path("dump"))
    p.add_argument("--labels_dir", type=Path, default=None)
    p.add_argument("--pretrain", default="", help="pre-training corpora (space/comma separated)")
    p.add_argument("--eval", default="", help="evaluation corpora (space/comma separated)")
    p.add_argument("--valid_ratio", type=float, default=0.1)
    p.add_argument("--fractions", default="",
                   help="low-resource training fractions, e.g. '0.01 0.05 0.1 0.25 0.5'")
    p.add_argument("--seed", type=int, default=0)
    return p


def _names(s: str) -> List[str]:
    return [x for x in s.replace(",", " ").split() if x]


def main(cmd=None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (make_sets) %(levelname)s: %(message)s")
    pretrain, evals = _names(args.pretrain), _names(args.eval)
    (args.dump_dir / "sets.json").unlink(missing_ok=True)  # not complete until rewritten
    fractions = [float(x) for x in _names(args.fractions)]
    manifest: dict = {"seed": args.seed, "valid_ratio": args.valid_ratio, "sets": {}}
    corpus_dir = {}
    try:
        for name in dict.fromkeys(pretrain + evals):
            d = args.dump_dir / "data" / name
            build_corpus(name, args.data_dir, args.format_dir, d)
            corpus_dir[name] = d
            manifest["sets"][f"data/{name}"] = st = set_stats(d)
            log.info(f"{name}: {st['utterances']} utterances, {st['classes']}, "
                     f"{st['with_vad']} with V/A/D")
        if pretrain:
            all_utts = [u for n in pretrain for u in read_map(corpus_dir[n] / "wav.scp")]
            train, valid = random_split(all_utts, args.valid_ratio, args.seed)
            srcs = {n: corpus_dir[n] for n in pretrain}
            for part, utts in (("train", train), ("valid", valid)):
                dst = args.dump_dir / "pretrain" / part
                write_set(srcs, utts, dst)
                manifest["sets"][f"pretrain/{part}"] = st = set_stats(dst)
                log.info(f"pretrain/{part}: {st['utterances']} utterances, classes "
                         f"{st['classes']}, {st['with_vad']} with V/A/D")
        for name in evals:
            build_protocols(name, corpus_dir[name], args, fractions, manifest)
    except (DataDirError, ProtocolError) as e:
        log.error(str(e))
        return 1
    out = args.dump_dir / "sets.json"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.replace(out)  # written last: its presence means every set is complete
    log.info(f"wrote {out}")
    return 0


def build_protocols(name: str, d: Path, args, fractions: List[float], manifest: dict) -> None:
    labels = load_labels(name, args.labels_dir)
    protocols = load_protocols(labels.protocols, labels.classes)
    utts = list(read_map(d / "wav.scp"))
    utt2cat = read_map(args.data_dir / name / "utt2cat", True)
    utt2vad = read_map(args.data_dir / name / "utt2vad", True)
    spk = read_map(d / "utt2spk")
    session = read_map(d / "utt2session")
    split = read_map(d / "utt2split", True)
    for proto in protocols.values():
        folds = make_folds(utts, spk, session, split, utt2cat, utt2vad, proto, args.seed)
        for w in missing_classes_warnings(folds, utt2cat, proto):
            log.warning(f"{name}: {w}")
        cats, vads = training_labels(utts, utt2cat, utt2vad if proto.dims else {},
                                     merge=proto.merge, classes=proto.classes)
        pdir = args.dump_dir / "eval" / name / proto.name
        label = {u: c for u, c in cats if c != "-1"}
        info = {"protocol": vars(proto), "folds": {}}
        # the whole protocol dir is replaced at once (no folds of an earlier run remain,
        # and an interrupted run leaves the earlier dir intact)
        with atomic_dir(pdir) as tmp:
            for k, fold in enumerate(folds):
                parts = {"train": fold.train, "valid": fold.valid, "test": fold.test}
                for frac in fractions:
                    parts[f"train_p{int(round(frac * 100)):02d}"] = subset_fraction(
                        fold.train, label, frac, args.seed + 1000 + k)
                for part, members in parts.items():
                    dst = tmp / fold.name / part
                    write_set({name: d}, members, dst, cats, vads)
                    manifest["sets"][f"eval/{name}/{proto.name}/{fold.name}/{part}"] = set_stats(dst)
                info["folds"][fold.name] = {k2: len(v) for k2, v in parts.items()}
            (tmp / "protocol.json").write_text(json.dumps(info, indent=1) + "\n")
        log.info(f"{name}/{proto.name}: {len(folds)} folds by {proto.folds}, classes "
                 f"{proto.classes}, dims {proto.dims}: " +
                 ", ".join(f"{f.name} {len(f.train)}/{len(f.valid)}/{len(f.test)}" for f in folds))


if __name__ == "__main__":
    sys.exit(main())
