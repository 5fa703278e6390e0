"""Any S3PRL upstream (e.g. WavLM-large) as a frozen multi-layer encoder for PunserModel.

The paper compares PUNSER with SSL baselines such as WavLM-large (Table IV/V): the
frozen encoder, a weighted sum of its layers, mean pooling, Linear 256 and one linear
layer per task. This frontend builds the upstream through ESPnet's own
``S3prlFrontend`` and hands every hidden layer to PunserModel (whose weighted sum
replaces S3PRL's ``Featurizer``), so the baseline runs through the same cache, protocols
and scoring as PUNSER.

Needs the ``s3prl`` package (``pip install s3prl``) and network access (or a filled
S3PRL cache, ``download_dir``) for the checkpoint of the chosen upstream, e.g.
``wavlm_large`` (about 1.2 GB). Configuration: ``conf/baselines/wavlm_large.yaml``.
"""

from __future__ import annotations

import logging
from typing import List, Optional, Tuple

import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend

logger = logging.getLogger(__name__)


class S3prlUpstream(AbsFrontend):
    """All hidden layers of an S3PRL upstream; always frozen and in eval mode.

    ``forward(speech (B, T), lengths (B,))`` returns ``(hs, frame_lengths)`` with ``hs`` a
    list of ``num_layers`` tensors (B, T', D), like :class:`XeusUpstream`.
    """

    def __init__(self, upstream: str = "wavlm_large", path_or_url: Optional[str] = None,
                 download_dir: Optional[str] = None, normalize: bool = False):
        super().__init__()
        from espnet2.asr.frontend.s3prl import S3prlFrontend

        frontend = S3prlFrontend(
            frontend_conf={"upstream": upstream, "path_or_url": path_or_url,
                           "normalize": normalize},
            download_dir=download_dir, multilayer_feature=True,
        )
        self.upstream = frontend.upstream
        # NOTE: S3prlFrontend keeps a deep copy of the weights for re-initialisation
        # (1.2 GB for WavLM-large) and a Featurizer; PunserModel needs neither.
        del frontend
        sizes = list(getattr(self.upstream, "hidden_sizes", []))
        self.num_layers = int(getattr(self.upstream, "num_layers", len(sizes)))
        if not sizes or len(set(sizes)) != 1:
            raise ValueError(f"S3PRL upstream {upstream}: layers of different sizes {sizes}")
        self._output_size = int(sizes[0])
        self.arch_config = {"s3prl_upstream": upstream, "path_or_url": path_or_url}
        for p in self.upstream.parameters():
            p.requires_grad_(False)
        self.upstream.eval()

    def output_size(self) -> int:
        return self._output_size

    def train(self, mode: bool = True):
        super().train(mode)
        self.upstream.eval()  # frozen: no dropout
        return self

    def forward(self, speech: torch.Tensor, speech_lengths: torch.Tensor
                ) -> Tuple[List[torch.Tensor], torch.Tensor]:
        with torch.no_grad():
            hs, hlens = self.upstream(speech, speech_lengths)
        if len(hs) != self.num_layers:
            raise RuntimeError(f"S3PRL upstream returned {len(hs)} layers, expected {self.num_layers}")
        return list(hs), hlens[0]
