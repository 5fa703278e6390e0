#!/usr/bin/env python3
"""Publish a packed PUNSER model on the Hugging Face Hub (recipe stage 8).

Usage (from the recipe directory):
    python -m espnet2_punser.bin.upload --pack exp/packed/punser.zip --repo_id org/punser
    python -m espnet2_punser.bin.upload --pack exp/packed/punser.zip --repo_id org/punser --upload

The pack is unzipped into --folder (default: exp/packed/<pack stem>_hf; the paths
inside stay relative, as ESPnet's model repos keep them) and a model card README.md
is generated: what PUNSER is, the corpora used (from the pack's provenance), the
results tables of its RESULTS.md, how to load it (Speech2Emotion.from_pretrained and
punser-predict), the licence (CC-BY-NC-SA-4.0, inherited from XEUS) and the citations.

--dry_run (the default) prints the files and the card and sends nothing. --upload
creates the repository (HfApi.create_repo(repo_id, exist_ok=True)) and uploads the
folder (HfApi.upload_folder). The token comes from the HF_TOKEN environment variable
or the `hf auth login` cache; it is never printed. (huggingface_hub 2.x has no
`huggingface-cli`; `hf upload` is the shell equivalent.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from espnet2_punser.bin import doc_parser

LICENSE = "cc-by-nc-sa-4.0"

PUNSER_BIBTEX = """@misc{hayashizaki_punser,
  title  = {{PUNSER}: Large-Scale Pre-Trained and Unified Model for Practical Speech
            Emotion Recognition},
  author = {Hayashizaki, Yu and Nose, Takashi and Kobayashi, Sumiharu and
            Fukayama, Satoru and Ito, Akinori},
}"""
XEUS_BIBTEX = """@inproceedings{chen2024xeus,
  title     = {Towards Robust Speech Representation Learning for Thousands of Languages},
  author    = {Chen, William and Zhang, Wangyou and Peng, Yifan and Li, Xinjian and
               Tian, Jinchuan and Shi, Jiatong and Chang, Xuankai and Maiti, Soumi and
               Livescu, Karen and Watanabe, Shinji},
  booktitle = {Proceedings of EMNLP},
  year      = {2024},
}"""
ESPNET_BIBTEX = """@inproceedings{watanabe2018espnet,
  title     = {{ESPnet}: End-to-End Speech Processing Toolkit},
  author    = {Watanabe, Shinji and Hori, Takaaki and Karita, Shigeki and Hayashi, Tomoki and
               Nishitoba, Jiro and Unno, Yuya and Enrique Yalta Soplin, Nelson and
               Heymann, Jahn and Wiesner, Matthew and Chen, Nanxin and Renduchintala, Adithya
               and Ochiai, Tsubasa},
  booktitle = {Proceedings of Interspeech},
  year      = {2018},
}"""


def get_parser() -> argparse.ArgumentParser:
    p = doc_parser(__doc__)
    p.add_argument("--pack", type=Path, required=True, help="the packed model (zip)")
    p.add_argument("--repo_id", required=True, help="Hugging Face model repo, org/name")
    p.add_argument("--folder", type=Path, default=None,
                   help="where the pack is unzipped with its card (default <pack>_hf)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry_run", dest="upload", action="store_false",
                      help="show the files and the card, send nothing (default)")
    mode.add_argument("--upload", dest="upload", action="store_true",
                      help="create the repo and upload the folder")
    p.set_defaults(upload=False)
    p.add_argument("--private", action="store_true", help="create a private repo")
    p.add_argument("--commit_message", default="Upload PUNSER model (espnet2_punser)")
    return p


# -------------------------------------------------------------------------- the folder
def unzip_pack(pack: Path, folder: Path) -> Dict[str, str]:
    """Extract ``pack`` into a fresh ``folder``; returns meta.yaml's files + yaml_files.

    NOTE: plain extraction, not ``pack_funcs.unpack``: that rewrites the paths in the
    configs to absolute local ones, while a model repo keeps them relative (the
    downloader rewrites them on the user's machine)."""
    if not zipfile.is_zipfile(pack):
        raise SystemExit(f"{pack}: not a zip archive (make it with espnet2_punser.bin.pack)")
    with zipfile.ZipFile(pack) as z:
        names = z.namelist()
        if "meta.yaml" not in names:
            raise SystemExit(f"{pack}: no meta.yaml; not a pack")
        bad = [n for n in names if n.startswith("/") or ".." in Path(n).parts]
        if bad:
            raise SystemExit(f"{pack}: unsafe member paths {bad[:3]}")
        if folder.exists():
            if any(folder.iterdir()) and not (folder / "meta.yaml").is_file():
                raise SystemExit(f"{folder} exists and is not an unzipped pack; choose "
                                 "another --folder")
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        z.extractall(folder)
    meta = yaml.safe_load((folder / "meta.yaml").read_text(encoding="utf-8"))
    files = {**(meta.get("yaml_files") or {}), **(meta.get("files") or {})}
    missing = [k for k in ("train_config", "model_file") if k not in files]
    if missing:
        raise SystemExit(f"{pack}: meta.yaml lacks {missing}; not a PUNSER pack")
    return files


def _find(folder: Path, pattern: str) -> List[Path]:
    return sorted(p for p in folder.glob(pattern) if p.is_file())


def _results_section(folder: Path) -> str:
    """RESULTS.md of the pack from its first '## ' heading, headings one level down,
    image links made relative to the repo root (dropped when the image is absent)."""
    found = _find(folder, "**/RESULTS.md")
    if not found:
        return "No RESULTS.md was packed with this model.\n"
    results = min(found, key=lambda p: len(p.parts))
    text = results.read_text(encoding="utf-8")
    start = text.find("\n## ")
    body = text[start + 1:] if start >= 0 else text
    preamble = text[:start] if start >= 0 else ""
    notes = [line for line in preamble.splitlines() if line.startswith("> ")]
    note = "\n\n".join(notes) + "\n\n" if notes else ""

    def image(match):
        alt, target = match.group(1), match.group(2)
        p = results.parent / target
        if "://" in target or not p.is_file():
            return ""
        return f"![{alt}]({p.relative_to(folder).as_posix()})"

    body = re.sub(r"!\[([^\]]*)\]\(([^)\s]+)\)", image, body)
    body = re.sub(r"^(#{2,5}) ", lambda m: "#" + m.group(1) + " ", body, flags=re.M)
    body = re.sub(r"\n{3,}", "\n\n", body)
    return note + body.strip() + "\n"


def _corpora_section(folder: Path) -> str:
    lines = []
    source = _find(folder, "**/provenance/source")
    sets = _find(folder, "**/provenance/sets.json")
    versions = _find(folder, "**/provenance/versions.txt")
    src = source[0].read_text().strip() if source else ""
    if src == "synthetic":
        lines.append("> **Demo model: trained on the bundled SYNTHETIC corpora** of the recipe "
                     "(generated speech-like audio), not on real emotional speech. It shows "
                     "that the pipeline works; do not use it to recognise emotions.\n")
    if versions:
        v = versions[0].read_text()
        m = re.search(r"^xeus_checkpoint: (.*)$", v, re.M)
        if m and "none" in m.group(1):
            lines.append("> **The encoder started from random weights** (no XEUS checkpoint).\n")
    if sets:
        info = json.loads(sets[0].read_text()).get("sets", {})
        rows = [(k.split("/", 1)[1], v) for k, v in info.items() if k.startswith("data/")]
        if rows:
            lines.append("| corpus | utterances | categories | with V/A/D | speakers |")
            lines.append("|---|---|---|---|---|")
            for name, v in rows:
                classes = ", ".join(f"{c} {n}" for c, n in sorted((v.get("classes") or {}).items()))
                lines.append(f"| {name} | {v.get('utterances', '-')} | {classes or '-'} | "
                             f"{v.get('with_vad', '-')} | {v.get('speakers', '-')} |")
            split = [(k, v) for k, v in info.items() if not k.startswith("data/")]
            pre, valid = dict(split).get("pretrain/train"), dict(split).get("pretrain/valid", {})
            if pre:
                lines.append(f"\nPre-training set: {pre.get('utterances')} utterances "
                             f"(validation: {valid.get('utterances', '-')}).")
    if not lines or (not sets):
        lines.append("The pack carries no provenance (`provenance/sets.json`); see the "
                     "training configuration in the repository.")
    return "\n".join(lines) + "\n"


def _model_section(folder: Path, files: Dict[str, str]) -> str:
    cfg = yaml.safe_load((folder / files["train_config"]).read_text(encoding="utf-8"))
    mc = cfg.get("model_conf") or {}
    classes = mc.get("class_subset") or ["neutral", "happy", "sad", "angry", "surprised",
                                         "fear", "disgust", "excited"]
    xeus = (cfg.get("frontend_conf") or {}).get("xeus_config")
    arch = ""
    if xeus and (folder / xeus).is_file():
        x = yaml.safe_load((folder / xeus).read_text(encoding="utf-8"))
        ec = x.get("encoder_conf") or {}
        arch = (f" ({x.get('encoder')}, {ec.get('num_blocks')} blocks of width "
                f"{ec.get('output_size')}; architecture `{xeus}`)")
    origin = ""
    assembled = folder / Path(files["train_config"]).parent / "assembled_from.yaml"
    if assembled.is_file():
        a = yaml.safe_load(assembled.read_text(encoding="utf-8")) or {}
        origin = (f"- Assembled: encoder of `{a.get('encoder_model_file')}` (pre-trained), "
                  f"weighted sum, projection and heads of `{a.get('head_model_file')}` "
                  "(fine-tuned on cached encoder features).\n")
    return origin + (f"- Encoder: XEUS{arch}; a softmax-weighted sum of its block outputs, mean "
            "pooling over time, Linear -> "
            f"{mc.get('proj_dim', 256)}.\n"
            f"- Categorical head over {len(classes)} classes: {', '.join(classes)}.\n"
            "- Dimensional heads: valence, arousal, dominance, each in [0, 1].\n"
            f"- Files: train config `{files['train_config']}`, weights `{files['model_file']}` "
            "(encoder included; no XEUS checkpoint is needed).\n")


def model_card(folder: Path, repo_id: str, files: Dict[str, str]) -> str:
    """The README.md (model card) of the repo, from the unzipped pack in ``folder``."""
    name = repo_id.split("/")[-1]
    front = {
        "license": LICENSE,
        "library_name": "espnet",
        "pipeline_tag": "audio-classification",
        "tags": ["espnet", "audio", "speech-emotion-recognition", "punser", "xeus"],
    }
    return f"""---
{yaml.safe_dump(front, sort_keys=False).strip()}
---

# PUNSER speech emotion recognition: `{name}`

PUNSER (large-scale **P**re-trained and **UN**ified model for practical **S**peech
**E**motion **R**ecognition) predicts, for a speech clip, the probabilities of 8 emotion
categories (neutral, happy, sad, angry, surprised, fear, disgust, excited) and the
emotion dimensions valence, arousal and dominance in [0, 1]. It is the multilingual
XEUS speech encoder with a weighted sum of its layers, mean pooling and task heads,
pre-trained with masked multi-task learning on many emotion corpora at once (a corpus
without categories or without dimensions only trains the other task), then optionally
fine-tuned on one corpus (paper: *PUNSER: Large-Scale Pre-Trained and Unified Model for
Practical Speech Emotion Recognition*, Hayashizaki, Nose, Kobayashi, Fukayama and Ito).
This model was trained with the ESPnet2 recipe `egs2/punser/ser1` of `espnet2_punser`.

## Model

{_model_section(folder, files)}
## Training data

{_corpora_section(folder)}
## Results

{_results_section(folder)}
## How to use

Install `espnet2_punser` (in its repository: `pip install -e .`, which brings ESPnet 202511).

```python
import soundfile as sf
from espnet2_punser.inference import Speech2Emotion

s2e = Speech2Emotion.from_pretrained("{repo_id}", cachedir="~/.cache/espnet2_punser")
wav, fs = sf.read("speech.wav")            # any rate, mono or multichannel
result = s2e(wav, fs)
print(result.label, result.probs, result.valence, result.arousal, result.dominance)
# many clips, batched: s2e.predict_batch([(wav1, fs1), (wav2, fs2)])
# only some classes compete: s2e(wav, fs, class_subset=["neutral", "happy", "sad", "angry"])
```

From the shell (wav, flac, mp3, mp4, ...):

```bash
punser-predict --model {repo_id} speech.wav other.mp3
punser-predict --model {repo_id} --window 4 --hop 2 --timeline call.csv --plot call.png call.wav
```

## Licence

CC-BY-NC-SA-4.0 (non-commercial, share-alike), inherited from the XEUS encoder
(`espnet/xeus`) whose weights this model contains. The training corpora have their own
licences.

## Citation

```bibtex
{PUNSER_BIBTEX}

{XEUS_BIBTEX}

{ESPNET_BIBTEX}
```
"""


def prepare_folder(pack: Path, repo_id: str, folder: Optional[Path] = None) -> Path:
    """Unzip ``pack`` and write the model card; returns the folder."""
    folder = folder or pack.with_name(pack.name.split(".")[0] + "_hf")
    files = unzip_pack(pack, folder)
    (folder / "README.md").write_text(model_card(folder, repo_id, files), encoding="utf-8")
    return folder


def _token_source() -> str:
    """Where huggingface_hub will take the token from (never the token itself)."""
    if os.environ.get("HF_TOKEN"):
        return "the HF_TOKEN environment variable"
    try:
        from huggingface_hub import get_token

        if get_token():
            return "the `hf auth login` cache"
    except ImportError:
        pass
    return "none found (set HF_TOKEN or run `hf auth login` before --upload)"


def main(cmd=None, api=None) -> int:
    """``api``: an ``HfApi``-like object (tests pass a stand-in); default ``HfApi()``."""
    args = get_parser().parse_args(cmd)
    if args.repo_id.count("/") != 1 or not all(args.repo_id.split("/")):
        raise SystemExit(f"--repo_id must be org/name, got {args.repo_id!r}")
    try:
        from huggingface_hub.utils import validate_repo_id

        validate_repo_id(args.repo_id)
    except ImportError:
        pass
    except ValueError as e:
        raise SystemExit(f"--repo_id: {e}")
    folder = prepare_folder(args.pack, args.repo_id, args.folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    print(f"folder: {folder} ({len(files)} files, "
          f"{sum(p.stat().st_size for p in files) / 1e6:.1f} MB)")
    for p in files:
        print(f"  {p.relative_to(folder).as_posix()}  ({p.stat().st_size} bytes)")
    print(f"\n----- README.md (model card) -----\n{(folder / 'README.md').read_text()}"
          "----- end of README.md -----\n")
    print(f"token: {_token_source()}")
    if not args.upload:
        print("dry run: nothing sent. Upload with --upload "
              f"(to https://huggingface.co/{args.repo_id})")
        return 0
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()  # token: HF_TOKEN or the `hf auth login` cache
    url = api.create_repo(repo_id=args.repo_id, repo_type="model", exist_ok=True,
                          private=args.private)
    print(f"repo: {url}")
    info = api.upload_folder(repo_id=args.repo_id, folder_path=str(folder), repo_type="model",
                             commit_message=args.commit_message)
    print(f"uploaded {len(files)} files: {getattr(info, 'commit_url', info)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
