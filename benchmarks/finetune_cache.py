#!/usr/bin/env python3
"""Benchmark: a leave-one-speaker-out protocol fine-tuned from cached encoder features
versus with XEUS running on the audio in every epoch of every fold.

    tools/venv/bin/python benchmarks/finetune_cache.py                 # full-size XEUS (slow: ~1 h on 2 cores)
    tools/venv/bin/python benchmarks/finetune_cache.py --config tiny   # minutes, same code path

Default set-up (issue 7): 10 speakers, 5 epochs per fold, the full-size XEUS architecture
with random weights, a small synthetic corpus. Both paths run end to end through the
recipe's tools (the cached one includes its caching pass and loading the encoder once)
and must give identical predictions. Also printed: the encoder's achieved GFLOP/s on a
4-second clip next to a float32 matrix product measured in the same run, and the padding
ratio of the length-sorted batches. Prints ratios measured in this one run; not a test.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from espnet2_punser.bin import doc_parser

REPO = Path(__file__).resolve().parent.parent
CONFIGS = {"full": REPO / "egs2/punser/ser1/conf/xeus/xeus.yaml",
           "tiny": REPO / "egs2/punser/ser1/conf/xeus/tiny.yaml"}
FINETUNE = REPO / "egs2/punser/ser1/conf/finetune.yaml"


def run(cmd, what):
    start = time.time()
    r = subprocess.run([sys.executable, "-m", *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{what} failed:\n{r.stderr[-3000:]}")
    return time.time() - start


def encoder_speed(config: Path, seconds: float = 4.0):
    """(GFLOP per forward, achieved GFLOP/s) of XEUS on one clip, and matmul GFLOP/s."""
    from torch.utils.flop_counter import FlopCounterMode

    from espnet2_punser.ser.xeus import XeusUpstream

    torch.manual_seed(0)
    up = XeusUpstream(config, num_trainable_layers=0).eval()
    x = torch.randn(1, int(16000 * seconds))
    lens = torch.tensor([x.size(1)])
    with torch.no_grad():
        with FlopCounterMode(display=False) as fc:
            up(x, lens)
        flops = fc.get_total_flops()
        up(x, lens)  # warm-up
        t = time.perf_counter()
        reps = 3
        for _ in range(reps):
            up(x, lens)
        enc = (time.perf_counter() - t) / reps
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    t = time.perf_counter()
    for _ in range(5):
        a @ b
    mm = 5 * 2 * 2048 ** 3 / (time.perf_counter() - t)
    return flops / 1e9, flops / enc / 1e9, mm / 1e9, enc / seconds


def main() -> int:
    p = doc_parser(__doc__)
    p.add_argument("--config", choices=sorted(CONFIGS), default="full")
    p.add_argument("--speakers", type=int, default=10)
    p.add_argument("--per_speaker", type=int, default=8)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--workdir", type=Path, default=None)
    args = p.parse_args()
    from espnet2_punser.corpora.synthetic import toy_protocol
    from espnet2_punser.datadir import read_map
    from espnet2_punser.inference import length_batches, padding_ratio

    work = args.workdir or Path(tempfile.mkdtemp(prefix="punser_bench_"))
    config = CONFIGS[args.config]
    print(f"work dir {work}; encoder {config.name}; {args.speakers} speakers x "
          f"{args.per_speaker} clips; {args.epochs} epochs per fold", flush=True)
    corpus, protocol = toy_protocol(work, args.speakers, args.per_speaker, seed=0)
    lengths = [int(n) for n in read_map(corpus / "utt2num_samples").values()]
    audio = sum(lengths) / 16000
    ckpt = work / "xeus_random.pth"
    run(["espnet2_punser.bin.make_xeus_checkpoint", str(config), str(ckpt)], "checkpoint")
    train = ["--train_args", f"--max_epoch {args.epochs} --patience 100 --num_workers 0"]
    common = ["espnet2_punser.bin.finetune", "--mode", "train+decode", "--protocol_dir",
              str(protocol), "--config", str(FINETUNE), *train]

    t_cache = run(["espnet2_punser.bin.cache_features", "--xeus_config", str(config),
                   "--xeus_checkpoint", str(ckpt), "--data_dir", str(corpus),
                   "--cache_root", str(work / "cache"), "--name", "c",
                   "--out_file", str(work / "cache.path")], "caching")
    cache_dir = (work / "cache.path").read_text().strip()
    t_cached_ft = run(common + ["--exp_dir", str(work / "cached"), "--cache_dir", cache_dir],
                      "cached fine-tuning")
    print(f"cached: caching {t_cache:.1f} s + fine-tuning/decoding {t_cached_ft:.1f} s", flush=True)
    t_audio = run(common + ["--exp_dir", str(work / "audio"), "--xeus_config", str(config),
                            "--xeus_checkpoint", str(ckpt)], "uncached fine-tuning")
    print(f"uncached: {t_audio:.1f} s", flush=True)

    folds = sorted(p.name for p in (work / "cached").iterdir() if p.is_dir())
    same, worst = True, 0.0
    for f in folds:
        a = read_map(work / "cached" / f / "full" / "decode" / "emotion")
        b = read_map(work / "audio" / f / "full" / "decode" / "emotion")
        same &= a == b
        va = read_map(work / "cached" / f / "full" / "decode" / "vad")
        vb = read_map(work / "audio" / f / "full" / "decode" / "vad")
        for k in va:
            worst = max(worst, float(np.max(np.abs(np.array(va[k].split(), float)
                                                    - np.array(vb[k].split(), float)))))
    gflop, gflops, mm, rtf = encoder_speed(config)
    cached = t_cache + t_cached_ft
    batches = length_batches(lengths, 800000)
    print()
    print(f"| quantity | value |\n|---|---|")
    print(f"| corpus | {len(lengths)} clips, {audio:.0f} s of audio, {len(folds)} folds |")
    print(f"| uncached (XEUS on the audio every epoch of every fold) | {t_audio:.1f} s |")
    print(f"| cached (one encoder pass per utterance + heads) | {cached:.1f} s |")
    print(f"| **speed-up** | **{t_audio / cached:.1f} x** |")
    print(f"| identical predicted classes | {same} (max V/A/D difference {worst:.1e}) |")
    print(f"| encoder: GFLOP per 4 s clip / achieved GFLOP/s / real-time factor | {gflop:.1f} / {gflops:.1f} / {rtf:.2f} |")
    print(f"| float32 2048^3 matmul GFLOP/s (same run) | {mm:.1f} |")
    print(f"| encoder at % of matmul throughput | {100 * gflops / mm:.0f} % |")
    print(f"| padding ratio of the caching pass (this small corpus, 800,000-sample batches) | {padding_ratio(lengths, batches):.3f} |")
    return 0 if same and worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
