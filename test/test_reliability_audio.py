"""Format stage (``espnet2_punser.bin.format_wav``): one test per kind of bad audio.

Each bad file is generated here, placed between good clips, and must be listed in
``rejected.txt`` with its reason while the good clips are accepted (exit status 0);
with ``--strict`` the run stops at it, naming the utterance and the file. Through the
job runner, a failing job is named together with its log and the log's tail.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import PYTHON, RECIPE
from espnet2_punser.bin import format_wav

FS = 16000


def tone(seconds: float, fs: int = FS, f0: float = 220.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * fs))) / fs
    return (0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def wav_bytes(x: np.ndarray, fs: int = FS, subtype: str = "PCM_16") -> bytes:
    import io

    buf = io.BytesIO()
    soundfile.write(buf, x, fs, format="WAV", subtype=subtype)
    return buf.getvalue()


def _float_wav_with(value: float) -> bytes:
    x = tone(1.0)
    x[[100, 5000]] = value
    return wav_bytes(x, subtype="FLOAT")


# kind -> (file contents, reason in rejected.txt, extra format_wav options)
BAD = {
    "empty_file": (lambda: b"", "empty file: 0 bytes", []),
    "header_cut": (lambda: wav_bytes(tone(1.0))[:30], "invalid header: a WAV signature", []),
    "header_garbage": (lambda: (lambda b: b[:12] + bytes(range(200, 224)) + b[36:])(
        wav_bytes(tone(1.0))), "invalid header: a WAV signature", []),
    # libsndfile reads this one without error (its length is taken from the bytes
    # present), so only the RIFF header shows that half of the samples are missing
    "data_truncated": (lambda: wav_bytes(tone(1.0))[:16044],
                       "truncated: the header declares 32000 bytes of samples, the file holds 16000", []),
    "text_named_wav": (lambda: b"utt1 this is a transcript, not audio\n" * 20,
                       "not an audio file: starts with text 'utt1 this is", []),
    "zero_length": (lambda: wav_bytes(np.zeros(0, np.float32)), "zero-length audio", []),
    "all_silent": (lambda: wav_bytes(np.zeros(FS, np.float32)), "all-silent audio", []),
    "nan_samples": (lambda: _float_wav_with(np.nan), "NaN or Inf samples: 2 of 16000", []),
    "inf_samples": (lambda: _float_wav_with(np.inf), "NaN or Inf samples: 2 of 16000", []),
    "too_short": (lambda: wav_bytes(tone(0.05)), "too short: 0.050 s < 0.1 s", ["--min_duration", "0.1"]),
    "too_long": (lambda: wav_bytes(tone(2.5)), "too long: 2.5 s > 2.0 s", ["--max_duration", "2.0"]),
}


def make_shard(root: Path, bad_kind: str, name: str = "shard") -> Path:
    """wav.scp with good clips around one bad file ``<bad_kind>.wav``."""
    d = root / name
    (d / "wav").mkdir(parents=True)
    rows = []
    for i, utt in enumerate(["a_good", f"b_{bad_kind}", "c_good"]):
        p = d / "wav" / f"{utt}.wav"
        if utt.endswith("_good"):
            soundfile.write(str(p), tone(0.8 + 0.1 * i, seed=i), FS, subtype="PCM_16")
        else:
            p.write_bytes(BAD[bad_kind][0]())
        rows.append(f"{utt} {p}\n")
    (d / "wav.scp").write_text("".join(rows))
    return d


def run_format(shard: Path, *extra: str) -> int:
    return format_wav.main(["--wav_scp", str(shard / "wav.scp"), "--audio_dir",
                            str(shard / "audio"), "--out_dir", str(shard / "out"), *extra])


def read_rows(path: Path, sep=None):
    return [line.split(sep) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_file_is_rejected_with_its_reason_and_the_run_continues(tmp_path, kind, caplog):
    shard = make_shard(tmp_path, kind)
    _, reason, extra = BAD[kind]
    assert run_format(shard, *extra) == 0
    out = shard / "out"
    rejected = read_rows(out / "rejected.txt", "\t")
    assert len(rejected) == 1, rejected
    utt, why, source = rejected[0]
    assert utt == f"b_{kind}" and source == str(shard / "wav" / f"b_{kind}.wav")
    assert why.startswith(reason), why
    # the good clips around it are accepted, with their lengths
    assert [r[0] for r in read_rows(out / "wav.scp")] == ["a_good", "c_good"]
    assert read_rows(out / "utt2num_samples") == [["a_good", "12800"], ["c_good", "16000"]]
    report = json.loads((out / "report.json").read_text())
    assert report["accepted"] == 2 and report["reasons"] == {reason.split(":")[0]: 1}
    assert f"rejected utterance b_{kind}, file {source}" in caplog.text


@pytest.mark.parametrize("kind", sorted(BAD))
def test_strict_stops_at_the_bad_file_naming_utterance_and_file(tmp_path, kind, caplog):
    shard = make_shard(tmp_path, kind)
    _, reason, extra = BAD[kind]
    assert run_format(shard, *extra, "--strict") == 1
    bad = shard / "wav" / f"b_{kind}.wav"
    assert f"--strict: stopped at utterance b_{kind}, file {bad}: {reason}" in caplog.text
    # nothing claims success: no lists were written
    assert not (shard / "out" / "wav.scp").exists()


def test_multichannel_44k_is_downmixed_and_resampled(tmp_path):
    """A 6-channel 44.1 kHz clip (MELD's mp4s are 5.1) becomes 16 kHz mono of the same
    duration whose content is the channel mean."""
    fs = 44100
    mono = tone(1.25, fs=fs, f0=300.0)
    gains = np.array([1.0, 0.5, 0.8, 0.2, 0.6, 0.9], np.float32)
    d = tmp_path / "shard"
    (d / "wav").mkdir(parents=True)
    src = d / "wav" / "multi.wav"
    soundfile.write(str(src), mono[:, None] * gains[None, :], fs, subtype="FLOAT")
    (d / "wav.scp").write_text(f"multi {src}\n")
    assert run_format(d) == 0
    path, = [p for _, p in read_rows(d / "out" / "wav.scp")]
    assert Path(path) == (d / "audio" / "multi.wav").resolve()
    info = soundfile.info(path)
    assert (info.samplerate, info.channels, info.frames) == (16000, 1, 20000)
    assert read_rows(d / "out" / "utt2num_samples") == [["multi", "20000"]]
    y, _ = soundfile.read(path, dtype="float32")
    expected = tone(1.25, fs=FS, f0=300.0) * gains.mean()
    # same tone (the noise is resampled, not regenerated): compare the 300 Hz component
    t = np.arange(y.size) / FS
    for ref in (y, expected):
        amp = 2 * np.abs(np.mean(ref * np.exp(-2j * np.pi * 300.0 * t)))
        assert abs(amp - 0.3 * gains.mean()) < 0.01, amp
    assert np.corrcoef(y, expected)[0, 1] > 0.99
    assert read_rows(d / "out" / "rejected.txt") == []


def test_16k_mono_wav_is_referenced_in_place(tmp_path):
    d = tmp_path / "shard"
    (d / "wav").mkdir(parents=True)
    soundfile.write(str(d / "wav" / "ok.wav"), tone(1.0), FS, subtype="PCM_16")
    (d / "wav.scp").write_text(f"ok {d / 'wav' / 'ok.wav'}\n")
    assert run_format(d) == 0
    assert read_rows(d / "out" / "wav.scp") == [["ok", str((d / "wav" / "ok.wav").resolve())]]
    assert not (d / "audio" / "ok.wav").exists()


def test_failing_parallel_job_is_named_with_its_log_and_the_bad_file(tmp_path):
    """``utils/run_local.sh JOB=1:2``: job 2 meets a truncated WAV under --strict; the
    runner's stderr names job 2, its log file, and the log's tail names the file."""
    good = make_shard(tmp_path / "split", "too_short", "1")  # too_short is fine below
    bad = make_shard(tmp_path / "split", "data_truncated", "2")
    logs = tmp_path / "log"
    cmd = [str(RECIPE / "utils" / "run_local.sh"), "JOB=1:2", f"{logs}/format.JOB.log",
           PYTHON, "-m", "espnet2_punser.bin.format_wav",
           "--wav_scp", f"{tmp_path}/split/JOB/wav.scp", "--audio_dir", f"{tmp_path}/audio",
           "--out_dir", f"{tmp_path}/split/JOB/out", "--min_duration", "0.01", "--strict"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    bad_file = bad / "wav" / "b_data_truncated.wav"
    assert f"job 2 of 1:2 failed; see {logs}/format.2.log" in r.stderr
    assert "job 1 of" not in r.stderr
    tail = r.stderr.split(f"{logs}/format.2.log", 1)[1]
    assert f"stopped at utterance b_data_truncated, file {bad_file}: truncated" in tail
    assert "1 of 2 job(s) failed" in r.stderr
    # job 1 completed normally
    assert len(read_rows(good / "out" / "wav.scp")) == 3


def test_segments_of_a_truncated_recording(tmp_path):
    """A recording cut short: its segments within the bytes present are intact and kept;
    a segment beyond them is rejected as truncated."""
    d = tmp_path / "shard"
    (d / "wav").mkdir(parents=True)
    rec = d / "wav" / "rec.wav"
    rec.write_bytes(wav_bytes(tone(2.0))[: 44 + 2 * 16000])  # 1 s of the 2 s declared
    (d / "wav.scp").write_text(f"rec {rec}\n")
    (d / "segments").write_text("seg_in rec 0.10 0.60\nseg_out rec 1.20 1.80\n")
    assert run_format(d, "--segments", str(d / "segments")) == 0
    assert read_rows(d / "out" / "utt2num_samples") == [["seg_in", "8000"]]
    (utt, why, _), = read_rows(d / "out" / "rejected.txt", "\t")
    assert utt == "seg_out" and why.startswith("truncated: the header declares 64000 bytes")
