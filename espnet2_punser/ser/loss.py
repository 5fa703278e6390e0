"""Masked multi-task loss of PUNSER (paper eq. (3)-(7)).

The masks m_cat and m_dim of the paper are explicit arguments. In the training files
they are encoded as missing markers (category ``-1``, V/A/D ``nan``) and derived with
:func:`masks_from_labels`. m_dim is applied per dimension, which equals the paper's
per-utterance mask when an utterance has either all three dimensions or none.

A task with no labelled sample in the batch (fewer than 2 for a CCC term) contributes
nothing, so the loss never becomes ``nan``. Masked samples are removed by indexing, so
their labels cannot influence the loss or any gradient.

Under DDP the mini-batch of eq. (7) is the global batch (ESPnet builds each batch for
all ranks and gives every rank a shard): :func:`all_gather_batch` concatenates the
shards with a gradient, so the loss (a CCC is not a mean of per-shard CCCs) and its
gradient equal those of one process holding the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F

CCC_EPS = 1e-8


def ccc(pred: torch.Tensor, target: torch.Tensor, eps: float = CCC_EPS) -> torch.Tensor:
    """Concordance correlation coefficient of two 1-D tensors (eq. (6)).

    ``2 cov / (var_p + var_t + (mu_p - mu_t)^2)`` with population (1/N) moments, which
    equals ``2 rho sigma_p sigma_t / (...)``. ``eps`` keeps two constant vectors finite.
    """
    if pred.shape != target.shape or pred.dim() != 1:
        raise ValueError(f"ccc expects two 1-D tensors of equal size: {pred.shape}, {target.shape}")
    mp, mt = pred.mean(), target.mean()
    dp, dt = pred - mp, target - mt
    cov = (dp * dt).mean()
    return 2.0 * cov / (dp.pow(2).mean() + dt.pow(2).mean() + (mp - mt).pow(2) + eps)


@dataclass
class MTLLoss:
    loss: torch.Tensor
    loss_cat: Optional[torch.Tensor]
    loss_dim: Optional[torch.Tensor]
    n_cat: int
    n_dim: int


def subset_targets(cat: torch.Tensor, class_idx: Sequence[int]) -> torch.Tensor:
    """Map unified class indices to positions inside ``class_idx`` (-1 stays -1).

    Raises ``ValueError`` when a labelled class is outside the subset.
    """
    lut = torch.full((max(class_idx) + 2,), -2, dtype=torch.long, device=cat.device)
    lut[torch.as_tensor(list(class_idx), device=cat.device)] = torch.arange(
        len(class_idx), device=cat.device
    )
    out = torch.full_like(cat, -1)
    has = cat >= 0
    if bool(has.any()):
        if int(cat[has].max()) > max(class_idx):
            raise ValueError(f"category outside the class subset {list(class_idx)}")
        mapped = lut[cat[has]]
        if bool((mapped < 0).any()):
            raise ValueError(f"category outside the class subset {list(class_idx)}")
        out[has] = mapped
    return out


def masks_from_labels(cat: Optional[torch.Tensor], vad: Optional[torch.Tensor]):
    """The paper's masks from the training files' missing markers: m_cat = (cat >= 0),
    m_dim = isfinite(vad) (per dimension)."""
    cat_mask = None if cat is None else cat.view(-1) >= 0
    vad_mask = None if vad is None else torch.isfinite(vad)
    return cat_mask, vad_mask


def masked_mtl_loss(
    cat_logits: torch.Tensor,
    cat: Optional[torch.Tensor],
    cat_mask: Optional[torch.Tensor],
    vad_pred: torch.Tensor,
    vad: Optional[torch.Tensor],
    vad_mask: Optional[torch.Tensor],
    alpha: float = 0.25,
) -> MTLLoss:
    """Eq. (7): ``alpha * L_cat + (1 - alpha) * L_dim``.

    Args:
        cat_logits: (B, C) logits over the competing classes.
        cat: (B,) targets as positions in those C classes (any value where masked).
        cat_mask: (B,) bool, m_cat (None: no categorical labels at all).
        vad_pred: (B, 3) predicted V/A/D.
        vad: (B, 3) labels (any value where masked).
        vad_mask: (B, 3) bool, m_dim per dimension (None: no dimensional labels).
    """
    # NOTE: zero-weight terms keep every head in the graph, so each trainable parameter
    # gets a (zero) gradient even when a task has no label in the batch. DDP then needs
    # no unused-parameter search (--unused_parameters false), and one process and N
    # processes treat such a head alike (AdamW sees a zero gradient, never None).
    loss = cat_logits.sum() * 0.0 + vad_pred.sum() * 0.0
    loss_cat = loss_dim = None
    n_cat = n_dim = 0
    if cat is not None and cat_mask is not None:
        idx = cat_mask.view(-1).nonzero(as_tuple=True)[0]  # I_cat
        n_cat = int(idx.numel())
        if n_cat > 0:
            # eq. (3): mean cross-entropy over I_cat
            target = cat.view(-1)[idx].long()
            loss_cat = F.cross_entropy(cat_logits[idx].float(), target, reduction="mean")
            loss = loss + alpha * loss_cat
    if vad is not None and vad_mask is not None:
        terms = []
        for d in range(vad.size(1)):
            idx = vad_mask[:, d].nonzero(as_tuple=True)[0]  # I_dim
            n_dim = max(n_dim, int(idx.numel()))
            if idx.numel() >= 2:
                # eq. (4)-(6): 1 - CCC over I_dim
                terms.append(1.0 - ccc(vad_pred[idx, d].float(), vad[idx, d].float()))
        if terms:
            loss_dim = torch.stack(terms).sum()
            loss = loss + (1.0 - alpha) * loss_dim
    return MTLLoss(loss=loss, loss_cat=loss_cat, loss_dim=loss_dim, n_cat=n_cat, n_dim=n_dim)


class _AllGather(torch.autograd.Function):
    """Concatenate (B_r, ...) shards of every rank; the backward pass sums the gradient
    of each rank's slice over ranks (every rank computes the loss of the whole batch)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, sizes: List[int]) -> torch.Tensor:
        ctx.sizes, ctx.rank = sizes, dist.get_rank()
        padded = x.new_zeros((max(sizes),) + tuple(x.shape[1:]))
        padded[: x.size(0)] = x
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded)
        return torch.cat([p[:n] for p, n in zip(parts, sizes)])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.contiguous()
        dist.all_reduce(grad)  # sum over ranks
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start : start + ctx.sizes[ctx.rank]], None


def all_gather_batch(x: torch.Tensor) -> torch.Tensor:
    """(B_r, ...) on rank r -> (sum_r B_r, ...), rank 0's rows first; differentiable.

    Shards may differ in size (ESPnet shards a batch as ``batch[rank::world_size]``).
    Every rank must call this for the same tensors in the same order (the trainer's
    forward passes are in lock-step). With ESPnet's loss scaling (``loss * w_r / W *
    world_size``, then DDP's gradient mean) the resulting gradient is that of the
    whole-batch loss: the scale factors of the ranks add up to ``world_size``, which the
    backward sum meets with the mean.
    """
    n = torch.tensor([x.size(0)], dtype=torch.long, device=x.device)
    sizes = [torch.zeros_like(n) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, n)
    return _AllGather.apply(x.contiguous(), [int(s) for s in sizes])
