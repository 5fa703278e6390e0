"""Packing, unpacking and publishing a trained PUNSER model.

A module fixture builds a small recipe-shaped experiment, the way the recipe does it:
the tiny model pre-trained for two epochs through ESPnet's trainer (config naming
``conf/xeus/tiny.yaml`` relative to the recipe dir), its pooled layers cached, and a
4-class model fine-tuned on the cache (``frontend: none``), decoded by the recipe's
own decode function. The tests pack it, load it from another directory and compare.
"""

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml

from conftest import RECIPE, TINY_XEUS, make_tone_set
from espnet2_punser.bin import pack as pack_cli
from espnet2_punser.bin import ser_inference, upload
from espnet2_punser.inference import ModelLoadError, Speech2Emotion, build_model, parse_probs
from espnet2_punser.packing import (
    ModelNotFoundError,
    PackError,
    PackFormatError,
    assemble_full_model,
    download_and_unpack,
    pack,
)

SUBSET = ["neutral", "happy", "sad", "angry"]
PRETRAIN = "exp/pretrain_demo"
FOLD = "exp/finetune_demo/punser/synth_eval/main/f1/full"
LABELS = ("synth_cat", "synth_eval", "iemocap")


def _shape_file(d: Path) -> Path:
    lines = [f"{u} {soundfile.info(p).frames}" for u, p in
             (line.split() for line in (d / "wav.scp").read_text().splitlines())]
    (d / "speech_shape").write_text("\n".join(lines) + "\n")
    (d / "utt2num_samples").write_text("\n".join(lines) + "\n")
    return d / "speech_shape"


def _data_args(d: Path, split: str, speech: str, kind: str):
    return [f"--{split}_data_path_and_name_and_type", f"{speech},speech,{kind}",
            f"--{split}_data_path_and_name_and_type", f"{d}/cat,cat,text_int",
            f"--{split}_data_path_and_name_and_type", f"{d}/vad,vad,text_float",
            f"--{split}_shape_file", str(d / "speech_shape")]


def _train(args):
    from espnet2_punser.tasks.ser import SERTask

    SERTask.main(cmd=["--use_tensorboard", "false", "--use_matplotlib", "false",
                      "--num_workers", "0", "--seed", "0", "--batch_bins", "200000",
                      "--optim_conf", "lr=0.001", *args])


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """A recipe dir with a pre-trained model, a cached-feature fold model, its decode
    outputs (the recipe's inference stage) and RESULTS.md."""
    rec = tmp_path_factory.mktemp("recipe")
    mp = pytest.MonkeyPatch()
    mp.chdir(rec)
    try:
        (rec / "conf" / "xeus").mkdir(parents=True)
        shutil.copy(TINY_XEUS, rec / "conf" / "xeus" / "tiny.yaml")
        (rec / "conf" / "labels").mkdir()
        for name in LABELS:
            shutil.copy(RECIPE / "conf" / "labels" / f"{name}.yaml", rec / "conf" / "labels")
        data = {s: make_tone_set(rec / "data", n, seed, s)
                for s, n, seed in (("train", 24, 0), ("valid", 8, 1), ("test", 8, 2))}
        for d in data.values():
            _shape_file(d)
        cat = (data["test"] / "cat").read_text().replace(" -1\n", " 0\n")
        (data["test"] / "cat").write_text(cat)

        _train(["--frontend_conf", "xeus_config=conf/xeus/tiny.yaml",
                "--frontend_conf", "num_trainable_layers=2", "--max_epoch", "2",
                *_data_args(data["train"], "train", f"{data['train']}/wav.scp", "sound"),
                *_data_args(data["valid"], "valid", f"{data['valid']}/wav.scp", "sound"),
                "--output_dir", PRETRAIN])
        prov = rec / PRETRAIN / "provenance"
        prov.mkdir()
        (prov / "source").write_text("synthetic\n")
        (prov / "versions.txt").write_text("xeus_checkpoint: none (random weights)\n")
        (prov / "sets.json").write_text(json.dumps({"sets": {
            "data/synth_cat": {"utterances": 24, "classes": {"happy": 6, "sad": 6},
                               "with_vad": 0, "speakers": 2},
            "data/synth_eval": {"utterances": 16, "classes": {"neutral": 4}, "with_vad": 16,
                                "speakers": 2},
            "pretrain/train": {"utterances": 24}}}))

        # the recipe's fine-tuning path: pooled layers cached once, heads trained on them
        from espnet2_punser.cache import build_cache

        encoder, _ = build_model(rec / PRETRAIN / "config.yaml",
                                 rec / PRETRAIN / "valid.loss.best.pth")
        feats = {}
        for s, d in data.items():
            scp = dict(line.split() for line in (d / "wav.scp").read_text().splitlines())
            lengths = {u: soundfile.info(p).frames for u, p in scp.items()}
            build_cache(encoder, scp, lengths, rec / "cache" / s)
            feats[s] = rec / "cache" / s / "feats.scp"
        _train(["--frontend", "none", "--max_epoch", "2",
                "--model_conf", "num_layers=4", "--model_conf", "feat_dim=64",
                "--model_conf", f"class_subset={json.dumps(SUBSET)}",
                "--init_param", f"{PRETRAIN}/valid.loss.best.pth:::frontend",
                *_data_args(data["train"], "train", str(feats["train"]), "npy"),
                *_data_args(data["valid"], "valid", str(feats["valid"]), "npy"),
                "--output_dir", FOLD])
        from espnet2_punser.bin.finetune import decode_part

        head, _ = build_model(rec / FOLD / "config.yaml", rec / FOLD / "valid.loss.best.pth")
        cache_scp = dict(line.split() for line in feats["test"].read_text().splitlines())
        decode_part(head, data["test"], rec / FOLD / "decode", SUBSET, cache_scp)

        scores = rec / "exp" / "finetune_demo" / "scores"
        scores.mkdir()
        (scores / "low_resource.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
        (rec / "exp" / "finetune_demo" / "RESULTS.md").write_text(
            "# PUNSER results\n\n> **Synthetic corpora.**\n\n## Categorical emotion "
            "recognition (paper Table IV)\n\n| Method | WA4 | UA4 |\n|---|---|---|\n"
            "| PUNSER (Fine-tuned) | 0.917 | 0.905 |\n\n![low-resource](scores/low_resource.png)"
            " ![gone](scores/missing.png)\n")
        yield rec
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def packed(recipe):
    """The fold model assembled onto the pre-trained encoder and packed (bin/pack.py)."""
    mp = pytest.MonkeyPatch()
    mp.chdir(recipe)
    try:
        rc = pack_cli.main([
            "--train_config", f"{PRETRAIN}/config.yaml",
            "--model_file", f"{PRETRAIN}/valid.loss.best.pth",
            "--head_config", f"{FOLD}/config.yaml", "--head_model_file",
            f"{FOLD}/valid.loss.best.pth", "--results", "exp/finetune_demo/RESULTS.md",
            "--labels_dir", "conf/labels", "--outpath", "exp/packed/punser_demo.zip"])
        assert rc == 0
    finally:
        mp.undo()
    return recipe / "exp" / "packed" / "punser_demo.zip"


def _read_probs(path: Path):
    return {line.split()[0]: parse_probs(line.split(None, 1)[1])
            for line in path.read_text().splitlines()}


def _test_wavs(recipe):
    scp = dict(line.split() for line in (recipe / "data" / "test" / "wav.scp").read_text()
               .splitlines())
    return {u: soundfile.read(p, dtype="float32")[0] for u, p in sorted(scp.items())}


def test_assembled_model_predicts_what_the_cached_model_predicts(recipe, tmp_path):
    config, model_file = assemble_full_model(
        recipe / PRETRAIN / "config.yaml", recipe / PRETRAIN / "valid.loss.best.pth",
        recipe / FOLD / "config.yaml", recipe / FOLD / "valid.loss.best.pth", tmp_path / "full")
    cfg = yaml.safe_load(config.read_text())
    assert cfg["frontend"] == "xeus" and cfg["model_conf"]["class_subset"] == SUBSET
    assert "num_layers" not in cfg["model_conf"] and cfg["xeus_checkpoint"] is None
    assert (tmp_path / "full" / "provenance" / "sets.json").is_file()
    s2e = Speech2Emotion(config, model_file)
    wavs = _test_wavs(recipe)
    preds = s2e.predict_batch([(x, 16000) for x in wavs.values()])
    decoded = _read_probs(recipe / FOLD / "decode" / "probs")  # cached model, cached feats
    assert set(decoded) == set(wavs)
    for u, p in zip(wavs, preds):
        assert list(p.probs) == SUBSET
        np.testing.assert_allclose([p.probs[c] for c in SUBSET],
                                   [decoded[u][c] for c in SUBSET], atol=1e-6)
    # the weights: the encoder's frontend, the head's everything else
    state = torch.load(model_file, weights_only=True)
    enc = torch.load(recipe / PRETRAIN / "valid.loss.best.pth", weights_only=True)
    head = torch.load(recipe / FOLD / "valid.loss.best.pth", weights_only=True)
    for k, v in state.items():
        assert torch.equal(v, enc[k] if k.startswith("frontend.") else head[k]), k


def test_assemble_refuses_a_head_of_another_encoder(recipe, tmp_path):
    cfg = yaml.safe_load((recipe / FOLD / "config.yaml").read_text())
    cfg["model_conf"]["feat_dim"] = 1024
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(PackError, match=r"another encoder"):
        assemble_full_model(recipe / PRETRAIN / "config.yaml",
                            recipe / PRETRAIN / "valid.loss.best.pth", tmp_path / "config.yaml",
                            recipe / FOLD / "valid.loss.best.pth", tmp_path / "out")
    assert not (tmp_path / "out" / "config.yaml").exists()


def test_pack_holds_config_model_xeus_config_labels_results_and_provenance(packed):
    with zipfile.ZipFile(packed) as z:
        names = set(z.namelist())
        meta = yaml.safe_load(z.read("meta.yaml"))
        config = yaml.safe_load(z.read(meta["yaml_files"]["train_config"]))
    assert meta["yaml_files"] == {"train_config": "exp/packed/punser_demo/config.yaml"}
    assert meta["files"] == {"model_file": "exp/packed/punser_demo/model.pth"}
    assert config["frontend_conf"]["xeus_config"] == "conf/xeus/tiny.yaml"
    assert "conf/xeus/tiny.yaml" in names
    # the inventories of the provenance's corpora; no iemocap
    assert {n for n in names if n.startswith("conf/labels/")} == {
        "conf/labels/synth_cat.yaml", "conf/labels/synth_eval.yaml"}
    assert {"exp/finetune_demo/RESULTS.md", "exp/finetune_demo/scores/low_resource.png",
            "exp/packed/punser_demo/provenance/sets.json",
            "exp/packed/punser_demo/assembled_from.yaml"} <= names
    # one weights file, the model's: no XEUS checkpoint
    assert [n for n in names if n.endswith(".pth")] == ["exp/packed/punser_demo/model.pth"]


def test_from_pretrained_elsewhere_equals_the_recipe_inference(packed, recipe, tmp_path,
                                                               monkeypatch):
    """The zip loaded from another directory predicts what the recipe's decode (cached
    features) and ser_inference on the recipe's model files write, to 1e-6."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    s2e = Speech2Emotion.from_pretrained(str(packed), cachedir=str(tmp_path / "cache"))
    assert s2e.classes == SUBSET
    unpacked = yaml.safe_load(Path(s2e.train_args.frontend_conf["xeus_config"]).read_text())
    assert unpacked["encoder"] == "e_branchformer"
    assert str(tmp_path / "cache") in s2e.train_args.frontend_conf["xeus_config"]
    wavs = _test_wavs(recipe)
    preds = dict(zip(wavs, s2e.predict_batch([(x, 16000) for x in wavs.values()])))

    decoded = _read_probs(recipe / FOLD / "decode" / "probs")
    monkeypatch.chdir(recipe)
    out = tmp_path / "ser_inference"
    assert ser_inference.main([
        "--train_config", "exp/packed/punser_demo/config.yaml",
        "--model_file", "exp/packed/punser_demo/model.pth",
        "--data_path_and_name_and_type", "data/test/wav.scp,speech,sound",
        "--output_dir", str(out)]) == 0
    inferred = _read_probs(out / "probs")
    vads = {line.split()[0]: [float(v) for v in line.split()[1:]]
            for line in (out / "vad").read_text().splitlines()}
    for u, p in preds.items():
        for ref in (decoded[u], inferred[u]):
            np.testing.assert_allclose([p.probs[c] for c in SUBSET], [ref[c] for c in SUBSET],
                                       atol=1e-6)
        np.testing.assert_allclose(p.vad, vads[u], atol=1e-6)


def test_unzipped_pack_folder_loads_in_place(packed, tmp_path, monkeypatch):
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(packed) as z:
        z.extractall(folder)
    monkeypatch.chdir(tmp_path)
    info = download_and_unpack(folder)
    assert info == {"train_config": str(folder / "exp/packed/punser_demo/config.yaml"),
                    "model_file": str(folder / "exp/packed/punser_demo/model.pth")}
    x = np.sin(np.arange(16000) * 0.05).astype(np.float32)
    a = Speech2Emotion.from_pretrained(str(folder))(x)
    b = Speech2Emotion.from_pretrained(str(packed), cachedir=str(tmp_path / "c"))(x)
    assert a.probs == b.probs


def test_repacked_archive_at_the_same_path_is_not_served_from_a_stale_cache(
        recipe, packed, tmp_path, monkeypatch):
    monkeypatch.chdir(recipe)
    zip_path = tmp_path / "model.zip"
    shutil.copy(packed, zip_path)
    first = download_and_unpack(zip_path, tmp_path / "cache")
    pack(f"{PRETRAIN}/config.yaml", f"{PRETRAIN}/valid.loss.best.pth",
         "exp/packed/pretrained.zip", provenance=None)
    import os
    import time

    shutil.copy("exp/packed/pretrained.zip", zip_path)
    os.utime(zip_path, (time.time() + 5, time.time() + 5))
    second = download_and_unpack(zip_path, tmp_path / "cache")
    assert first["train_config"] != second["train_config"]
    assert second["train_config"].endswith(f"{PRETRAIN}/config.yaml")


def test_pack_refusals_say_what_to_do(recipe, tmp_path, monkeypatch):
    monkeypatch.chdir(recipe)
    with pytest.raises(PackError, match="cached-feature model.*--head_config"):
        pack(f"{FOLD}/config.yaml", f"{FOLD}/valid.loss.best.pth", tmp_path / "x.zip")
    cfg = yaml.safe_load((recipe / PRETRAIN / "config.yaml").read_text())
    cfg["frontend_conf"]["xeus_config"] = str(recipe / "conf/xeus/tiny.yaml")
    (recipe / "abs.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(PackError, match="absolute path.*relative to the recipe directory"):
        pack("abs.yaml", f"{PRETRAIN}/valid.loss.best.pth", "exp/packed/x.zip")
    with pytest.raises(PackError, match="outside the current directory"):
        pack(f"{PRETRAIN}/config.yaml", f"{PRETRAIN}/valid.loss.best.pth", "exp/packed/x.zip",
             extra=[tmp_path])
    assert pack_cli.main(["--train_config", f"{FOLD}/config.yaml", "--model_file",
                          f"{FOLD}/valid.loss.best.pth", "--outpath", "exp/packed/y.zip"]) == 1
    assert not Path("exp/packed/x.zip").exists() and not Path("exp/packed/y.zip").exists()


# ---------------------------------------------------------------- bad packs and tags
def _zip(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_pack_without_the_expected_meta_keys_names_them(tmp_path):
    old_style = _zip(tmp_path / "cls.zip", {
        "meta.yaml": yaml.safe_dump({"files": {"classification_model_file": "m.pth"},
                                     "yaml_files": {"classification_train_config": "c.yaml"}}),
        "m.pth": b"", "c.yaml": "a: 1\n"})
    with pytest.raises(PackFormatError, match=r"lacks the key\(s\) \['train_config', "
                                              r"'model_file'\].*classification_model_file"):
        download_and_unpack(old_style, tmp_path / "cache")
    half = _zip(tmp_path / "half.zip", {
        "meta.yaml": yaml.safe_dump({"files": {}, "yaml_files": {"train_config": "c.yaml"}}),
        "c.yaml": "a: 1\n"})
    with pytest.raises(PackFormatError, match=r"\['model_file'\]"):
        download_and_unpack(half, tmp_path / "cache")
    no_meta = _zip(tmp_path / "nometa.zip", {"c.yaml": "a: 1\n"})
    with pytest.raises(PackFormatError, match="no meta.yaml"):
        download_and_unpack(no_meta, tmp_path / "cache")
    with pytest.raises(PackFormatError, match="sections"):
        download_and_unpack(_zip(tmp_path / "bare.zip", {"meta.yaml": "timestamp: 1\n"}),
                            tmp_path / "cache")


def test_unknown_tag_and_missing_archive_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True, raising=False)
    with pytest.raises(ModelNotFoundError, match=r"cannot find the model 'nobody/no-such-punser'"):
        Speech2Emotion.from_pretrained("nobody/no-such-punser", cachedir=str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="model archive not found: .*missing.zip"):
        download_and_unpack(tmp_path / "missing.zip", tmp_path)
    assert not list(Path(tmp_path).glob("**/*.pth"))


def test_pack_whose_model_runs_code_is_refused(recipe, tmp_path, monkeypatch):
    class RunsCode:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {tmp_path / 'code_ran'}",))

    monkeypatch.chdir(recipe)
    state = torch.load(f"{PRETRAIN}/valid.loss.best.pth", weights_only=True)
    (recipe / "exp" / "evil").mkdir(exist_ok=True)
    shutil.copy(f"{PRETRAIN}/config.yaml", "exp/evil/config.yaml")
    torch.save({**state, "x": RunsCode()}, "exp/evil/model.pth")
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as z:
        z.writestr("meta.yaml", yaml.safe_dump({
            "files": {"model_file": "exp/evil/model.pth"},
            "yaml_files": {"train_config": "exp/evil/config.yaml"}}))
        for name in ("exp/evil/model.pth", "exp/evil/config.yaml", "conf/xeus/tiny.yaml"):
            z.write(name, name)
    with pytest.raises(ModelLoadError, match="refusing to load"):
        pack("exp/evil/config.yaml", "exp/evil/model.pth", "exp/packed/evil.zip")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelLoadError, match=r"refusing to load .*model\.pth"):
        Speech2Emotion.from_pretrained(str(tmp_path / "evil.zip"), cachedir=str(tmp_path / "c"))
    assert not (tmp_path / "code_ran").exists()


# ------------------------------------------------------------------------ publishing
class RecordingHfApi:
    """Stands in for huggingface_hub.HfApi; records calls, sends nothing."""

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, **kw):
        folder = Path(kw["folder_path"])
        self.calls.append(("upload_folder", kw["repo_id"], dict(
            kw, files=sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                             if p.is_file()),
            card=(folder / "README.md").read_text())))
        return "https://huggingface.co/org/commit/0"


def test_upload_dry_run_sends_nothing_and_shows_the_card(packed, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_do_not_print_me_123")
    api = RecordingHfApi()
    assert upload.main(["--pack", str(packed), "--repo_id", "punser-org/punser-demo",
                        "--folder", str(tmp_path / "hf")], api=api) == 0
    assert api.calls == []
    out = capsys.readouterr().out
    assert "dry run: nothing sent" in out
    assert "hf_do_not_print_me_123" not in out and "HF_TOKEN environment variable" in out
    assert "exp/packed/punser_demo/model.pth" in out and "license: cc-by-nc-sa-4.0" in out


def test_upload_sends_repo_id_folder_and_card(packed, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_do_not_print_me_123")
    api = RecordingHfApi()
    folder = tmp_path / "hf"
    assert upload.main(["--pack", str(packed), "--repo_id", "punser-org/punser-demo",
                        "--folder", str(folder), "--upload"], api=api) == 0
    assert [c[0] for c in api.calls] == ["create_repo", "upload_folder"]
    _, repo, kw = api.calls[0]
    assert repo == "punser-org/punser-demo" and kw["exist_ok"] is True
    _, repo, kw = api.calls[1]
    assert repo == "punser-org/punser-demo" and Path(kw["folder_path"]) == folder
    assert {"README.md", "meta.yaml", "conf/xeus/tiny.yaml",
            "exp/packed/punser_demo/model.pth"} <= set(kw["files"])
    card = kw["card"]
    for needle in ('Speech2Emotion.from_pretrained("punser-org/punser-demo"',
                   "punser-predict --model punser-org/punser-demo", "license: cc-by-nc-sa-4.0",
                   "CC-BY-NC-SA-4.0", "| PUNSER (Fine-tuned) | 0.917 | 0.905 |",
                   "| synth_cat | 24 |", "SYNTHETIC", "PUNSER: Large-Scale Pre-Trained",
                   "![low-resource](exp/finetune_demo/scores/low_resource.png)",
                   "neutral, happy, sad, angry"):
        assert needle in card, needle
    assert "missing.png" not in card
    # the repo keeps the pack's relative paths (the downloader rewrites them)
    cfg = yaml.safe_load((folder / "exp/packed/punser_demo/config.yaml").read_text())
    assert cfg["frontend_conf"]["xeus_config"] == "conf/xeus/tiny.yaml"
    assert "hf_do_not_print_me_123" not in capsys.readouterr().out
    with pytest.raises(SystemExit, match="org/name"):
        upload.main(["--pack", str(packed), "--repo_id", "no-namespace"], api=api)
