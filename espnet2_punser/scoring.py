"""Scoring: WA / UA / CCC per corpus and protocol, tables shaped like the paper's
Tables IV and V, per-corpus figures, and the low-resource plot (Fig. 2).

Aggregation over folds: the predictions of every fold's test part are pooled (each
utterance of a protocol is tested exactly once) and the metrics computed on the pool;
the per-fold mean and standard deviation are reported beside them.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from espnet2_punser.labels import EMOTION_INDEX, EMOTIONS
from espnet2_punser.metrics import concordance_cc, confusion, unweighted_accuracy, weighted_accuracy

logger = logging.getLogger(__name__)

# The paper's table columns: (corpus, protocol, metric label)
TABLE4 = [
    ("IEMOCAP", [("iemocap", "cat4", 4), ("iemocap", "main", 8)]),
    ("MSP-Improv", [("msp_improv", "main", 4)]),
    ("MELD", [("meld", "main", 7)]),
    ("SAVEE*", [("savee", "main", 7)]),
    ("EmoDB*", [("emodb", "main", 6)]),
]
TABLE5 = [("IEMOCAP", "iemocap", "main"), ("MSPImprov", "msp_improv", "main"),
          ("UUDB", "uudb", "main")]
DIM_KEYS = ("ccc_v", "ccc_a", "ccc_d")


@dataclass
class Scores:
    """Metrics of one system on one corpus/protocol (pooled and per fold)."""

    wa: Optional[float] = None
    ua: Optional[float] = None
    ccc: Dict[str, Optional[float]] = field(default_factory=dict)
    n_cat: int = 0
    n_dim: int = 0
    classes: List[str] = field(default_factory=list)
    confusion: Optional[List[List[int]]] = None
    folds: Dict[str, dict] = field(default_factory=dict)

    def metric(self, key: str) -> Optional[float]:
        if key in ("wa", "ua"):
            return getattr(self, key)
        return self.ccc.get(key)

    def fold_stats(self, key: str) -> Tuple[Optional[float], Optional[float]]:
        vals = [f[key] for f in self.folds.values() if f.get(key) is not None]
        if not vals:
            return None, None
        return float(np.mean(vals)), float(np.std(vals))


def read_kaldi(path: Path) -> Dict[str, str]:
    out = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    return out


def _metrics(ref_cat, hyp_cat, ref_vad, hyp_vad, class_idx):
    res = {}
    keys = [u for u in ref_cat if int(ref_cat[u]) >= 0 and u in hyp_cat]
    if keys and class_idx:
        t = [int(ref_cat[u]) for u in keys]
        p = [EMOTION_INDEX[hyp_cat[u]] for u in keys]
        res.update(wa=weighted_accuracy(t, p), ua=unweighted_accuracy(t, p, class_idx),
                   n_cat=len(keys), t=t, p=p)
    vkeys = [u for u in ref_vad if "nan" not in ref_vad[u] and u in hyp_vad]
    if len(vkeys) >= 2:
        r = np.array([[float(x) for x in ref_vad[u].split()] for u in vkeys])
        h = np.array([[float(x) for x in hyp_vad[u].split()] for u in vkeys])
        for d, k in enumerate(DIM_KEYS):
            res[k] = concordance_cc(r[:, d], h[:, d])
        res["n_dim"] = len(vkeys)
    return res


def score_protocol(protocol_dir: Path, decode_dirs: Dict[str, Path]) -> Optional[Scores]:
    """Scores of the decodes ``{fold: decode_dir}`` of one protocol (missing folds are
    skipped with a warning; None when no fold was decoded)."""
    info = json.loads((protocol_dir / "protocol.json").read_text())
    proto = info["protocol"]
    classes = proto.get("classes") or []
    class_idx = [EMOTION_INDEX[c] for c in classes]
    pooled = {"ref_cat": {}, "hyp_cat": {}, "ref_vad": {}, "hyp_vad": {}}
    s = Scores(classes=list(classes))
    for fold in sorted(info["folds"]):
        d = decode_dirs.get(fold)
        if d is None or not (d / "emotion").is_file():
            logger.warning(f"{protocol_dir}: fold {fold} has no decode ({d}); not scored")
            continue
        test = protocol_dir / fold / "test"
        ref_cat, ref_vad = read_kaldi(test / "cat"), read_kaldi(test / "vad")
        hyp_cat, hyp_vad = read_kaldi(d / "emotion"), read_kaldi(d / "vad")
        missing = [u for u in ref_cat if u not in hyp_cat]
        if missing:
            logger.warning(f"{d}: {len(missing)} test utterances have no prediction, e.g. {missing[:3]}")
        m = _metrics(ref_cat, hyp_cat, ref_vad, hyp_vad, class_idx)
        s.folds[fold] = {k: v for k, v in m.items() if k not in ("t", "p")}
        for k, src in (("ref_cat", ref_cat), ("hyp_cat", hyp_cat), ("ref_vad", ref_vad),
                       ("hyp_vad", hyp_vad)):
            pooled[k].update(src)
    if not s.folds:
        return None
    m = _metrics(pooled["ref_cat"], pooled["hyp_cat"], pooled["ref_vad"], pooled["hyp_vad"], class_idx)
    s.wa, s.ua, s.n_cat = m.get("wa"), m.get("ua"), m.get("n_cat", 0)
    s.n_dim = m.get("n_dim", 0)
    if proto.get("dims", True):
        s.ccc = {k: m.get(k) for k in DIM_KEYS if m.get(k) is not None}
    if "t" in m:
        s.confusion = confusion(m["t"], m["p"], class_idx).tolist()
    return s


# ---------------------------------------------------------------------------- tables
def fmt(x: Optional[float], mark: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    s = f"{x:.3f}"
    return {"best": f"**{s}**", "second": f"<u>{s}</u>", "": s}[mark]


def _marks(rows: Dict[str, List[Optional[float]]]) -> Dict[str, List[str]]:
    """Bold the best and underline the second-best value of each column (as the paper)."""
    names = list(rows)
    ncol = len(next(iter(rows.values()))) if rows else 0
    marks = {n: [""] * ncol for n in names}
    for j in range(ncol):
        vals = sorted({rows[n][j] for n in names if rows[n][j] is not None
                       and not math.isnan(rows[n][j])}, reverse=True)
        if len(names) < 2:
            continue
        for n in names:
            v = rows[n][j]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if vals and v == vals[0]:
                marks[n][j] = "best"
            elif len(vals) > 1 and v == vals[1]:
                marks[n][j] = "second"
    return marks


def render_table(groups: Sequence[Tuple[str, Sequence[str]]],
                 rows: Dict[str, List[Optional[float]]], mean_label: str = "Mean") -> str:
    """A markdown table: a header row of groups (corpora), a row of metric labels, one
    row per system; a Mean column over the available values of each row (with how
    many of the columns it covers when some are missing)."""
    ncol = sum(len(m) for _, m in groups)
    with_mean = {}
    for name, vals in rows.items():
        have = [v for v in vals if v is not None and not math.isnan(v)]
        with_mean[name] = list(vals) + [float(np.mean(have)) if have else None]
    marks = _marks(with_mean)
    # one header row (markdown has no two-row headers): the corpus over its first metric
    head = "| Method | " + " | ".join(
        f"{g if i == 0 else ''}<br>{x}" for g, m in groups for i, x in enumerate(m)
    ) + f" | {mean_label} |"
    sep = "|---|" + "---|" * (ncol + 1)
    out = [head, sep]
    for name, vals in with_mean.items():
        have = sum(1 for v in vals[:-1] if v is not None and not math.isnan(v))
        cells = [fmt(v, mk) for v, mk in zip(vals, marks[name])]
        if 0 < have < ncol:
            cells[-1] += f" (over {have}/{ncol})"
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def table4_columns(extra: Sequence[Tuple[str, str, str, int]] = ()):
    """Column groups of Table IV, plus (title, corpus, protocol, k) of other corpora."""
    groups, cols = [], []
    for title, items in TABLE4:
        labels = []
        for corpus, proto, k in items:
            labels += [f"WA{k}", f"UA{k}"]
            cols += [(corpus, proto, "wa"), (corpus, proto, "ua")]
        groups.append((title, labels))
    for title, corpus, proto, k in extra:
        groups.append((title, [f"WA{k}", f"UA{k}"]))
        cols += [(corpus, proto, "wa"), (corpus, proto, "ua")]
    return groups, cols


def table5_columns(extra: Sequence[Tuple[str, str, str]] = ()):
    groups, cols = [], []
    for title, corpus, proto in list(TABLE5) + list(extra):
        groups.append((title, ["CCC_V", "CCC_A", "CCC_D"]))
        cols += [(corpus, proto, k) for k in DIM_KEYS]
    return groups, cols


def rows_for(cols, results: Dict[str, Dict[Tuple[str, str], Scores]]):
    out = {}
    for system, per in results.items():
        out[system] = [per[(c, p)].metric(k) if (c, p) in per else None for c, p, k in cols]
    return out


# ---------------------------------------------------------------------------- figures
def plot_confusion(s: Scores, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    m = np.asarray(s.confusion, dtype=float)
    norm = m / np.maximum(m.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.1 * len(s.classes) + 2, 1.0 * len(s.classes) + 1.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(s.classes)), s.classes, rotation=45, ha="right")
    ax.set_yticks(range(len(s.classes)), s.classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in range(len(s.classes)):
        for j in range(len(s.classes)):
            ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
    ax.set_title(f"{title}\nWA {fmt(s.wa)}  UA {fmt(s.ua)} (rows: recall)")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_folds(s: Scores, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    keys = [k for k in ("wa", "ua") + DIM_KEYS
            if any(f.get(k) is not None for f in s.folds.values())]
    folds = list(s.folds)
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(folds) * len(keys) / 2 + 3), 3.5))
    width = 0.8 / max(1, len(keys))
    for i, k in enumerate(keys):
        ax.bar(np.arange(len(folds)) + i * width, [s.folds[f].get(k) or 0 for f in folds],
               width, label=k.upper().replace("CCC_", "CCC "))
    ax.set_xticks(np.arange(len(folds)) + 0.4 - width / 2, folds, rotation=30, ha="right")
    ax.set_xlabel("test fold")
    ax.set_ylabel("score")
    ax.set_ylim(min(0, min((s.folds[f].get(k) or 0) for f in folds for k in keys)), 1)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=len(keys))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_low_resource(curves: Dict[str, Dict[float, Tuple[Optional[float], Optional[float]]]],
                      path: Path) -> None:
    """Fig. 2: mean categorical and dimensional performance against the fine-tuning
    data fraction; ``curves[system][fraction] = (categorical mean, dimensional mean)``."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for j, (ax, what) in enumerate(zip(axes, ("categorical (mean WA/UA)", "dimensional (mean CCC)"))):
        for system, pts in curves.items():
            xs = sorted(f for f, v in pts.items() if v[j] is not None)
            if xs:
                ax.plot([100 * x for x in xs], [pts[x][j] for x in xs], marker="o", label=system)
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xticks([0, 1, 5, 10, 25, 50, 100], ["0", "1", "5", "10", "25", "50", "100"])
        ax.set_xlabel("fine-tuning data (% of each training fold; 0 = no fine-tuning)")
        ax.set_ylabel(what.split(' (')[1].rstrip(')'))
        ax.set_title(what)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def mean_of(values: Iterable[Optional[float]]) -> Optional[float]:
    v = [x for x in values if x is not None and not math.isnan(x)]
    return float(np.mean(v)) if v else None


__all__ = ["Scores", "score_protocol", "render_table", "table4_columns", "table5_columns",
           "rows_for", "plot_confusion", "plot_folds", "plot_low_resource", "EMOTIONS"]
