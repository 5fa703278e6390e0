"""SERTask: ESPnet2 task for PUNSER speech emotion recognition.

Data names (Kaldi-style files given with ``--*_data_path_and_name_and_type``):

| name     | type         | content                                              | needed |
|----------|--------------|------------------------------------------------------|--------|
| ``speech`` | ``sound``  | 16 kHz mono waveform                                 | always |
| ``speech`` | ``npy``    | cached pooled XEUS layers (L, D) when ``--frontend none`` | instead |
| ``cat``    | ``text_int`` | unified class index 0..7, ``-1`` = no category      | train (optional) |
| ``vad``    | ``text_float`` | V A D in [0, 1], ``nan`` = missing               | train (optional) |
| ``speech`` | ``npy``    | cached frozen-stack frames (T', D), ``frontend_conf.frame_input`` | instead |
| ``frozen_pooled`` | ``npy`` | pooled outputs of the frozen blocks (K, D), with those frames | then |

The paper's hyper-parameters are this task's defaults (``--print_config`` shows them):
AdamW lr 1e-5, weight decay 0.01, at most 100 epochs, early stopping after 3 epochs
without a lower validation loss, dynamic batches of at most 800,000 samples, best model
by validation loss; alpha = 0.25 (``model_conf``) and L = 6 (``frontend_conf``).
"""

from __future__ import annotations

import argparse
import logging
from typing import Callable, Collection, Dict, List, Optional, Tuple

import numpy as np
import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.tasks.abs_task import AbsTask
from espnet2.torch_utils.initialize import initialize
from espnet2.train.abs_espnet_model import AbsESPnetModel
from espnet2.train.class_choices import ClassChoices
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.utils.types import str2bool, str_or_none
from typeguard import typechecked

from espnet2_punser.ser.model import PunserModel
from espnet2_punser.ser.preprocess import SERPreprocessor
from espnet2_punser.ser.s3prl_upstream import S3prlUpstream
from espnet2_punser.ser.trainer import SERTrainer
from espnet2_punser.ser.xeus import XeusUpstream

logger = logging.getLogger(__name__)

frontend_choices = ClassChoices(
    name="frontend",
    classes=dict(xeus=XeusUpstream, s3prl=S3prlUpstream),
    type_check=AbsFrontend,
    default="xeus",
    optional=True,  # "none": the input is cached pooled layer vectors
)
model_choices = ClassChoices(
    name="model",
    classes=dict(punser=PunserModel),
    type_check=AbsESPnetModel,
    default="punser",
)

# The paper's training set-up (section III-A); every value stays overridable.
PAPER_DEFAULTS = dict(
    optim="adamw",
    optim_conf={"lr": 1.0e-5, "weight_decay": 0.01},
    max_epoch=100,
    patience=3,
    early_stopping_criterion=("valid", "loss", "min"),
    best_model_criterion=[("valid", "loss", "min")],
    keep_nbest_models=1,
    batch_type="numel",
    batch_bins=800000,
    num_att_plot=0,
)


class SERTask(AbsTask):
    num_optimizers: int = 1
    class_choices_list = [frontend_choices, model_choices]
    trainer = SERTrainer

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        group = parser.add_argument_group(description="Task related")
        group.add_argument(
            "--xeus_checkpoint",
            type=str_or_none,
            default=None,
            help="ESPnet SSL checkpoint with the XEUS weights (e.g. "
            "xeus_checkpoint_new.pth), loaded once when the model is built for "
            "training; missing encoder keys are an error. Not kept in the saved "
            "config: the trained model file holds the encoder weights.",
        )
        group.add_argument(
            "--init",
            type=lambda x: str_or_none(x.lower()),
            default=None,
            choices=["xavier_uniform", "xavier_normal", "kaiming_uniform",
                     "kaiming_normal", None],
            help="Initialisation of the whole model (leave None with XEUS weights)",
        )
        group = parser.add_argument_group(description="Preprocess related")
        group.add_argument(
            "--use_preprocessor",
            type=str2bool,
            default=True,
            help="Normalise each waveform and validate cat/vad labels",
        )
        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)
        parser.set_defaults(**PAPER_DEFAULTS)

    @classmethod
    @typechecked
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable[
        [Collection[Tuple[str, Dict[str, np.ndarray]]]],
        Tuple[List[str], Dict[str, torch.Tensor]],
    ]:
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)

    @classmethod
    @typechecked
    def build_preprocess_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Optional[Callable[[str, Dict[str, np.array]], Dict[str, np.ndarray]]]:
        if not getattr(args, "use_preprocessor", True):
            return None
        model_conf = getattr(args, "model_conf", None) or {}
        frame_input = (getattr(args, "frontend_conf", None) or {}).get("frame_input", False)
        return SERPreprocessor(
            train=train,
            waveform=getattr(args, "frontend", "xeus") is not None and not frame_input,
            class_subset=model_conf.get("class_subset"),
        )

    @classmethod
    def required_data_names(
        cls, train: bool = True, inference: bool = False
    ) -> Tuple[str, ...]:
        return ("speech",)

    @classmethod
    def optional_data_names(
        cls, train: bool = True, inference: bool = False
    ) -> Tuple[str, ...]:
        # frozen_pooled: with cached frozen-stack frames (bin/cache_frames.py)
        return ("frozen_pooled",) if inference else ("cat", "vad", "frozen_pooled")

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> PunserModel:
        frontend = None
        if getattr(args, "frontend", None) is not None:
            frontend_class = frontend_choices.get_class(args.frontend.lower())
            frontend = frontend_class(**(args.frontend_conf or {}))
        model_class = model_choices.get_class(getattr(args, "model", "punser").lower())
        model = model_class(frontend=frontend, **(getattr(args, "model_conf", None) or {}))
        if getattr(args, "init", None) is not None:
            initialize(model, args.init)
        checkpoint = getattr(args, "xeus_checkpoint", None)
        if checkpoint is not None:
            if frontend is None:
                raise ValueError("--xeus_checkpoint needs an encoder (--frontend xeus)")
            frontend.load_checkpoint(checkpoint)
            # NOTE: dropped from the config that main_worker saves next to the model:
            # the trained model file already holds the encoder weights, so inference
            # and packing never need the 2.3 GB checkpoint.
            args.xeus_checkpoint = None
        n_all = sum(p.numel() for p in model.parameters())
        n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
        logger.info(f"PunserModel: {n_all / 1e6:.2f} M parameters, {n_train / 1e6:.2f} M trainable")
        return model
