"""punser-predict: audio files of every format -> a table or JSON; long recordings ->
a timeline (CSV/JSON) and a PNG plot; per-file errors; the console script."""

import csv
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml

from conftest import TINY_XEUS, write_wav
from espnet2_punser.audio import read_audio
from espnet2_punser.bin import predict
from espnet2_punser.inference import Speech2Emotion
from espnet2_punser.labels import EMOTIONS
from fake_corpora.common import encode_av, write_mp4
from test_inference import tone, write_random_model

FS = 16000


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return write_random_model(tmp_path_factory.mktemp("model"), seed=1)


@pytest.fixture(scope="module")
def s2e(model):
    return Speech2Emotion(*model)


def _model_args(model):
    return ["--train_config", str(model[0]), "--model_file", str(model[1])]


def write_mp3(path: Path, x: np.ndarray, fs: int) -> Path:
    return encode_av(path, x[None], fs, "mp3", "libmp3lame", 1152)


def png_size(path: Path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_files_of_every_format_give_a_table_and_json(tmp_path, model, s2e, capsys,
                                                     monkeypatch):
    import soxr

    monkeypatch.chdir(tmp_path)

    x = tone(1.2, 220, seed=3)
    write_wav(tmp_path / "a.wav", x)
    files = {
        "a.wav": tmp_path / "a.wav",
        "b.flac": tmp_path / "b.flac",
        "c.mp3": write_mp3(tmp_path / "c.mp3", soxr.resample(x, FS, 22050), 22050),
        "d.mp4": write_mp4(tmp_path / "d.mp4", np.random.default_rng(0), fs=48000,
                           seconds=1.0, channels=2),
    }
    x44 = soxr.resample(tone(0.9, 400, seed=4), FS, 44100).astype(np.float32)
    soundfile.write(str(files["b.flac"]), np.stack([x44, 0.5 * x44], axis=1), 44100)
    paths = list(files)  # relative to the current directory

    assert predict.main([*_model_args(model), "--json", *paths]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in out] == paths
    for r, path in zip(out, paths):
        audio, fs = read_audio(path)
        ref = s2e(audio, fs)
        assert r["error"] is None and r["label"] == ref.label
        np.testing.assert_allclose([r["probs"][c] for c in EMOTIONS],
                                   [ref.probs[c] for c in EMOTIONS], atol=1e-5)
        np.testing.assert_allclose([r["valence"], r["arousal"], r["dominance"]], ref.vad,
                                   atol=1e-5)
        assert r["duration"] == pytest.approx(len(audio) / fs, abs=0.05)
    # mp3 of the same tone predicts about what the wav does (lossy coding)
    np.testing.assert_allclose(list(out[2]["probs"].values()), list(out[0]["probs"].values()),
                               atol=0.05)

    assert predict.main([*_model_args(model), "--classes", "sad,neutral", *paths[:2]]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["file", "emotion", "neutral", "sad", "valence", "arousal",
                                "dominance"]
    assert table[1].split()[0] == paths[0] and table[1].split()[1] in ("neutral", "sad")


def test_bad_files_are_reported_per_file_and_exit_1(tmp_path, model, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "good.wav"
    write_wav(good, tone(1.0, 300))
    (tmp_path / "text.wav").write_text("this is not audio")
    soundfile.write(str(tmp_path / "short.wav"), np.full(200, 0.1, np.float32), FS)
    nan = tone(1.0, 300)
    nan[500:600] = np.nan
    soundfile.write(str(tmp_path / "nan.wav"), nan, FS, subtype="FLOAT")
    soundfile.write(str(tmp_path / "silent.wav"), np.zeros(FS, np.float32), FS)
    names = ["good.wav", "text.wav", "missing.mp3", "short.wav", "nan.wav", "silent.wav"]
    rc = predict.main([*_model_args(model), *names])
    assert rc == 1
    captured = capsys.readouterr()
    rows = {line.split()[0]: line for line in captured.out.splitlines()[1:]
            if line.strip() and not line.startswith("warning")}
    assert list(rows) == names
    assert "ERROR" not in rows["good.wav"] and "ERROR" not in rows["silent.wav"]
    assert "ERROR: cannot decode audio" in rows["text.wav"]
    assert "ERROR: cannot" in rows["missing.mp3"]
    assert "ERROR: too short" in rows["short.wav"]
    assert "ERROR: audio has NaN" in rows["nan.wav"]
    assert "silent.wav: silent input" in captured.out
    for n in ("text.wav", "missing.mp3", "short.wav", "nan.wav"):
        assert f"punser-predict: {n}:" in captured.err


def test_long_recording_timeline_csv_and_plot(tmp_path, model, s2e, capsys):
    segments = [tone(10.0, f0, seed=i) for i, f0 in enumerate([120, 220, 400, 700, 220, 120])]
    x = np.concatenate(segments)  # 60 s
    wav = tmp_path / "call.wav"
    write_wav(wav, x)
    rc = predict.main([*_model_args(model), "--window", "4", "--hop", "2",
                       "--timeline", str(tmp_path / "call.csv"), "--plot",
                       str(tmp_path / "call.png"), str(wav)])
    assert rc == 0
    captured = capsys.readouterr()
    assert "29 windows of 4 s every 2 s" in captured.err
    assert "29/29 windows (100 %)" in captured.err  # progress on long inputs
    rows = list(csv.DictReader(open(tmp_path / "call.csv")))
    assert len(rows) == 29
    assert [float(r["start"]) for r in rows] == [2.0 * i for i in range(29)]
    assert float(rows[-1]["end"]) == 60.0
    assert all(r["label"] in EMOTIONS for r in rows)
    for r in rows:
        assert abs(sum(float(r[c]) for c in EMOTIONS) - 1) < 1e-4
    pcm, _ = soundfile.read(str(wav), dtype="float32")
    ref = s2e(pcm[10 * FS: 14 * FS], FS)  # the window [10, 14) s
    np.testing.assert_allclose([float(rows[5][c]) for c in EMOTIONS],
                               [ref.probs[c] for c in EMOTIONS], atol=1e-5)
    # the file's row is the mean over its windows
    row = captured.out.splitlines()[1].split()
    assert row[1] == max(EMOTIONS, key=lambda c: np.mean([float(r[c]) for r in rows]))
    width, height = png_size(tmp_path / "call.png")
    assert (width, height) == (1100, 650)
    assert (tmp_path / "call.png").stat().st_size > 20000


def test_several_files_timeline_json_and_one_plot_each(tmp_path, model, capsys):
    a, b = tmp_path / "x" / "one.wav", tmp_path / "y" / "one.wav"
    write_wav(a, tone(3.0, 200))
    write_wav(b, tone(2.5, 500))
    (tmp_path / "bad.flac").write_bytes(b"fLaC broken")
    rc = predict.main([*_model_args(model), "--window", "1.5", "--timeline",
                       str(tmp_path / "t.json"), "--plot", str(tmp_path / "p.png"), "--quiet",
                       "--json", str(a), str(b), str(tmp_path / "bad.flac")])
    assert rc == 1
    captured = capsys.readouterr()
    assert "windows (" not in captured.err  # --quiet
    results = json.loads(captured.out)
    assert [r["windows"] for r in results[:2]] == [3, 3] and results[2]["error"]
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["window"] == 1.5 and doc["hop"] == 0.75 and doc["classes"] == list(EMOTIONS)
    assert [f["file"] for f in doc["files"]] == [str(a), str(b), str(tmp_path / "bad.flac")]
    assert [(w["start"], w["end"]) for w in doc["files"][0]["windows"]] == [
        (0.0, 1.5), (0.75, 2.25), (1.5, 3.0)]
    assert doc["files"][2]["windows"] == [] and doc["files"][2]["error"]
    assert sorted(p.name for p in tmp_path.glob("p_*.png")) == ["p_one.png", "p_one_2.png"]
    for p in tmp_path.glob("p_*.png"):
        png_size(p)


def test_packed_model_and_usage_errors(tmp_path, monkeypatch, capsys):
    from espnet2_punser.packing import pack

    rec = tmp_path / "rec"
    (rec / "conf" / "xeus").mkdir(parents=True)
    shutil.copy(TINY_XEUS, rec / "conf" / "xeus" / "tiny.yaml")
    cfg, model_file = write_random_model(rec / "exp" / "m", seed=1)
    c = yaml.safe_load(cfg.read_text())
    c["frontend_conf"]["xeus_config"] = "conf/xeus/tiny.yaml"
    cfg.write_text(yaml.safe_dump(c))
    monkeypatch.chdir(rec)
    pack("exp/m/config.yaml", "exp/m/model.pth", "exp/packed/m.zip", provenance=None)
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    wav = tmp_path / "a.wav"
    write_wav(wav, tone(1.0, 250))
    args = ["--model", str(rec / "exp/packed/m.zip"), "--cachedir", str(tmp_path / "cache")]
    assert predict.main([*args, "--json", str(wav)]) == 0
    via_zip = json.loads(capsys.readouterr().out)[0]
    assert predict.main(["--train_config", str(cfg), "--model_file", str(model_file), "--json",
                         str(wav)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["probs"] == via_zip["probs"]

    assert predict.main(["--model", str(tmp_path / "nothing.zip"), str(wav)]) == 2
    assert "model archive not found" in capsys.readouterr().err
    for bad in (args + ["--plot", "x.png"], args + ["--window", "4", "--timeline", "t.txt"],
                args + ["--window", "0.01"], ["--model", "m.zip", "--train_config", "c.yaml"],
                []):
        with pytest.raises(SystemExit) as e:
            predict.main([*bad, str(wav)])
        assert e.value.code == 2


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "punser-predict"
    assert script.is_file(), "pip install -e . declares punser-predict (setup.py)"
    r = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for needle in ("--window", "--timeline", "--plot", "Exit status", "--classes"):
        assert needle in r.stdout
