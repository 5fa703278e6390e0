#!/usr/bin/env python3
"""Prepare one emotion corpus as a Kaldi-style data dir with PUNSER's unified labels.

Usage:
    python -m espnet2_punser.bin.prepare_corpus NAME ROOT OUT_DIR [options]
    python -m espnet2_punser.bin.prepare_corpus --list

NAME is a registry name (``--list`` shows them with the layout each expects under
ROOT). OUT_DIR receives wav.scp, utt2spk, spk2utt, utt2cat, utt2vad, utt2corpus,
utt2session (+ utt2split, segments, text where the corpus has them), dropped.txt (every
file or label left out, with the reason) and summary.json. Metadata only: no audio is
decoded (durations come from the file headers).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from espnet2_punser import corpora
from espnet2_punser.bin import doc_parser
from espnet2_punser.corpora.base import CorpusError


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser(__doc__)
    parser.add_argument("name", nargs="?", help="corpus name (see --list)")
    parser.add_argument("root", nargs="?", type=Path, help="corpus root directory")
    parser.add_argument("out_dir", nargs="?", type=Path, help="output data dir")
    parser.add_argument("--list", action="store_true", help="list the corpora and exit")
    parser.add_argument("--db_vars", nargs="+", metavar="NAME",
                        help="print 'NAME DB_VAR' for these corpora (for local/data.sh) and exit")
    parser.add_argument("--labels_dir", type=Path, default=None,
                        help="directory with <corpus>.yaml label maps (default: the package's)")
    parser.add_argument("--labels", type=Path, default=None,
                        help="a label map YAML for this corpus (overrides --labels_dir)")
    parser.add_argument("--no_check_audio", action="store_true",
                        help="do not check that every audio file exists")
    parser.add_argument("--no_hours", action="store_true",
                        help="do not read audio headers for the hours in the summary")
    return parser


def main(cmd=None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    if args.db_vars:
        try:
            for name in args.db_vars:
                print(name, corpora.info(name).db_var or "-")
        except CorpusError as e:
            logging.error(str(e))
            return 1
        return 0
    if args.list:
        for name in corpora.names():
            i = corpora.info(name)
            print(f"{name:13s} {i.title:14s} {i.role:9s} db.sh: {i.db_var:12s} {i.layout}")
        return 0
    if not (args.name and args.root and args.out_dir):
        get_parser().error("NAME ROOT OUT_DIR are required (or --list)")
    try:
        corpora.prepare_corpus(args.name, args.root, args.out_dir,
                               labels_dir=args.labels_dir, labels_file=args.labels,
                               check_audio=not args.no_check_audio,
                               with_hours=not args.no_hours)
    except CorpusError as e:
        logging.error(str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
