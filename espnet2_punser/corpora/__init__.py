"""The corpus registry: ONE list that the CLI, ``local/data.sh`` and the README's
corpus table all read.

Each entry names a module of this package that defines ``INFO`` (a
:class:`~espnet2_punser.corpora.base.CorpusInfo`) and
``prepare(root: Path, labels: LabelConfig) -> CorpusData``.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional

from espnet2_punser.corpora.base import (
    CorpusError,
    CorpusInfo,
    LabelConfig,
    load_labels,
    log_summary,
    write_data_dir,
)

logger = logging.getLogger(__name__)

# Order of the paper's Table I, then the bundled synthetic corpora and the generic format.
REGISTRY: Dict[str, str] = {
    "msp_podcast": "espnet2_punser.corpora.msp_podcast",
    "cmu_mosei": "espnet2_punser.corpora.cmu_mosei",
    "asvp_esd": "espnet2_punser.corpora.asvp_esd",
    "whiser": "espnet2_punser.corpora.whiser",
    "escorpus_pe": "espnet2_punser.corpora.escorpus_pe",
    "crema_d": "espnet2_punser.corpora.crema_d",
    "ravdess": "espnet2_punser.corpora.ravdess",
    "cafe": "espnet2_punser.corpora.cafe",
    "quechua_ser": "espnet2_punser.corpora.quechua_ser",
    "jtes": "espnet2_punser.corpora.jtes",
    "iemocap": "espnet2_punser.corpora.iemocap",
    "msp_improv": "espnet2_punser.corpora.msp_improv",
    "meld": "espnet2_punser.corpora.meld",
    "uudb": "espnet2_punser.corpora.uudb",
    "savee": "espnet2_punser.corpora.savee",
    "emodb": "espnet2_punser.corpora.emodb",
    "synth_cat": "espnet2_punser.corpora.synthetic",
    "synth_dim": "espnet2_punser.corpora.synthetic",
    "synth_both": "espnet2_punser.corpora.synthetic",
    "synth_eval": "espnet2_punser.corpora.synthetic",
    "generic": "espnet2_punser.corpora.generic",
}

PAPER_PRETRAIN = ["msp_podcast", "cmu_mosei", "asvp_esd", "whiser", "escorpus_pe",
                  "crema_d", "ravdess", "cafe", "quechua_ser", "jtes"]
PAPER_EVAL = ["iemocap", "msp_improv", "meld", "uudb", "savee", "emodb"]
SYNTH_PRETRAIN = ["synth_cat", "synth_dim", "synth_both"]
SYNTH_EVAL = ["synth_eval"]


def names() -> List[str]:
    return list(REGISTRY)


def module(name: str) -> ModuleType:
    if name not in REGISTRY:
        raise CorpusError(f"unknown corpus {name!r}; known: {', '.join(REGISTRY)}")
    return importlib.import_module(REGISTRY[name])


def info(name: str) -> CorpusInfo:
    mod = module(name)
    return getattr(mod, "INFOS", {}).get(name, mod.INFO)


def prepare_corpus(
    name: str,
    root: Path,
    out_dir: Path,
    labels_dir: Optional[Path] = None,
    labels_file: Optional[Path] = None,
    check_audio: bool = True,
    with_hours: bool = True,
) -> dict:
    """Parse corpus ``name`` under ``root`` and write its Kaldi dir to ``out_dir``.

    Returns the summary (also saved as ``out_dir/summary.json``).
    """
    mod, corpus = module(name), info(name)
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"{corpus.title}: corpus root does not exist: {root}")
    labels = LabelConfig.load(labels_file) if labels_file else load_labels(name, labels_dir)
    logger.info(f"{corpus.title}: parsing {root}")
    data = mod.prepare(root, labels)
    summary = write_data_dir(data, corpus, labels, Path(out_dir),
                             check_audio=check_audio, with_hours=with_hours)
    log_summary(summary)
    return summary
