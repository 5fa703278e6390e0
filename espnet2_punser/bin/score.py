#!/usr/bin/env python3
"""Score every decoded protocol and write RESULTS.md (recipe stage 7).

Usage:
    python -m espnet2_punser.bin.score --finetune_dir exp/finetune_TAG --dump_dir dump \
        --eval "iemocap meld ..." [--variants "full p10 p50"] --output exp/finetune_TAG/RESULTS.md

Reads ``<finetune_dir>/<system>/<corpus>/<protocol>/<fold>/<variant>/decode`` (and the
zero-shot decodes of the pre-trained model) with the references of
``<dump_dir>/eval/<corpus>/<protocol>/<fold>/test``. Writes, under
``<finetune_dir>/scores/``: one JSON per system, corpus and protocol (pooled metrics,
per-fold metrics, confusion counts), confusion-matrix and per-fold PNGs, the
low-resource plot; and RESULTS.md with tables shaped like the paper's Tables IV and V.
A corpus that was not prepared or decoded is reported as missing; the others are
still scored.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Tuple

from espnet2_punser.bin import doc_parser
from espnet2_punser.scoring import (
    DIM_KEYS,
    TABLE4,
    TABLE5,
    Scores,
    fmt,
    mean_of,
    plot_confusion,
    plot_folds,
    plot_low_resource,
    render_table,
    rows_for,
    score_protocol,
    table4_columns,
    table5_columns,
)

log = logging.getLogger("score")
SYSTEM_TITLES = {"punser": "PUNSER", "xeus": "XEUS (SSL baseline)",
                 "wavlm_large": "WavLM large (SSL baseline)"}
PAPER_CORPORA = {c for _, items in TABLE4 for c, _, _ in items} | {c for _, c, _ in TABLE5}


def row_name(system: str, variant: str) -> str:
    if variant == "zeroshot":
        return "PUNSER (Pre-trained)"
    base = "PUNSER (Fine-tuned)" if system == "punser" else SYSTEM_TITLES.get(system, system)
    if variant == "full":
        return base
    return f"{base}, {int(variant[1:])} % data"


def fraction_of(variant: str) -> float:
    if variant in ("zeroshot", "full"):
        return 0.0 if variant == "zeroshot" else 1.0
    return int(variant[1:]) / 100.0


def collect(finetune_dir: Path, dump_dir: Path, corpora: List[str], variants: List[str]):
    """results[row][(corpus, protocol)] = Scores; keeps (system, variant) per row."""
    results: Dict[str, Dict[Tuple[str, str], Scores]] = {}
    origin: Dict[str, Tuple[str, str]] = {}
    missing: List[str] = []
    for corpus in corpora:
        edir = dump_dir / "eval" / corpus
        if not edir.is_dir():
            missing.append(f"{corpus}: no protocol dirs in {edir} (not prepared?)")
            continue
        for pdir in sorted(p for p in edir.iterdir() if (p / "protocol.json").is_file()):
            proto = pdir.name
            folds = json.loads((pdir / "protocol.json").read_text())["folds"]
            systems = sorted(p.name for p in finetune_dir.iterdir()
                             if (p / corpus / proto).is_dir()) if finetune_dir.is_dir() else []
            for system in systems:
                base = finetune_dir / system / corpus / proto
                runs = [(v, {f: base / f / v / "decode" for f in folds}) for v in variants]
                if (base / "zeroshot").is_dir():
                    runs.append(("zeroshot", {f: base / "zeroshot" / f / "decode" for f in folds}))
                for variant, decodes in runs:
                    s = score_protocol(pdir, decodes)
                    if s is None:
                        missing.append(f"{system}/{corpus}/{proto}/{variant}: not decoded")
                        continue
                    name = row_name(system, variant)
                    results.setdefault(name, {})[(corpus, proto)] = s
                    origin[name] = (system, variant)
    return results, origin, missing


def write_outputs(results, origin, out_dir: Path) -> List[str]:
    """JSON + PNG per row/corpus/protocol; returns markdown lines of the details."""
    lines = []
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for per in results.values() for k in per})
    for corpus, proto in keys:
        lines += [f"### {corpus} / {proto}", "",
                  "| System | WA | UA | CCC V | CCC A | CCC D | UA per fold (mean ± std) | utterances (cat / dim) |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, per in results.items():
            s = per.get((corpus, proto))
            if s is None:
                continue
            system, variant = origin[name]
            stem = f"{system}_{variant}_{corpus}_{proto}"
            (out_dir / f"{stem}.json").write_text(json.dumps(asdict(s), indent=1) + "\n")
            if s.confusion:
                plot_confusion(s, f"{name}: {corpus}/{proto}", out_dir / f"{stem}_confusion.png")
            plot_folds(s, f"{name}: {corpus}/{proto}, per fold", out_dir / f"{stem}_folds.png")
            m, sd = s.fold_stats("ua")
            folds = "-" if m is None else f"{m:.3f} ± {sd:.3f}"
            lines.append(f"| {name} | {fmt(s.wa)} | {fmt(s.ua)} | "
                         + " | ".join(fmt(s.ccc.get(k)) for k in DIM_KEYS)
                         + f" | {folds} | {s.n_cat} / {s.n_dim} |")
        lines.append("")
        imgs = sorted(p.name for p in out_dir.glob(f"*_{corpus}_{proto}_confusion.png"))
        if imgs:
            lines += [" ".join(f"![{i}](scores/{i})" for i in imgs[:3]), ""]
    return lines


def main(cmd=None) -> int:
    p = doc_parser(__doc__)
    p.add_argument("--finetune_dir", type=Path, required=True)
    p.add_argument("--dump_dir", type=Path, default=Path("dump"))
    p.add_argument("--eval", required=True, help="evaluation corpora")
    p.add_argument("--variants", default="full")
    p.add_argument("--source", default="real", help="'synthetic' marks the report loudly")
    p.add_argument("--xeus", default="", help="what the XEUS weights were")
    p.add_argument("--output", type=Path, required=True)
    args = p.parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (score) %(levelname)s: %(message)s")
    corpora = args.eval.replace(",", " ").split()
    variants = args.variants.replace(",", " ").split()
    results, origin, missing = collect(args.finetune_dir, args.dump_dir, corpora, variants)
    for m in missing:
        log.warning(m)
    if not results:
        log.error("nothing to score (no decoded protocol)")
        return 1
    main_rows = {n: r for n, r in results.items() if origin[n][1] in ("zeroshot", "full")}
    extra_cat, extra_dim = [], []
    for corpus, proto in sorted({k for per in results.values() for k in per}):
        if corpus in PAPER_CORPORA:
            continue
        s = next(per[(corpus, proto)] for per in results.values() if (corpus, proto) in per)
        if s.classes and s.wa is not None:
            extra_cat.append((f"{corpus} ({proto})", corpus, proto, len(s.classes)))
        if s.ccc:
            extra_dim.append((f"{corpus} ({proto})", corpus, proto))
    g4, c4 = table4_columns(extra_cat)
    g5, c5 = table5_columns(extra_dim)
    md = ["# PUNSER results", "",
          f"Generated by `python -m espnet2_punser.bin.score` on {datetime.now():%Y-%m-%d %H:%M}; "
          "do not edit by hand.", ""]
    if args.source == "synthetic":
        md += ["> **These numbers come from the bundled SYNTHETIC corpora** (generated "
               "speech-like audio whose prosody follows the labels), not from real emotional "
               "speech. They show that the pipeline learns; they say nothing about real SER.", ""]
    if "random" in args.xeus:
        md += [f"> **The encoder started from random weights** ({args.xeus}): no XEUS "
               "checkpoint was configured in db.sh.", ""]
    md += ["## Categorical emotion recognition (paper Table IV)", "",
           "WA = accuracy, UA = mean per-class recall; subscripts give the number of "
           "classes that compete. `-`: corpus not prepared or not decoded. "
           "Bold: best, underlined: second best.", "",
           render_table(g4, rows_for(c4, main_rows)), "",
           "## Dimensional emotion recognition (paper Table V)", "",
           render_table(g5, rows_for(c5, main_rows)), ""]
    if any(v not in ("full", "zeroshot") for _, v in origin.values()):
        curves: Dict[str, Dict[float, tuple]] = {}
        for name, per in results.items():
            system, variant = origin[name]
            label = SYSTEM_TITLES.get(system, system)
            cat = mean_of(per[k].metric(m) for k in per for m in ("wa", "ua"))
            dim = mean_of(per[k].metric(m) for k in per for m in DIM_KEYS)
            curves.setdefault(label, {})[fraction_of(variant)] = (cat, dim)
        plot_path = args.output.parent / "scores" / "low_resource.png"
        plot_path.parent.mkdir(parents=True, exist_ok=True)
        plot_low_resource(curves, plot_path)
        md += ["## Low-resource fine-tuning and zero-shot (paper Fig. 2)", "",
               "Mean over every WA/UA (categorical) and every CCC (dimensional) of the "
               "evaluated corpora; 0 % = the pre-trained model without fine-tuning.", "",
               "| System | " + " | ".join(f"{int(100 * f)} %" for f in sorted({fraction_of(v) for _, v in origin.values()})) + " |",
               "|---|" + "---|" * len({fraction_of(v) for _, v in origin.values()})]
        fracs = sorted({fraction_of(v) for _, v in origin.values()})
        for label, pts in curves.items():
            md.append(f"| {label} (cat / dim) | " + " | ".join(
                f"{fmt(pts[f][0])} / {fmt(pts[f][1])}" if f in pts else "-" for f in fracs) + " |")
        md += ["", "![low-resource](scores/low_resource.png)", ""]
    md += ["## Per corpus and protocol", "",
           "Predictions of all folds are pooled (every utterance of a protocol is tested "
           "exactly once) and the metrics computed on the pool; the per-fold mean ± std is "
           "given beside them.", ""]
    md += write_outputs(results, origin, args.output.parent / "scores")
    if missing:
        md += ["## Not scored", ""] + [f"- {m}" for m in missing] + [""]
    args.output.write_text("\n".join(md) + "\n")
    log.info(f"wrote {args.output}")
    for name, per in main_rows.items():
        for (c, pr), s in sorted(per.items()):
            log.info(f"{name:24s} {c}/{pr}: WA {fmt(s.wa)} UA {fmt(s.ua)} "
                     + " ".join(f"{k.upper()} {fmt(s.ccc.get(k))}" for k in DIM_KEYS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
