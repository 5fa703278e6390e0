#!/usr/bin/env python3
"""Fine-tune and decode every fold of an evaluation protocol (recipe stages 5 and 6).

Usage:
    python -m espnet2_punser.bin.finetune --mode train \
        --protocol_dir dump/eval/iemocap/main --cache_dir dump/cache/<hash>/iemocap \
        --config conf/finetune.yaml --init_model exp/pretrain/valid.loss.best.pth \
        --exp_dir exp/finetune/punser/iemocap/main [--variants "full p10"] [--job 1 --njobs 2]
    python -m espnet2_punser.bin.finetune --mode decode ...      # test part of each fold
    python -m espnet2_punser.bin.finetune --mode zeroshot ...    # init model, no training

For every fold of the protocol (``protocol.json`` and ``<fold>/{train,valid,test}``) and
every training variant (``full`` or a low-resource ``pNN`` subset), ESPnet's trainer
(``SERTask``) runs in this process, one fold after another, so the heavy imports are
paid once. Runs whose ``.done`` marker matches their options are skipped; an interrupted
run resumes from its checkpoint.

With ``--cache_dir`` (the default path of the recipe) the model takes the cached pooled
layers (``frontend: none``); batches are formed from the audio lengths, exactly as the
uncached path forms them, so both give the same model. With ``--train_config`` of a
full model instead (``--use_cache false`` in the recipe), XEUS runs on the audio.

Outputs per run: ``<exp_dir>/<fold>/<variant>/`` (ESPnet experiment dir: config.yaml,
valid.loss.best.pth, ...) and ``.../decode/{emotion,probs,vad}`` for the test part.
Zero-shot predictions go to ``<exp_dir>/zeroshot/<fold>/decode``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
import yaml

from espnet2_punser.bin import doc_parser
from espnet2_punser.datadir import read_map, write_map
from espnet2_punser.labels import EMOTIONS

log = logging.getLogger("finetune")


def get_parser():
    p = doc_parser(__doc__)
    p.add_argument("--mode", choices=("train", "decode", "train+decode", "zeroshot"),
                   required=True)
    p.add_argument("--protocol_dir", type=Path, required=True)
    p.add_argument("--exp_dir", type=Path, required=True)
    p.add_argument("--config", type=Path, help="fine-tuning YAML (training options)")
    p.add_argument("--init_model", type=Path, default=None,
                   help="PUNSER model whose weighted sum, projection and heads initialise "
                        "the fine-tuning (and serve zero-shot); none: random heads")
    p.add_argument("--init_config", type=Path, default=None,
                   help="config.yaml of --init_model (default: next to it)")
    p.add_argument("--cache_dir", type=Path, default=None,
                   help="cached pooled layers of the corpus (feats.scp); without it XEUS "
                        "runs on the audio (give --xeus_config)")
    p.add_argument("--xeus_config", type=Path, default=None,
                   help="uncached path: the XEUS architecture config")
    p.add_argument("--xeus_checkpoint", type=Path, default=None,
                   help="uncached path without --init_model: the XEUS weights")
    p.add_argument("--head_conf", default=None,
                   help="YAML dict merged into model_conf (e.g. '{head_hidden: null}')")
    p.add_argument("--variants", default="full", help="'full' and/or 'pNN' subsets")
    p.add_argument("--folds", default=None, help="only these folds (default: all)")
    p.add_argument("--job", type=int, default=1, help="this job handles folds job, job+njobs, ...")
    p.add_argument("--njobs", type=int, default=1)
    p.add_argument("--ngpu", type=int, default=0)
    p.add_argument("--train_args", default="", help="extra ser_train arguments")
    return p


# ------------------------------------------------------------------------- data lists
def _write_lists(part_dir: Path, out: Path, cache_scp: Optional[Dict[str, str]]) -> Path:
    """Data files of one part for training: speech (npy from the cache, or wav), its
    shape from the audio length, cat, vad."""
    out.mkdir(parents=True, exist_ok=True)
    wav = read_map(part_dir / "wav.scp")
    nsamp = read_map(part_dir / "utt2num_samples")
    if cache_scp is not None:
        missing = [u for u in wav if u not in cache_scp]
        if missing:
            raise SystemExit(f"cache lacks {len(missing)} utterances of {part_dir}, e.g. "
                             f"{missing[:3]}: rebuild the cache (recipe stage 5)")
        write_map(out / "speech.scp", ((u, cache_scp[u]) for u in wav))
    else:
        write_map(out / "speech.scp", wav.items())
    # NOTE: shapes are the audio lengths in both paths, so the numel sampler forms the
    # same length-sorted batches with and without the cache.
    write_map(out / "speech_shape", ((u, nsamp[u]) for u in wav))
    for name in ("cat", "vad"):
        shutil.copy(part_dir / name, out / name)
    return out


def _data_args(d: Path, split: str, kind: str) -> List[str]:
    return [f"--{split}_data_path_and_name_and_type", f"{d}/speech.scp,speech,{kind}",
            f"--{split}_data_path_and_name_and_type", f"{d}/cat,cat,text_int",
            f"--{split}_data_path_and_name_and_type", f"{d}/vad,vad,text_float",
            f"--{split}_shape_file", f"{d}/speech_shape"]


def _signature(*items) -> str:
    h = hashlib.sha1()
    for it in items:
        if isinstance(it, Path) and it.is_file():
            st = it.stat()
            # small files by content; big ones (checkpoints) by size and time
            h.update(it.read_bytes() if st.st_size < 1 << 20 else f"{it}:{st.st_size}:{st.st_mtime_ns}".encode())
        else:
            h.update(str(it).encode())
    return h.hexdigest()[:16]


def _model_conf_args(protocol: dict, cache_manifest: Optional[dict], head_conf: Optional[str]):
    conf = {"class_subset": protocol.get("classes")}
    if cache_manifest is not None:
        conf["num_layers"], conf["feat_dim"] = cache_manifest["shape"]
    if head_conf:
        conf.update(yaml.safe_load(head_conf) or {})
    out = []
    for k, v in conf.items():
        out += ["--model_conf", f"{k}={json.dumps(v)}"]  # JSON is YAML flow style
    return out


# --------------------------------------------------------------------------- decoding
def decode_part(model, part: Path, out_dir: Path, class_subset, cache_scp, device="cpu",
                batch_bins=800000) -> None:
    """Predictions for one part (cached features or audio) -> Kaldi-style files."""
    from espnet2.fileio.datadir_writer import DatadirWriter

    from espnet2_punser.inference import (
        Speech2Emotion,
        format_probs,
        format_vad_values,
        iterate_batches,
    )
    from espnet2_punser.ser.preprocess import normalize_waveform

    wav = read_map(part / "wav.scp")
    lengths = {u: int(n) for u, n in read_map(part / "utt2num_samples").items()}
    scp = {u: cache_scp[u] for u in wav} if cache_scp is not None else wav
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    with DatadirWriter(tmp) as writer, torch.no_grad():
        for keys, arrays in iterate_batches(scp, lengths, batch_bins, keys=list(wav)):
            if cache_scp is not None:
                x, lens = torch.from_numpy(np.stack(arrays).astype(np.float32)), None
            else:
                from espnet2_punser.inference import pad_batch

                x, lens = pad_batch([normalize_waveform(a) for a in arrays])
                lens = lens.to(device)
            out = model.predict(x.to(device), lens, class_subset=class_subset)
            for i, k in enumerate(keys):
                pred = Speech2Emotion._result(out, i)
                writer["emotion"][k] = pred.label
                writer["probs"][k] = format_probs(pred.probs)
                writer["vad"][k] = format_vad_values(pred)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)


def cached_model_from(init_config: Path, init_model: Path, manifest: dict, class_subset):
    """The heads of a full PUNSER model on cached pooled layers (zero-shot)."""
    from espnet2_punser.inference import load_state_dict_safely
    from espnet2_punser.ser.model import PunserModel

    cfg = yaml.safe_load(open(init_config, encoding="utf-8"))
    conf = dict(cfg.get("model_conf") or {})
    conf.update(num_layers=manifest["shape"][0], feat_dim=manifest["shape"][1],
                class_subset=class_subset)
    model = PunserModel(frontend=None, **conf)
    state = {k: v for k, v in load_state_dict_safely(init_model).items()
             if not k.startswith("frontend.")}
    model.load_state_dict(state, strict=True)
    return model.eval()


# ------------------------------------------------------------------------------- main
def main(cmd=None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s (finetune) %(levelname)s: %(message)s")
    info = json.loads((args.protocol_dir / "protocol.json").read_text())
    protocol = info["protocol"]
    folds = sorted(info["folds"])
    if args.folds:
        folds = [f for f in folds if f in args.folds.replace(",", " ").split()]
    folds = folds[args.job - 1:: args.njobs]
    variants = args.variants.replace(",", " ").split()
    cache_scp = manifest = None
    if args.cache_dir is not None:
        cache_scp = read_map(args.cache_dir / "feats.scp")
        manifest = json.loads((args.cache_dir / "manifest.json").read_text())
    kind = "npy" if cache_scp is not None else "sound"
    if cache_scp is not None and "OMP_NUM_THREADS" not in os.environ and args.ngpu == 0:
        # NOTE: the heads on cached features are tiny; more threads only add
        # synchronisation cost (and parallel fold jobs share the cores anyway)
        torch.set_num_threads(1)
    subset = protocol.get("classes")
    device = "cuda" if args.ngpu > 0 else "cpu"
    init_config = args.init_config or (args.init_model.parent / "config.yaml"
                                       if args.init_model else None)

    if cache_scp is None and args.xeus_config is None:
        raise SystemExit("give --cache_dir (cached features) or --xeus_config (audio)")

    if args.mode == "zeroshot":
        if args.init_model is None:
            raise SystemExit("--mode zeroshot needs --init_model")
        if manifest is not None:
            model = cached_model_from(init_config, args.init_model, manifest, subset)
        else:
            from espnet2_punser.inference import build_model

            model, _ = build_model(init_config, args.init_model)
        model = model.to(device)
        for fold in folds:
            out = args.exp_dir / "zeroshot" / fold / "decode"
            decode_part(model, args.protocol_dir / fold / "test", out, subset, cache_scp, device)
            log.info(f"zero-shot {fold}: wrote {out}")
        return 0

    from espnet2_punser.tasks.ser import SERTask

    for fold in folds:
        for variant in variants:
            part = "train" if variant == "full" else f"train_{variant}"
            fold_dir = args.protocol_dir / fold
            if not (fold_dir / part).is_dir():
                raise SystemExit(f"{fold_dir / part} is missing: re-run stage 2 with this fraction")
            run = args.exp_dir / fold / variant
            if args.mode in ("train", "train+decode"):
                sig = _signature(args.config, args.init_model, args.head_conf, args.train_args,
                                 kind, manifest and manifest["encoder_hash"],
                                 args.xeus_config, args.xeus_checkpoint,
                                 fold_dir / part / "cat", fold_dir / "valid" / "cat")
                done = run / ".done"
                if done.is_file() and done.read_text().strip() == sig:
                    log.info(f"{run}: done with the same options; skipped")
                    continue
                lists = run / "data"
                tr = _write_lists(fold_dir / part, lists / "train", cache_scp)
                va = _write_lists(fold_dir / "valid", lists / "valid", cache_scp)
                cmd_args = ["--config", str(args.config), "--output_dir", str(run),
                            "--resume", "true", "--ngpu", str(args.ngpu),
                            *_data_args(tr, "train", kind), *_data_args(va, "valid", kind),
                            *_model_conf_args(protocol, manifest, args.head_conf)]
                if cache_scp is not None:
                    cmd_args += ["--frontend", "none"]
                else:  # XEUS on the audio, frozen
                    cmd_args += ["--frontend", "xeus",
                                 "--frontend_conf", f"xeus_config={args.xeus_config}",
                                 "--frontend_conf", "num_trainable_layers=0"]
                    if args.init_model is None and args.xeus_checkpoint is not None:
                        cmd_args += ["--xeus_checkpoint", str(args.xeus_checkpoint)]
                if args.init_model is not None:
                    exclude = ":::frontend" if cache_scp is not None else ""
                    cmd_args += ["--init_param", f"{args.init_model}{exclude}"]
                cmd_args += args.train_args.split()
                log.info(f"{run}: training ({len(read_map(tr / 'cat'))} utterances)")
                (run).mkdir(parents=True, exist_ok=True)
                (run / "cmd.txt").write_text("ser_train " + shlex.join(cmd_args) + "\n")
                SERTask.main(cmd=cmd_args)
                if not (run / "valid.loss.best.pth").exists():
                    raise SystemExit(f"{run}: training ended without valid.loss.best.pth")
                done.write_text(sig + "\n")
            if args.mode in ("decode", "train+decode"):
                from espnet2_punser.inference import build_model

                model, _ = build_model(run / "config.yaml", run / "valid.loss.best.pth", device)
                out = run / "decode"
                decode_part(model, fold_dir / "test", out, subset, cache_scp, device)
                log.info(f"{run}: decoded {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
