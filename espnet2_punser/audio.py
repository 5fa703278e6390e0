"""Audio I/O shared by corpus preparation, the format stage and inference.

- ``read_audio``: wav/flac/ogg through soundfile; mp4/m4a/mp3/aac/webm and anything
  else through PyAV (which bundles FFmpeg, so MELD's mp4 video with 6-channel AAC
  decodes without a system ffmpeg). Returns float32 (frames, channels).
- ``audio_info``: duration and rate from the header only (no decoding).
- ``to_mono_16k``: down-mix and resample (soxr, high quality).
- ``sniff_format`` / ``wav_data_shortfall``: what a file that fails to open looks
  like, and whether a WAV holds fewer samples than its header declares (libsndfile
  silently shortens such files to the bytes present, so they read without error).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

TARGET_FS = 16000
_SOUNDFILE_EXT = {".wav", ".flac", ".ogg", ".aiff", ".aif", ".au", ".w64", ".rf64"}


class AudioError(RuntimeError):
    """A file that cannot be read as audio; the message names the file."""


@dataclass
class AudioInfo:
    duration: float  # seconds
    fs: int
    channels: int


# leading bytes of the containers that soundfile or PyAV read
_MAGIC = {
    b"RIFF": "WAV", b"RIFX": "WAV", b"RF64": "RF64", b"BW64": "BW64", b"FORM": "AIFF",
    b"fLaC": "FLAC", b"OggS": "Ogg", b".snd": "AU", b"riff": "W64", b"caff": "CAF",
    b"\x1aE\xdf\xa3": "Matroska/WebM", b"ID3": "MP3", b"#!AMR": "AMR", b"wvpk": "WavPack",
}
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"}


def sniff_format(path: Union[str, Path]) -> Optional[str]:
    """The container a file's first bytes announce (``"WAV"``, ``"MP4"``, ...), or None
    when they match no audio format this project reads (text, HTML, zip, ...)."""
    with open(path, "rb") as f:
        head = f.read(16)
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    if len(head) >= 8 and head[4:8] in _MP4_BOXES:
        return "MP4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MPEG audio"  # MP3 or ADTS AAC frame sync
    return None


def describe_bytes(path: Union[str, Path], n: int = 24) -> str:
    """A short printable view of a file's first bytes (for error messages)."""
    with open(path, "rb") as f:
        head = f.read(n)
    text = head.decode("utf-8", errors="replace")
    if head and "\ufffd" not in text and all(c.isprintable() or c in "\r\n\t" for c in text):
        return "text " + repr(text)
    return "bytes " + repr(head)


def wav_data_shortfall(path: Union[str, Path]) -> Optional[Tuple[int, int]]:
    """``(declared, present)`` byte counts of the ``data`` chunk of a RIFF/WAVE file that
    holds fewer bytes than its header declares (a truncated copy or download); None for
    a complete file, another format, or a streaming header (size 0 or 0xFFFFFFFF).

    NOTE: libsndfile reports such a file's length from the bytes present and reads it
    without error, so the truncation is visible only in the header.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        endian = "<" if head[:4] == b"RIFF" else ">"
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            cid, n = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
            if cid == b"data":
                present = size - (pos + 8)
                if n in (0, 0xFFFFFFFF) or n <= present:
                    return None
                return n, present
            pos += 8 + n + (n & 1)
    return None


def _use_soundfile(path: Path) -> bool:
    return path.suffix.lower() in _SOUNDFILE_EXT


def audio_info(path: Union[str, Path]) -> AudioInfo:
    """Duration, sample rate and channels from the file header (nothing decoded)."""
    path = Path(path)
    if _use_soundfile(path):
        import soundfile

        try:
            info = soundfile.info(str(path))
        except Exception as e:  # noqa: BLE001 - soundfile raises several types
            raise AudioError(f"{path}: cannot read audio header ({e})") from e
        return AudioInfo(info.frames / info.samplerate, int(info.samplerate), int(info.channels))
    import av

    try:
        with av.open(str(path)) as container:
            streams = container.streams.audio
            if not streams:
                raise AudioError(f"{path}: no audio stream")
            s = streams[0]
            if s.duration is not None and s.time_base is not None:
                dur = float(s.duration * s.time_base)
            elif container.duration is not None:
                dur = container.duration / 1e6
            else:
                dur = float("nan")
            return AudioInfo(dur, int(s.rate or 0), int(s.channels or 0))
    except AudioError:
        raise
    except Exception as e:  # noqa: BLE001 - PyAV raises several types
        raise AudioError(f"{path}: cannot open media ({e})") from e


def read_audio(
    path: Union[str, Path], start: Optional[float] = None, end: Optional[float] = None
) -> Tuple[np.ndarray, int]:
    """Decode ``path`` (optionally the [start, end) seconds) -> (float32 (T, C), fs)."""
    path = Path(path)
    if _use_soundfile(path):
        import soundfile

        try:
            with soundfile.SoundFile(str(path)) as f:
                fs = f.samplerate
                a = 0 if start is None else max(0, int(round(start * fs)))
                b = f.frames if end is None else min(f.frames, int(round(end * fs)))
                f.seek(a)
                x = f.read(max(0, b - a), dtype="float32", always_2d=True)
        except Exception as e:  # noqa: BLE001
            raise AudioError(f"{path}: cannot decode audio ({e})") from e
        return x, int(fs)
    return _read_av(path, start, end)


def _read_av(path: Path, start: Optional[float], end: Optional[float]):
    import av

    chunks = []
    fs = None
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                arr = frame.to_ndarray()
                fs = frame.sample_rate
                if arr.dtype.kind == "i":
                    arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
                arr = arr.astype(np.float32)
                if frame.format.is_planar:
                    arr = arr.T  # (channels, n) -> (n, channels)
                else:
                    arr = arr.reshape(-1, len(frame.layout.channels))
                chunks.append(arr)
    except AudioError:
        raise
    except Exception as e:  # noqa: BLE001
        raise AudioError(f"{path}: cannot decode media ({e})") from e
    if not chunks or fs is None:
        raise AudioError(f"{path}: no audio samples decoded")
    x = np.concatenate(chunks, axis=0)
    a = 0 if start is None else max(0, int(round(start * fs)))
    b = x.shape[0] if end is None else min(x.shape[0], int(round(end * fs)))
    return x[a:b], int(fs)


def to_mono_16k(x: np.ndarray, fs: int, target_fs: int = TARGET_FS) -> np.ndarray:
    """Down-mix (mean over channels) and resample to ``target_fs``; float32 (T,)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if fs != target_fs and x.size > 0:
        import soxr

        x = soxr.resample(x, fs, target_fs, quality="HQ")
    return np.ascontiguousarray(x, dtype=np.float32)
