#!/usr/bin/env python3
"""Save a randomly initialised XEUS checkpoint in ESPnet's SSL format.

The model is built by ESPnet's own ``SSLTask.build_model`` from an XEUS architecture
config (e.g. ``conf/xeus/tiny.yaml`` or ``conf/xeus/xeus.yaml``), so the state dict
has the keys of the released ``xeus_checkpoint_new.pth`` (encoder, HuBERT loss head,
masking module, ``global_step``). Tests and the CPU demo use such a file as stand-in
"XEUS weights" where the real 2.3 GB checkpoint cannot be downloaded.

Usage:
    python -m espnet2_punser.bin.make_xeus_checkpoint CONFIG OUT.pth [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from espnet2_punser.bin import doc_parser
from espnet2_punser.espnet_imports import defer_slow_espnet_imports

defer_slow_espnet_imports()
import torch

from espnet2_punser.ser.xeus import load_xeus_config


def build_ssl_model(config):
    """``ESPnetSSLModel`` built by ``SSLTask.build_model`` from an XEUS config."""
    from espnet2.tasks.ssl import SSLTask

    cfg = load_xeus_config(config)
    num_classes = 2048
    for loss in cfg.get("loss") or []:
        num_classes = int((loss.get("conf") or {}).get("num_classes", num_classes))
    args = dict(
        token_list=[str(i) for i in range(num_classes)],
        input_size=None,
        specaug=None,
        specaug_conf={},
        normalize=None,
        normalize_conf={},
        preencoder=None,
        preencoder_conf={},
        loss=[{"name": "hubert", "conf": {}}],
        util=[],
        model="espnet",
        model_conf={},
        init=None,
    )
    args.update({k: v for k, v in cfg.items() if v is not None or k in args})
    for key in ("frontend_conf", "preencoder_conf", "encoder_conf", "specaug_conf",
                "normalize_conf"):
        args[key] = dict(args.get(key) or {})
    return SSLTask.build_model(argparse.Namespace(**args))


def get_parser():
    parser = doc_parser(__doc__)
    parser.add_argument("config", type=Path, help="XEUS architecture YAML")
    parser.add_argument("output", type=Path, help="where to write the .pth")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(message)s")
    torch.manual_seed(args.seed)
    model = build_ssl_model(args.config)
    n = sum(p.numel() for p in model.parameters())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_name(args.output.name + ".tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(args.output)
    logging.info(f"wrote {args.output}: random XEUS ({n / 1e6:.2f} M parameters) from {args.config}")


if __name__ == "__main__":
    main()
