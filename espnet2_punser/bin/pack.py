#!/usr/bin/env python3
r"""Pack a PUNSER model (recipe stage 8) for espnet_model_zoo and Hugging Face.

Usage (from the recipe directory, egs2/punser/ser1):
    # the pre-trained model (8 classes + V/A/D)
    python -m espnet2_punser.bin.pack \
        --train_config exp/pretrain_demo_pretrain/config.yaml \
        --model_file exp/pretrain_demo_pretrain/valid.loss.best.pth \
        --results exp/finetune_demo_pretrain/RESULTS.md --labels_dir conf/labels \
        --outpath exp/packed/punser.zip

    # a fine-tuned model trained on cached features: its heads on the pre-trained encoder
    run=exp/finetune_demo_pretrain/punser/<corpus>/<protocol>/<fold>/full
    python -m espnet2_punser.bin.pack \
        --train_config exp/pretrain_demo_pretrain/config.yaml \
        --model_file exp/pretrain_demo_pretrain/valid.loss.best.pth \
        --head_config ${run}/config.yaml --head_model_file ${run}/valid.loss.best.pth \
        --results exp/finetune_demo_pretrain/RESULTS.md --labels_dir conf/labels \
        --outpath exp/packed/punser_<corpus>.zip

With ``--head_config``/``--head_model_file`` the full model is first assembled into
``--assemble_dir`` (default: ``exp/packed/<outpath stem>/``: config.yaml, model.pth).
The archive holds meta.yaml (yaml_files.train_config, files.model_file), the train
config, the model file (encoder weights included; no XEUS checkpoint), the XEUS
architecture config named by the train config (a path relative to the recipe dir,
rewritten on unpacking), the label inventories of the experiment's corpora,
RESULTS.md with its figures and the experiment's provenance/ folder.

Load it with ``Speech2Emotion.from_pretrained("exp/packed/punser.zip")`` or
``punser-predict --model exp/packed/punser.zip audio.wav``; publish it with
``python -m espnet2_punser.bin.upload``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from espnet2_punser.bin import doc_parser


def get_parser() -> argparse.ArgumentParser:
    p = doc_parser(__doc__)
    p.add_argument("--train_config", type=Path, required=True,
                   help="config.yaml of a full model (the pre-trained model with --head_*)")
    p.add_argument("--model_file", type=Path, required=True, help="its weights")
    p.add_argument("--head_config", type=Path, default=None,
                   help="config.yaml of a cached-feature (fine-tuned) model whose heads "
                        "are put on the encoder of --model_file")
    p.add_argument("--head_model_file", type=Path, default=None, help="its weights")
    p.add_argument("--assemble_dir", type=Path, default=None,
                   help="where the assembled full model goes (default exp/packed/<name>)")
    p.add_argument("--results", type=Path, default=None, help="RESULTS.md to pack")
    p.add_argument("--labels_dir", type=Path, default=None,
                   help="label inventories (conf/labels); those of the experiment's corpora "
                        "(provenance sets.json, or --corpora) are packed")
    p.add_argument("--corpora", default=None,
                   help="corpora whose label inventories are packed (default: from provenance)")
    p.add_argument("--provenance", default="auto",
                   help="provenance folder to pack ('auto': the nearest above the train "
                        "config; 'none': no provenance)")
    p.add_argument("--option", type=Path, action="append", default=[],
                   help="another file or folder to pack (repeatable)")
    p.add_argument("--outpath", type=Path, required=True, help="the archive, e.g. exp/packed/x.zip")
    return p


def main(cmd=None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (pack) %(levelname)s: %(message)s")
    from espnet2_punser.inference import ModelLoadError
    from espnet2_punser.packing import PackError, assemble_full_model, pack

    if (args.head_config is None) != (args.head_model_file is None):
        raise SystemExit("pack: give both --head_config and --head_model_file, or neither")
    try:
        config, model = args.train_config, args.model_file
        if args.head_config is not None:
            stem = args.outpath.name.split(".")[0]
            out_dir = args.assemble_dir or args.outpath.parent / stem
            config, model = assemble_full_model(args.train_config, args.model_file,
                                                args.head_config, args.head_model_file, out_dir)
        provenance = None if str(args.provenance).lower() == "none" else args.provenance
        corpora = args.corpora.replace(",", " ").split() if args.corpora else None
        pack(config, model, args.outpath, results=args.results, labels_dir=args.labels_dir,
             corpora=corpora, provenance=provenance, extra=args.option)
    except (PackError, ModelLoadError, FileNotFoundError) as e:
        logging.error(str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
