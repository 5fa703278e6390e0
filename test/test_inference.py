"""Speech2Emotion, the batch CLI (ser_inference) and safe model loading.

A tiny random-weight PUNSER model (tiny XEUS config, seeded) is enough here: these
tests check that inputs of every kind reach the model the same way, not that it has
learned anything (test_pack.py trains one).
"""

import argparse
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml

from conftest import TINY_XEUS, write_wav
from espnet2_punser.bin import ser_inference
from espnet2_punser.inference import (
    MIN_SAMPLES,
    SILENCE_WARNING,
    EmotionPrediction,
    ModelLoadError,
    Speech2Emotion,
    build_model,
    length_batches,
    load_state_dict_safely,
    padding_ratio,
    parse_probs,
    sliding_windows,
)
from espnet2_punser.labels import EMOTIONS

FS = 16000


def write_random_model(out_dir: Path, xeus_config=TINY_XEUS, seed: int = 0,
                       class_subset=None):
    """config.yaml + model.pth of a seeded random-weight full PUNSER model."""
    from espnet2_punser.tasks.ser import SERTask

    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = {"frontend": "xeus",
           "frontend_conf": {"xeus_config": str(xeus_config), "num_trainable_layers": 2},
           "model": "punser",
           "model_conf": {"alpha": 0.25, "proj_dim": 256, "head_hidden": 256,
                          **({"class_subset": class_subset} if class_subset else {})},
           "xeus_checkpoint": None, "init": None}
    torch.manual_seed(seed)
    model = SERTask.build_model(argparse.Namespace(**cfg))
    with torch.no_grad():  # layer weights start at 0 (uniform); make them matter
        model.layer_weights.normal_()
    (out_dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    torch.save(model.state_dict(), out_dir / "model.pth")
    return out_dir / "config.yaml", out_dir / "model.pth"


def tone(seconds: float, f0: float, seed: int = 0, fs: int = FS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    x = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
    x = x * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(t.size)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    return write_random_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def s2e(model_files):
    return Speech2Emotion(*model_files)


@pytest.fixture(scope="module")
def clips():
    return [tone(d, f, seed=i) for i, (d, f) in
            enumerate([(1.0, 120), (0.7, 220), (1.6, 400), (0.45, 700), (1.2, 300)])]


def assert_same(a: EmotionPrediction, b: EmotionPrediction, atol: float):
    assert a.label == b.label
    assert list(a.probs) == list(b.probs)
    np.testing.assert_allclose(list(a.probs.values()), list(b.probs.values()), atol=atol)
    np.testing.assert_allclose(a.vad, b.vad, atol=atol)


def test_prediction_covers_all_classes_and_unit_range(s2e, clips):
    p = s2e(clips[0], FS)
    assert list(p.probs) == list(EMOTIONS)
    assert p.label == max(p.probs, key=p.probs.get)
    assert abs(sum(p.probs.values()) - 1) < 1e-5
    assert all(0.0 <= v <= 1.0 for v in p.vad)
    assert p.error is None and p.warnings == []
    # a random model still tells clips apart
    assert np.abs(np.subtract(list(s2e(clips[2], FS).probs.values()),
                              list(p.probs.values()))).max() > 1e-3


def test_numpy_torch_and_integer_inputs_agree(s2e, clips):
    x = clips[0]
    ref = s2e(x, FS)
    assert_same(s2e(torch.from_numpy(x), FS), ref, 1e-6)
    assert_same(s2e(x.astype(np.float64), FS), ref, 1e-6)
    pcm = np.round(x * 32767).astype(np.int16)  # integer PCM is scaled to [-1, 1]
    p = s2e(pcm, FS)
    assert p.warnings == []
    assert_same(p, ref, 1e-3)


def test_48k_stereo_copy_predicts_like_the_16k_mono_clip(s2e, clips):
    import soxr

    x = clips[2]
    up = soxr.resample(x, FS, 48000, quality="HQ").astype(np.float32)
    ref = s2e(x, FS)
    stereo = np.stack([up, up], axis=1)                       # (time, channels)
    assert_same(s2e(stereo, 48000), ref, 2e-3)
    assert_same(s2e(torch.from_numpy(stereo.T.copy()), 48000), ref, 2e-3)  # (channels, time)


def test_multichannel_is_down_mixed(s2e, clips):
    a, b = clips[0], tone(1.0, 500, seed=9)
    mixed = s2e((a + b) / 2, FS)
    assert_same(s2e(np.stack([a, b], axis=1), FS), mixed, 1e-6)
    assert_same(s2e(np.stack([a, b, a, b], axis=0), FS), mixed, 1e-6)


def test_batch_equals_clip_by_clip(s2e, clips):
    batch = s2e.predict_batch([(c, FS) for c in clips])
    for c, p in zip(clips, batch):
        assert_same(p, s2e(c, FS), 1e-5)
    # tiny batches (one clip each) give the same again
    small = Speech2Emotion.__new__(Speech2Emotion)
    small.__dict__.update(s2e.__dict__, batch_bins=1)
    for p, q in zip(small.predict_batch([(c, FS) for c in clips]), batch):
        assert_same(p, q, 1e-5)


def test_class_subset_renormalises_the_chosen_classes(s2e, model_files, clips):
    subset = ["neutral", "happy", "sad", "angry"]
    full = s2e(clips[1], FS)
    sub = s2e(clips[1], FS, class_subset=subset)
    assert list(sub.probs) == subset
    total = sum(full.probs[c] for c in subset)
    np.testing.assert_allclose([sub.probs[c] for c in subset],
                               [full.probs[c] / total for c in subset], rtol=1e-4)
    assert sub.vad == full.vad
    fixed = Speech2Emotion(*model_files, class_subset=["sad", "neutral"])
    assert fixed.classes == ["neutral", "sad"]
    assert list(fixed(clips[1], FS).probs) == ["neutral", "sad"]
    with pytest.raises(ValueError, match="unknown classes"):
        s2e(clips[1], FS, class_subset=["neutral", "bored"])


def test_bad_clips_get_errors_and_do_not_disturb_the_batch(s2e, clips):
    nan = clips[0].copy()
    nan[100] = np.nan
    batch = [(clips[0], FS), (np.zeros(FS, np.float32), FS), (np.ones(MIN_SAMPLES - 1), FS),
             (nan, FS), (np.zeros(0), FS), (np.zeros((2, 2, 100)), FS), (clips[1], 8000),
             (clips[2], FS)]
    out = s2e.predict_batch(batch)
    assert out[0].ok and out[7].ok and out[6].ok
    assert_same(out[0], s2e(clips[0], FS), 1e-5)
    assert_same(out[7], s2e(clips[2], FS), 1e-5)
    assert out[1].ok and out[1].warnings == [SILENCE_WARNING]       # silence: a warning
    assert "too short" in out[2].error and str(MIN_SAMPLES) in out[2].error
    assert "NaN" in out[3].error
    assert "too short" in out[4].error
    assert "shape" in out[5].error
    assert all(np.isnan(v) for v in out[3].vad) and out[3].label is None
    with pytest.raises(ValueError, match="NaN"):
        s2e(nan, FS)
    d = out[3].to_dict()
    assert d["valence"] is None and d["error"]


def test_windows_of_a_long_recording(s2e, clips):
    x = np.concatenate([clips[0], clips[2], clips[4]])  # 3.8 s
    wins = s2e.predict_windows(x, FS, window=1.0, hop=0.5)
    spans = sliding_windows(x.size, FS, FS // 2)
    assert [(w.start, w.end) for w in wins] == [(a / FS, b / FS) for a, b in spans]
    assert wins[-1].end == pytest.approx(x.size / FS)
    assert_same(wins[1].prediction, s2e(x[FS // 2: FS // 2 + FS], FS), 1e-5)
    # a 48 kHz copy is windowed on the same 16 kHz grid
    import soxr

    up = soxr.resample(x, FS, 48000, quality="HQ")
    wins48 = s2e.predict_windows(up, 48000, window=1.0, hop=0.5)
    assert [(w.start, w.end) for w in wins48] == [(w.start, w.end) for w in wins]


@pytest.mark.parametrize("n,win,hop,expected", [
    (100, 40, 20, [(0, 40), (20, 60), (40, 80), (60, 100)]),
    (100, 40, 30, [(0, 40), (30, 70), (60, 100)]),
    (30, 40, 20, [(0, 30)]),
    (40, 40, 20, [(0, 40)]),
    (100, 30, 50, [(0, 30), (50, 80), (70, 100)]),
])
def test_sliding_windows_cover_the_recording(n, win, hop, expected):
    assert sliding_windows(n, win, hop) == expected


def test_length_batches_sorted_and_bounded():
    rng = np.random.default_rng(0)
    lengths = rng.integers(16000, 64000, size=50).tolist()
    batches = length_batches(lengths, 200000, max_batch_size=6)
    assert sorted(i for b in batches for i in b) == list(range(50))
    for b in batches:
        assert len(b) <= 6
        assert max(lengths[i] for i in b) * len(b) <= 200000 or len(b) == 1
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)
    assert 1.0 <= padding_ratio(lengths, batches) < 1.2
    assert length_batches([500000], 100000) == [[0]]  # a long clip gets its own batch


# ------------------------------------------------------------------- safe loading
class _RunsCodeOnLoad:
    """Unpickling this calls os.system: the attack weights_only=True prevents."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_runs_code_is_refused(tmp_path, model_files):
    marker = tmp_path / "code_ran"
    state = torch.load(model_files[1], weights_only=True)
    state["payload"] = _RunsCodeOnLoad(marker)
    evil = tmp_path / "evil.pth"
    torch.save(state, evil)
    with pytest.raises(ModelLoadError, match=r"refusing to load .*evil\.pth.*(posix|os)\.system"):
        load_state_dict_safely(evil)
    with pytest.raises(ModelLoadError, match="could execute arbitrary code"):
        Speech2Emotion(model_files[0], evil)
    assert not marker.exists(), "the pickle's code ran"


def test_non_tensor_and_mismatched_model_files_are_refused(tmp_path, model_files):
    ckpt = tmp_path / "checkpoint.pth"
    torch.save({"model": torch.load(model_files[1], weights_only=True), "epoch": 3}, ckpt)
    with pytest.raises(ModelLoadError, match="state dict of tensors"):
        load_state_dict_safely(ckpt)
    other_cfg, other_model = write_random_model(tmp_path / "sub", class_subset=["sad", "happy"])
    state = torch.load(other_model, weights_only=True)
    del state["proj.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(ModelLoadError, match=r"missing keys \['proj.weight'\]"):
        build_model(other_cfg, tmp_path / "partial.pth")
    with pytest.raises(FileNotFoundError, match="model file not found"):
        build_model(other_cfg, tmp_path / "nothing.pth")


def test_relative_xeus_config_found_above_the_train_config(tmp_path, monkeypatch, clips, s2e):
    """A recipe config names conf/xeus/tiny.yaml relative to the recipe dir; it also
    loads from elsewhere (found above exp/<model>/config.yaml)."""
    recipe = tmp_path / "recipe"
    (recipe / "conf" / "xeus").mkdir(parents=True)
    shutil.copy(TINY_XEUS, recipe / "conf" / "xeus" / "tiny.yaml")
    cfg_path, model_path = s2e_files = write_random_model(recipe / "exp" / "m")
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["frontend_conf"]["xeus_config"] = "conf/xeus/tiny.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(tmp_path)
    assert_same(Speech2Emotion(*s2e_files)(clips[0], FS), s2e(clips[0], FS), 1e-6)
    (recipe / "conf" / "xeus" / "tiny.yaml").unlink()
    with pytest.raises(FileNotFoundError, match="relative to the recipe directory"):
        Speech2Emotion(cfg_path, model_path)


# --------------------------------------------------------------------- batch CLI
def test_ser_inference_writes_kaldi_outputs_equal_to_speech2emotion(tmp_path, s2e, model_files,
                                                                     clips):
    lines = []
    for i, c in enumerate(clips):
        write_wav(tmp_path / f"u{i}.wav", c)
        lines.append(f"utt{i} {tmp_path / f'u{i}.wav'}")
    (tmp_path / "bad.wav").write_text("not audio")
    soundfile.write(str(tmp_path / "short.wav"), np.full(100, 0.1, np.float32), FS)
    lines += [f"bad {tmp_path / 'bad.wav'}", f"short {tmp_path / 'short.wav'}"]
    (tmp_path / "wav.scp").write_text("\n".join(lines) + "\n")
    out = tmp_path / "decode"
    rc = ser_inference.main([
        "--train_config", str(model_files[0]), "--model_file", str(model_files[1]),
        "--data_path_and_name_and_type", f"{tmp_path / 'wav.scp'},speech,sound",
        "--output_dir", str(out), "--batch_bins", "40000"])
    assert rc == 0
    probs = {line.split()[0]: parse_probs(line.split(None, 1)[1])
             for line in (out / "probs").read_text().splitlines()}
    vad = {line.split()[0]: [float(v) for v in line.split()[1:]]
           for line in (out / "vad").read_text().splitlines()}
    emotion = dict(line.split() for line in (out / "emotion").read_text().splitlines())
    assert sorted(probs) == [f"utt{i}" for i in range(len(clips))]
    for i in range(len(clips)):
        x, _ = soundfile.read(str(tmp_path / f"u{i}.wav"), dtype="float32")
        ref = s2e(x, FS)
        np.testing.assert_allclose([probs[f"utt{i}"][c] for c in EMOTIONS],
                                   [ref.probs[c] for c in EMOTIONS], atol=1e-6)
        np.testing.assert_allclose(vad[f"utt{i}"], ref.vad, atol=1e-6)
        assert emotion[f"utt{i}"] == ref.label
    errors = dict(line.split(maxsplit=1) for line in (out / "errors").read_text().splitlines())
    assert set(errors) == {"bad", "short"}
    assert "cannot read" in errors["bad"] and "too short" in errors["short"]
