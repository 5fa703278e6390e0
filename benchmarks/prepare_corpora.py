#!/usr/bin/env python3
"""Benchmark of corpus preparation at the corpora's real sizes (not a test).

For every corpus of the registry that has a fake-corpus builder (``test/fake_corpora``),
build a fake tree of the REAL size (``full=True, empty_audio=True``: the real layout and
label files, 0-byte audio), then time ``prepare_corpus(..., with_hours=False)`` for each
corpus on its own: metadata parsing, writing the Kaldi dir and validating it (audio
paths are checked for existence; no audio is decoded). Prints one row per corpus and the
total (the 16 corpora of the paper's Table I: about 190k utterances).

    tools/venv/bin/python benchmarks/prepare_corpora.py [--root DIR] [--keep]
        [--only NAME ...] [--profile NAME]

``--root``: where the fake trees and data dirs go (default: a new temporary folder, in
/dev/shm where it is writable); it is removed afterwards unless ``--keep`` (a tree that
is already there from a kept run is reused). ``--profile NAME`` prints the cProfile of
that corpus's preparation.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "test"))  # fake_corpora

import numpy as np  # noqa: E402

from espnet2_punser import corpora  # noqa: E402

# corpus -> (fake_corpora module, extra build arguments); corpora without a builder
# (the synthetic ones) are skipped
BUILDERS = {
    "msp_podcast": ("msp_podcast", {}),
    "cmu_mosei": ("cmu_mosei", {"n_videos": 3228}),  # 3,228 videos / 23,453 segments
    "asvp_esd": ("asvp_esd", {}),
    "whiser": ("whiser", {}),
    "escorpus_pe": ("generic", {"kind": "escorpus_pe"}),
    "crema_d": ("crema_d", {}),
    "ravdess": ("ravdess", {}),
    "cafe": ("cafe", {}),
    "quechua_ser": ("quechua_ser", {}),
    "jtes": ("jtes", {}),
    "iemocap": ("iemocap", {}),
    "msp_improv": ("msp_improv", {}),
    "meld": ("meld", {}),
    "uudb": ("uudb", {}),
    "savee": ("savee", {}),
    "emodb": ("emodb", {}),
}


def default_root() -> Path:
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="punser_bench_", dir=base))


def build(name: str, tree: Path) -> float:
    """Build the real-size fake of ``name`` under ``tree`` (unless a finished one is
    there); returns the seconds it took (0 when reused)."""
    import importlib

    done = tree / ".built"
    if done.is_file():
        return 0.0
    if tree.exists():
        shutil.rmtree(tree)
    module, kwargs = BUILDERS[name]
    fake = importlib.import_module(f"fake_corpora.{module}")
    t = time.perf_counter()
    fake.build(tree / "root", np.random.default_rng(0), full=True, empty_audio=True, **kwargs)
    seconds = time.perf_counter() - t
    done.write_text("")
    return seconds


def prepare(name: str, tree: Path, profile: bool = False):
    out = tree / "data"
    prof = cProfile.Profile() if profile else None
    t = time.perf_counter()
    if prof:
        prof.enable()
    summary = corpora.prepare_corpus(name, tree / "root", out, with_hours=False)
    if prof:
        prof.disable()
    seconds = time.perf_counter() - t
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(30)
        print(s.getvalue())
    return summary, seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=None,
                    help="folder for the fake trees (default: a temporary one, in /dev/shm "
                         "where writable)")
    ap.add_argument("--keep", action="store_true", help="keep the trees and data dirs")
    ap.add_argument("--only", nargs="+", default=None, metavar="NAME",
                    help="only these corpora")
    ap.add_argument("--profile", default=None, metavar="NAME",
                    help="print the cProfile of this corpus's preparation")
    ap.add_argument("-v", "--verbose", action="store_true", help="log the summaries")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(levelname)s %(message)s")

    names = [n for n in corpora.names() if n in BUILDERS]
    skipped = [n for n in corpora.names() if n not in BUILDERS]
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            ap.error(f"no fake builder for {unknown}; known: {names}")
        names = [n for n in names if n in args.only]
    root = args.root or default_root()
    root.mkdir(parents=True, exist_ok=True)
    cores = len(os.sched_getaffinity(0))
    print(f"root: {root}  (cores: {cores}, python {sys.version.split()[0]})")
    if skipped:
        print(f"no fake builder (skipped): {', '.join(skipped)}")
    rows = []
    try:
        for name in names:
            tree = root / name
            built = build(name, tree)
            summary, seconds = prepare(name, tree, profile=args.profile == name)
            rows.append((name, summary["utterances"], summary["paper_utterances"], built,
                         seconds))
            print(f"  {name}: built in {built:.1f} s, prepared in {seconds:.2f} s",
                  file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    head = f"{'corpus':<14}{'utterances':>12}{'Table I':>10}{'seconds':>10}{'utt/s':>10}"
    print()
    print(head)
    print("-" * len(head))
    for name, n, paper, _, s in rows:
        print(f"{name:<14}{n:>12,}{(paper or 0):>10,}{s:>10.2f}{n / s:>10,.0f}")
    print("-" * len(head))
    total_n = sum(r[1] for r in rows)
    total_paper = sum(r[2] or 0 for r in rows)
    total_s = sum(r[4] for r in rows)
    print(f"{'total':<14}{total_n:>12,}{total_paper:>10,}{total_s:>10.2f}"
          f"{total_n / total_s:>10,.0f}")
    print(f"(building the fake trees took {sum(r[3] for r in rows):.1f} s, not counted)")
    if args.keep:
        print(f"kept: {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
