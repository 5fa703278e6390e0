"""SERTask: paper defaults, label validation, and a short run of ESPnet's trainer."""

import subprocess

import numpy as np
import pytest
import torch
import yaml

from conftest import PYTHON, TINY_XEUS, make_tone_set
from espnet2_punser.ser.preprocess import SERPreprocessor, normalize_waveform
from espnet2_punser.tasks.ser import SERTask


def test_print_config_shows_paper_defaults():
    r = subprocess.run([PYTHON, "-m", "espnet2_punser.bin.ser_train", "--print_config"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = yaml.safe_load(r.stdout)
    assert cfg["model_conf"]["alpha"] == 0.25
    assert cfg["frontend_conf"]["num_trainable_layers"] == 6
    assert cfg["optim"] == "adamw"
    assert cfg["optim_conf"]["lr"] == 1e-5 and cfg["optim_conf"]["weight_decay"] == 0.01
    assert cfg["patience"] == 3 and cfg["max_epoch"] == 100
    assert cfg["batch_type"] == "numel" and cfg["batch_bins"] == 800000
    assert cfg["best_model_criterion"] == [["valid", "loss", "min"]]
    assert list(cfg["early_stopping_criterion"]) == ["valid", "loss", "min"]


def test_preprocess_normalises_each_utterance():
    rng = np.random.default_rng(0)
    pre = SERPreprocessor(train=True)
    x = 3.0 + 0.2 * rng.standard_normal(8000)
    out = pre("u1", {"speech": x, "cat": np.array([2]), "vad": np.array([0.1, np.nan, 1.0])})
    assert abs(out["speech"].mean()) < 1e-5 and abs(out["speech"].std() - 1) < 1e-3
    stereo = np.stack([x, x], axis=1)
    np.testing.assert_allclose(pre("u2", {"speech": stereo})["speech"], normalize_waveform(x))


@pytest.mark.parametrize(
    "data,match",
    [
        ({"cat": np.array([8])}, "utterance bad_utt: category index 8"),
        ({"cat": np.array([-3])}, "utterance bad_utt: category index -3"),
        ({"vad": np.array([0.5, 1.2, 0.1])}, r"utterance bad_utt: V/A/D .* outside \[0, 1\]"),
        ({"vad": np.array([0.5, 0.2])}, "utterance bad_utt: 'vad' must hold 3 values"),
        ({"speech": np.array([0.1, np.nan, 0.2])}, "utterance bad_utt: waveform has NaN"),
    ],
)
def test_preprocess_rejects_bad_labels_naming_the_utterance(data, match):
    with pytest.raises(ValueError, match=match):
        SERPreprocessor(train=True)("bad_utt", data)


def test_class_subset_restricts_valid_categories():
    pre = SERPreprocessor(train=True, class_subset=["neutral", "happy", "sad", "angry"])
    pre("ok", {"cat": np.array([3])})
    with pytest.raises(ValueError, match="utterance x: category index 7 .*neutral"):
        pre("x", {"cat": np.array([7])})


def _data_args(d, split):
    return [
        f"--{split}_data_path_and_name_and_type", f"{d}/wav.scp,speech,sound",
        f"--{split}_data_path_and_name_and_type", f"{d}/cat,cat,text_int",
        f"--{split}_data_path_and_name_and_type", f"{d}/vad,vad,text_float",
    ]


def _train_cmd(tmp_path, train, valid, *extra):
    return [PYTHON, "-m", "espnet2_punser.bin.ser_train",
            "--frontend_conf", f"xeus_config={TINY_XEUS}",
            "--frontend_conf", "num_trainable_layers=2",
            "--optim_conf", "lr=0.001", "--batch_bins", "100000",
            "--use_tensorboard", "false", "--use_matplotlib", "false",
            "--num_workers", "0", "--seed", "0",
            *_data_args(train, "train"), *_data_args(valid, "valid"), *extra]


def test_bad_label_in_data_stops_with_utterance_name(tmp_path):
    train = make_tone_set(tmp_path, 6, 0, "train")
    lines = (train / "vad").read_text().splitlines()
    bad = lines[1].split()[0]
    lines[1] = f"{bad} 0.5 7.0 0.5"  # a 1-7 scale value that was never scaled
    (train / "vad").write_text("\n".join(lines) + "\n")
    r = subprocess.run(
        _train_cmd(tmp_path, train, train, "--collect_stats", "true",
                   "--train_shape_file", f"{train}/wav.scp",
                   "--valid_shape_file", f"{train}/wav.scp",
                   "--output_dir", str(tmp_path / "stats")),
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert r.returncode != 0
    assert f"utterance {bad}: V/A/D" in r.stderr


def test_short_training_run_learns(tmp_path):
    """Tiny model through ESPnet's trainer on clips where some utterances have only a
    category and others only V/A/D: checkpoints, best model, decreasing valid loss."""
    train = make_tone_set(tmp_path, 48, 0, "train")
    valid = make_tone_set(tmp_path, 16, 1, "valid")
    stats = tmp_path / "stats"
    r = subprocess.run(
        _train_cmd(tmp_path, train, valid, "--collect_stats", "true",
                   "--train_shape_file", f"{train}/wav.scp",
                   "--valid_shape_file", f"{valid}/wav.scp", "--output_dir", str(stats)),
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    exp = tmp_path / "exp"
    r = subprocess.run(
        _train_cmd(tmp_path, train, valid, "--max_epoch", "4",
                   "--train_shape_file", f"{stats}/train/speech_shape",
                   "--valid_shape_file", f"{stats}/valid/speech_shape",
                   "--output_dir", str(exp), "--resume", "true"),
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("checkpoint.pth", "valid.loss.best.pth", "4epoch.pth", "config.yaml"):
        assert (exp / name).exists(), name
    reporter = torch.load(exp / "checkpoint.pth", weights_only=False)["reporter"]["stats"]
    valid_loss = [reporter[e]["valid"]["loss"] for e in sorted(reporter)]
    assert min(valid_loss[1:]) < valid_loss[0] - 0.1, valid_loss
    last = reporter[max(reporter)]["valid"]
    for key in ("ua", "ccc_v", "ccc_a", "ccc_d", "loss_cat", "loss_dim", "acc"):
        assert np.isfinite(last[key]), key
    # the saved config does not point at a 2.3 GB checkpoint; the model file loads
    cfg = yaml.safe_load((exp / "config.yaml").read_text())
    assert cfg["xeus_checkpoint"] is None
    model, _ = SERTask.build_model_from_file(exp / "config.yaml", exp / "valid.loss.best.pth")
    state = torch.load(exp / "valid.loss.best.pth", weights_only=True)
    assert set(state) == set(model.state_dict())
