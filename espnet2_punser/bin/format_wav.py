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

Reasons in ``rejected.txt`` (the text before the first colon is the reason, the rest
details): ``file not found``, ``empty file`` (0 bytes), ``not an audio file`` (no known
audio signature, e.g. text), ``invalid header`` (an audio signature but the header does
not parse), ``truncated`` (fewer samples than the header declares: libsndfile reads such
a WAV without error, so its RIFF header is checked here), ``zero-length audio``,
``NaN or Inf samples``, ``all-silent audio``, ``too short``, ``too long``,
``cannot decode``, ``empty segment``, ``pipes are not supported``.

Writes to ``--out_dir``: ``wav.scp`` (accepted, 16 kHz mono), ``utt2num_samples``,
``rejected.txt`` (``utt<TAB>reason<TAB>source``) and ``report.json`` (counts per
reason), all four moved into place together at the end. Exit status 1 with ``--strict``
at the first problem (naming the utterance and file); otherwise 0, even when files were
rejected. An output that cannot be written (full or read-only file system) stops the run
with exit status 1 and a message naming the path; every file is written to a temporary
name first, so outputs of an earlier run stay as they were.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from espnet2_punser.audio import (
    TARGET_FS,
    AudioError,
    audio_info,
    describe_bytes,
    read_audio,
    sniff_format,
    to_mono_16k,
    wav_data_shortfall,
)
from espnet2_punser.bin import doc_parser

SILENCE_PEAK = 1e-4  # |x| below this everywhere: all-silent (about -80 dBFS)


class Rejected(Exception):
    """A bad input file; the message is ``reason: details`` (the reason is summarised)."""


class OutputError(RuntimeError):
    """An output could not be written (read-only or full file system): stop the run."""


def _why(e: Exception) -> str:
    """The decoder's own words, without the path that the rejected list already has."""
    msg = str(e).split(": ", 1)[-1]
    if "Error opening '" in msg:  # soundfile: "... (Error opening 'PATH': WHY)"
        msg = msg.rsplit("': ", 1)[-1].rstrip(")")
    return msg


def _write_tmp(path: Path, data: bytes, sync: bool) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from e
    return tmp


def write_files(files: Dict[Path, bytes], sync: bool = False) -> None:
    """Write every file through a temporary one and move them into place only when all
    of them are written: a full or read-only file system leaves the earlier versions."""
    done: List[Tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            done.append((_write_tmp(path, data, sync), path))
    except OutputError:
        for tmp, _ in done:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in done:
        os.replace(tmp, path)


def check_and_convert(
    utt: str, source: str, segment: Optional[Tuple[float, float]], audio_dir: Path,
    min_duration: float, max_duration: float,
) -> Tuple[str, int]:
    """Return (path of the 16 kHz mono wav, number of samples) or raise Rejected."""
    path = Path(source)
    if source.rstrip().endswith("|"):
        raise Rejected("pipes are not supported: give files")
    if not path.is_file():
        raise Rejected("file not found")
    if path.stat().st_size == 0:
        raise Rejected("empty file: 0 bytes")
    kind = sniff_format(path)
    try:
        info = audio_info(path)
    except AudioError as e:
        if kind is None:
            raise Rejected(f"not an audio file: starts with {describe_bytes(path)}")
        raise Rejected(f"invalid header: a {kind} signature, but the header does not "
                       f"parse ({_why(e)})")
    short = wav_data_shortfall(path)
    if short is not None and (segment is None or segment[1] > info.duration):
        # a segment within the bytes present is intact; one beyond them is cut
        raise Rejected(f"truncated: the header declares {short[0]} bytes of samples, "
                       f"the file holds {short[1]}")
    if segment is None and info.duration == 0:
        raise Rejected("zero-length audio: the file holds no samples")
    try:
        x, fs = read_audio(path, *(segment or (None, None)))
    except AudioError as e:
        raise Rejected(f"cannot decode: {_why(e)}")
    if x.size == 0:
        if segment is None:
            raise Rejected("zero-length audio: no samples decoded")
        raise Rejected(f"empty segment: {segment[0]}-{segment[1]} s")
    finite = np.isfinite(x)
    if not finite.all():
        raise Rejected(f"NaN or Inf samples: {int((~finite).sum())} of {x.size}")
    if segment is None and info.fs == fs and info.duration > 0:
        expected = info.duration * fs
        if x.shape[0] < 0.98 * expected - fs * 0.05:
            raise Rejected(f"truncated: decoded {x.shape[0]} of {int(expected)} samples")
    mono = to_mono_16k(x, fs)
    dur = mono.size / TARGET_FS
    peak = float(np.abs(mono).max(initial=0.0))
    if peak < SILENCE_PEAK:
        raise Rejected(f"all-silent audio: peak {peak:.1e} < {SILENCE_PEAK:.0e}")
    if dur < min_duration:
        raise Rejected(f"too short: {dur:.3f} s < {min_duration} s")
    if dur > max_duration:
        raise Rejected(f"too long: {dur:.1f} s > {max_duration} s")
    needs_nothing = (segment is None and path.suffix.lower() == ".wav" and fs == TARGET_FS
                     and x.shape[1] == 1 and info.channels == 1)
    if needs_nothing:
        return str(path.resolve()), int(mono.size)
    import soundfile

    if peak > 1.0:  # a decoder that returns > full scale: avoid clipping
        mono = mono / peak
    buf = io.BytesIO()
    soundfile.write(buf, mono, TARGET_FS, format="WAV", subtype="PCM_16")
    out = audio_dir / f"{utt}.wav"
    write_files({out: buf.getvalue()})
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
    p = doc_parser(__doc__)
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
    try:
        return run(args)
    except OutputError as e:
        logging.error(f"ERROR: {e}; nothing more was written (earlier outputs are unchanged)")
        return 1


def run(args) -> int:
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
    for d in (args.audio_dir, args.out_dir):
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create {d}: {e.strerror or e}") from e
    accepted: List[Tuple[str, str, int]] = []
    rejected: List[Tuple[str, str, str]] = []
    start = time.time()
    for i, (utt, source, seg) in enumerate(items, 1):
        try:
            path, n = check_and_convert(utt, source, seg, args.audio_dir,
                                        args.min_duration, args.max_duration)
            accepted.append((utt, path, n))
        except Rejected as e:
            if args.strict:
                logging.error(f"ERROR: --strict: stopped at utterance {utt}, file {source}: {e}")
                return 1
            logging.warning(f"rejected utterance {utt}, file {source}: {e}")
            rejected.append((utt, str(e), source))
        except OutputError:
            raise
        except Exception:  # a decoder bug or an unforeseen file: name it, then stop
            logging.exception(f"ERROR: unexpected failure on utterance {utt}, file {source}")
            return 1
        if i % 500 == 0:
            logging.info(f"{i}/{len(items)} checked ({time.time() - start:.0f} s)")
    reasons = Counter(r.split(":")[0] for _, r, _ in rejected)
    report = {"checked": len(items), "accepted": len(accepted), "rejected": len(rejected),
              "reasons": dict(reasons),
              "hours": round(sum(n for *_, n in accepted) / TARGET_FS / 3600, 4)}
    outputs = {
        "wav.scp": "".join(f"{u} {p}\n" for u, p, _ in accepted),
        "utt2num_samples": "".join(f"{u} {n}\n" for u, _, n in accepted),
        "rejected.txt": "".join(f"{u}\t{r}\t{s}\n" for u, r, s in rejected),
        "report.json": json.dumps(report, indent=1) + "\n",
    }
    write_files({args.out_dir / k: v.encode("utf-8") for k, v in outputs.items()}, sync=True)
    logging.info(f"{len(accepted)} accepted, {len(rejected)} rejected {dict(reasons)} "
                 f"in {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
