#!/usr/bin/env python3
"""Tables II and III of the paper: pre-training hyper-parameters on the pre-training
validation set.

Usage:
    python -m espnet2_punser.bin.hparam_tables --valid_dir dump/pretrain/valid \
        --alpha_runs "0=exp/pretrain_hp_alpha0 0.25=exp/pretrain_hp_alpha0.25 ..." \
        --layer_runs "0=exp/pretrain_hp_L0 3=exp/pretrain_hp_L3 ..." \
        --output exp/hparam_study.md

Each run dir holds a pre-trained model (config.yaml, valid.loss.best.pth). Its
predictions on the validation set give WA/UA over the 8 classes (all outputs compete),
WA/UA over the 4 classes neutral, happy, sad and angry (utterances labelled with one of
them; only those 4 outputs compete, as in the paper) and CCC per V, A, D.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from espnet2_punser.bin import doc_parser
from espnet2_punser.datadir import read_map
from espnet2_punser.labels import EMOTION_INDEX
from espnet2_punser.metrics import concordance_cc, unweighted_accuracy, weighted_accuracy
from espnet2_punser.scoring import render_table

FOUR = ["neutral", "happy", "sad", "angry"]
GROUPS = [("4-class", ["WA4", "UA4"]), ("8-class", ["WA8", "UA8"]),
          ("Dimensional", ["CCC_V", "CCC_A", "CCC_D"])]


@torch.no_grad()
def predict_set(model, data_dir: Path, batch_bins: int = 800000):
    """Logits (N, 8) and V/A/D (N, 3) of every utterance of ``data_dir`` (sorted keys)."""
    from espnet2_punser.inference import iterate_batches, pad_batch
    from espnet2_punser.ser.preprocess import normalize_waveform

    wav = read_map(data_dir / "wav.scp")
    lengths = {u: int(n) for u, n in read_map(data_dir / "utt2num_samples").items()}
    out: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    for keys, arrays in iterate_batches(wav, lengths, batch_bins):
        x, lens = pad_batch([normalize_waveform(a) for a in arrays])
        p = model.predict(x, lens)
        for i, k in enumerate(keys):
            out[k] = (p["logits"][i].float().numpy(), p["vad"][i].numpy())
    return out


def run_metrics(preds, cat: Dict[str, str], vad: Dict[str, str]) -> List[Optional[float]]:
    keys = sorted(preds)
    logits = np.stack([preds[k][0] for k in keys])
    y = np.array([int(cat[k]) for k in keys])
    has = y >= 0
    row: List[Optional[float]] = []
    four = [EMOTION_INDEX[c] for c in FOUR]
    sel = has & np.isin(y, four)
    pred4 = np.array(four)[logits[:, four].argmax(1)]
    row += [weighted_accuracy(y[sel], pred4[sel]), unweighted_accuracy(y[sel], pred4[sel])] \
        if sel.any() else [None, None]
    pred8 = logits.argmax(1)
    row += [weighted_accuracy(y[has], pred8[has]), unweighted_accuracy(y[has], pred8[has])] \
        if has.any() else [None, None]
    ref = np.array([[float(x) for x in vad[k].split()] for k in keys])
    hyp = np.stack([preds[k][1] for k in keys])
    for d in range(3):
        c = concordance_cc(ref[:, d], hyp[:, d])
        row.append(None if np.isnan(c) else c)
    return row


def parse_runs(spec: str) -> List[Tuple[str, Path]]:
    out = []
    for item in spec.split():
        value, _, path = item.partition("=")
        if not path:
            raise SystemExit(f"run '{item}' is not VALUE=DIR")
        out.append((value, Path(path)))
    return out


def main(cmd=None) -> int:
    p = doc_parser(__doc__)
    p.add_argument("--valid_dir", type=Path, required=True)
    p.add_argument("--alpha_runs", default="")
    p.add_argument("--layer_runs", default="")
    p.add_argument("--batch_bins", type=int, default=800000)
    p.add_argument("--output", type=Path, required=True)
    args = p.parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (hparam_tables) %(message)s")
    from espnet2_punser.inference import build_model

    cat, vad = read_map(args.valid_dir / "cat"), read_map(args.valid_dir / "vad")
    md = ["# Pre-training hyper-parameters (paper Tables II and III)", "",
          f"Evaluated on the pre-training validation set `{args.valid_dir}` "
          f"({len(cat)} utterances). 4-class: utterances labelled neutral, happy, sad or "
          "angry, only those outputs compete; 8-class: all outputs compete.", ""]
    for title, spec, label in (("Table II: the task weight alpha", args.alpha_runs, "alpha"),
                               ("Table III: trainable XEUS layers L", args.layer_runs, "L")):
        runs = parse_runs(spec)
        if not runs:
            continue
        rows = {}
        for value, run in runs:
            if not (run / "valid.loss.best.pth").is_file():
                logging.warning(f"{run}: no valid.loss.best.pth; {label}={value} left out")
                continue
            model, _ = build_model(run / "config.yaml", run / "valid.loss.best.pth")
            rows[f"{label} = {value}"] = run_metrics(predict_set(model, args.valid_dir, args.batch_bins), cat, vad)
            logging.info(f"{label}={value}: " + " ".join(f"{x:.3f}" if x is not None else "-" for x in rows[f'{label} = {value}']))
        md += [f"## {title}", "", render_table(GROUPS, rows), ""]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(md) + "\n")
    logging.info(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
