"""QuechuaSER (Quechua Collao, Paccotacya-Yanque et al., Scientific Data 9:778, 2022),
corpora.md section 14.

Layout (figshare article 20292516, zip 37361143, after extraction)::

    <root>/Audios/<Audio>.wav          flat, one file per utterance
    <root>/Data/Data/Data.xlsx         sheet "map": File, Audio, Actor, Emotion, Duration (s)
    <root>/Labels/Labels/Labels.csv    Audio, Valence, Arousal, Dominance

The two tables are joined on ``Audio``; the audio is ``Audios/<Audio>.wav``.

Tolerance (corpora.md marks the arrangement of the columns [U]):

- ``Data.xlsx`` and ``Labels.csv`` are looked for anywhere under ROOT (file names
  case-insensitive; the official ``Data/Data`` and ``Labels/Labels`` places win), and
  either one may be missing if the other carries the needed columns.
- Column names are compared lowercased with whitespace collapsed; any column may be
  in either file (merged on ``Audio``). Where both files have a value, ``Actor``,
  ``Emotion`` and a transcript column (``Text``/``Sentence``/``Transcription``, if any)
  come from ``Data.xlsx`` and ``Valence``/``Arousal``/``Dominance`` from ``Labels.csv``.
  The sheet is ``map`` (any case); a workbook without it is read from its first sheet
  that has an ``Audio`` column. ``Labels.csv`` may be comma-, semicolon- or
  tab-separated (the header decides), UTF-8 or Latin-1.
- The format of the ``Audio`` ids is unknown [U]: they are matched to the ``.wav``
  files found anywhere under ROOT by file stem (exactly, then case-insensitively,
  then, for purely numeric ids, by integer value so that ``7`` finds ``007.wav``).
  Excel numbers such as ``12.0`` are read as ``12``.

Labels:

- ``Emotion``: lowercased and stripped, then mapped through
  ``conf/labels/quechua_ser.yaml`` (anger/angry -> angry, sadness/sad -> sad, happy,
  fear, excited, neutral; bored/boredom, sleepy and calm are dropped from ``utt2cat``
  and the utterances kept for their V/A/D; Table I's 6 categories). An empty cell is no
  category; a spelling not in the yaml is dropped with "unknown category code".
- ``Valence``/``Arousal``/``Dominance``: 1-5 (min-max scaled to [0, 1]); fractional
  values (means over annotators) are fine, and a decimal comma (``2,5``) is read as
  ``2.5``; an empty cell is ``nan`` (no dimensions at all when the three are empty,
  e.g. an Audio missing from ``Labels.csv``); a number outside 1-5 raises
  :class:`CorpusError` naming the file and row.

Dirty values (corpora.md, from the public loader) and what is done with them:

- ``Actor`` typos ``6-`` and ``2_`` are REPAIRED to ``a6`` and ``a2`` (the only digit;
  the public loader drops those rows instead). Generally ``a<digits>`` with any case,
  spaces, leading zeros or trailing ``-``/``_``/``.``, or a bare number, is read as
  ``a<n>``; any other actor value drops the row. Repairs are counted in the notes of
  ``summary.json``. Speakers are ``quechua_ser_a1`` ... ``quechua_ser_a6``; the corpus
  has no sessions (session = speaker).
- The valence ``2.333.333.333`` (generally: a V/A/D cell that is not a number after
  the decimal-comma repair) DROPS the row, with the reason in ``dropped.txt``, as the
  public loader does: it is not repaired, although ``2.333333333`` (7/3 written with
  thousands separators) is the only reading inside 1-5.
- Consequence for the count: the paper's Table I has 12,419 utterances and 7 speakers.
  12,419 is presumably the full table (12,420 rows) less the row with the malformed
  valence, so a complete copy gives Table I's 12,419. The paper's "7 speakers" cannot
  be reproduced (the loader's a1-a6 are 6; unrepaired typos would make 8) [U].

Also dropped, with reasons in ``dropped.txt``: ``.wav`` files with no table row (and
second copies of a file name elsewhere under ROOT), table rows without an audio file,
rows without an actor (e.g. present in ``Labels.csv`` only), repeated ``Audio`` ids
(the first row is kept). ``._*`` files
and completely empty rows are skipped. No official split (the public loader picks two
random test speakers); used for pre-training only.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from espnet2_punser.corpora.base import (
    CorpusData,
    CorpusError,
    CorpusInfo,
    LabelConfig,
    Utterance,
)

INFO = CorpusInfo(
    name="quechua_ser",
    title="QuechuaSER",
    role="pretrain",
    kind="ACT",
    language="QUE",
    db_var="QUECHUA_SER",
    paper_utterances=12419,
    paper_hours=15.6,
    paper_speakers="7",
    source="https://figshare.com/articles/media/Quechua_Collao_for_Speech_Emotion_"
           "Recognition/20292516 (zip: https://figshare.com/ndownloader/files/37361143)",
    layout="<root>/Audios/*.wav, <root>/Data/Data/Data.xlsx (sheet map), "
           "<root>/Labels/Labels/Labels.csv (found anywhere under <root>)",
)

PREFIX = "quechua_ser"
DIMS = ("valence", "arousal", "dominance")
TEXT_COLUMNS = ("text", "sentence", "transcription", "transcript")
# field -> which table wins when both have a value
PREFER_XLSX = ("actor", "emotion", "text")
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")
_ACTOR_RE = re.compile(r"^a?\s*0*(\d+)\s*[-_.]*$", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_MISSING = {"", "na", "nan", "n/a", "-", "none", "null"}


class _Row:
    """One table row: normalised column -> raw value, plus where it came from."""

    __slots__ = ("where", "values")

    def __init__(self, where: str, values: Dict[str, Any]):
        self.where = where
        self.values = values


def _norm_header(h: Any) -> str:
    return " ".join(str(h if h is not None else "").split()).lower()


def _text(value: Any) -> str:
    """A cell as text; integral floats (Excel numbers) lose their ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return repr(value)
    s = str(value).strip()
    if re.fullmatch(r"\d+\.0+", s):
        s = s.split(".")[0]
    return s


def _audio_key(value: Any) -> str:
    s = _text(value)
    if s.lower().endswith(".wav"):
        s = s[:-4]
    return s


def _canonical(key: str) -> str:
    return str(int(key)) if key.isdigit() else key.lower()


def _walk(root: Path) -> List[Path]:
    """Every file under ``root`` (one walk), without macOS ``._*`` files."""
    out: List[Path] = []
    for d, _, files in os.walk(root):
        out.extend(Path(d) / f for f in files if not f.startswith("._"))
    return out


def _find(files: List[Path], name: str, official: Path) -> Optional[Path]:
    if official.is_file():
        return official
    hits = sorted((p for p in files if p.name.lower() == name),
                  key=lambda p: (len(p.parts), str(p)))
    return hits[0] if hits else None


def _read_xlsx(path: Path) -> Tuple[List[_Row], List[str]]:
    try:
        import openpyxl
    except ImportError as e:  # pragma: no cover - openpyxl is a dependency
        raise CorpusError(f"{path}: reading it needs openpyxl (pip install openpyxl)") from e
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # zipfile.BadZipFile, KeyError, InvalidFileException, ...
        raise CorpusError(f"{path}: not a readable .xlsx workbook ({e})") from e
    try:
        sheets = [ws for ws in wb.worksheets if ws.title.strip().lower() == "map"]
        sheets += [ws for ws in wb.worksheets if ws not in sheets]
        for ws in sheets:
            rows = ws.iter_rows(values_only=True)
            header: Optional[List[str]] = None
            header_row = 0
            for n, cells in enumerate(rows, 1):
                if cells and "audio" in [_norm_header(c) for c in cells]:
                    header, header_row = [_norm_header(c) for c in cells], n
                    break
                if n >= 10:
                    break
            if header is None:
                continue
            out: List[_Row] = []
            for n, cells in enumerate(rows, header_row + 1):
                if cells is None or all(c is None or str(c).strip() == "" for c in cells):
                    continue
                values = {h: cells[i] for i, h in enumerate(header) if h and i < len(cells)}
                out.append(_Row(f"{path.name}:{ws.title}:row {n}", values))
            return out, header
    finally:
        wb.close()
    raise CorpusError(f"{path}: no sheet 'map' (or any sheet) with an 'Audio' column in "
                      "its first rows")


def _read_csv(path: Path) -> Tuple[List[_Row], List[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header_cells = next(reader, None)
    except csv.Error as e:
        raise CorpusError(f"{path}:1: {e}") from e
    header = [_norm_header(h) for h in (header_cells or [])]
    if "audio" not in header:
        raise CorpusError(f"{path}:1: no 'Audio' column (header: {header_cells})")
    out: List[_Row] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            values = {h: cells[i] for i, h in enumerate(header) if h and i < len(cells)}
            out.append(_Row(f"{path.name}:{reader.line_num}", values))
    except csv.Error as e:
        raise CorpusError(f"{path}:{reader.line_num}: {e}") from e
    return out, header


def _index_rows(rows: List[_Row], data: CorpusData) -> Dict[str, _Row]:
    """Audio key -> first row; later rows with the same key are dropped."""
    out: Dict[str, _Row] = {}
    for row in rows:
        key = _audio_key(row.values.get("audio"))
        if not key:
            data.drop(row.where, "empty Audio cell")
            continue
        k = _canonical(key)
        if k in out:
            data.drop(row.where, "repeated Audio id (the first row is kept)")
            continue
        out[k] = row
    return out


def parse_dimension(value: Any) -> Tuple[Optional[float], Optional[str]]:
    """A V/A/D cell -> (number or None when empty, note when a decimal comma was read).

    Raises ``ValueError`` for text that is not a number (after reading a decimal
    comma as a point), e.g. the malformed ``2.333.333.333``.
    """
    if value is None:
        return None, None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        x = float(value)
        return (None, None) if math.isnan(x) else (x, None)
    s = str(value).strip()
    if s.lower() in _MISSING:
        return None, None
    if _PLAIN_NUMBER.match(s):
        return float(s), None
    if _DECIMAL_COMMA.match(s):
        return float(s.replace(",", ".")), f"decimal comma {s!r} read as {s.replace(',', '.')}"
    raise ValueError(f"{s!r} is not a number")


def parse_actor(value: Any) -> Tuple[Optional[str], bool]:
    """An Actor cell -> (``a<n>`` or None, whether it had to be repaired)."""
    s = _text(value)
    m = _ACTOR_RE.match(s)
    if not m:
        return None, False
    name = f"a{int(m[1])}"
    return name, s.lower() != name


def _audio_index(files: List[Path]) -> Tuple[Dict[str, Path], Dict[str, Path],
                                             Dict[str, Path]]:
    exact: Dict[str, Path] = {}
    lower: Dict[str, Path] = {}
    canon: Dict[str, Path] = {}

    def rank(p: Path):  # the official Audios/ folder first, then shallow paths
        return (p.parent.name.lower() not in ("audios", "audio"), len(p.parts), str(p))

    for p in sorted((p for p in files if p.suffix.lower() == ".wav"), key=rank):
        exact.setdefault(p.stem, p)
        lower.setdefault(p.stem.lower(), p)
        canon.setdefault(_canonical(p.stem), p)
    return exact, lower, canon


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"QuechuaSER: {root} is not a directory")
    root = root.resolve()  # every path found below is then absolute
    files = _walk(root)
    xlsx = _find(files, "data.xlsx", root / "Data" / "Data" / "Data.xlsx")
    lcsv = _find(files, "labels.csv", root / "Labels" / "Labels" / "Labels.csv")
    if xlsx is None and lcsv is None:
        raise CorpusError(f"QuechuaSER: neither Data/Data/Data.xlsx nor "
                          f"Labels/Labels/Labels.csv found under {root}")
    data = CorpusData()
    tables: List[Tuple[str, Path, Dict[str, _Row], List[str]]] = []
    if xlsx is not None:
        rows, header = _read_xlsx(xlsx)
        tables.append(("xlsx", xlsx, _index_rows(rows, data), header))
    else:
        data.notes.append("Data.xlsx not found: actors and emotions come from Labels.csv")
    if lcsv is not None:
        rows, header = _read_csv(lcsv)
        tables.append(("csv", lcsv, _index_rows(rows, data), header))
    else:
        data.notes.append("Labels.csv not found: V/A/D come from Data.xlsx, if it has them")
    columns = {h for _, _, _, header in tables for h in header}
    if "actor" not in columns:
        where = " and ".join(str(p) for _, p, _, _ in tables)
        raise CorpusError(f"QuechuaSER: no 'Actor' column in {where}")
    text_col = next((c for c in TEXT_COLUMNS if c in columns), None)

    exact, lower, canon = _audio_index(files)
    used: set = set()
    keys = sorted({k for _, _, idx, _ in tables for k in idx})
    actor_repairs: Counter = Counter()
    value_repairs: List[str] = []
    for k in keys:
        present = [(kind, path, idx[k]) for kind, path, idx, _ in tables if k in idx]
        first = present[0][2]
        audio_id = _audio_key(first.values.get("audio"))

        def pick(field: str):
            order = present if field in PREFER_XLSX else list(reversed(present))
            for kind, path, row in order:
                v = row.values.get(field)
                if v is not None and _text(v) != "":
                    return v, path, row
            return None, None, None

        wav = exact.get(audio_id) or lower.get(audio_id.lower()) or canon.get(k)
        item = f"{PREFIX}_{_BAD_CHARS.sub('_', wav.stem if wav else audio_id)}"
        if wav is None:
            data.drop(item, "no audio file for this Audio id")
            continue
        used.add(wav)
        actor_raw, _, _ = pick("actor")
        if actor_raw is None:
            in_xlsx = any(kind == "xlsx" for kind, _, _ in present)
            data.drop(item, "empty Actor" if in_xlsx or xlsx is None
                      else "no row in Data.xlsx, so no Actor")
            continue
        actor, repaired = parse_actor(actor_raw)
        if actor is None:
            data.drop(item, f"unrecognised Actor {_text(actor_raw)!r}")
            continue
        if repaired:
            actor_repairs[f"{_text(actor_raw)!r} -> {actor}"] += 1

        vals: List[float] = []
        notes: List[str] = []
        malformed: List[str] = []
        source = None  # (file, row) the dimensions came from, for error messages
        for dim in DIMS:
            v, path, row = pick(dim)
            if v is None:
                vals.append(float("nan"))
                continue
            source = source or f"{path.parent / row.where}"
            try:
                x, note = parse_dimension(v)
            except ValueError as e:
                malformed.append(f"{dim.capitalize()} {e}")
                continue
            if note:
                notes.append(f"{row.where}: {dim.capitalize()} {note}")
            vals.append(float("nan") if x is None else x)
        if malformed:
            data.drop(item, f"malformed V/A/D ({'; '.join(malformed)})")
            continue
        vad = None
        if not all(math.isnan(x) for x in vals):
            try:
                vad = labels.scale_vad(*vals)
            except ValueError as e:
                if notes:  # a decimal comma read, and the value is still not on the scale
                    data.drop(item, "V/A/D outside 1-5 even after reading a decimal comma")
                    data.notes.append(f"dropped {item}: {'; '.join(notes)}: {e}")
                    continue
                raise CorpusError(f"{source}: V/A/D {vals}: {e}") from e
            value_repairs.extend(notes)

        emo_raw, _, _ = pick("emotion")
        code = " ".join(_text(emo_raw).split()).lower() or None
        cat, why = labels.category(code)
        text = None
        if text_col:
            t, _, _ = pick(text_col)
            text = _text(t) or None
        utt = Utterance(
            utt_id=item,
            path=str(wav),
            speaker=f"{PREFIX}_{actor}",
            session=f"{PREFIX}_{actor}",
            category=cat,
            vad=vad,
            text=text,
            code=code,
        )
        data.add(utt, why)

    for p in sorted(p for p in files if p.suffix.lower() == ".wav" and p not in used):
        if exact.get(p.stem) == p:
            data.drop(p, "no row for this audio in Data.xlsx / Labels.csv")
        else:
            data.drop(p, f"another file with the same name is used: {exact.get(p.stem)}")
    for what, n in sorted(actor_repairs.items()):
        data.notes.append(f"Actor {what} repaired in {n} row(s)")
    for note in value_repairs:
        data.notes.append(f"repaired {note}")
    return data
