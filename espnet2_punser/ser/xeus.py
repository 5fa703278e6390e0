"""XEUS encoder as a multi-layer upstream for PUNSER.

XEUS (``espnet/xeus``) is an ESPnet SSL model: a wav2vec-style CNN frontend, a linear
pre-encoder and an E-Branchformer encoder (19 blocks, d=1024). This module builds
exactly that stack from its architecture config with ESPnet's own SSL classes
(``espnet2.tasks.ssl`` choices) and exposes every block output, so that PUNSER can
learn a weighted sum of layers.

What differs from ESPnet's ``ESPnetSSLFrontend`` (and why):

- It is built from the architecture config alone; the 2.3 GB checkpoint is loaded once
  with :meth:`XeusUpstream.load_checkpoint`, which names missing and unexpected keys and
  fails on missing encoder keys (``AbsTask.build_model_from_file`` and ``--init_param``
  silently keep random weights for missing keys). Inference then needs only the model
  file of the trained PUNSER model.
- The pre-training loss modules, the masking module and EMA are not built.
- ``normalize_audio`` is switched off: the CNN frontend would layer-normalise the whole
  padded batch, so one clip's features would depend on its batch mates. The task's
  preprocessor normalises each waveform instead.
- Padded frames are zeroed before every 1-D convolution of the encoder (positional
  convolution, cgMLP and merge depth-wise convolutions). Without this, the convolutions
  read the padded frames of a batch, and a clip's output depends on how it was batched.
  With it, batched outputs equal clip-by-clip outputs up to float rounding.
- ``num_trainable_layers`` (L): only the last L blocks train; the CNN, pre-encoder,
  positional convolution and lower blocks are frozen, run without a graph and stay in
  eval mode (no dropout) whatever mode the trainer sets.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
import yaml
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask

logger = logging.getLogger(__name__)

# Keys of an ESPnet SSL checkpoint that are not part of the encoder stack.
NON_ENCODER_PREFIXES = ("losses.", "util_modules.", "ema.")
NON_ENCODER_KEYS = ("global_step",)


def load_xeus_config(config: Union[str, Path, Dict[str, Any]]) -> Dict[str, Any]:
    """Read an XEUS architecture config (a path to YAML, or an already loaded dict).

    The file may be the full config written by ESPnet's ``SSLTask`` (the published
    ``model/config.yaml``) or a trimmed one with the frontend/preencoder/encoder
    sections only.
    """
    if isinstance(config, dict):
        cfg = dict(config)
    else:
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"XEUS architecture config not found: {path}")
        with open(path, encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
        if not isinstance(cfg, dict):
            raise ValueError(f"{path}: expected a YAML mapping, got {type(cfg).__name__}")
    for key in ("frontend", "encoder"):
        if key not in cfg:
            raise ValueError(f"XEUS config lacks the '{key}' section (keys: {sorted(cfg)})")
    return cfg


class _Stack(torch.nn.Module):
    """Container with the same attribute names as ``ESPnetSSLModel``.

    Keeping ``frontend``/``preencoder``/``encoder`` as attribute names makes the state
    dict keys identical to those of an ESPnet SSL checkpoint.
    """

    def __init__(self, frontend, preencoder, encoder):
        super().__init__()
        self.frontend = frontend
        self.preencoder = preencoder
        self.encoder = encoder


def build_xeus_stack(cfg: Dict[str, Any]) -> _Stack:
    """Build CNN frontend + pre-encoder + encoder from an XEUS config dict."""
    from espnet2.tasks.ssl import encoder_choices, frontend_choices, preencoder_choices

    frontend_conf = dict(cfg.get("frontend_conf") or {})
    if frontend_conf.get("normalize_audio", False):
        # NOTE: batch-level waveform normalisation makes features depend on the batch;
        # SERPreprocessor normalises each utterance instead.
        logger.info("XEUS: normalize_audio switched off (per-utterance normalisation)")
    frontend_conf["normalize_audio"] = False
    frontend = frontend_choices.get_class(str(cfg["frontend"]).lower())(**frontend_conf)
    input_size = frontend.output_size()

    preencoder = None
    if cfg.get("preencoder"):
        pre_conf = dict(cfg.get("preencoder_conf") or {})
        pre_conf.setdefault("input_size", input_size)
        preencoder = preencoder_choices.get_class(str(cfg["preencoder"]).lower())(
            **pre_conf
        )
        input_size = preencoder.output_size()

    for unsupported in ("specaug", "normalize"):
        if cfg.get(unsupported):
            raise ValueError(f"XEUS config: '{unsupported}' is not supported here")

    enc_conf = dict(cfg.get("encoder_conf") or {})
    if enc_conf.get("input_layer") not in (None, "linear"):
        raise ValueError(
            "XEUS config: encoder_conf.input_layer must be null or linear, "
            f"got {enc_conf.get('input_layer')!r}"
        )
    if enc_conf.get("layer_drop_rate", 0.0):
        raise ValueError("XEUS config: layer_drop_rate > 0 is not supported")
    encoder = encoder_choices.get_class(str(cfg["encoder"]).lower())(
        input_size=input_size, **enc_conf
    )
    if not hasattr(encoder, "encoders") or not hasattr(encoder, "embed"):
        raise ValueError(f"XEUS config: encoder {cfg['encoder']} has no block list")
    return _Stack(frontend, preencoder, encoder)


class XeusUpstream(AbsFrontend):
    """XEUS returning all block outputs.

    Args:
        xeus_config: path to the XEUS architecture YAML (or the loaded dict).
        num_trainable_layers: L, the number of top blocks that train. 0 freezes XEUS.
        mask_padding: zero padded frames before each encoder convolution (see module
            docstring); keep True unless reproducing ESPnet's batch-dependent outputs.
        frame_input: the training data are cached outputs of the frozen stack
            (``bin/cache_frames.py``) instead of audio: ``speech`` is (B, T', D) and the
            frozen blocks' pooled outputs come as ``frozen_pooled``.

    ``forward(speech (B, T), lengths (B,))`` returns ``(hs, frame_lengths)`` where ``hs``
    is a list of ``num_layers`` tensors ``(B, T', D)``: the outputs of every encoder
    block (before the encoder's final LayerNorm, like ESPnet's ``Featurizer``).
    """

    def __init__(
        self,
        xeus_config: Union[str, Dict[str, Any]] = "conf/xeus/xeus.yaml",
        num_trainable_layers: int = 6,
        mask_padding: bool = True,
        frame_input: bool = False,
    ):
        super().__init__()
        cfg = load_xeus_config(xeus_config)
        self.arch_config = {k: cfg[k] for k in ("frontend", "frontend_conf", "preencoder",
                                                "preencoder_conf", "encoder", "encoder_conf")
                            if k in cfg}
        self.upstream = build_xeus_stack(cfg)
        self.num_layers = len(self.upstream.encoder.encoders)
        if not 0 <= int(num_trainable_layers) <= self.num_layers:
            raise ValueError(
                f"num_trainable_layers={num_trainable_layers} but the XEUS config "
                f"({xeus_config if not isinstance(xeus_config, dict) else 'dict'}) "
                f"has {self.num_layers} encoder blocks; use 0..{self.num_layers}"
            )
        self.num_trainable_layers = int(num_trainable_layers)
        self.first_trainable = self.num_layers - self.num_trainable_layers
        self.mask_padding = mask_padding
        self.frame_input = bool(frame_input)
        self._frame_mask: Optional[torch.Tensor] = None
        if mask_padding:
            for module in self.upstream.encoder.modules():
                if isinstance(module, torch.nn.Conv1d):
                    module.register_forward_pre_hook(self._zero_padded_frames)
        self._freeze()

    # ----------------------------------------------------------------- structure
    def output_size(self) -> int:
        return self.upstream.encoder.output_size()

    def frozen_modules(self) -> List[torch.nn.Module]:
        """Modules that never train (and always run in eval mode)."""
        enc = self.upstream.encoder
        mods = [self.upstream.frontend, enc.embed, enc.after_norm]
        if self.upstream.preencoder is not None:
            mods.append(self.upstream.preencoder)
        mods += list(enc.encoders[: self.first_trainable])
        return mods

    def _freeze(self) -> None:
        for module in self.frozen_modules():
            for p in module.parameters():
                p.requires_grad_(False)
        # NOTE: after_norm's output is not used (block outputs are taken before it):
        # it stays frozen so that DDP never waits for its gradients.

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
        return self

    # ------------------------------------------------------------------- forward
    def _zero_padded_frames(self, module, args):
        mask = self._frame_mask
        x = args[0]
        if mask is None or x.dim() != 3 or x.size(-1) != mask.size(-1):
            return None
        return (x * mask.to(x.dtype),) + tuple(args[1:])

    def forward(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor
    ) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """Audio (B, T) -> every block output; or, with cached frames (B, T', D) of the
        frozen stack (see :meth:`frozen_stack`), the outputs of the trainable blocks
        only (the frozen blocks' pooled outputs come from that cache too)."""
        if speech.dim() == 3:  # output of block first_trainable - 1, cached
            valid = ~make_pad_mask(speech_lengths, maxlen=speech.size(1)).to(speech.device)
            return self._blocks(speech, valid, self.first_trainable), speech_lengths
        x, valid, flens, hs = self.frozen_stack(speech, speech_lengths,
                                                upto=self._grad_from())
        return hs + self._blocks(x, valid, len(hs)), flens

    def _grad_from(self) -> int:
        return self.first_trainable if torch.is_grad_enabled() else self.num_layers

    @torch.no_grad()
    def frozen_stack(self, speech: torch.Tensor, speech_lengths: torch.Tensor,
                     upto: Optional[int] = None):
        """CNN, pre-encoder, positional convolution and blocks ``0 .. upto-1`` (default:
        the frozen ones), without a graph. Returns ``(x, valid, frame_lengths, hs)``:
        ``x`` (B, T', D) is the input of block ``upto``, ``valid`` (B, T') the frames that
        are not padding, ``hs`` the outputs of the blocks run."""
        if speech.dim() != 2:
            raise ValueError(f"XEUS expects (batch, samples) audio, got {tuple(speech.shape)}")
        upto = self.first_trainable if upto is None else upto
        speech = speech[:, : int(speech_lengths.max())]
        up = self.upstream
        feats, flens = up.frontend(speech, speech_lengths)
        if up.preencoder is not None:
            feats, flens = up.preencoder(feats, flens)
        valid = ~make_pad_mask(flens, maxlen=feats.size(1)).to(feats.device)
        try:
            self._frame_mask = valid[:, None, :] if self.mask_padding else None
            x = up.encoder.embed(feats)
        finally:
            self._frame_mask = None
        hs = self._blocks(x, valid, 0, upto)
        return (hs[-1] if hs else x), valid, flens, hs

    def _blocks(self, x: torch.Tensor, valid: torch.Tensor, start: int,
                stop: Optional[int] = None) -> List[torch.Tensor]:
        """Outputs of encoder blocks ``start .. stop-1`` on input ``x`` (B, T', D)."""
        hs: List[torch.Tensor] = []
        masks = valid[:, None, :]
        try:
            self._frame_mask = masks if self.mask_padding else None
            for layer in self.upstream.encoder.encoders[start:stop]:
                x, masks = layer(x, masks)
                if isinstance(x, tuple):
                    x = x[0]
                hs.append(x)
        finally:
            self._frame_mask = None
        return hs

    # ------------------------------------------------------------------- weights
    def load_checkpoint(self, path: Union[str, Path], strict_unexpected: bool = False):
        """Load XEUS weights from an ESPnet SSL checkpoint (``xeus_checkpoint_new.pth``
        or a ``*.pth`` saved by ``SSLTask``).

        Pre-training loss, masking and EMA entries are ignored. Raises ``KeyError``
        naming the missing encoder keys; unexpected keys are reported (and raise when
        ``strict_unexpected``). Returns ``(missing, unexpected)``.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"XEUS checkpoint not found: {path}")
        logger.info(f"XEUS: loading weights from {path}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
            state = state["model"]  # a trainer checkpoint.pth
        # Accept checkpoints of ESPnetSSLFrontend-wrapped models too.
        for prefix in ("frontend.upstream.", "upstream."):
            if any(k.startswith(prefix) for k in state):
                state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        ignored = [
            k for k in state
            if k.startswith(NON_ENCODER_PREFIXES) or k in NON_ENCODER_KEYS
        ]
        state = {k: v for k, v in state.items() if k not in set(ignored)}
        result = self.upstream.load_state_dict(state, strict=False)
        missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
        logger.info(
            f"XEUS: loaded {len(state) - len(unexpected)} tensors; ignored "
            f"{len(ignored)} pre-training entries; {len(missing)} missing, "
            f"{len(unexpected)} unexpected"
        )
        if missing:
            raise KeyError(
                f"{path} does not match the XEUS config: {len(missing)} missing encoder "
                f"keys, e.g. {missing[:8]}"
            )
        if unexpected:
            msg = f"{path}: {len(unexpected)} unexpected keys, e.g. {unexpected[:8]}"
            if strict_unexpected:
                raise KeyError(msg)
            logger.warning(msg)
        return missing, unexpected

