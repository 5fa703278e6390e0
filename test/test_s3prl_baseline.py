"""The optional S3PRL baseline (e.g. WavLM-large) through ESPnet's S3prlFrontend.

``s3prl`` and its checkpoints are not installed here, so a stand-in ``s3prl`` package
with the same interface (``S3PRLUpstream``: ``available_names``, ``hidden_sizes``,
``num_layers``, ``forward(wavs, wavs_len) -> (all_hs, all_lens)``; ``Featurizer``) runs
the real wiring: ESPnet builds the upstream, PUNSER takes all its layers.
"""

import sys
import types
from pathlib import Path

import pytest
import torch
import yaml

from espnet2_punser.corpora.synthetic import toy_protocol
from espnet2_punser.datadir import read_map
from espnet2_punser.ser.model import PunserModel


class FakeUpstream(torch.nn.Module):
    def __init__(self, name, path_or_url=None, normalize=False, extra_conf=None):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(1, 16, 400, stride=320)
        self.layers = torch.nn.ModuleList([torch.nn.Linear(16, 16) for _ in range(3)])
        self.hidden_sizes = [16] * 4
        self.num_layers = 4
        self.upstream = types.SimpleNamespace()  # S3PRL's wrapped model (ESPnet peeks in)

    @staticmethod
    def available_names():
        return ["wavlm_large"]

    def forward(self, wavs, wavs_len):
        h = self.conv(wavs[:, None]).transpose(1, 2)
        lens = torch.div(wavs_len - 400, 320, rounding_mode="floor") + 1
        hs = [h]
        for layer in self.layers:
            h = torch.tanh(layer(h))
            hs.append(h)
        return hs, [lens] * len(hs)


class FakeFeaturizer(torch.nn.Module):
    def __init__(self, upstream, layer_selections=None):
        super().__init__()
        self.downsample_rate = 320
        self.output_size = 16


@pytest.fixture
def fake_s3prl(monkeypatch):
    pkg = types.ModuleType("s3prl")
    pkg.util = types.SimpleNamespace(download=types.SimpleNamespace(set_dir=lambda d: None))
    nn = types.ModuleType("s3prl.nn")
    nn.S3PRLUpstream, nn.Featurizer = FakeUpstream, FakeFeaturizer
    pkg.nn = nn
    monkeypatch.setitem(sys.modules, "s3prl", pkg)
    monkeypatch.setitem(sys.modules, "s3prl.nn", nn)


def test_s3prl_layers_feed_punser_frozen(fake_s3prl):
    from espnet2_punser.tasks.ser import frontend_choices

    frontend = frontend_choices.get_class("s3prl")(upstream="wavlm_large")
    model = PunserModel(frontend, head_hidden=None)  # the SSL-baseline heads
    assert model.num_layers == 4 and model.feat_dim == 16
    model.train()
    assert not frontend.upstream.training  # frozen: eval mode whatever the trainer says
    x = torch.randn(2, 16000)
    loss, stats, _ = model(x, torch.tensor([16000, 12000]), cat=torch.tensor([[1], [2]]),
                           vad=torch.tensor([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5]]))
    loss.sum().backward()
    assert all(p.grad is None for p in frontend.parameters())
    assert model.cat_head.weight.grad is not None  # one linear layer per task


def test_cache_features_with_a_frontend_config(fake_s3prl, tmp_path):
    from espnet2_punser.bin.cache_features import main as cache_features

    corpus, _ = toy_protocol(tmp_path, n_speakers=2, per_speaker=8, seed=0)
    conf = tmp_path / "wavlm_large.yaml"
    recipe_conf = Path(__file__).resolve().parent.parent / "egs2/punser/ser1/conf/baselines/wavlm_large.yaml"
    conf.write_text(recipe_conf.read_text())  # the shipped configuration
    assert yaml.safe_load(conf.read_text())["frontend"] == "s3prl"
    out = tmp_path / "cache.path"
    assert cache_features(["--frontend_config", str(conf), "--data_dir", str(corpus),
                           "--cache_root", str(tmp_path / "cache"), "--name", "c",
                           "--out_file", str(out)]) == 0
    feats = read_map(Path(out.read_text().strip()) / "feats.scp")
    assert set(feats) == set(read_map(corpus / "wav.scp"))
    import numpy as np

    assert np.load(next(iter(feats.values()))).shape == (4, 16)
