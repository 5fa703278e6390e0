"""The generic corpus format: add a corpus with a table and a label map, without code.

(The section below is Markdown, for the README.)

## Generic corpus format

A corpus that has no module of its own is prepared from two files you write.

**1. `ROOT/metadata.csv`** (comma-separated) **or `ROOT/metadata.tsv`** (tab-separated):
UTF-8, a **header row**, then one row per audio file. Column names are
case-insensitive and may come in any order; an empty cell means "missing".

| column | required | content |
|---|---|---|
| `path` | yes | audio file, relative to ROOT or absolute; it must exist |
| `speaker` | yes | speaker id |
| `utt_id` | no | utterance id; default: the file name without its extension |
| `session` | no | session / fold unit; default: the speaker |
| `category` | no | the corpus's OWN category code, mapped through `codes` (below) |
| `valence`, `arousal`, `dominance` | no | numbers on the `dimensions` scale |
| `split` | no | official split name, one word (e.g. `train`) |
| `text` | no | transcript |

```
path,speaker,session,category,valence,arousal,dominance,split
wav/s01_001.wav,s01,day1,hap,4,3.5,3,train
wav/s01_002.wav,s01,day1,,2,2,1,train
/data/extra/s02_001.wav,s02,day2,neu,,,,test
```

**2. A label map** in the schema of `conf/labels/*.yaml` (start from
`conf/labels/generic.yaml`, which is used when you give none):

```yaml
corpus: mycorpus          # prefix of the ids (default: generic)
classes: [neutral, happy, sad, angry]   # the corpus's subset of the 8 unified classes
codes:                    # every value of the "category" column
    neu: neutral
    hap: happy
    sad: sad
    ang: angry
    bor: null             # not one of the 8 classes: left out of utt2cat only
dimensions:
    scale: [1, 5]         # scale of valence/arousal/dominance; `dimensions: null` if none
```

Then

```
python -m espnet2_punser.bin.prepare_corpus generic ROOT OUT_DIR --labels mycorpus.yaml
```

(`db.sh` variable: `GENERIC`) writes the Kaldi data dir like any other corpus. Ids
are `<corpus>_<utt_id>`, speakers `<corpus>_<speaker>`, sessions `<corpus>_<session>`,
with every character outside `[A-Za-z0-9_.-]` replaced by `_`; V/A/D are min-max
scaled from the `dimensions` scale to [0, 1]; `utt2corpus` says `generic`.

Rules:

- A row needs a mapped category or at least one of V/A/D (empty places of a partly
  filled V/A/D triple become `nan`); a row with neither is left out and listed in
  `dropped.txt`.
- A `category` value that is not among `codes` is left out of `utt2cat` with the reason
  `unknown category code '<code>'`; a code mapped to `null` likewise with
  `... is not one of the 8 classes`. The row keeps its V/A/D, if it has any.
- These are errors, all reported together as `metadata.csv:<line>: <what>` (the header
  is line 1), and nothing is written: an unknown or repeated column; no `path` or
  `speaker` column; a row with more cells than the header; an empty `path` or
  `speaker`; a path that does not exist; a V/A/D value that is not a number or lies
  outside the scale; V/A/D values with `dimensions: null`; a split name with spaces;
  an utterance id used twice (give a `utt_id` column).
- Splits may share speakers (this format does not check that they are disjoint).
- Rows whose file name starts with `._` (macOS resource forks) are skipped.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from espnet2_punser.corpora.base import (
    CorpusData,
    CorpusError,
    CorpusInfo,
    LabelConfig,
    Utterance,
)

INFO = CorpusInfo(
    name="generic",
    title="Generic",
    role="generic",
    kind="-",
    language="-",
    db_var="GENERIC",
    splits_disjoint=False,
    source="your own corpus: a metadata table plus a label map (see corpora/generic.py)",
    layout="<root>/metadata.csv or <root>/metadata.tsv (header: path, speaker, optional "
           "utt_id, session, category, valence, arousal, dominance, split, text)",
)

COLUMNS = ("path", "speaker", "utt_id", "session", "category", "valence", "arousal",
           "dominance", "split", "text")
REQUIRED = ("path", "speaker")
DIMS = ("valence", "arousal", "dominance")
DEFAULT_PREFIX = "generic"
MAX_ERRORS = 30
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def sanitize(value: str) -> str:
    """An id made of ``[A-Za-z0-9_.-]`` only (other characters become ``_``)."""
    return _BAD_CHARS.sub("_", value.strip())


def find_metadata(root: Path) -> Path:
    """``root/metadata.csv`` or ``root/metadata.tsv`` (or ``root`` itself when it is
    such a file)."""
    root = Path(root)
    if root.is_file():
        if root.suffix.lower() not in (".csv", ".tsv"):
            raise CorpusError(f"{root}: the generic format needs a .csv or .tsv table")
        return root
    found = [root / n for n in ("metadata.csv", "metadata.tsv") if (root / n).is_file()]
    if not found:
        raise CorpusError(f"{root}: neither metadata.csv nor metadata.tsv exists "
                          "(see espnet2_punser/corpora/generic.py for the format)")
    if len(found) > 1:
        raise CorpusError(f"{root}: both metadata.csv and metadata.tsv exist; keep one")
    return found[0]


def corpus_prefix(labels: LabelConfig) -> str:
    """The ``corpus:`` of the label map, or ``generic`` where the map has none."""
    prefix = None
    if labels.path is not None and Path(labels.path).is_file():
        with open(labels.path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
        if raw.get("corpus") not in (None, ""):
            prefix = str(raw["corpus"])
    elif labels.corpus:
        prefix = labels.corpus
    prefix = prefix or DEFAULT_PREFIX
    if not _PREFIX_RE.match(prefix):
        raise CorpusError(f"{labels.path}: corpus {prefix!r} is not a valid id prefix "
                          "(use A-Za-z0-9_.-)")
    return prefix


def _number(text: str) -> Optional[float]:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def parse_metadata(root: Path, labels: LabelConfig, prefix: Optional[str] = None,
                   table: Optional[Path] = None) -> CorpusData:
    """Parse the generic metadata table under ``root`` with the label map ``labels``.

    ``prefix`` is the id prefix (default: :func:`corpus_prefix`); ``table`` overrides
    the table's location (default: :func:`find_metadata`). Relative audio paths are
    resolved against the table's directory.
    """
    table = Path(table) if table else find_metadata(root)
    base = table.parent
    prefix = prefix or corpus_prefix(labels)
    name = table.name
    delimiter = "\t" if table.suffix.lower() == ".tsv" else ","
    data = CorpusData()
    errors: List[str] = []

    def error(line: int, what: str) -> None:
        errors.append(f"{name}:{line}: {what}")

    try:
        f = open(table, encoding="utf-8-sig", newline="")
    except OSError as e:
        raise CorpusError(f"{table}: cannot be read ({e})") from e
    with f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader, None)
        except csv.Error as e:
            raise CorpusError(f"{table}:1: {e}") from e
        if not header or not any(h.strip() for h in header):
            raise CorpusError(f"{table}:1: empty file or empty header row (columns: "
                              f"{', '.join(COLUMNS)})")
        cols = [h.strip().lower() for h in header]
        index: Dict[str, int] = {}
        for i, c in enumerate(cols):
            if c not in COLUMNS:
                raise CorpusError(f"{table}:1: unknown column {header[i]!r} (known: "
                                  f"{', '.join(COLUMNS)})")
            if c in index:
                raise CorpusError(f"{table}:1: column {c!r} appears twice")
            index[c] = i
        missing = [c for c in REQUIRED if c not in index]
        if missing:
            raise CorpusError(f"{table}:1: required column(s) {missing} missing "
                              f"(header: {header})")
        has_dims = any(c in index for c in DIMS)
        seen: Dict[str, int] = {}
        line = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise CorpusError(f"{table}:{reader.line_num}: {e}") from e
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if len(row) > len(cols):
                error(line, f"{len(row)} cells, the header has {len(cols)}")
                continue

            def cell(c: str) -> str:
                i = index.get(c)
                return row[i].strip() if i is not None and i < len(row) else ""

            rel, spk = cell("path"), cell("speaker")
            if not rel:
                error(line, "empty path")
                continue
            if not spk:
                error(line, "empty speaker")
                continue
            audio = Path(rel) if Path(rel).is_absolute() else base / rel
            if audio.name.startswith("._"):
                data.drop(f"{name}:{line}", "macOS resource fork (._ file)")
                continue
            if not audio.is_file():
                error(line, f"path does not exist: {rel}")
                continue
            raw_id = cell("utt_id") or audio.stem
            utt_id = f"{prefix}_{sanitize(raw_id)}"
            if utt_id in seen:
                error(line, f"utterance id {utt_id!r} already used on line {seen[utt_id]} "
                            "(give a unique utt_id column)")
                continue
            seen[utt_id] = line
            vad: Optional[Tuple[float, float, float]] = None
            if has_dims:
                texts = [cell(c) for c in DIMS]
                if any(texts):
                    vals = []
                    for c, t in zip(DIMS, texts):
                        if not t:
                            vals.append(float("nan"))
                            continue
                        x = _number(t)
                        if x is None:
                            error(line, f"{c} {t!r} is not a number")
                            break
                        vals.append(x)
                    if len(vals) < 3:
                        continue
                    if labels.scale is None:
                        error(line, f"V/A/D values given but the label map {labels.path} "
                                    "has 'dimensions: null'")
                        continue
                    try:
                        vad = labels.scale_vad(*vals)
                    except ValueError as e:
                        error(line, f"V/A/D {texts}: {e}")
                        continue
            split = cell("split") or None
            if split is not None and not re.fullmatch(r"\S+", split):
                error(line, f"split {split!r} has spaces")
                continue
            code = cell("category") or None
            cat, why = labels.category(code)
            speaker = f"{prefix}_{sanitize(spk)}"
            session = cell("session")
            utt = Utterance(
                utt_id=utt_id,
                path=str(audio.resolve()),
                speaker=speaker,
                session=f"{prefix}_{sanitize(session)}" if session else speaker,
                category=cat,
                vad=vad,
                text=cell("text") or None,
                split=split,
                code=code,
            )
            data.add(utt, why)
    if errors:
        more = f"\n  ... and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
        raise CorpusError(f"{table}: {len(errors)} error(s):\n  " +
                          "\n  ".join(errors[:MAX_ERRORS]) + more)
    data.notes.append(f"generic format: {table} with the label map {labels.path} "
                      f"(id prefix {prefix!r})")
    return data


def prepare(root: Path, labels: LabelConfig) -> "CorpusData":
    return parse_metadata(Path(root), labels)
