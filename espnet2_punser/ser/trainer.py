"""ESPnet Trainer with corpus-level validation metrics.

ESPnet's reporter averages every stat over batches, which is wrong for UA (a mean of
per-class recalls) and CCC (a correlation). After the usual validation pass this trainer
registers ``ua``, ``ccc_v``, ``ccc_a`` and ``ccc_d`` computed over the whole validation
set; under DDP the predictions of every rank are gathered first.

Under DDP (``--ngpu N --multiprocessing_distributed true``, or an external launcher),
the model also computes its loss over the global batch while this trainer runs a
training or validation epoch (``PunserModel.gather_batch``): N processes then train the
same model as one process given the same batches (``batch_bins`` is the budget of the
global batch). Only the train and validation loops switch it on: their forward passes
run in lock-step on every rank, which the collective calls of the gathering need.

Interruptions (``--resume true``): ESPnet re-seeds every epoch (``seed + epoch``) and
shuffles batches with the same seed, so an epoch replayed after a kill computes exactly
what it would have. What ESPnet's ``Trainer.run`` does not survive is a kill while it
saves: ``checkpoint.pth`` and ``<N>epoch.pth`` are written in place (a truncated
checkpoint cannot be resumed), and the ``*.best.pth`` links of an epoch are made after
its checkpoint (a kill in between leaves the best model unlinked for good). ``run``
therefore makes every ``torch.save`` write a temporary file that is renamed when
complete, and on resume restores the epoch file, ``latest.pth`` and the best-model links
from ``checkpoint.pth`` where a kill left them missing; a run killed after the epoch
that met its early-stopping criterion does not train further when resumed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import torch
from espnet2.train.reporter import Reporter
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


@contextmanager
def _global_batch_loss(model: torch.nn.Module, distributed: bool):
    """Let the model gather every rank's shard for its loss (DDP only)."""
    core = _unwrap(model)
    if not distributed or not hasattr(core, "gather_batch"):
        yield
        return
    core.gather_batch = True
    try:
        yield
    finally:
        core.gather_batch = False


@contextmanager
def atomic_torch_save() -> Iterator[None]:
    """Within the block, ``torch.save(obj, path)`` writes ``.<name>.tmp`` beside
    ``path`` and renames it, so ``path`` is either the old or the complete new file.

    NOTE: ESPnet's ``Trainer.run`` calls ``torch.save`` inline; wrapping the function
    for the duration of the run is the only way in without copying that method.
    """
    original = torch.save

    def save(obj, f, *args, **kwargs):
        if not isinstance(f, (str, os.PathLike)):
            return original(obj, f, *args, **kwargs)
        path = Path(f)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            original(obj, tmp, *args, **kwargs)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    torch.save = save
    try:
        yield
    finally:
        torch.save = original


def _link(path: Path, target: str) -> None:
    if path.is_symlink() and os.readlink(path) == target:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, path)


def recover_interrupted_save(output_dir: Path, options, write: bool = True) -> Optional[int]:
    """Complete what a kill during the saves at the end of an epoch left undone.

    Reads the reporter of ``checkpoint.pth`` (memory-mapped: the weights are read only
    if the epoch file must be rewritten). Returns the epoch of the checkpoint when the
    run had already met its early-stopping criterion there, else None.
    """
    ckpt = output_dir / "checkpoint.pth"
    states = torch.load(ckpt, map_location="cpu", weights_only=False, mmap=True)
    reporter = Reporter()
    reporter.load_state_dict(states["reporter"])
    epoch = reporter.get_epoch()
    if epoch == 0:
        return None
    if write:
        epoch_file = output_dir / f"{epoch}epoch.pth"
        if not epoch_file.exists():
            logging.warning(f"{epoch_file} is missing (the run was stopped while saving "
                            f"epoch {epoch}): restoring it from {ckpt}")
            with atomic_torch_save():
                torch.save(states["model"], epoch_file)
        _link(output_dir / "latest.pth", epoch_file.name)
        for phase, key, mode in options.best_model_criterion:
            if reporter.has(phase, key):
                best = f"{reporter.get_best_epoch(phase, key, mode)}epoch.pth"
                link = output_dir / f"{phase}.{key}.best.pth"
                if (output_dir / best).exists() and not (link.is_symlink()
                                                         and os.readlink(link) == best):
                    logging.warning(f"{link}: pointing it to {best} (the run was stopped "
                                    f"before the link was made)")
                    _link(link, best)
    if options.patience is not None and reporter.has(*options.early_stopping_criterion[:2]):
        if reporter.check_early_stopping(options.patience, *options.early_stopping_criterion):
            return epoch
    return None


class SERTrainer(Trainer):
    @classmethod
    def run(cls, model, optimizers, schedulers, train_iter_factory, valid_iter_factory,
            plot_attention_iter_factory, trainer_options, distributed_option) -> None:
        """ESPnet's ``Trainer.run`` with kill-safe saving (see the module docstring)."""
        output_dir = Path(trainer_options.output_dir)
        if trainer_options.resume and (output_dir / "checkpoint.pth").exists():
            rank0 = not distributed_option.distributed or distributed_option.dist_rank == 0
            stopped = recover_interrupted_save(output_dir, trainer_options, write=rank0)
            if stopped is not None:
                logging.info(f"epoch {stopped} had already met the early-stopping "
                             f"criterion: no further training")
                trainer_options = dataclasses.replace(trainer_options, max_epoch=stopped)
        with atomic_torch_save():
            super().run(
                model=model, optimizers=optimizers, schedulers=schedulers,
                train_iter_factory=train_iter_factory, valid_iter_factory=valid_iter_factory,
                plot_attention_iter_factory=plot_attention_iter_factory,
                trainer_options=trainer_options, distributed_option=distributed_option,
            )

    @classmethod
    def train_one_epoch(cls, model, iterator, optimizers, schedulers, scaler, reporter,
                        summary_writer, options, distributed_option) -> bool:
        with _global_batch_loss(model, distributed_option.distributed):
            return super().train_one_epoch(
                model=model, iterator=iterator, optimizers=optimizers,
                schedulers=schedulers, scaler=scaler, reporter=reporter,
                summary_writer=summary_writer, options=options,
                distributed_option=distributed_option,
            )

    @classmethod
    def validate_one_epoch(cls, model, iterator, reporter, options, distributed_option):
        core = _unwrap(model)
        core.prediction_collector = PredictionCollector()
        try:
            with _global_batch_loss(model, distributed_option.distributed):
                super().validate_one_epoch(
                    model, iterator, reporter, options, distributed_option
                )
            arrays = gather_predictions(
                core.prediction_collector.arrays(), distributed_option.distributed
            )
        finally:
            core.prediction_collector = None
        stats = corpus_metrics(*arrays)
        if any(v is not None for v in stats.values()):
            reporter.register(stats, weight=1)
            reporter.next()
