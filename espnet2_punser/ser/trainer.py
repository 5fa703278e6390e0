"""ESPnet Trainer with corpus-level validation metrics.

ESPnet's reporter averages every stat over batches, which is wrong for UA (a mean of
per-class recalls) and CCC (a correlation). After the usual validation pass this trainer
registers ``ua``, ``ccc_v``, ``ccc_a`` and ``ccc_d`` computed over the whole validation
set; under DDP the predictions of every rank are gathered first.
"""

from __future__ import annotations

import numpy as np
import torch
from espnet2.train.trainer import Trainer

from espnet2_punser.metrics import concordance_cc, unweighted_accuracy
from espnet2_punser.ser.model import PredictionCollector


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    while hasattr(model, "module"):
        model = model.module
    return model


def gather_predictions(arrays, distributed: bool):
    """Concatenate the prediction arrays of every rank (identity without DDP)."""
    if not distributed or not torch.distributed.is_initialized():
        return arrays
    everyone = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(everyone, arrays)
    return tuple(np.concatenate([r[i] for r in everyone]) for i in range(len(arrays)))


def corpus_metrics(cat_pred, cat_true, vad_pred, vad_true):
    stats = {
        "ua": unweighted_accuracy(cat_true, cat_pred) if len(cat_true) else None,
    }
    for d, name in enumerate(("ccc_v", "ccc_a", "ccc_d")):
        value = concordance_cc(vad_true[:, d], vad_pred[:, d]) if len(vad_true) else np.nan
        stats[name] = None if np.isnan(value) else value
    return stats


class SERTrainer(Trainer):
    @classmethod
    def validate_one_epoch(cls, model, iterator, reporter, options, distributed_option):
        core = _unwrap(model)
        core.prediction_collector = PredictionCollector()
        try:
            super().validate_one_epoch(model, iterator, reporter, options, distributed_option)
            arrays = gather_predictions(
                core.prediction_collector.arrays(), distributed_option.distributed
            )
        finally:
            core.prediction_collector = None
        stats = corpus_metrics(*arrays)
        if any(v is not None for v in stats.values()):
            reporter.register(stats, weight=1)
            reporter.next()
