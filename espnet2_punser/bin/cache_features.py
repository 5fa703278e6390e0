#!/usr/bin/env python3
"""Compute (or complete) the cache of per-layer pooled encoder features of a data set.

Usage:
    # the encoder of a trained PUNSER model (e.g. the pre-trained one)
    python -m espnet2_punser.bin.cache_features --train_config exp/pt/config.yaml \
        --model_file exp/pt/valid.loss.best.pth --data_dir dump/data/iemocap \
        --cache_root dump/cache --name iemocap --out_file exp/pt/cache_iemocap.path
    # original XEUS weights (the SSL baseline); random weights with --seed if no checkpoint
    # (or --frontend_config conf/baselines/wavlm_large.yaml for another frozen encoder)
    python -m espnet2_punser.bin.cache_features --xeus_config conf/xeus/xeus.yaml \
        --xeus_checkpoint /data/xeus/xeus_checkpoint_new.pth ...

The features go to ``<cache_root>/<encoder hash>/<name>/feats.scp`` (see
``espnet2_punser.cache``); ``--out_file`` receives that directory's path. Entries that
exist and load correctly are reused; missing, truncated or corrupted ones are computed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import torch

from espnet2_punser.bin import doc_parser
from espnet2_punser.cache import announce, build_cache, encoder_hash, read_data_dir
from espnet2_punser.inference import build_model


def get_parser():
    p = doc_parser(__doc__)
    p.add_argument("--train_config", type=Path, default=None)
    p.add_argument("--model_file", type=Path, default=None)
    p.add_argument("--xeus_config", type=Path, default=None)
    p.add_argument("--xeus_checkpoint", type=Path, default=None)
    p.add_argument("--seed", type=int, default=0, help="for random XEUS weights")
    p.add_argument("--frontend_config", type=Path, default=None,
                   help="YAML with 'frontend' and 'frontend_conf' of another frozen encoder "
                        "(e.g. conf/baselines/wavlm_large.yaml, an S3PRL upstream)")
    p.add_argument("--data_dir", type=Path, required=True,
                   help="dir with wav.scp (16 kHz) and utt2num_samples")
    p.add_argument("--cache_root", type=Path, required=True)
    p.add_argument("--name", required=True, help="name of the set inside the cache")
    p.add_argument("--out_file", type=Path, default=None, help="write the cache dir here")
    p.add_argument("--batch_bins", type=int, default=800000)
    p.add_argument("--ngpu", type=int, default=0)
    return p


def encoder_model(args):
    if args.train_config is not None:
        model, _ = build_model(args.train_config, args.model_file)
        if model.frontend is None:
            raise SystemExit(f"{args.train_config}: a cached-feature model has no encoder")
        return model
    from espnet2_punser.ser.model import PunserModel

    if args.frontend_config is not None:
        import yaml

        from espnet2_punser.tasks.ser import frontend_choices

        cfg = yaml.safe_load(args.frontend_config.read_text()) or {}
        frontend_class = frontend_choices.get_class(str(cfg["frontend"]).lower())
        return PunserModel(frontend_class(**(cfg.get("frontend_conf") or {}))).eval()
    if args.xeus_config is None:
        raise SystemExit("give --train_config/--model_file, --xeus_config or --frontend_config")
    from espnet2_punser.ser.xeus import XeusUpstream

    torch.manual_seed(args.seed)
    up = XeusUpstream(args.xeus_config, num_trainable_layers=0)
    if args.xeus_checkpoint is not None:
        up.load_checkpoint(args.xeus_checkpoint)
    else:
        logging.warning(f"no --xeus_checkpoint: RANDOM encoder weights (seed {args.seed})")
    return PunserModel(up).eval()


def main(cmd=None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s (cache_features) %(levelname)s: %(message)s")
    if args.ngpu > 0 and not torch.cuda.is_available():
        raise SystemExit("--ngpu > 0 but no CUDA device is available")
    model = encoder_model(args)
    scp, lengths = read_data_dir(args.data_dir)
    out_dir = args.cache_root / encoder_hash(model) / args.name
    manifest = build_cache(model, scp, lengths, out_dir, args.batch_bins,
                           "cuda" if args.ngpu > 0 else "cpu")
    logging.info(f"{out_dir}: {manifest['utterances']} utterances, {manifest['computed']} "
                 f"computed now ({manifest['recomputed']} recomputed), shape {manifest['shape']}")
    announce(out_dir, args.out_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
