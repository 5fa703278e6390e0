#!/usr/bin/env python3
"""Check and convert the audio of one data-dir shard to 16 kHz mono (format stage).

Usage:
    python -m espnet2_punser.bin.format_wav --wav_scp SHARD/wav.scp [--segments SHARD/segments]
        --audio_dir dump/audio/CORPUS --out_dir SHARD/out [--strict] ...

Every utterance is decoded and checked. Repaired where that is safe: multichannel audio
is down-mixed, other rates are resampled (soxr), other formats (mp4, mp3, flac, aiff) are
decoded (PyAV/soundfile); a 16 kHz mono wav that needs nothing is referenced in place
instead of copied. Rejected, with the reason: a file that is missing, empty, truncated
or not audio; zero-length or all-silent audio; NaN/Inf samples; a clip shorter than
``--min_duration`` (the encoder's receptive field) or longer than ``--max_duration``.

Writes to ``--out_dir``: ``wav.scp`` (accepted, 16 kHz mono), ``utt2num_samples``,
``rejected.txt`` (``utt<TAB>reason<TAB>source``) and ``report.json`` (counts per
reason). Exit status 1 with ``--strict`` at the first problem (naming the utterance and
file); otherwise 0, even when files were rejected.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from espnet2_punser.audio import TARGET_FS, AudioError, audio_info, read_audio, to_mono_16k

SILENCE_PEAK = 1e-4  # |x| below this everywhere: all-silent (about -80 dBFS)


class Rejected(Exception):
    pass


def check_and_convert(
    utt: str, source: str, segment: Optional[Tuple[float, float]], audio_dir: Path,
    min_duration: float, max_duration: float,
) -> Tuple[str, int]:
    """Return (path of the 16 kHz mono wav, number of samples) or raise Rejected."""
    path = Path(source)
    if source.rstrip().endswith("|"):
        raise Rejected("pipes are not supported; give files")
    if not path.is_file():
        raise Rejected("file not found")
    if path.stat().st_size == 0:
        raise Rejected("empty file (0 bytes)")
    try:
        info = audio_info(path)
    except AudioError as e:
        raise Rejected(f"not readable as audio: {str(e).split(': ', 1)[-1]}")
    if segment is None and info.duration == 0:
        raise Rejected("zero-length audio")
    try:
        x, fs = read_audio(path, *(segment or (None, None)))
    except AudioError as e:
        raise Rejected(f"truncated or invalid audio: {str(e).split(': ', 1)[-1]}")
    if x.size == 0:
        raise Rejected("zero-length audio" if segment is None else "empty segment")
    if not np.all(np.isfinite(x)):
        raise Rejected("NaN or Inf samples")
    if segment is None and info.fs == fs and info.duration > 0:
        expected = info.duration * fs
        if x.shape[0] < 0.98 * expected - fs * 0.05:
            raise Rejected(f"truncated: decoded {x.shape[0]} of {int(expected)} samples")
    mono = to_mono_16k(x, fs)
    dur = mono.size / TARGET_FS
    if float(np.abs(mono).max(initial=0.0)) < SILENCE_PEAK:
        raise Rejected("all-silent audio")
    if dur < min_duration:
        raise Rejected(f"too short: {dur:.3f} s < {min_duration} s")
    if dur > max_duration:
        raise Rejected(f"too long: {dur:.1f} s > {max_duration} s")
    needs_nothing = (segment is None and path.suffix.lower() == ".wav" and fs == TARGET_FS
                     and x.shape[1] == 1)
    if needs_nothing:
        return str(path.resolve()), int(mono.size)
    import soundfile

    out = audio_dir / f"{utt}.wav"
    tmp = out.with_name(out.name + ".tmp.wav")
    peak = float(np.abs(mono).max())
    if peak > 1.0:  # a decoder that returns > full scale: avoid clipping
        mono = mono / peak
    soundfile.write(str(tmp), mono, TARGET_FS, subtype="PCM_16")
    tmp.replace(out)
    return str(out.resolve()), int(mono.size)


def read_scp(path: Path) -> Dict[str, str]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split(maxsplit=1)
            if len(parts) != 2:
                raise SystemExit(f"{path}:{n}: expected 'key path'")
            out[parts[0]] = parts[1]
    return out


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--wav_scp", type=Path, required=True)
    p.add_argument("--segments", type=Path, default=None)
    p.add_argument("--audio_dir", type=Path, required=True, help="where converted wavs go")
    p.add_argument("--out_dir", type=Path, required=True)
    p.add_argument("--min_duration", type=float, default=0.1,
                   help="seconds; XEUS's CNN needs at least 400 samples (25 ms)")
    p.add_argument("--max_duration", type=float, default=60.0, help="seconds")
    p.add_argument("--strict", action="store_true", help="stop at the first problem")
    return p


def main(cmd=None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (format_wav) %(message)s")
    wav = read_scp(args.wav_scp)
    items = []
    if args.segments:
        for n, line in enumerate(open(args.segments, encoding="utf-8"), 1):
            parts = line.split()
            if len(parts) != 4 or parts[1] not in wav:
                raise SystemExit(f"{args.segments}:{n}: expected 'utt rec start end' with rec in wav.scp")
            items.append((parts[0], wav[parts[1]], (float(parts[2]), float(parts[3]))))
    else:
        items = [(u, p, None) for u, p in wav.items()]
    args.audio_dir.mkdir(parents=True, exist_ok=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    accepted, rejected = [], []
    start = time.time()
    for i, (utt, source, seg) in enumerate(items, 1):
        try:
            path, n = check_and_convert(utt, source, seg, args.audio_dir,
                                        args.min_duration, args.max_duration)
            accepted.append((utt, path, n))
        except Rejected as e:
            msg = f"utterance {utt} ({source}): {e}"
            if args.strict:
                logging.error(f"--strict: {msg}")
                return 1
            logging.warning(f"rejected {msg}")
            rejected.append((utt, str(e), source))
        if i % 500 == 0:
            logging.info(f"{i}/{len(items)} checked ({time.time() - start:.0f} s)")
    with open(args.out_dir / "wav.scp", "w", encoding="utf-8") as f:
        f.writelines(f"{u} {p}\n" for u, p, _ in accepted)
    with open(args.out_dir / "utt2num_samples", "w", encoding="utf-8") as f:
        f.writelines(f"{u} {n}\n" for u, _, n in accepted)
    with open(args.out_dir / "rejected.txt", "w", encoding="utf-8") as f:
        f.writelines(f"{u}\t{r}\t{s}\n" for u, r, s in rejected)
    reasons = Counter(r.split(":")[0] for _, r, _ in rejected)
    (args.out_dir / "report.json").write_text(json.dumps(
        {"checked": len(items), "accepted": len(accepted), "rejected": len(rejected),
         "reasons": dict(reasons),
         "hours": round(sum(n for *_, n in accepted) / TARGET_FS / 3600, 4)}, indent=1))
    logging.info(f"{len(accepted)} accepted, {len(rejected)} rejected {dict(reasons)} "
                 f"in {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
