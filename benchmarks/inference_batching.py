#!/usr/bin/env python3
r"""Benchmark: batched (length-sorted) vs clip-by-clip inference (not a test).

Many short clips (default 200 clips of 1-4 s, seeded) go through
``Speech2Emotion.predict_batch`` twice in one run: once in length-sorted batches of at
most ``--batch_bins`` padded samples, once one clip per call. Prints both times, the
ratio, the encoder's achieved GFLOP/s in each mode (FLOPs counted with
``torch.utils.flop_counter.FlopCounterMode`` in a separate, untimed pass over the
same batches; for clip by clip, over 8 clips and a quadratic fit in the length)
and, as the machine's reference, the GFLOP/s of a float32 matrix product
measured in the same run. The model has random weights (speed does not depend on
them), so no checkpoint is needed.

    tools/venv/bin/python benchmarks/inference_batching.py                # tiny XEUS
    tools/venv/bin/python benchmarks/inference_batching.py \
        --config egs2/punser/ser1/conf/xeus/xeus.yaml --n_clips 40        # full size
    tools/venv/bin/python benchmarks/inference_batching.py --device cuda  # on a GPU
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from espnet2_punser.bin import doc_parser
from espnet2_punser.espnet_imports import defer_slow_espnet_imports  # noqa: E402

defer_slow_espnet_imports()

from espnet2_punser.inference import (  # noqa: E402
    Speech2Emotion,
    length_batches,
    pad_batch,
    padding_ratio,
)
from espnet2_punser.ser.preprocess import normalize_waveform  # noqa: E402

FS = 16000


def get_parser():
    p = doc_parser(__doc__)
    p.add_argument("--config", type=Path,
                   default=REPO / "egs2" / "punser" / "ser1" / "conf" / "xeus" / "tiny.yaml",
                   help="XEUS architecture YAML")
    p.add_argument("--n_clips", type=int, default=200)
    p.add_argument("--min_s", type=float, default=1.0)
    p.add_argument("--max_s", type=float, default=4.0)
    p.add_argument("--batch_bins", type=int, default=800000)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--matmul_n", type=int, default=1024, help="size of the reference matmul")
    return p


def make_clips(n: int, lo: float, hi: float, seed: int):
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(n):
        t = np.arange(int(rng.uniform(lo, hi) * FS)) / FS
        f0 = rng.uniform(100, 400)
        x = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
        clips.append((0.3 * x / np.abs(x).max() + 0.02 * rng.standard_normal(t.size))
                     .astype(np.float32))
    return clips


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str) -> float:
    sync(device)
    t = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t


@torch.no_grad()
def encoder_flops(model, batches, device: str) -> int:
    """FLOPs of the encoder (``model.frontend``) over these batches of waveforms."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        for waves in batches:
            x, lens = pad_batch([normalize_waveform(w) for w in waves])
            model.frontend(x.to(device), lens.to(device))
    return counter.get_total_flops()


def single_clip_flops(model, clips, device: str, n_fit: int = 8):
    """Encoder FLOPs of every clip on its own: counted for ``n_fit`` clips spread over
    the lengths, then a quadratic in the length (convolutions and linear layers are
    linear in it, attention quadratic) gives the rest; returns (total, the largest
    relative residual of the fit, the number of counted clips). NOTE: counting all clips one by one would cost
    another clip-by-clip pass under the (slow) counter."""
    order = np.argsort([c.size for c in clips])
    picks = order[np.linspace(0, len(clips) - 1, min(n_fit, len(clips))).round().astype(int)]
    picks = list(dict.fromkeys(picks.tolist()))
    n = np.array([clips[i].size for i in picks], dtype=float)
    f = np.array([encoder_flops(model, [[clips[i]]], device) for i in picks], dtype=float)
    if len(picks) == len(clips):  # all counted: no fit needed
        return float(f.sum()), 0.0, len(picks)
    coef = np.polyfit(n, f, 2)
    resid = float(np.max(np.abs(np.polyval(coef, n) - f) / f))
    total = float(np.polyval(coef, np.array([c.size for c in clips], dtype=float)).sum())
    return total, resid, len(picks)


def matmul_gflops(n: int, device: str, seconds: float = 1.0) -> float:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    reps, el = 0, 0.0
    while el < seconds:
        el += timed(lambda: a @ b, device)
        reps += 1
    return 2 * n ** 3 * reps / el / 1e9


def main(cmd=None) -> int:
    args = get_parser().parse_args(cmd)
    import contextlib

    from espnet2_punser.tasks.ser import SERTask

    torch.manual_seed(args.seed)
    with contextlib.redirect_stdout(sys.stderr):
        model = SERTask.build_model(argparse.Namespace(
            frontend="xeus", frontend_conf={"xeus_config": str(args.config),
                                            "num_trainable_layers": 0},
            model="punser", model_conf={}, init=None, xeus_checkpoint=None))
    s2e = Speech2Emotion.from_model(model, device=args.device, batch_bins=args.batch_bins)
    n_enc = sum(p.numel() for p in model.frontend.parameters())
    clips = make_clips(args.n_clips, args.min_s, args.max_s, args.seed)
    lengths = [c.size for c in clips]
    total_s = sum(lengths) / FS
    batches = length_batches(lengths, args.batch_bins)
    print(f"config {args.config.name}: encoder {n_enc / 1e6:.2f} M parameters, "
          f"{model.num_layers} blocks of width {model.feat_dim}; device {args.device}, "
          f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}")
    print(f"{len(clips)} clips of {args.min_s:g}-{args.max_s:g} s ({total_s:.0f} s of audio); "
          f"{len(batches)} length-sorted batches of <= {args.batch_bins} samples, padding "
          f"ratio {padding_ratio(lengths, batches):.3f}")

    s2e.predict_batch([(c, FS) for c in clips[:4]])  # warm-up
    items = [(c, FS) for c in clips]
    t_batched = timed(lambda: s2e.predict_batch(items), args.device)
    t_single = timed(lambda: [s2e.predict_batch([it]) for it in items], args.device)

    f_batched = encoder_flops(model, [[clips[i] for i in b] for b in batches], args.device)
    f_single, fit_err, n_counted = single_clip_flops(model, clips, args.device)
    mm = matmul_gflops(args.matmul_n, args.device)

    def row(name, t, f):
        print(f"{name:<28} {t:8.2f} s  {total_s / t:7.1f} x real time  "
              f"encoder {f / 1e9:8.1f} GFLOP  {f / t / 1e9:8.2f} GFLOP/s  "
              f"({100 * f / t / 1e9 / mm:5.1f} % of the matmul)")

    row("batched (length-sorted)", t_batched, f_batched)
    row("clip by clip", t_single, f_single)
    if n_counted < len(clips):
        print(f"(clip-by-clip FLOPs: a quadratic in the clip length fitted to {n_counted} "
              f"counted clips, largest residual {100 * fit_err:.2f} %; batched FLOPs "
              "counted, padding included)")
    print(f"float32 matmul {args.matmul_n}x{args.matmul_n}x{args.matmul_n}: {mm:.1f} GFLOP/s "
          "(same run)")
    print(f"speed-up of batching: {t_single / t_batched:.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
