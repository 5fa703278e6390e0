"""XEUS upstream: construction, weights loading, freezing, padding invariance."""

import copy

import pytest
import torch
import yaml

from conftest import FULL_XEUS, TINY_XEUS
from espnet2_punser.bin.make_xeus_checkpoint import build_ssl_model
from espnet2_punser.ser.model import PunserModel
from espnet2_punser.ser.xeus import XeusUpstream


def tiny_cfg(**encoder_changes):
    cfg = yaml.safe_load(TINY_XEUS.read_text())
    cfg["encoder_conf"].update(encoder_changes)
    return cfg


def test_trainable_layers_larger_than_blocks_fails_at_build():
    with pytest.raises(ValueError, match="num_trainable_layers=5 .* 4 encoder blocks"):
        XeusUpstream(TINY_XEUS, num_trainable_layers=5)


def test_outputs_every_block():
    torch.manual_seed(0)
    up = XeusUpstream(TINY_XEUS, num_trainable_layers=0).eval()
    hs, lens = up(torch.randn(2, 16000), torch.tensor([16000, 12000]))
    assert len(hs) == 4 and all(h.shape == (2, 49, 64) for h in hs)
    assert lens.tolist() == [49, 37]


@pytest.mark.parametrize("mask_padding", [True, False])
@pytest.mark.parametrize("pos_enc", ["conv", "abs_pos"])
def test_padding_invariance(mask_padding, pos_enc):
    """With padded frames zeroed before the encoder convolutions (XEUS's positional
    convolution, cgMLP and merge convolutions), a clip gets the same pooled layers alone
    and in a padded batch; without it, it does not."""
    torch.manual_seed(0)
    model = PunserModel(XeusUpstream(tiny_cfg(pos_enc_layer_type=pos_enc), num_trainable_layers=0,
                                     mask_padding=mask_padding)).eval()
    x = torch.randn(3, 40000)
    lens = torch.tensor([40000, 17000, 6000])
    with torch.no_grad():
        batched = model.pooled_layers(x, lens)
        alone = torch.cat([model.pooled_layers(x[i:i + 1, : lens[i]], lens[i:i + 1])
                           for i in range(3)])
    diff = (batched - alone).abs().max().item()
    if mask_padding:
        assert diff < 1e-5
    else:
        assert diff > 1e-3


def test_frozen_parts_stay_in_eval_mode():
    up = XeusUpstream(TINY_XEUS, num_trainable_layers=2)
    up.train()
    enc = up.upstream.encoder
    assert not up.upstream.frontend.training and not enc.embed.training
    assert [b.training for b in enc.encoders] == [False, False, True, True]
    assert all(not p.requires_grad for p in enc.encoders[1].parameters())
    assert all(p.requires_grad for p in enc.encoders[2].parameters())
    # frozen blocks run without a graph
    hs, _ = up(torch.randn(1, 8000), torch.tensor([8000]))
    assert not hs[1].requires_grad and hs[2].requires_grad


def test_checkpoint_roundtrip_and_mismatch(tmp_path):
    from espnet2_punser.bin.make_xeus_checkpoint import main as make_ckpt

    ckpt = tmp_path / "tiny.pth"
    make_ckpt([str(TINY_XEUS), str(ckpt), "--seed", "3"])
    saved = torch.load(ckpt, weights_only=True)
    assert any(k.startswith("losses.") for k in saved)  # SSLTask format
    up = XeusUpstream(TINY_XEUS, num_trainable_layers=0)
    missing, unexpected = up.load_checkpoint(ckpt)
    assert missing == [] and unexpected == []
    for k, v in up.upstream.state_dict().items():
        assert torch.equal(v, saved[k]), k

    # a checkpoint of another architecture (3 blocks) misses block 3: named error
    small = tmp_path / "small.yaml"
    small.write_text(yaml.safe_dump(tiny_cfg(num_blocks=3)))
    make_ckpt([str(small), str(tmp_path / "small.pth")])
    with pytest.raises(KeyError, match=r"missing encoder keys.*encoder\.encoders\.3\."):
        XeusUpstream(TINY_XEUS, num_trainable_layers=0).load_checkpoint(tmp_path / "small.pth")


def _step_changes(model, n_layers_total):
    """One AdamW step; returns which parameter groups changed."""
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    model.train()
    x = torch.randn(2, 16000)
    loss, _, _ = model(x, torch.tensor([16000, 12000]), cat=torch.tensor([[1], [3]]),
                       vad=torch.tensor([[0.1, 0.5, 0.9], [0.7, 0.2, 0.4]]))
    loss.sum().backward()
    opt.step()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    blocks = {
        i: any(k.startswith(f"frontend.upstream.encoder.encoders.{i}.") for k in changed)
        for i in range(n_layers_total)
    }
    other_xeus = {k for k in changed if k.startswith("frontend.upstream.")
                  and not k.startswith("frontend.upstream.encoder.encoders.")}
    heads = {k for k in changed if not k.startswith("frontend.")}
    return blocks, other_xeus, heads


def test_one_step_tiny_only_top_blocks_change():
    torch.manual_seed(0)
    model = PunserModel(XeusUpstream(TINY_XEUS, num_trainable_layers=2))
    blocks, other, heads = _step_changes(model, 4)
    assert blocks == {0: False, 1: False, 2: True, 3: True}
    assert other == set()
    assert {"layer_weights", "proj.weight", "cat_head.0.weight"} <= heads


# ------------------------------------------------------------ full-size XEUS (slow)
@pytest.fixture(scope="module")
def full_ssl_checkpoint(tmp_path_factory):
    """A random 576.5 M-parameter checkpoint saved by ESPnet's SSLTask for xeus.yaml."""
    torch.manual_seed(0)
    ssl = build_ssl_model(FULL_XEUS)
    n_ssl = sum(p.numel() for p in ssl.parameters())
    path = tmp_path_factory.mktemp("xeus") / "xeus_random.pth"
    torch.save(ssl.state_dict(), path)
    del ssl
    return path, n_ssl


@pytest.mark.slow
def test_full_xeus_size_and_checkpoint(full_ssl_checkpoint):
    path, n_ssl = full_ssl_checkpoint
    assert n_ssl == pytest.approx(576.5e6, abs=0.5e6)  # the published size
    up = XeusUpstream(FULL_XEUS, num_trainable_layers=6)
    n = sum(p.numel() for p in up.parameters())
    assert n == pytest.approx(574.1e6, abs=0.5e6)  # without HuBERT loss and masking
    assert up.num_layers == 19 and up.output_size() == 1024
    missing, unexpected = up.load_checkpoint(path)
    assert missing == [] and unexpected == []


@pytest.mark.slow
@pytest.mark.parametrize("num_trainable", [6, 0])
def test_full_xeus_one_step_freezing(num_trainable):
    torch.manual_seed(0)
    model = PunserModel(XeusUpstream(FULL_XEUS, num_trainable_layers=num_trainable))
    blocks, other, heads = _step_changes(model, 19)
    expected = {i: i >= 19 - num_trainable for i in range(19)}
    assert blocks == expected  # L=6: blocks 13-18 change, 0-12 bitwise unchanged
    assert other == set()  # CNN frontend, pre-encoder, positional conv, final norm
    assert "proj.weight" in heads and "cat_head.2.weight" in heads
