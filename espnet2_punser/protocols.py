"""Evaluation protocols (paper section III-A) and the pre-training split.

A protocol is declared per corpus in ``conf/labels/<corpus>.yaml``::

    protocols:
      main: {folds: speaker}                     # leave-one-speaker-out
      cat4: {folds: session, classes: [neutral, happy, sad, angry],
             merge: {excited: happy}, require_category: true, dims: false}
      main: {folds: split, train: train, valid: dev, test: test}   # official split

- ``folds``: ``speaker`` (leave-one-speaker-out), ``session`` (leave-one-session-out) or
  ``split`` (the corpus's official train/valid/test).
- ``classes``: the classes that compete (default: the corpus's inventory); ``merge``
  maps classes onto others first; categories outside ``classes`` become missing.
- ``require_category``: keep only utterances with a category of ``classes``.
- ``dims``: use V/A/D (default: where the corpus has them).
- ``valid_ratio``: share of each training part held out for early stopping (seeded,
  stratified by class); it shares no speaker with the test part.

Every utterance of the protocol is tested exactly once and no speaker crosses
train/test (checked when the folds are made).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from espnet2_punser.labels import EMOTIONS


class ProtocolError(RuntimeError):
    pass


@dataclass
class Protocol:
    name: str
    folds: str = "speaker"
    classes: Optional[List[str]] = None
    merge: Dict[str, str] = field(default_factory=dict)
    require_category: bool = False
    dims: bool = True
    valid_ratio: float = 0.1
    train: str = "train"
    valid: str = "dev"
    test: str = "test"

    @classmethod
    def from_dict(cls, name: str, d: dict, corpus_classes: Sequence[str]) -> "Protocol":
        known = set(cls.__dataclass_fields__) - {"name"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ProtocolError(f"protocol {name}: unknown keys {unknown} (known: {sorted(known)})")
        p = cls(name=name, **d)
        if p.folds not in ("speaker", "session", "split"):
            raise ProtocolError(f"protocol {name}: folds must be speaker, session or split")
        if p.classes is None:
            p.classes = [c for c in EMOTIONS if c in corpus_classes] or None
        else:
            p.classes = [c for c in EMOTIONS if c in p.classes]
        return p


@dataclass
class Fold:
    name: str
    train: List[str]
    valid: List[str]
    test: List[str]


def load_protocols(protocols: dict, corpus_classes: Sequence[str]) -> Dict[str, Protocol]:
    if not protocols:
        protocols = {"main": {"folds": "speaker"}}
    return {name: Protocol.from_dict(name, d or {}, corpus_classes) for name, d in protocols.items()}


def eligible(utts: Sequence[str], cat: Dict[str, str], vad: Dict[str, str], p: Protocol) -> List[str]:
    """Utterances a protocol uses: a category of its classes, or V/A/D when it uses them."""
    out = []
    for u in utts:
        c = cat.get(u)
        if c is not None:
            c = p.merge.get(c, c)
        has_cat = c is not None and p.classes is not None and c in p.classes
        has_dim = p.dims and u in vad
        if p.require_category and not has_cat:
            continue
        if has_cat or has_dim:
            out.append(u)
    return out


def stratified_holdout(utts: Sequence[str], label: Dict[str, str], ratio: float,
                       seed: int) -> List[str]:
    """A seeded ``ratio`` share of ``utts``, stratified by ``label`` (at least one per
    class with >= 2 members)."""
    rng = random.Random(seed)
    groups: Dict[str, List[str]] = defaultdict(list)
    for u in sorted(utts):
        groups[label.get(u, "<none>")].append(u)
    held = []
    for key in sorted(groups):
        g = groups[key]
        rng.shuffle(g)
        k = int(round(len(g) * ratio))
        if k == 0 and len(g) >= 2 and ratio > 0:
            k = 1
        held += g[:k]
    return sorted(held)


def make_folds(utts: Sequence[str], spk: Dict[str, str], session: Dict[str, str],
               split: Dict[str, str], cat: Dict[str, str], vad: Dict[str, str],
               p: Protocol, seed: int = 0) -> List[Fold]:
    use = eligible(utts, cat, vad, p)
    if not use:
        raise ProtocolError(f"protocol {p.name}: no utterance has its labels")
    label = {u: p.merge.get(cat[u], cat[u]) for u in use if u in cat}
    folds: List[Fold] = []
    if p.folds == "split":
        if not split:
            raise ProtocolError(f"protocol {p.name}: folds=split but the corpus has no utt2split")
        parts = {k: sorted(u for u in use if split.get(u) == getattr(p, k))
                 for k in ("train", "valid", "test")}
        for k, v in parts.items():
            if not v:
                raise ProtocolError(f"protocol {p.name}: official split {getattr(p, k)!r} is empty")
        folds.append(Fold("official", parts["train"], parts["valid"], parts["test"]))
    else:
        unit = spk if p.folds == "speaker" else session
        units = sorted({unit[u] for u in use})
        if len(units) < 2:
            raise ProtocolError(f"protocol {p.name}: needs >= 2 {p.folds}s, got {units}")
        for k, held_out in enumerate(units):
            test = sorted(u for u in use if unit[u] == held_out)
            rest = sorted(u for u in use if unit[u] != held_out)
            valid = stratified_holdout(rest, label, p.valid_ratio, seed + k)
            vset = set(valid)
            train = [u for u in rest if u not in vset]
            folds.append(Fold(held_out, train, valid, test))
    check_folds(folds, use, spk, p)
    return folds


def check_folds(folds: List[Fold], use: Sequence[str], spk: Dict[str, str], p: Protocol) -> None:
    tested = Counter(u for f in folds for u in f.test)
    if p.folds != "split":
        twice = [u for u, n in tested.items() if n > 1]
        never = sorted(set(use) - set(tested))
        if twice or never:
            raise ProtocolError(f"protocol {p.name}: utterances tested twice {twice[:3]} "
                                f"or never {never[:3]}")
    for f in folds:
        if not f.train or not f.test:
            raise ProtocolError(f"protocol {p.name}, fold {f.name}: empty train or test part")
        if p.folds != "split":
            crossing = {spk[u] for u in f.test} & {spk[u] for u in f.train + f.valid}
            if crossing:
                raise ProtocolError(f"protocol {p.name}, fold {f.name}: speakers in train "
                                    f"and test: {sorted(crossing)[:3]}")


def missing_classes_warnings(folds: List[Fold], cat: Dict[str, str], p: Protocol) -> List[str]:
    """Folds whose training part lacks a class that their test part has."""
    out = []
    for f in folds:
        lab = lambda us: {p.merge.get(cat[u], cat[u]) for u in us if u in cat}  # noqa: E731
        lacking = sorted((lab(f.test) - lab(f.train)) & set(p.classes or []))
        if lacking:
            out.append(f"protocol {p.name}, fold {f.name}: the training part has no "
                       f"{', '.join(lacking)}, which the test part has")
    return out


def random_split(utts: Sequence[str], ratio: float, seed: int):
    """The paper's random utterance-level split of the pre-training set (90/10)."""
    rng = random.Random(seed)
    order = sorted(utts)
    rng.shuffle(order)
    k = int(math.floor(len(order) * ratio))
    return sorted(order[k:]), sorted(order[:k])


def subset_fraction(train: Sequence[str], label: Dict[str, str], fraction: float,
                    seed: int) -> List[str]:
    """Low-resource subset: a seeded, class-stratified ``fraction`` of ``train``."""
    if fraction >= 1.0:
        return sorted(train)
    return stratified_holdout(train, label, fraction, seed)


def list_checksum(utts: Sequence[str]) -> str:
    return hashlib.sha1("\n".join(sorted(utts)).encode()).hexdigest()[:12]
