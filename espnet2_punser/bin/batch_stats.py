#!/usr/bin/env python3
"""Batches that ESPnet's sampler forms from a shape file, and how much padding they cost.

Usage:
    python -m espnet2_punser.bin.batch_stats --shape_file exp/stats_pretrain/train/speech_shape \
        [--batch_type numel] [--batch_bins 800000] [--config conf/pretrain.yaml]

Prints the number of batches, utterances per batch and the padding ratio (padded
samples / real samples, 1.0 = no padding) of the batches
``espnet2.samplers.build_batch_sampler`` builds with these settings (``--config`` takes
``batch_type``/``batch_bins``/``batch_size`` from a training YAML).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from espnet2_punser.bin import doc_parser


def sampler_batches(shape_file: Path, batch_type: str, batch_bins: int, batch_size: int):
    from espnet2.samplers.build_batch_sampler import build_batch_sampler

    return list(build_batch_sampler(type=batch_type, batch_size=batch_size,
                                    batch_bins=batch_bins, shape_files=[str(shape_file)]))


def main(cmd=None) -> int:
    p = doc_parser(__doc__)
    p.add_argument("--shape_file", type=Path, required=True, nargs="+")
    p.add_argument("--config", type=Path, default=None)
    p.add_argument("--batch_type", default="numel")
    p.add_argument("--batch_bins", type=int, default=800000)
    p.add_argument("--batch_size", type=int, default=20)
    args = p.parse_args(cmd)
    if args.config:
        cfg = yaml.safe_load(args.config.read_text()) or {}
        args.batch_type = cfg.get("batch_type", args.batch_type)
        args.batch_bins = int(cfg.get("batch_bins", args.batch_bins))
        args.batch_size = int(cfg.get("batch_size", args.batch_size))
    from espnet2_punser.inference import padding_ratio

    for shape_file in args.shape_file:
        lengths = {}
        for line in open(shape_file, encoding="utf-8"):
            k, v = line.split()
            lengths[k] = int(v.split(",")[0])
        batches = sampler_batches(shape_file, args.batch_type, args.batch_bins, args.batch_size)
        index = {k: i for i, k in enumerate(lengths)}
        ratio = padding_ratio(list(lengths.values()), [[index[k] for k in b] for b in batches])
        sizes = [len(b) for b in batches]
        print(f"{shape_file}: {len(lengths)} utterances, {len(batches)} batches "
              f"({args.batch_type}, batch_bins {args.batch_bins}), {min(sizes)}-{max(sizes)} "
              f"per batch, padding ratio {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
