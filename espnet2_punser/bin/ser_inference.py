#!/usr/bin/env python3
"""Batch inference with a PUNSER model, written in ESPnet's Kaldi-style conventions.

Usage:
    python -m espnet2_punser.bin.ser_inference --train_config exp/m/config.yaml \
        --model_file exp/m/valid.loss.best.pth \
        --data_path_and_name_and_type dump/data/iemocap/wav.scp,speech,sound \
        --output_dir exp/m/decode/iemocap [--key_file KEYS] [--batch_bins 800000]

Inputs are ``speech`` as ``sound`` (16 kHz wav.scp) for a full model, or as ``npy``
(cached pooled layers, ``feats.scp``) for a cached-feature model. Outputs in
``--output_dir`` (``DatadirWriter``): ``emotion`` (top class), ``probs``
(``class:probability`` for each competing class), ``vad`` (V A D in [0, 1]) and
``errors`` (utterances that could not be processed, with the reason).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

from espnet2_punser.inference import (
    EmotionPrediction,
    Speech2Emotion,
    format_probs,
    format_vad_values,
    iterate_batches,
    read_lengths,
)
from espnet2_punser.ser.preprocess import normalize_waveform


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--train_config", type=Path, required=True)
    p.add_argument("--model_file", type=Path, required=True)
    p.add_argument("--data_path_and_name_and_type", required=True,
                   help="PATH,speech,TYPE with TYPE sound or npy")
    p.add_argument("--key_file", type=Path, default=None, help="only these utterances")
    p.add_argument("--shape_file", type=Path, default=None,
                   help="utt2num_samples for length-sorted batches without reading headers")
    p.add_argument("--output_dir", type=Path, required=True)
    p.add_argument("--batch_bins", type=int, default=800000)
    p.add_argument("--batch_size", type=int, default=256, help="maximum clips per batch")
    p.add_argument("--class_subset", default=None,
                   help="classes that compete, e.g. 'neutral happy sad angry' (default: the model's)")
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
    if args.ngpu > 0 and not torch.cuda.is_available():
        raise SystemExit("--ngpu > 0 but no CUDA device is available")
    device = "cuda" if args.ngpu > 0 else "cpu"
    subset = args.class_subset.replace(",", " ").split() if args.class_subset else None
    s2e = Speech2Emotion(args.train_config, args.model_file, device=device,
                         class_subset=subset, batch_bins=args.batch_bins)
    scp = dict(line.rstrip("\n").split(maxsplit=1) for line in open(path, encoding="utf-8"))
    keys = list(scp)
    if args.key_file:
        keys = [line.split()[0] for line in open(args.key_file, encoding="utf-8") if line.strip()]
        missing = [k for k in keys if k not in scp]
        if missing:
            raise SystemExit(f"{args.key_file}: keys not in {path}: {missing[:3]}")
    lengths = read_lengths({k: scp[k] for k in keys}, args.shape_file)
    model = s2e.model
    start, n = time.time(), 0
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with DatadirWriter(args.output_dir) as writer, \
            open(args.output_dir / "errors", "w", encoding="utf-8") as errors:
        for ks, arrays in iterate_batches(scp, lengths, args.batch_bins, args.batch_size, keys):
            if kind == "npy":
                x = torch.from_numpy(np.stack(arrays).astype(np.float32)).to(device)
                out = model.predict(x, None, class_subset=subset)
                preds = [Speech2Emotion._result(out, i) for i in range(len(ks))]
            else:
                preds = s2e.predict_batch([(a, 16000) for a in arrays], class_subset=subset)
            for k, pred in zip(ks, preds):
                if pred.error:
                    errors.write(f"{k} {pred.error}\n")
                    logging.warning(f"{k}: {pred.error}")
                    continue
                writer["emotion"][k] = pred.label
                writer["probs"][k] = format_probs(pred.probs)
                writer["vad"][k] = format_vad_values(pred)
            n += len(ks)
            logging.info(f"{n}/{len(keys)} done ({time.time() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
