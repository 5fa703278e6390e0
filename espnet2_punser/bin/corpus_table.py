#!/usr/bin/env python3
"""Markdown table of prepared corpora in the shape of the paper's Table I.

Usage:
    python -m espnet2_punser.bin.corpus_table data/msp_podcast data/iemocap ... [-o data/corpora.md]
    python -m espnet2_punser.bin.corpus_table --registry     # the README's corpus table

Generated from each data dir's summary.json (no audio is read). Columns: corpus, role,
type, language, speakers, categories, dimensions, scale, utterances (paper), hours
(paper).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List

from espnet2_punser import corpora
from espnet2_punser.bin import doc_parser
from espnet2_punser.corpora.base import CorpusError, load_labels


def _num(x, fmt="{:,}"):
    return "-" if x is None else fmt.format(x)


def table_rows(dirs: List[Path]) -> List[str]:
    head = ("| Corpus | Role | Type | Language | Speakers | Categories | Dimensions | Scale "
            "| Utterances (paper) | Hours (paper) |")
    rows = [head, "|" + "---|" * 10]
    total = {"pretrain": [0, 0.0], "eval": [0, 0.0]}
    for d in dirs:
        s = json.loads((Path(d) / "summary.json").read_text())
        try:
            lab = load_labels(s["corpus"])
            scale = "-" if lab.scale is None else f"{lab.scale[0]:g}-{lab.scale[1]:g}"
        except CorpusError:
            scale = "?"
        dims = "V,A,D" if s["with_dimensions"] else "-"
        hours = s.get("hours")
        rows.append(
            f"| {s['title']} | {s['role']} | {s['type']} | {s['language']} | {s['speakers']:,} "
            f"| {len(s['classes']) or '-'} | {dims} | {scale if dims != '-' else '-'} "
            f"| {s['utterances']:,} ({_num(s.get('paper_utterances'))}) "
            f"| {_num(hours, '{:.1f}')} ({_num(s.get('paper_hours'), '{:.1f}')}) |")
        if s["role"] in total:
            total[s["role"]][0] += s["utterances"]
            total[s["role"]][1] += hours or 0.0
    for role, (n, h) in total.items():
        if n:
            rows.append(f"| **Total ({role})** | | | | | | | | {n:,} | {h:.1f} |")
    return rows


def registry_rows() -> List[str]:
    rows = ["| Name | Corpus | Role | db.sh variable | Table I utterances | Root must contain |",
            "|---|---|---|---|---|---|"]
    for name in corpora.names():
        i = corpora.info(name)
        rows.append(f"| `{name}` | {i.title} | {i.role} | {('`' + i.db_var + '`') if i.db_var else '-'} "
                    f"| {_num(i.paper_utterances)} | `{i.layout}` |")
    return rows


def main(cmd=None) -> int:
    p = doc_parser(__doc__)
    p.add_argument("dirs", nargs="*", type=Path)
    p.add_argument("--registry", action="store_true")
    p.add_argument("-o", "--output", type=Path, default=None)
    args = p.parse_args(cmd)
    rows = registry_rows() if args.registry else table_rows(args.dirs)
    text = "\n".join(rows) + "\n"
    if args.output:
        args.output.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
