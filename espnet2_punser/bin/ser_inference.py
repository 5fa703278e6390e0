#!/usr/bin/env python3
r"""Batch inference with a PUNSER model, written in ESPnet's Kaldi-style conventions.

Usage:
    python -m espnet2_punser.bin.ser_inference --train_config exp/m/config.yaml \
        --model_file exp/m/valid.loss.best.pth \
        --data_path_and_name_and_type dump/data/iemocap/wav.scp,speech,sound \
        --output_dir exp/m/decode/iemocap [--key_file KEYS] [--batch_bins 800000]
    python -m espnet2_punser.bin.ser_inference --model_tag exp/packed/punser.zip ...

Inputs are ``speech`` as ``sound`` (16 kHz wav.scp) for a full model, or as ``npy``
(cached pooled layers, ``feats.scp``) for a cached-feature model. Utterances go
through the model in length-sorted batches of at most ``--batch_bins`` padded samples.

Outputs in ``--output_dir`` (``DatadirWriter``), one ``utt value`` line per utterance:
``emotion`` (top class), ``probs`` (``class:probability`` for each competing class),
``vad`` (V A D in [0, 1]) and ``errors`` (utterances that could not be processed:
unreadable, NaN samples, shorter than 400 samples; with the reason). ``warnings``
lists utterances that were processed with a warning (silence). The exit status is 0
even when some utterances failed; they are listed in ``errors``.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from espnet2_punser.bin import doc_parser
from espnet2_punser.inference import (
    EmotionPrediction,
    Speech2Emotion,
    format_probs,
    format_vad_values,
    length_batches,
    load_input,
    padding_ratio,
    read_lengths,
)


def get_parser():
    p = doc_parser(__doc__)
    p.add_argument("--train_config", type=Path, default=None, help="config.yaml of the model")
    p.add_argument("--model_file", type=Path, default=None, help="its weights (*.pth)")
    p.add_argument("--model_tag", default=None,
                   help="instead of --train_config/--model_file: a packed model (zip, "
                        "unzipped folder or Hugging Face repo id)")
    p.add_argument("--cachedir", type=Path, default=None,
                   help="where --model_tag is unpacked (default ~/.cache/espnet2_punser)")
    p.add_argument("--data_path_and_name_and_type", required=True,
                   help="PATH,speech,TYPE with TYPE sound or npy")
    p.add_argument("--key_file", type=Path, default=None, help="only these utterances")
    p.add_argument("--shape_file", type=Path, default=None,
                   help="utt2num_samples for length-sorted batches without reading headers")
    p.add_argument("--output_dir", type=Path, required=True)
    p.add_argument("--batch_bins", type=int, default=800000)
    p.add_argument("--batch_size", type=int, default=256, help="maximum clips per batch")
    p.add_argument("--class_subset", default=None,
                   help="classes that compete, e.g. 'neutral happy sad angry' "
                        "(default: the model's)")
    p.add_argument("--ngpu", type=int, default=0)
    p.add_argument("--log_level", default="INFO")
    return p


def main(cmd=None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s (ser_inference) %(levelname)s: %(message)s")
    from espnet2.fileio.datadir_writer import DatadirWriter

    path, name, kind = args.data_path_and_name_and_type.split(",")
    if name != "speech" or kind not in ("sound", "npy"):
        raise SystemExit("--data_path_and_name_and_type must be PATH,speech,sound|npy")
    explicit = args.train_config is not None or args.model_file is not None
    if (args.model_tag is not None) == explicit or (
            explicit and (args.train_config is None or args.model_file is None)):
        raise SystemExit("give --model_tag, or --train_config and --model_file")
    if args.ngpu > 0 and not torch.cuda.is_available():
        raise SystemExit("--ngpu > 0 but no CUDA device is available")
    device = "cuda" if args.ngpu > 0 else "cpu"
    subset = args.class_subset.replace(",", " ").split() if args.class_subset else None
    common = dict(device=device, class_subset=subset, batch_bins=args.batch_bins,
                  max_batch_size=args.batch_size)
    if args.model_tag:
        s2e = Speech2Emotion.from_pretrained(args.model_tag, cachedir=args.cachedir, **common)
    else:
        s2e = Speech2Emotion(args.train_config, args.model_file, **common)
    if kind == "sound" and s2e.model.frontend is None:
        raise SystemExit("this model takes cached features (npy), not audio")
    scp = dict(line.rstrip("\n").split(maxsplit=1) for line in open(path, encoding="utf-8")
               if line.strip())
    keys = list(scp)
    if args.key_file:
        keys = [line.split()[0] for line in open(args.key_file, encoding="utf-8") if line.strip()]
        missing = [k for k in keys if k not in scp]
        if missing:
            raise SystemExit(f"{args.key_file}: keys not in {path}: {missing[:3]}")
    errors: Dict[str, str] = {}
    warned: Dict[str, str] = {}
    try:
        lengths = read_lengths({k: scp[k] for k in keys}, args.shape_file, errors)
    except ValueError as e:
        raise SystemExit(str(e))
    todo = [k for k in keys if k not in errors]
    batches = length_batches([lengths[k] for k in todo], args.batch_bins, args.batch_size)
    logging.info(f"{len(todo)} utterances in {len(batches)} length-sorted batches, padding "
                 f"ratio {padding_ratio([lengths[k] for k in todo], batches):.3f}")
    model = s2e.model
    start, n = time.time(), 0
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with DatadirWriter(args.output_dir) as writer:
        for b in batches:
            ks, arrays = [], []
            for k in (todo[i] for i in b):
                try:
                    arrays.append(load_input(scp[k]))
                    ks.append(k)
                except Exception as e:  # noqa: BLE001 - one bad file must not stop the rest
                    errors[k] = f"cannot read {scp[k]}: {e}"
            if not ks:
                continue
            if kind == "npy":
                x = torch.from_numpy(np.stack(arrays).astype(np.float32)).to(device)
                out = model.predict(x, None, class_subset=subset)
                preds = [Speech2Emotion._result(out, i) for i in range(len(ks))]
            else:
                preds = s2e.predict_batch([(a, 16000) for a in arrays], class_subset=subset)
            for k, pred in zip(ks, preds):
                _write(writer, k, pred, errors, warned)
            n += len(ks)
            logging.info(f"{n}/{len(todo)} done ({time.time() - start:.1f} s)")
    # NOTE: written apart from DatadirWriter, which warns when sibling files hold
    # different keys
    for fname, table in (("errors", errors), ("warnings", warned)):
        with open(args.output_dir / fname, "w", encoding="utf-8") as f:
            for k in keys:
                if k in table:
                    f.write(f"{k} {table[k]}\n")
                    logging.warning(f"{k}: {table[k]}")
    if errors:
        logging.warning(f"{len(errors)} of {len(keys)} utterances failed; listed in "
                        f"{args.output_dir / 'errors'}")
    return 0


def _write(writer, key: str, pred: EmotionPrediction, errors: Dict[str, str],
           warned: Dict[str, str]) -> None:
    if pred.error:
        errors[key] = pred.error
        return
    writer["emotion"][key] = pred.label
    writer["probs"][key] = format_probs(pred.probs)
    writer["vad"][key] = format_vad_values(pred)
    if pred.warnings:
        warned[key] = "; ".join(pred.warnings)


if __name__ == "__main__":
    sys.exit(main())
