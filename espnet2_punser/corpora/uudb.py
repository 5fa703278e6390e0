"""UUDB (Utsunomiya University Spoken Dialogue Database for Paralinguistic Information
Studies), corpora.md section 16.

Layout (UUDB user's manual, nkululeko's parser)::

    UUDB/Sessions/<S>/<S>.xml        per-session XML (namespace
                                     http://uudb.speech-lab.org/ns/0.9), S = C001 ...
    UUDB/Sessions/speakers.xml       speaker information (not used)
    UUDB/var/<S>/<S>L_001.wav ...    one wav per utterance, L/R = speaker channel
    UUDB/var/<S>/<S>.list            the wav names in order (``C001L_001`` or ``C001L_001.wav``)
    UUDB/var/<S>/<S>.para            averaged ratings, one line of numbers per .list line
    UUDB/doc/  UUDB/tools/

ROOT may be the ``UUDB`` folder itself or any folder that holds it (also a doubled
``UUDB/UUDB`` as some copies unpack); the first of ROOT, ``ROOT/UUDB``,
``ROOT/UUDB/UUDB`` (then any ``UUDB`` folder up to three levels down) that has a
``Sessions`` or ``var`` folder is used.

Labels: no categories at all (``conf/labels/uudb.yaml`` has ``classes: []``); dimensions
only, on the 7-point scales (min-max scaled from [1, 7] to [0, 1]):

- **XML (preferred).** Every ``u:Utterance`` (attributes ``UtteranceID``, e.g. ``001``,
  and ``Channel``, ``L``/``R``) holds one ``u:EmotionalState/u:Rating`` per annotator
  with ``Pleasantness``, ``Arousal``, ``Dominance``, ``Credibility``, ``Interest``,
  ``Positivity``. V/A/D = the mean over annotators of Pleasantness, Arousal, Dominance
  (an annotator without a value for one of them is left out of that mean). The wav is
  the ``u:UtteranceComment/u:Comment@CommentStrings`` that ends in ``.wav``, else
  ``<S><Channel>_<UtteranceID>.wav``. Elements are matched by local name, so another
  namespace version also parses; XML in a multi-byte encoding that expat cannot read
  (Shift_JIS, EUC-JP) is decoded with Python's codec for the declared encoding.
- **.para/.list (fallback, only for a session without its XML).** Line *i* of
  ``<S>.para`` belongs to line *i* of ``<S>.list`` (blank lines ignored in both); the
  first three numbers are taken as Pleasantness, Arousal, Dominance, i.e. the XML's
  attribute order [U: the manual only says "averaged rating file"; one loader names
  columns 5-6 differently, columns 1-3 are not in doubt there]. A line with fewer than
  three numbers, or files of different lengths, raise :class:`CorpusError`.
- A rating or average outside 1-7, or one that is not a number, raises
  :class:`CorpusError` naming the file and utterance (or line). The direction of the
  scales (7 = pleasant / aroused / dominant) is taken from the attribute names [U].

Speakers and sessions: the UUDB manual lists 27 sessions in 7 groups (C001-C007,
C011-C013, C021-C024, C031-C033, C041-C043, C051-C053, C061-C064) recorded by 7 pairs
of speakers, the paper's 14 speakers. Speaker = group x channel: ``uudb_<first 3
characters of the session id><L|R>`` (C001L and C005L are both ``uudb_C00L``; C011R is
``uudb_C01R``); session = ``uudb_<session>`` (``uudb_C001``); utterance id
``uudb_<wav stem>`` (``uudb_C001L_001``). [U] This assumes that each group is one
speaker pair and that each speaker keeps their channel (L or R) in every session of
the group; Sessions/speakers.xml (format unknown) would settle it.

Dropped, with reasons in ``dropped.txt``: utterances without any rating, labelled
utterances whose wav is missing, wavs with no label entry, repeated entries for the
same wav, and every wav of a session that has neither XML nor .para/.list. ``._*``
files are skipped. ``var/`` is required: the 2-channel session recordings
``Sessions/<S>/<S>.wav`` are not cut into utterances here. Transcripts (``<S>.txt``,
format unknown) are not read. No official split; evaluation is leave-one-speaker-out.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from espnet2_punser.corpora.base import (
    CorpusData,
    CorpusError,
    CorpusInfo,
    LabelConfig,
    Utterance,
)

INFO = CorpusInfo(
    name="uudb",
    title="UUDB",
    role="eval",
    kind="SPNT",
    language="JPN",
    db_var="UUDB",
    paper_utterances=4840,
    paper_hours=1.9,
    paper_speakers="14",
    source="https://research.nii.ac.jp/src/en/UUDB.html (NII-SRC, on application)",
    layout="<root>[/UUDB]/Sessions/<S>/<S>.xml and <root>[/UUDB]/var/<S>/<S>{L,R}_NNN.wav "
           "(or var/<S>/<S>.para + <S>.list instead of the XML)",
)

NS = "http://uudb.speech-lab.org/ns/0.9"
RATING_DIMS = ("Pleasantness", "Arousal", "Dominance")  # -> valence, arousal, dominance
WAV_RE = re.compile(r"^(?P<session>[A-Za-z]\d+)(?P<ch>[A-Za-z])_(?P<idx>\d+)$")
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attr(el: ET.Element, name: str) -> Optional[str]:
    """Attribute ``name`` of ``el``, matched without namespace and case."""
    v = el.get(name)
    if v is not None:
        return v
    low = name.lower()
    return next((v for k, v in el.attrib.items() if _local(k).lower() == low), None)


def _sanitize(s: str) -> str:
    return _BAD_CHARS.sub("_", s)


def find_uudb(root: Path) -> Path:
    """The folder that holds ``Sessions/`` and/or ``var/``."""
    def ok(d: Path) -> bool:
        return (d / "Sessions").is_dir() or (d / "var").is_dir()

    for d in (root, root / "UUDB", root / "UUDB" / "UUDB"):
        if d.is_dir() and ok(d):
            return d
    for depth in ("*", "*/*", "*/*/*"):
        for d in sorted(root.glob(depth)):
            if d.is_dir() and d.name.lower() == "uudb" and ok(d):
                return d
    raise CorpusError(f"UUDB: no UUDB/Sessions or UUDB/var folder under {root}")


def parse_xml_file(path: Path) -> ET.Element:
    """Parse an XML file; multi-byte encodings expat lacks are decoded by Python."""
    raw = path.read_bytes()
    try:
        return ET.fromstring(raw)
    except (ValueError, ET.ParseError) as first:
        m = re.match(rb"\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9_.:\-]+)[\"']", raw)
        if m:
            try:
                text = raw.decode(m[1].decode("ascii"))
                text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
                return ET.fromstring(text)
            except (LookupError, UnicodeDecodeError, ET.ParseError) as e:
                raise CorpusError(f"{path}: unparseable XML ({e})") from e
        raise CorpusError(f"{path}: unparseable XML ({first})") from first


def _rating(value: Optional[str], where: str, lo: float, hi: float) -> Optional[float]:
    if value is None or not value.strip():
        return None
    try:
        x = float(value)
    except ValueError:
        raise CorpusError(f"{where}: {value!r} is not a number") from None
    if math.isnan(x):
        return None
    if not (lo <= x <= hi):
        raise CorpusError(f"{where}: rating {x} outside the documented scale [{lo:g}, {hi:g}]")
    return x


def _wav_from_utterance(utt: ET.Element, session: str, channel: str, uid: str) -> str:
    for el in utt.iter():
        if _local(el.tag) == "Comment":
            cs = (_attr(el, "CommentStrings") or "").strip()
            if cs.lower().endswith(".wav"):
                return re.split(r"[\\/]", cs)[-1]
    if WAV_RE.match(uid):
        return f"{uid}.wav"
    if uid.isdigit():
        uid = f"{int(uid):03d}"
    return f"{session}{channel}_{uid}.wav"


def read_xml(path: Path, session: str, scale: Tuple[float, float]
             ) -> List[Tuple[str, Optional[str], Optional[Tuple[float, float, float]], str]]:
    """``(wav name, channel, mean (P, A, D) or None, where)`` for every utterance."""
    root = parse_xml_file(path)
    out = []
    lo, hi = scale
    for n, utt in enumerate((e for e in root.iter() if _local(e.tag) == "Utterance"), 1):
        uid = (_attr(utt, "UtteranceID") or "").strip()
        channel = (_attr(utt, "Channel") or "").strip() or None
        wav = _wav_from_utterance(utt, session, channel or "", uid)
        where = f"{path}: utterance {uid or n} ({wav})"
        sums = [[] for _ in RATING_DIMS]
        for el in utt.iter():
            if _local(el.tag) != "Rating":
                continue
            for i, dim in enumerate(RATING_DIMS):
                x = _rating(_attr(el, dim), f"{where}: {dim}", lo, hi)
                if x is not None:
                    sums[i].append(x)
        if any(sums):
            pad = tuple(sum(v) / len(v) if v else float("nan") for v in sums)
        else:
            pad = None
        out.append((wav, channel, pad, where))
    return out


def read_para_list(para: Path, lst: Path, scale: Tuple[float, float]
                   ) -> List[Tuple[str, Optional[str], Optional[Tuple[float, float, float]], str]]:
    """``(wav name, None, (P, A, D), where)`` from ``<S>.para`` + ``<S>.list``."""
    names = [(n, line.strip()) for n, line in
             enumerate(lst.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if line.strip()]
    rows = [(n, line.split()) for n, line in
            enumerate(para.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if line.strip()]
    if len(names) != len(rows):
        raise CorpusError(f"{para}: {len(rows)} rating lines but {lst} lists {len(names)} "
                          "utterances")
    lo, hi = scale
    out = []
    for (_, name), (n, cols) in zip(names, rows):
        wav = re.split(r"[\\/]", name.split()[0])[-1]
        if not wav.lower().endswith(".wav"):
            wav += ".wav"
        where = f"{para}:{n}"
        if len(cols) < 3:
            raise CorpusError(f"{where}: {len(cols)} numbers, expected 6 (at least 3)")
        pad = tuple(_rating(c, f"{where}: column {i + 1}", lo, hi)
                    for i, c in enumerate(cols[:3]))
        pad = None if all(x is None for x in pad) else tuple(
            float("nan") if x is None else x for x in pad)
        out.append((wav, None, pad, where))
    return out


def _find_file(d: Path, name: str) -> Optional[Path]:
    if not d.is_dir():
        return None
    p = d / name
    if p.is_file():
        return p
    hits = [q for q in d.iterdir() if q.name.lower() == name.lower() and q.is_file()]
    return hits[0] if hits else None


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    base = find_uudb(Path(root)).resolve()
    if labels.scale is None:
        raise CorpusError(f"{labels.path}: UUDB needs 'dimensions: scale'")
    sessions_dir, var_dir = base / "Sessions", base / "var"
    if not var_dir.is_dir():
        raise CorpusError(f"UUDB: {var_dir} is missing: the per-utterance wavs "
                          "var/<S>/<S>L_NNN.wav are needed (the 2-channel session wavs in "
                          "Sessions/ are not cut here)")
    # every wav under var/ (one walk): session folder -> {file name: path}
    wavs: Dict[str, Dict[str, Path]] = {}
    by_name: Dict[str, Path] = {}
    if var_dir.is_dir():
        for d, _, files in os.walk(var_dir):
            for f in sorted(files):
                if f.startswith("._") or not f.lower().endswith(".wav"):
                    continue
                p = Path(d) / f
                rel = p.relative_to(var_dir).parts
                wavs.setdefault(rel[0] if len(rel) > 1 else "", {})[f] = p
                by_name.setdefault(f.lower(), p)
    names = set()
    if sessions_dir.is_dir():
        names |= {d.name for d in sessions_dir.iterdir()
                  if d.is_dir() and not d.name.startswith(".")}
    if var_dir.is_dir():
        names |= {d.name for d in var_dir.iterdir()
                  if d.is_dir() and not d.name.startswith(".")}
    if not names:
        raise CorpusError(f"UUDB: no session folders in {sessions_dir} or {var_dir}")

    data = CorpusData()
    used: set = set()
    fallback = []
    for session in sorted(names):
        xml = _find_file(sessions_dir / session, f"{session}.xml")
        if xml is None and (sessions_dir / session).is_dir():
            xmls = sorted(p for p in (sessions_dir / session).glob("*.xml")
                          if not p.name.startswith("._"))
            xml = xmls[0] if len(xmls) == 1 else None
        para = _find_file(var_dir / session, f"{session}.para")
        lst = _find_file(var_dir / session, f"{session}.list")
        if xml is not None:
            entries = read_xml(xml, session, labels.scale)
            source = "the session XML"
        elif para is not None and lst is not None:
            entries = read_para_list(para, lst, labels.scale)
            source = "<S>.para/<S>.list"
            fallback.append(session)
        else:
            for p in sorted(wavs.get(session, {}).values()):
                data.drop(p, "session has neither <S>.xml nor <S>.para + <S>.list")
                used.add(p)
            continue
        local = wavs.get(session, {})
        seen: Dict[str, str] = {}
        for wav_name, channel, pad, where in entries:
            stem = wav_name[:-4] if wav_name.lower().endswith(".wav") else wav_name
            utt_id = f"uudb_{_sanitize(stem)}"
            m = WAV_RE.match(stem)
            channel = channel or (m["ch"] if m else None)
            if utt_id in seen:
                data.drop(utt_id, "repeated entry for the same wav (the first one is kept)")
                continue
            seen[utt_id] = where
            path = local.get(wav_name) or by_name.get(wav_name.lower())
            if path is None:
                data.drop(utt_id, "audio file not found")
                continue
            used.add(path)
            if channel is None:
                data.drop(utt_id, "no channel (L/R) in the label entry or the wav name")
                continue
            if pad is None:
                data.drop(utt_id, f"no ratings in {source}")
                continue
            try:
                vad = labels.scale_vad(*pad)
            except ValueError as e:  # an average outside the scale
                raise CorpusError(f"{where}: {e}") from e
            utt = Utterance(
                utt_id=utt_id,
                path=str(path),
                speaker=f"uudb_{_sanitize(session[:3] + channel)}",
                session=f"uudb_{_sanitize(session)}",
                vad=vad,
            )
            data.add(utt)
        # wavs of this session that no label entry names
        for p in sorted(local.values()):
            if p not in used:
                data.drop(p, f"no entry in {source}")
                used.add(p)
    for p in sorted({p for d in wavs.values() for p in d.values()} - used):
        data.drop(p, "wav outside var/<session>/ or of an unknown session")
    if fallback:
        data.notes.append(f"sessions without XML, read from .para/.list: {', '.join(fallback)}")
    sessions = {u.session for u in data.utterances}
    speakers = {u.speaker for u in data.utterances}
    groups = {s[len("uudb_"):len("uudb_") + 3] for s in sessions}
    data.notes.append(
        f"speaker = session group x channel: {len(speakers)} speakers from {len(sessions)} "
        f"sessions in {len(groups)} groups (assumes each group is one speaker pair who keep "
        "their channel)")
    return data
