"""The evaluation protocols of the six evaluation corpora (paper section III-A), as
declared in ``conf/labels/<corpus>.yaml``, on their prepared small fakes: folds are
made by :func:`espnet2_punser.protocols.make_folds` and checked here independently."""

import importlib
from collections import Counter

import pytest

from espnet2_punser.corpora.base import load_labels
from espnet2_punser.datadir import read_map, training_labels
from espnet2_punser.labels import EMOTION_INDEX
from espnet2_punser.protocols import eligible, load_protocols, make_folds
from fake_corpora.common import build_and_prepare

EVAL = ["iemocap", "msp_improv", "meld", "uudb", "savee", "emodb"]
# corpus -> {protocol: fold unit} as section III-A asks
EXPECTED = {
    "iemocap": {"main": "session", "cat4": "session"},
    "msp_improv": {"main": "speaker"},
    "meld": {"main": "split"},
    "uudb": {"main": "speaker"},
    "savee": {"main": "speaker"},
    "emodb": {"main": "speaker"},
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """corpus -> its prepared data dir (small fake), built once for the module."""
    cache = {}

    def get(name):
        if name not in cache:
            fake = importlib.import_module(f"fake_corpora.{name}")
            root = tmp_path_factory.mktemp(name) / "root"
            cache[name] = build_and_prepare(fake, root, with_hours=False).out
        return cache[name]

    return get


def _maps(d):
    keys = "segments" if (d / "segments").is_file() else "wav.scp"
    return {
        "utts": list(read_map(d / keys)),
        "spk": read_map(d / "utt2spk"),
        "session": read_map(d / "utt2session"),
        "split": read_map(d / "utt2split", allow_missing=True),
        "cat": read_map(d / "utt2cat", allow_missing=True),
        "vad": read_map(d / "utt2vad", allow_missing=True),
    }


def _folds(d, name, protocol):
    labels = load_labels(name)
    protocols = load_protocols(labels.protocols, labels.classes)
    p = protocols[protocol]
    m = _maps(d)
    folds = make_folds(m["utts"], m["spk"], m["session"], m["split"], m["cat"], m["vad"], p)
    return p, m, folds


@pytest.mark.parametrize("name", EVAL)
def test_protocols_declared(name):
    labels = load_labels(name)
    protocols = load_protocols(labels.protocols, labels.classes)
    assert {k: p.folds for k, p in protocols.items()} == EXPECTED[name]
    assert set(labels.protocols) == set(EXPECTED[name])  # declared, not the default


@pytest.mark.parametrize("name,protocol", [(n, k) for n in EVAL for k in EXPECTED[n]])
def test_protocol_folds(prepared, name, protocol):
    d = prepared(name)
    p, m, folds = _folds(d, name, protocol)
    use = eligible(m["utts"], m["cat"], m["vad"], p)
    assert use
    for f in folds:
        assert f.train and f.test
        parts = f.train + f.valid + f.test
        assert len(parts) == len(set(parts)), f.name  # the parts do not overlap
        assert set(parts) <= set(use)
        if p.folds != "split":
            assert set(parts) == set(use), f.name  # every fold uses every utterance
            train_spk = {m["spk"][u] for u in f.train + f.valid}
            test_spk = {m["spk"][u] for u in f.test}
            assert not train_spk & test_spk, f.name
    if p.folds == "split":
        # MELD: one fold, the official split as published
        assert len(folds) == 1 and folds[0].name == "official"
        f = folds[0]
        sizes = Counter(m["split"][u] for u in use)
        assert set(m["split"].values()) == {"train", "dev", "test"}
        assert (len(f.train), len(f.valid), len(f.test)) == (
            sizes["train"], sizes["dev"], sizes["test"])
        assert {m["split"][u] for u in f.train} == {"train"}
        assert {m["split"][u] for u in f.valid} == {"dev"}
        assert {m["split"][u] for u in f.test} == {"test"}
        return
    # each utterance of the protocol is tested exactly once
    tested = Counter(u for f in folds for u in f.test)
    assert set(tested) == set(use) and set(tested.values()) == {1}
    if p.folds == "session":
        sessions = sorted({m["session"][u] for u in use})
        # IEMOCAP: leave-one-session-out, 5 sessions (the small fake's Session 3 has
        # only fear and disgust, so cat4 has 4 there; the full size is checked below)
        assert len(folds) == len(sessions) == {"main": 5, "cat4": 4}[protocol]
        assert len(set(m["session"].values())) == 5
        assert [f.name for f in folds] == sessions
        for f in folds:
            assert {m["session"][u] for u in f.test} == {f.name}
            assert f.name not in {m["session"][u] for u in f.train + f.valid}
    else:  # leave-one-speaker-out: one fold per speaker
        speakers = sorted({m["spk"][u] for u in use})
        assert len(folds) == len(speakers) == len(set(m["spk"].values()))
        assert [f.name for f in folds] == speakers
        for f in folds:
            assert {m["spk"][u] for u in f.test} == {f.name}


def test_iemocap_cat4(prepared):
    d = prepared("iemocap")
    p, m, folds = _folds(d, "iemocap", "cat4")
    assert p.classes == ["neutral", "happy", "sad", "angry"] and not p.dims
    cat = m["cat"]
    use = {u for f in folds for u in f.test}
    # only utterances of the 4 classes (excited counted as happy) take part
    assert use == {u for u, c in cat.items() if c in ("neutral", "happy", "sad", "angry",
                                                      "excited")}
    outside = {u for u, c in cat.items()
               if c not in ("neutral", "happy", "sad", "angry", "excited")}
    no_cat = set(m["utts"]) - set(cat)
    assert outside and no_cat  # the fake has both (e.g. surprised, fru/xxx with V/A/D)
    for f in folds:
        assert not (outside | no_cat) & set(f.train + f.valid + f.test)
    excited = sorted(u for u in use if cat[u] == "excited")
    assert excited
    # the training labels of a fold: excited has the happy index, nothing is missing
    f = next(f for f in folds if set(f.train) & set(excited))
    rows, _ = training_labels(f.train, cat, m["vad"], merge=p.merge, classes=p.classes)
    index = dict(rows)
    for u in set(f.train) & set(excited):
        assert index[u] == str(EMOTION_INDEX["happy"])
    assert all(int(v) >= 0 for v in index.values())
    assert {int(v) for v in index.values()} <= {EMOTION_INDEX[c] for c in p.classes}
    # the main protocol keeps the 8 classes: excited is its own class there
    _, _, main = _folds(d, "iemocap", "main")
    rows, _ = training_labels(main[0].train, cat, m["vad"])
    assert str(EMOTION_INDEX["excited"]) in dict(rows).values()


def test_iemocap_cat4_full_size(fast_tmp):
    """At the real size: 5 folds, 5,531 utterances, per session the EmoBox counts."""
    from fake_corpora import iemocap as fake

    expected, out, _ = build_and_prepare(fake, fast_tmp / "root", 1, full=True)
    p, m, folds = _folds(out, "iemocap", "cat4")
    assert len(folds) == 5
    assert {f.name: len(f.test) for f in folds} == {
        f"iemocap_Ses0{s}": n for s, n in fake.SESSION_4CLASS.items()}
    assert sum(len(f.test) for f in folds) == expected["four_class"] == 5531
    for f in folds:
        assert len(f.train) + len(f.valid) + len(f.test) == 5531
        train = {m["session"][u] for u in f.train + f.valid}
        assert f.name not in train and len(train) == 4
    _, _, main = _folds(out, "iemocap", "main")
    assert len(main) == 5 and sum(len(f.test) for f in main) == 10039
