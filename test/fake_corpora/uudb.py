"""Fake UUDB, corpora.md section 16 (and the UUDB user's manual):
``UUDB/Sessions/<S>/<S>.xml`` (namespace http://uudb.speech-lab.org/ns/0.9,
``u:Utterance`` with ``u:UtteranceComment/u:Comment@CommentStrings`` and one
``u:EmotionalState/u:Rating`` per annotator), ``UUDB/var/<S>/<S>{L,R}_NNN.wav``,
``UUDB/var/<S>/<S>.list`` and ``<S>.para`` (averaged ratings), ``Sessions/speakers.xml``,
``doc/``, ``tools/``.

Speakers are session group x channel (``uudb_C00L`` for C001L, C002L, ...).

Small fake (3 sessions, 2 groups, 4 speakers):

- C001: XML and .para/.list (the .para deliberately disagrees: the XML must win); one
  utterance without ``u:EmotionalState``, one annotator without ``Dominance``, one XML
  utterance whose wav is missing, one wav that the XML does not name, a ``._`` file;
- C002: no XML, only ``var/C002/C002.para`` + ``C002.list`` (the fallback);
- C011: XML without ``CommentStrings`` (wav name from session, channel and id), in
  ``encoding`` (e.g. ``shift_jis``), with Japanese comments.

Full fake: the manual's 27 sessions in 7 groups (C001-C007, C011-C013, C021-C024,
C031-C033, C041-C043, C051-C053, C061-C064) x 2 channels = 14 speakers, 4,840
utterances, XML only.
Variants: ``nest`` (``"UUDB"``, ``""`` = ROOT is the UUDB folder, ``"UUDB/UUDB"``),
``list_ext`` (.list lines with ``.wav``), ``encoding`` of C003's XML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple
from xml.sax.saxutils import quoteattr

import numpy as np

from fake_corpora.common import AudioWriter

NS = "http://uudb.speech-lab.org/ns/0.9"
DIMS = ("Pleasantness", "Arousal", "Dominance", "Credibility", "Interest", "Positivity")
FULL_GROUPS = {"C00": 7, "C01": 3, "C02": 4, "C03": 3, "C04": 3, "C05": 3, "C06": 4}
FULL_SESSIONS = [f"{g}{i}" for g, n in FULL_GROUPS.items() for i in range(1, n + 1)]
FULL_UTTERANCES = 4840


def _xml(session: str, utts: List[dict], encoding: str = "UTF-8") -> bytes:
    lines = [f'<?xml version="1.0" encoding="{encoding}"?>',
             f'<u:Session xmlns:u="{NS}" SessionID="{session}">']
    for u in utts:
        lines.append(f'  <u:Utterance UtteranceID="{u["idx"]}" Channel="{u["ch"]}" '
                     f'StartTime="{u["start"]:.3f}" EndTime="{u["start"] + 1.2:.3f}">')
        if u.get("comment", True):
            lines.append("    <u:UtteranceComment>")
            lines.append('      <u:Comment CommentStrings="はい"/>')
            lines.append(f'      <u:Comment CommentStrings={quoteattr(u["wav"])}/>')
            lines.append("    </u:UtteranceComment>")
        if u["ratings"] is not None:
            lines.append("    <u:EmotionalState>")
            for k, r in enumerate(u["ratings"]):
                attrs = " ".join(f'{d}="{v}"' for d, v in zip(DIMS, r) if v is not None)
                lines.append(f'      <u:Rating Rater="R{k + 1}" {attrs}/>')
            lines.append("    </u:EmotionalState>")
        lines.append("  </u:Utterance>")
    lines.append("</u:Session>")
    return ("\n".join(lines) + "\n").encode(encoding)


def _utts(session: str, counts: Dict[str, int], rng: np.random.Generator,
          raters: int = 3) -> List[dict]:
    utts = []
    t = 0.0
    for ch, n in counts.items():
        for i in range(1, n + 1):
            ratings = [list(int(x) for x in rng.integers(1, 8, size=6)) for _ in range(raters)]
            utts.append({"session": session, "ch": ch, "idx": f"{i:03d}", "start": t,
                         "wav": f"{session}{ch}_{i:03d}.wav", "ratings": ratings})
            t += 2.0
    return utts


def _mean_pad(ratings) -> Tuple[float, float, float]:
    out = []
    for j in range(3):
        vals = [r[j] for r in ratings if r[j] is not None]
        out.append(sum(vals) / len(vals))
    return tuple(out)


def build(root: Path, rng: np.random.Generator, full: bool = False, empty_audio: bool = False,
          nest: str = "UUDB", list_ext: bool = False, encoding: str = "shift_jis") -> dict:
    base = root / nest if nest else root
    (base / "doc").mkdir(parents=True, exist_ok=True)
    (base / "tools").mkdir(parents=True, exist_ok=True)
    (base / "Sessions").mkdir(parents=True, exist_ok=True)
    (base / "doc" / "manual.pdf").write_bytes(b"%PDF-1.4\n")
    (base / "Sessions" / "speakers.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<u:Speakers xmlns:u="{NS}"/>\n')
    write = AudioWriter(rng, fs=16000, empty=empty_audio)
    expected_vad: Dict[str, Tuple[float, float, float]] = {}
    spk: Dict[str, str] = {}
    sess: Dict[str, str] = {}
    dropped: Dict[str, str] = {}

    def write_session(session, utts, with_xml=True, with_para=True, xml_encoding="UTF-8"):
        sdir, vdir = base / "Sessions" / session, base / "var" / session
        sdir.mkdir(parents=True, exist_ok=True)
        vdir.mkdir(parents=True, exist_ok=True)
        if with_xml:
            (sdir / f"{session}.xml").write_bytes(_xml(session, utts, xml_encoding))
        if with_para:
            names, paras = [], []
            for u in utts:
                if u["ratings"] is None:
                    continue
                names.append(u["wav"] if list_ext else u["wav"][:-4])
                # deliberately different from the XML when both exist
                pad = (1.0, 1.0, 1.0) if with_xml else _mean_pad(u["ratings"])
                paras.append(" ".join(f"{x:.3f}" for x in pad) + " 4.000 4.000 4.000")
            (vdir / f"{session}.list").write_text("\n".join(names) + "\n")
            (vdir / f"{session}.para").write_text("\n".join(paras) + "\n")
        for u in utts:
            if u.get("no_wav"):
                continue
            write(vdir / u["wav"])

    def expect(u, from_para=False):
        uid = f"uudb_{u['wav'][:-4]}"
        pad = _mean_pad(u["ratings"])
        if from_para:  # what the .para holds: the means rounded to 3 decimals
            pad = tuple(float(f"{x:.3f}") for x in pad)
        expected_vad[uid] = tuple((x - 1.0) / 6.0 for x in pad)
        spk[uid] = f"uudb_{u['session'][:3]}{u['ch']}"
        sess[uid] = f"uudb_{u['session']}"

    if full:
        per_spk = [FULL_UTTERANCES // 14 + (1 if k < FULL_UTTERANCES % 14 else 0)
                   for k in range(14)]
        for g_i, (group, n_sessions) in enumerate(FULL_GROUPS.items()):
            sessions = [s for s in FULL_SESSIONS if s.startswith(group)]
            # each speaker of the pair: their utterances spread over the group's sessions
            share = {ch: [per_spk[2 * g_i + c] // n_sessions +
                          (1 if k < per_spk[2 * g_i + c] % n_sessions else 0)
                          for k in range(n_sessions)]
                     for c, ch in enumerate("LR")}
            for k, session in enumerate(sessions):
                utts = _utts(session, {"L": share["L"][k], "R": share["R"][k]}, rng)
                write_session(session, utts, with_para=False)
                for u in utts:
                    expect(u)
    else:
        # C001: XML + a .para that must be ignored
        utts = _utts("C001", {"L": 4, "R": 3}, rng)
        utts[1]["ratings"] = None                      # no u:EmotionalState
        utts[2]["ratings"][0][2] = None                # annotator 1 without Dominance
        utts[5]["no_wav"] = True                       # XML names a missing wav
        write_session("C001", utts)
        write(base / "var" / "C001" / "C001L_099.wav")
        (base / "var" / "C001" / "._C001L_001.wav").write_bytes(b"junk")
        for k, u in enumerate(utts):
            if k == 1:
                dropped["uudb_C001L_002"] = "no ratings"
            elif k == 5:
                dropped["uudb_C001R_002"] = "audio file not found"
            else:
                expect(u)
        dropped[str(base / "var" / "C001" / "C001L_099.wav")] = "no entry in the session XML"
        # C002: .para/.list only
        utts = _utts("C002", {"L": 2, "R": 3}, rng)
        write_session("C002", utts, with_xml=False)
        for u in utts:
            expect(u, from_para=True)
        # C011 (second group): XML in another encoding, wav names from the attributes
        utts = _utts("C011", {"R": 2, "L": 2}, rng, raters=2)
        for u in utts:
            u["comment"] = False
        write_session("C011", utts, with_para=False, xml_encoding=encoding)
        for u in utts:
            expect(u)
    return {
        "utterances": len(expected_vad),
        "vad": expected_vad,
        "spk": spk,
        "speakers": sorted(set(spk.values())),
        "session": sess,
        "sessions": sorted(set(sess.values())),
        "dropped": dropped,
        "base": base,
    }
