"""The PUNSER model (paper section II-B, design.md section 5).

    speech (B, T) --XEUS--> block outputs h_l (B, T', D), l = 1..L
      -> masked mean pooling per layer          p_l (B, D)
      -> softmax-weighted sum over layers       sum_l w_l p_l (B, D)
      -> Linear(D, 256)                         h (B, 256)   (shared representation)
      -> categorical head  Linear(256,256)-ReLU-Linear(256,8)
      -> one head per V, A, D  Linear(256,256)-ReLU-Linear(256,1)

Pooling and the weighted sum are both linear, so pooling each layer first and then
summing equals the paper's order (sum, then pool). That lets a frozen encoder's pooled
layer vectors be computed once and cached: with ``frontend=None`` the model takes those
cached vectors, ``speech`` of shape (B, L, D), and is otherwise the same model.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask

from espnet2_punser.labels import DIMENSIONS, EMOTIONS, class_indices
from espnet2_punser.ser.loss import (
    all_gather_batch,
    masked_mtl_loss,
    masks_from_labels,
    subset_targets,
)


def _head(in_dim: int, hidden: Optional[int], out_dim: int) -> torch.nn.Module:
    if hidden is None or hidden <= 0:
        return torch.nn.Linear(in_dim, out_dim)  # SSL-baseline: one linear layer
    return torch.nn.Sequential(
        torch.nn.Linear(in_dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, out_dim)
    )


class PredictionCollector:
    """Keeps eval-mode predictions so that UA and CCC are computed per corpus."""

    def __init__(self):
        self.cat_pred: List[torch.Tensor] = []
        self.cat_true: List[torch.Tensor] = []
        self.vad_pred: List[torch.Tensor] = []
        self.vad_true: List[torch.Tensor] = []

    def add(self, cat_pred, cat_true, vad_pred, vad_true) -> None:
        if cat_true is not None:
            self.cat_pred.append(cat_pred.detach().cpu())
            self.cat_true.append(cat_true.detach().cpu())
        if vad_true is not None:
            self.vad_pred.append(vad_pred.detach().float().cpu())
            self.vad_true.append(vad_true.detach().float().cpu())

    def arrays(self):
        def cat(xs, shape):
            return torch.cat(xs).numpy() if xs else torch.zeros(shape).numpy()

        return (
            cat(self.cat_pred, (0,)),
            cat(self.cat_true, (0,)),
            cat(self.vad_pred, (0, 3)),
            cat(self.vad_true, (0, 3)),
        )


def masked_mean_layers(hs: Sequence[torch.Tensor], valid: torch.Tensor) -> torch.Tensor:
    """Mean over the valid frames (``valid`` (B, T) bool) of each (B, T, D) tensor in
    ``hs``: (B, len(hs), D). Padded frames never count."""
    w = valid.unsqueeze(-1).to(hs[0].dtype)
    denom = valid.sum(1, keepdim=True).clamp(min=1).to(hs[0].dtype)
    return torch.stack([(h * w).sum(1) / denom for h in hs], dim=1)


class PunserModel(AbsESPnetModel):
    """PUNSER: XEUS + weighted layer sum + mean pooling + Linear 256 + cat/V/A/D heads.

    Args:
        frontend: a multi-layer upstream (``XeusUpstream``), or ``None`` when the input
            is cached pooled layer vectors (B, L, D).
        alpha: weight of the categorical loss in eq. (7).
        proj_dim: size of the shared representation h (256 in the paper).
        head_hidden: hidden size of every head (256); ``None``/0 gives one linear layer
            per task (the SSL-baseline configuration).
        class_subset: the classes that compete in the loss and at prediction (paper
            section II-D); ``None`` = all 8 unified classes.
        num_layers, feat_dim: L and D of the cached input; only with ``frontend=None``.
        extract_feats_in_collect_stats: kept ``False`` so that ESPnet's collect-stats
            stage does not build the model (no encoder forward, no weights to load).
    """

    def __init__(
        self,
        frontend: Optional[AbsFrontend],
        alpha: float = 0.25,
        proj_dim: int = 256,
        head_hidden: Optional[int] = 256,
        class_subset: Optional[Sequence[str]] = None,
        num_layers: Optional[int] = None,
        feat_dim: Optional[int] = None,
        extract_feats_in_collect_stats: bool = False,
    ):
        super().__init__()
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.frontend = frontend
        if frontend is not None:
            enc_layers, enc_dim = frontend.num_layers, frontend.output_size()
            if num_layers not in (None, enc_layers) or feat_dim not in (None, enc_dim):
                raise ValueError(
                    f"num_layers/feat_dim ({num_layers}, {feat_dim}) contradict the "
                    f"encoder ({enc_layers}, {enc_dim})"
                )
            num_layers, feat_dim = enc_layers, enc_dim
        elif num_layers is None or feat_dim is None:
            raise ValueError("without a frontend (cached input) give num_layers and feat_dim")
        self.num_layers, self.feat_dim = int(num_layers), int(feat_dim)
        self.alpha = float(alpha)
        self.class_subset = list(class_subset) if class_subset is not None else None
        self.class_idx = class_indices(class_subset)
        self.extract_feats_in_collect_stats = extract_feats_in_collect_stats

        # NOTE: the layers below are initialised from the run's seed alone, not from
        # the random state the encoder's construction left behind, so a model on
        # cached features (no encoder built) starts from the same weights as the full
        # model: cached and uncached fine-tuning give the same model.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch.initial_seed())
            self.layer_weights = torch.nn.Parameter(torch.zeros(self.num_layers))
            self.proj = torch.nn.Linear(self.feat_dim, proj_dim)
            self.cat_head = _head(proj_dim, head_hidden, len(EMOTIONS))
            self.vad_heads = torch.nn.ModuleList(
                [_head(proj_dim, head_hidden, 1) for _ in DIMENSIONS]
            )
        self.prediction_collector: Optional[PredictionCollector] = None
        # Set by SERTrainer under DDP: the loss and stats are computed over the global
        # batch (every rank's shard, gathered), as one process would compute them.
        self.gather_batch = False

    # ------------------------------------------------------------------ encoder
    def pooled_layers(
        self, speech: torch.Tensor, speech_lengths: Optional[torch.Tensor],
        frozen_pooled: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """(B, T) audio -> (B, L, D) mean-pooled block outputs (padding ignored).

        With ``frontend=None``, ``speech`` already is (B, L, D) and is returned as is.
        With cached frozen-stack frames, ``speech`` is (B, T', D), the input of the first
        trainable block, and ``frozen_pooled`` (B, K, D) the pooled outputs of the K
        frozen blocks.
        """
        if self.frontend is None:
            if speech.dim() != 3 or speech.shape[1:] != (self.num_layers, self.feat_dim):
                raise ValueError(
                    f"cached input must be (B, {self.num_layers}, {self.feat_dim}), "
                    f"got {tuple(speech.shape)}"
                )
            return speech
        if speech_lengths is None:
            speech_lengths = torch.full(
                (speech.size(0),), speech.size(1), dtype=torch.long, device=speech.device
            )
        hs, hlens = self.frontend(speech, speech_lengths)
        valid = (~make_pad_mask(hlens, maxlen=hs[0].size(1))).to(hs[0].device)
        pooled = masked_mean_layers(hs, valid)
        if speech.dim() == 3:  # cached frozen-stack frames: add the frozen blocks
            if frozen_pooled is None:
                raise ValueError("cached frames (B, T', D) need frozen_pooled (B, K, D)")
            pooled = torch.cat([frozen_pooled.to(pooled.dtype), pooled], dim=1)
        return pooled

    def layer_weight_probs(self) -> torch.Tensor:
        return torch.softmax(self.layer_weights, dim=0)

    def heads(self, pooled: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, L, D) -> (cat logits (B, 8), V/A/D (B, 3))."""
        w = self.layer_weight_probs().to(pooled.dtype)
        h = self.proj(torch.einsum("l,bld->bd", w, pooled))
        return self.cat_head(h), torch.cat([head(h) for head in self.vad_heads], dim=-1)

    # ------------------------------------------------------------------ training
    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: Optional[torch.Tensor] = None,
        cat: Optional[torch.Tensor] = None,
        cat_lengths: Optional[torch.Tensor] = None,
        vad: Optional[torch.Tensor] = None,
        vad_lengths: Optional[torch.Tensor] = None,
        frozen_pooled: Optional[torch.Tensor] = None,
        frozen_pooled_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, Optional[torch.Tensor]], torch.Tensor]:
        batch_size = speech.size(0)
        logits, vad_pred = self.heads(self.pooled_layers(speech, speech_lengths, frozen_pooled))
        sub_logits = logits[:, self.class_idx]
        target = None
        if cat is not None:
            target = subset_targets(cat.view(-1).long(), self.class_idx)
        if vad is not None:
            # NOTE: float32 labels even when autocast makes vad_pred bfloat16
            vad = vad.view(batch_size, -1).float()
        local = (sub_logits, target, vad_pred, vad)
        if self.gather_batch:
            sub_logits, vad_pred = all_gather_batch(sub_logits), all_gather_batch(vad_pred)
            with torch.no_grad():
                target = None if target is None else all_gather_batch(target)
                vad = None if vad is None else all_gather_batch(vad)
        cat_mask, vad_mask = masks_from_labels(target, vad)
        out = masked_mtl_loss(
            sub_logits, target, cat_mask, vad_pred, vad, vad_mask, self.alpha
        )

        stats: Dict[str, Optional[torch.Tensor]] = {
            "loss": out.loss.detach(),
            "loss_cat": None if out.loss_cat is None else out.loss_cat.detach(),
            "loss_dim": None if out.loss_dim is None else out.loss_dim.detach(),
            "acc": None,
        }
        pred = sub_logits.argmax(-1)
        if target is not None and out.n_cat > 0:
            has = target >= 0
            stats["acc"] = (pred[has] == target[has]).float().mean().detach()
        if self.prediction_collector is not None and not self.training:
            # this rank's shard only: SERTrainer gathers the predictions of all ranks
            sub_logits, target, vad_pred, vad = local
            pred = sub_logits.argmax(-1)
            has_cat = target is not None and bool((target >= 0).any())
            self.prediction_collector.add(
                pred[target >= 0] if has_cat else None,
                target[target >= 0] if has_cat else None,
                vad_pred,
                vad,
            )
        loss, stats, weight = force_gatherable((out.loss, stats, batch_size), out.loss.device)
        return loss, stats, weight

    def collect_feats(self, speech, speech_lengths=None, **kwargs) -> Dict[str, torch.Tensor]:
        # NOTE: nothing to normalise globally; XEUS takes raw (per-utterance
        # normalised) audio, so collect-stats only needs the shape files.
        return {}

    # ----------------------------------------------------------------- inference
    @torch.no_grad()
    def predict(
        self,
        speech: torch.Tensor,
        speech_lengths: Optional[torch.Tensor] = None,
        class_subset: Optional[Sequence[str]] = None,
    ) -> Dict[str, torch.Tensor]:
        """Probabilities over a class subset and V/A/D in [0, 1].

        Returns ``probs`` (B, k) over ``class_idx`` (the model's subset unless another
        is given), ``class_idx`` (k,), ``logits`` (B, 8) and ``vad`` (B, 3), clipped to
        the label range [0, 1].
        """
        idx = self.class_idx if class_subset is None else class_indices(class_subset)
        logits, vad = self.heads(self.pooled_layers(speech, speech_lengths))
        probs = torch.softmax(logits[:, idx].float(), dim=-1)
        return {
            "logits": logits,
            "probs": probs,
            "class_idx": torch.as_tensor(idx),
            "vad": vad.float().clamp(0.0, 1.0),
        }
