"""ESCorpus-PE (Spanish with Peruvian accent), corpora.md section 13, prepared through
the generic format (:mod:`espnet2_punser.corpora.generic`).

No public description of the corpus's layout, file names or label files could be
found (corpora.md: "nothing found"), so this module does NOT guess one. What is known
is the paper's Table I: spontaneous Spanish speech, no categories, valence / arousal /
dominance on a 0-5 scale, 3,764 utterances, 5.0 hours, used for pre-training.

What you must provide
---------------------
``ROOT`` (``ESCORPUS_PE`` in ``db.sh``) must contain **``metadata.csv``** (or
``metadata.tsv``), written by you from the corpus as you received it, in the generic
format: a header row, then one row per audio file, with at least the columns

    path,speaker,valence,arousal,dominance

- ``path``: the audio file, relative to ROOT or absolute;
- ``speaker``: a speaker id (if the corpus does not tell speakers apart, use one id per
  recording session or per source; leave-one-speaker-out never runs on this corpus);
- ``valence``, ``arousal``, ``dominance``: the corpus's ratings on its 0-5 scale
  (an empty cell = missing; a value outside [0, 5] is an error);
- optional ``utt_id``, ``session``, ``split``, ``text``; a ``category`` column is
  accepted but ignored (Table I lists no categories: every code is dropped from
  ``utt2cat`` with the reason "unknown category code").

The label map is ``conf/labels/escorpus_pe.yaml`` (``classes: []``, ``codes: {}``,
``dimensions: {scale: [0, 5]}``); pass ``--labels FILE`` to use another one (e.g. if
your copy rates on another scale). Ids are prefixed ``escorpus_pe_``. Every other rule
(errors with ``metadata.csv:<line>``, sanitised ids, ``._`` files) is the generic
format's.
"""

from __future__ import annotations

from pathlib import Path

from espnet2_punser.corpora.base import CorpusData, CorpusInfo, LabelConfig
from espnet2_punser.corpora.generic import parse_metadata

INFO = CorpusInfo(
    name="escorpus_pe",
    title="ESCorpus-PE",
    role="pretrain",
    kind="SPNT",
    language="SPA",
    db_var="ESCORPUS_PE",
    paper_utterances=3764,
    paper_hours=5.0,
    paper_speakers="-",
    splits_disjoint=False,
    source="Parari et al., ESCorpus-PE (2021); no public download location is known",
    layout="<root>/metadata.csv (generic format: path,speaker,valence,arousal,dominance; "
           "V/A/D on 0-5), written by the user",
)


def prepare(root: Path, labels: LabelConfig) -> CorpusData:
    return parse_metadata(Path(root), labels, prefix="escorpus_pe")
