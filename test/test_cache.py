"""Cached-feature fine-tuning is exact: same logits, same training, same predictions."""

import json
import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import PYTHON, TINY_XEUS
from espnet2_punser.cache import build_cache, encoder_hash
from espnet2_punser.corpora.synthetic import toy_protocol
from espnet2_punser.datadir import read_map
from espnet2_punser.ser.model import PunserModel
from espnet2_punser.ser.xeus import XeusUpstream

FINETUNE_CONF = Path(__file__).resolve().parent.parent / "egs2/punser/ser1/conf/demo/finetune.yaml"


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return PunserModel(XeusUpstream(TINY_XEUS, num_trainable_layers=0)).eval()


def test_cached_heads_equal_full_model():
    """pool(sum_l w_l h_l) == sum_l w_l pool(h_l): the cached path's logits and V/A/D equal
    the full model's, whatever the batch composition."""
    full = tiny_model()
    with torch.no_grad():
        full.layer_weights.copy_(torch.randn(full.num_layers))  # a non-uniform mix
    cached = PunserModel(None, num_layers=full.num_layers, feat_dim=full.feat_dim).eval()
    cached.load_state_dict({k: v for k, v in full.state_dict().items()
                            if not k.startswith("frontend.")})
    x = torch.randn(4, 24000)
    lens = torch.tensor([24000, 20000, 9000, 16000])
    with torch.no_grad():
        pooled = torch.cat([full.pooled_layers(x[i:i + 1, :n], lens[i:i + 1])
                            for i, n in enumerate(lens)])  # as the cache computes them
        a = full.predict(x, lens)  # one padded batch through XEUS
        b = cached.predict(pooled)
    torch.testing.assert_close(a["logits"], b["logits"], atol=1e-5, rtol=0)
    torch.testing.assert_close(a["vad"], b["vad"], atol=1e-5, rtol=0)


def _corpus(tmp_path):
    """3 speakers x 8 clips in the layout of dump/data/<corpus>, with LOSO folds."""
    return toy_protocol(tmp_path, n_speakers=3, per_speaker=8, seed=0)


def test_cache_hash_invalidation_and_corruption(tmp_path, caplog):
    d, _ = _corpus(tmp_path)
    scp = read_map(d / "wav.scp")
    lengths = {u: int(n) for u, n in read_map(d / "utt2num_samples").items()}
    m0, m1 = tiny_model(0), tiny_model(1)
    h0, h1 = encoder_hash(m0), encoder_hash(m1)
    assert h0 != h1 and h0 == encoder_hash(tiny_model(0))
    out = tmp_path / "cache" / h0 / "c"
    man = build_cache(m0, scp, lengths, out, batch_bins=100000)
    assert man["computed"] == len(scp) and man["encoder_hash"] == h0
    with pytest.raises(RuntimeError, match="holds features of encoder"):
        build_cache(m1, scp, lengths, out)  # never silently reused by another encoder
    victim = sorted(scp)[3]
    good = np.load(out / "data" / f"{victim}.npy")
    raw = (out / "data" / f"{victim}.npy").read_bytes()
    (out / "data" / f"{victim}.npy").write_bytes(raw[: len(raw) // 2])  # truncated
    with caplog.at_level(logging.WARNING):
        man = build_cache(m0, scp, lengths, out)
    assert man["computed"] == 1 and man["recomputed"] == 1
    assert victim in caplog.text
    np.testing.assert_allclose(np.load(out / "data" / f"{victim}.npy"), good, atol=1e-6)


def _finetune(protocol, exp, *extra):
    cmd = [PYTHON, "-m", "espnet2_punser.bin.finetune", "--protocol_dir", str(protocol),
           "--exp_dir", str(exp), "--config", str(FINETUNE_CONF),
           "--train_args", "--max_epoch 2 --num_workers 0", "--mode", "train+decode", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]


def test_finetuning_cached_equals_uncached(tmp_path):
    d, protocol = _corpus(tmp_path)
    ckpt = tmp_path / "xeus.pth"
    subprocess.run([PYTHON, "-m", "espnet2_punser.bin.make_xeus_checkpoint", str(TINY_XEUS),
                    str(ckpt), "--seed", "5"], check=True, capture_output=True)
    enc = PunserModel(XeusUpstream(TINY_XEUS, num_trainable_layers=0)).eval()
    enc.frontend.load_checkpoint(ckpt)
    scp = read_map(d / "wav.scp")
    lengths = {u: int(n) for u, n in read_map(d / "utt2num_samples").items()}
    cache = tmp_path / "cache" / encoder_hash(enc) / "c"
    build_cache(enc, scp, lengths, cache, batch_bins=100000)

    _finetune(protocol, tmp_path / "cached", "--cache_dir", str(cache))
    _finetune(protocol, tmp_path / "audio", "--xeus_config", str(TINY_XEUS),
              "--xeus_checkpoint", str(ckpt))
    folds = json.loads((protocol / "protocol.json").read_text())["folds"]
    assert len(folds) == 3
    for fold in folds:
        runs = [tmp_path / m / fold / "full" for m in ("cached", "audio")]
        stats = [torch.load(r / "checkpoint.pth", weights_only=False)["reporter"]["stats"]
                 for r in runs]
        for epoch in (1, 2):
            for key in ("loss", "acc", "ua", "ccc_a"):
                a, b = (s[epoch]["valid"][key] for s in stats)
                assert a == pytest.approx(b, abs=1e-4), (fold, epoch, key)
        preds = [read_map(r / "decode" / "emotion") for r in runs]
        assert preds[0] == preds[1]
        vads = [np.array([[float(x) for x in v.split()] for _, v in sorted(read_map(r / "decode" / "vad").items())])
                for r in runs]
        np.testing.assert_allclose(vads[0], vads[1], atol=1e-4)


def test_cache_recomputes_entries_whose_audio_changed(tmp_path, caplog):
    import soundfile

    d, _ = _corpus(tmp_path)
    scp = read_map(d / "wav.scp")
    lengths = {u: int(n) for u, n in read_map(d / "utt2num_samples").items()}
    model = tiny_model(0)
    out = tmp_path / "cache" / encoder_hash(model) / "c"
    build_cache(model, scp, lengths, out, batch_bins=100000)
    victim = sorted(scp)[1]
    x, fs = soundfile.read(scp[victim], dtype="float32")
    soundfile.write(scp[victim], x[: len(x) // 2], fs, subtype="PCM_16")  # regenerated audio
    lengths[victim] = len(x) // 2
    with caplog.at_level(logging.WARNING):
        man = build_cache(model, scp, lengths, out)
    assert man["computed"] == 1 and victim in caplog.text and "changed" in caplog.text
