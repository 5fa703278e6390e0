"""Opt-in pre-training cache of the frozen lower XEUS stack: exact, and disk-checked."""

import logging
import subprocess

import numpy as np
import pytest
import torch

from conftest import PYTHON, TINY_XEUS
from espnet2_punser.cache import build_frame_cache, cnn_frames, frozen_stack_hash
from espnet2_punser.corpora.synthetic import toy_protocol
from espnet2_punser.datadir import read_map
from espnet2_punser.inference import pad_batch
from espnet2_punser.ser.model import PunserModel
from espnet2_punser.ser.preprocess import normalize_waveform
from espnet2_punser.ser.xeus import XeusUpstream


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    corpus, _ = toy_protocol(tmp_path_factory.mktemp("toy"), n_speakers=2, per_speaker=8, seed=0)
    return corpus


def test_frames_give_the_audio_models_outputs_in_eval_mode(corpus, tmp_path):
    torch.manual_seed(0)
    model = PunserModel(XeusUpstream(TINY_XEUS, num_trainable_layers=2)).eval()
    up = model.frontend
    scp = read_map(corpus / "wav.scp")
    lengths = {u: int(n) for u, n in read_map(corpus / "utt2num_samples").items()}
    out = tmp_path / frozen_stack_hash(up) / "train"
    man = build_frame_cache(up, scp, lengths, out, dtype="float32", batch_bins=60000)
    assert man["first_trainable"] == 2 and man["computed"] == len(scp)
    frames, frozen = read_map(out / "frames.scp"), read_map(out / "frozen.scp")
    utts = sorted(scp)[:5]
    import soundfile

    waves = [soundfile.read(scp[u], dtype="float32")[0] for u in utts]
    x, lens = pad_batch([normalize_waveform(w) for w in waves])
    f = [torch.from_numpy(np.load(frames[u])) for u in utts]
    assert [t.shape[0] for t in f] == [cnn_frames(up, lengths[u]) for u in utts]
    flens = torch.tensor([t.shape[0] for t in f])
    fpad = torch.zeros(len(f), int(flens.max()), f[0].shape[1])
    for i, t in enumerate(f):
        fpad[i, : t.shape[0]] = t
    kz = torch.stack([torch.from_numpy(np.load(frozen[u])) for u in utts])
    with torch.no_grad():
        a = model.pooled_layers(x, lens)
        b = model.pooled_layers(fpad, flens, kz)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    # float16 storage: half the disk, still close
    build_frame_cache(up, scp, lengths, tmp_path / "f16", dtype="float16", batch_bins=60000)
    f16 = np.load(read_map(tmp_path / "f16" / "frames.scp")[utts[0]])
    assert f16.dtype == np.float16
    np.testing.assert_allclose(f16.astype(np.float32), f[0].numpy(), rtol=2e-3, atol=2e-3)


def test_refuses_without_enough_disk(corpus, tmp_path, monkeypatch, caplog):
    import shutil

    from espnet2_punser.bin import cache_frames

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(cache_frames.shutil, "disk_usage",
                        lambda p: usage._replace(free=1000))  # a nearly full disk
    with caplog.at_level(logging.INFO):
        rc = cache_frames.main(["--xeus_config", str(TINY_XEUS), "--num_trainable_layers", "2",
                                "--data_dir", str(corpus), "--cache_root", str(tmp_path / "c"),
                                "--name", "train"])
    assert rc == 1
    assert "not enough disk for the frame cache" in caplog.text
    assert "GB available" in caplog.text and "needs" in caplog.text
    assert not list((tmp_path / "c").rglob("*.npy"))  # nothing started


def _train(corpus, out, *data_args, extra=()):
    d = ["--train_data_path_and_name_and_type", f"{corpus}/cat,cat,text_int",
         "--train_data_path_and_name_and_type", f"{corpus}/vad,vad,text_float",
         "--valid_data_path_and_name_and_type", f"{corpus}/cat,cat,text_int",
         "--valid_data_path_and_name_and_type", f"{corpus}/vad,vad,text_float"]
    shape = corpus / "speech_shape"
    shape.write_text((corpus / "utt2num_samples").read_text())
    cmd = [PYTHON, "-m", "espnet2_punser.bin.ser_train",
           "--frontend_conf", f"xeus_config={TINY_XEUS}", "--frontend_conf", "num_trainable_layers=2",
           "--optim_conf", "lr=0.001", "--batch_bins", "60000", "--max_epoch", "2",
           "--use_tensorboard", "false", "--use_matplotlib", "false", "--num_workers", "0",
           "--seed", "0", "--output_dir", str(out), *d, *data_args,
           "--train_shape_file", str(shape), "--valid_shape_file", str(shape), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return torch.load(out / "checkpoint.pth", weights_only=False)


def test_pretraining_from_frames_equals_pretraining_from_audio(corpus, tmp_path):
    """Same seed, same batches: the trainable blocks and heads end up the same whether
    the frozen stack runs on the audio every epoch or is read from the cache."""
    ckpt = tmp_path / "xeus.pth"
    subprocess.run([PYTHON, "-m", "espnet2_punser.bin.make_xeus_checkpoint", str(TINY_XEUS),
                    str(ckpt), "--seed", "3"], check=True, capture_output=True)
    r = subprocess.run([PYTHON, "-m", "espnet2_punser.bin.cache_frames", "--xeus_config",
                        str(TINY_XEUS), "--xeus_checkpoint", str(ckpt), "--num_trainable_layers",
                        "2", "--dtype", "float32", "--data_dir", str(corpus),
                        "--cache_root", str(tmp_path / "fc"), "--name", "all",
                        "--out_file", str(tmp_path / "fc.path")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    cache = (tmp_path / "fc.path").read_text().strip()
    audio = _train(corpus, tmp_path / "audio",
                   "--train_data_path_and_name_and_type", f"{corpus}/wav.scp,speech,sound",
                   "--valid_data_path_and_name_and_type", f"{corpus}/wav.scp,speech,sound",
                   extra=["--xeus_checkpoint", str(ckpt)])
    frames = _train(corpus, tmp_path / "frames",
                    "--train_data_path_and_name_and_type", f"{cache}/frames.scp,speech,npy",
                    "--train_data_path_and_name_and_type", f"{cache}/frozen.scp,frozen_pooled,npy",
                    "--valid_data_path_and_name_and_type", f"{cache}/frames.scp,speech,npy",
                    "--valid_data_path_and_name_and_type", f"{cache}/frozen.scp,frozen_pooled,npy",
                    extra=["--xeus_checkpoint", str(ckpt), "--frontend_conf", "frame_input=true"])
    for key in ("loss", "ua", "ccc_a"):
        a = audio["reporter"]["stats"][2]["valid"][key]
        b = frames["reporter"]["stats"][2]["valid"][key]
        assert a == pytest.approx(b, abs=1e-4), key
    sa, sb = audio["model"], frames["model"]
    assert set(sa) == set(sb)
    worst = max(float((sa[k].float() - sb[k].float()).abs().max()) for k in sa)
    assert worst < 1e-4, worst
