"""UUDB parser on a fake tree with the real layout (corpora.md section 16)."""


import numpy as np
import pytest

from espnet2_punser import corpora
from fake_corpora import uudb as fake
from fake_corpora.common import build_and_prepare, dropped_pairs, prepare_fails, read_kaldi


def _vad(values):
    return " ".join(f"{x:.6f}" for x in values)


@pytest.mark.parametrize("nest,list_ext,encoding", [
    ("UUDB", False, "shift_jis"),
    ("", True, "UTF-8"),
    ("UUDB/UUDB", False, "euc_jp"),
])
def test_uudb_small(tmp_path, nest, list_ext, encoding):
    expected, out, summary = build_and_prepare(fake, tmp_path / "uudb", nest=nest,
                                               list_ext=list_ext, encoding=encoding)
    # C001: 7 in the XML - 1 without ratings - 1 without wav; C002: 5; C011: 4
    assert summary["utterances"] == expected["utterances"] == 14
    assert summary["with_category"] == 0 and summary["classes"] == {}
    assert summary["with_dimensions"] == 14
    assert read_kaldi(out, "utt2cat") == {}
    # speaker = session group x channel: C001L and C002L are the same person
    assert summary["speakers"] == 4 and summary["sessions"] == 3
    spk = read_kaldi(out, "utt2spk")
    assert spk == expected["spk"]
    assert spk["uudb_C001L_001"] == spk["uudb_C002L_001"] == "uudb_C00L"
    assert spk["uudb_C001R_001"] == spk["uudb_C002R_003"] == "uudb_C00R"
    assert spk["uudb_C011R_002"] == "uudb_C01R" and spk["uudb_C011L_001"] == "uudb_C01L"
    assert sorted(set(spk.values())) == expected["speakers"] == [
        "uudb_C00L", "uudb_C00R", "uudb_C01L", "uudb_C01R"]
    sess = read_kaldi(out, "utt2session")
    assert sess == expected["session"]
    assert sess["uudb_C002R_003"] == "uudb_C002" and sess["uudb_C011L_001"] == "uudb_C011"
    assert sorted(set(sess.values())) == expected["sessions"] == [
        "uudb_C001", "uudb_C002", "uudb_C011"]
    assert "4 speakers from 3 sessions in 2 groups" in " ".join(summary["notes"])
    vad = read_kaldi(out, "utt2vad")
    assert set(vad) == set(expected["vad"])
    for utt, values in expected["vad"].items():  # XML means (C001, C011), .para (C002)
        assert vad[utt] == _vad(values), utt
    # the C001 .para says 1 1 1 for everything: the XML wins
    assert all(v != _vad((0.0, 0.0, 0.0)) for k, v in vad.items() if "C001" in k)
    dropped = dict(dropped_pairs(out))
    assert len(dropped) == len(expected["dropped"]) == 3
    for item, reason in expected["dropped"].items():
        assert dropped[item].startswith(reason), (item, dropped[item])
    assert not any("._" in k for k in dropped)
    assert "C002" in " ".join(summary["notes"])  # read from .para/.list
    wav = read_kaldi(out, "wav.scp")
    assert wav["uudb_C001L_001"] == str((expected["base"] / "var" / "C001" /
                                         "C001L_001.wav").resolve())
    assert summary["hours"] > 0


def test_uudb_exact_means(tmp_path):
    """Means over annotators, scaled from [1, 7]: checked by hand on one utterance."""
    root = tmp_path / "uudb"
    fake.build(root, np.random.default_rng(0))
    xml = root / "UUDB" / "Sessions" / "C011" / "C011.xml"
    text = xml.read_bytes().decode("shift_jis")
    # the first utterance of C011 (channel R, id 001): set both annotators' ratings
    first = text.index("<u:Rating")
    end = text.index("</u:EmotionalState>")
    text = text[:first] + (
        '<u:Rating Rater="R1" Pleasantness="7" Arousal="2" Dominance="4" Credibility="1"/>\n'
        '<u:Rating Rater="R2" Pleasantness="4" Arousal="1" Dominance="4" Credibility="7"/>\n'
    ) + text[end:]
    xml.write_bytes(text.encode("shift_jis"))
    out = tmp_path / "data"
    corpora.prepare_corpus("uudb", root, out, with_hours=False)
    # V = (7+4)/2 = 5.5 -> 0.75; A = 1.5 -> 0.083333; D = 4 -> 0.5
    assert read_kaldi(out, "utt2vad")["uudb_C011R_001"] == "0.750000 0.083333 0.500000"


def test_uudb_full_counts(fast_tmp):
    expected, out, summary = build_and_prepare(fake, fast_tmp / "uudb", 1, full=True)
    assert summary["utterances"] == 4840 == summary["paper_utterances"]
    # 27 sessions in 7 groups, recorded by 7 speaker pairs = the paper's 14 speakers
    assert summary["speakers"] == 14 == int(summary["paper_speakers"])
    assert summary["sessions"] == 27 == len(fake.FULL_SESSIONS)
    assert summary["with_dimensions"] == 4840 and summary["with_category"] == 0
    assert summary["dropped"] == 0
    spk = read_kaldi(out, "utt2spk")
    assert spk == expected["spk"]
    assert sorted(set(spk.values())) == [f"uudb_C0{g}{ch}" for g in range(7) for ch in "LR"]
    # every speaker spans all the sessions of their group
    sess = read_kaldi(out, "utt2session")
    by_spk = {}
    for u, s in spk.items():
        by_spk.setdefault(s, set()).add(sess[u])
    assert len(by_spk["uudb_C00L"]) == 7 and len(by_spk["uudb_C06R"]) == 4
    assert all(x[len("uudb_"):len("uudb_") + 3] == s[len("uudb_"):len("uudb_") + 3]
               for s, v in by_spk.items() for x in v)


def test_uudb_bad_inputs(tmp_path):
    root = tmp_path / "uudb"
    fake.build(root, np.random.default_rng(0))
    base = root / "UUDB"
    xml = base / "Sessions" / "C001" / "C001.xml"
    good = xml.read_bytes()
    xml.write_bytes(good.replace(b'Pleasantness="', b'Pleasantness="9', 1))
    prepare_fails("uudb", root, r"C001\.xml: utterance 001 .*outside")
    xml.write_bytes(good[:-30])
    prepare_fails("uudb", root, r"C001\.xml: unparseable XML")
    xml.write_bytes(good)
    para = base / "var" / "C002" / "C002.para"
    para.write_text("\n".join(para.read_text().splitlines()[:-1]) + "\n")
    prepare_fails("uudb", root, r"C002\.para: 4 rating lines but .*C002\.list lists 5")


def test_uudb_missing_layout(tmp_path):
    (tmp_path / "x" / "UUDB" / "doc").mkdir(parents=True)
    prepare_fails("uudb", tmp_path / "x", "UUDB/Sessions or UUDB/var")
    (tmp_path / "x" / "UUDB" / "Sessions" / "C001").mkdir(parents=True)
    prepare_fails("uudb", tmp_path / "x", r"UUDB/var is missing")
