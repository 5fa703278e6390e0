#!/usr/bin/env python3
"""Cache the frozen lower XEUS stack for pre-training (opt-in; recipe option
``--pretrain_frame_cache true``).

Usage:
    python -m espnet2_punser.bin.cache_frames --xeus_config conf/xeus/xeus.yaml \
        --xeus_checkpoint XEUS.pth --num_trainable_layers 6 \
        --data_dir dump/pretrain/train --cache_root dump/frame_cache --name train \
        [--dtype float16] [--out_file F]

During pre-training only the last L blocks train: the CNN, pre-encoder, positional
convolution and the first 19 - L blocks give the same output in every epoch. This
computes once per utterance the frame-level output of block 19 - L - 1 (``frames.scp``,
(T', D), float16 by default) and the mean-pooled outputs of the frozen blocks
(``frozen.scp``, (K, D)), under ``<cache_root>/<hash of the frozen stack>/<name>/``.
Training then reads them (``speech`` as ``npy``, ``frozen_pooled``, and
``--frontend_conf frame_input=true``). The disk it needs is printed first (about 80 GB
for the paper's 226 hours at float16) and the run refuses to start when the file system
has less free space.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import torch

from espnet2_punser.bin import doc_parser
from espnet2_punser.cache import (announce, build_frame_cache, frame_cache_bytes,
                                   frozen_stack_hash, read_data_dir)


def get_parser():
    p = doc_parser(__doc__)
    p.add_argument("--xeus_config", type=Path, required=True)
    p.add_argument("--xeus_checkpoint", type=Path, default=None,
                   help="the weights pre-training starts from (random with --seed if absent)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num_trainable_layers", type=int, required=True, help="L")
    p.add_argument("--data_dir", type=Path, required=True)
    p.add_argument("--cache_root", type=Path, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    p.add_argument("--batch_bins", type=int, default=800000)
    p.add_argument("--ngpu", type=int, default=0)
    p.add_argument("--out_file", type=Path, default=None, help="write the cache dir here")
    return p


def _size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def main(cmd=None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s (cache_frames) %(levelname)s: %(message)s")
    from espnet2_punser.ser.xeus import XeusUpstream

    torch.manual_seed(args.seed)
    up = XeusUpstream(args.xeus_config, num_trainable_layers=args.num_trainable_layers)
    if args.xeus_checkpoint is not None:
        up.load_checkpoint(args.xeus_checkpoint)
    scp, lengths = read_data_dir(args.data_dir)
    out_dir = args.cache_root / frozen_stack_hash(up) / args.name
    need = frame_cache_bytes(up, lengths, args.dtype)
    args.cache_root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.cache_root).free
    have = sum(p.stat().st_size for p in out_dir.rglob("*.npy")) if out_dir.is_dir() else 0
    logging.info(f"frame cache of {len(scp)} utterances ({sum(lengths.values()) / 16000 / 3600:.2f} h): "
                 f"needs {_size(need)} ({args.dtype}), {_size(have)} already there, "
                 f"{free / 1e9:.2f} GB free on {args.cache_root}")
    if need - have > free:
        logging.error(f"not enough disk for the frame cache: needs {_size(need - have)} "
                      f"more, {free / 1e9:.2f} GB available on {args.cache_root}; free space, "
                      "choose another --cache_root, or pre-train without the frame cache")
        return 1
    manifest = build_frame_cache(up, scp, lengths, out_dir, args.dtype, args.batch_bins,
                                 "cuda" if args.ngpu > 0 else "cpu")
    logging.info(f"{out_dir}: {manifest['utterances']} utterances ({manifest['computed']} computed now)")
    announce(out_dir, args.out_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
