"""UUDB parser on a fake tree with the real layout (corpora.md section 16)."""

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from espnet2_punser import corpora
from espnet2_punser.corpora.base import CorpusError
from fake_corpora import uudb as fake
from fake_corpora.common import read_kaldi


@pytest.fixture
def fast_tmp(tmp_path):
    """Scratch space in RAM where there is some (many small files are slow on disk)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        d = Path(tempfile.mkdtemp(dir=shm, prefix="punser_test_"))
        yield d
        shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path


def _vad(values):
    return " ".join(f"{x:.6f}" for x in values)


@pytest.mark.parametrize("nest,list_ext,encoding", [
    ("UUDB", False, "shift_jis"),
    ("", True, "UTF-8"),
    ("UUDB/UUDB", False, "euc_jp"),
])
def test_uudb_small(tmp_path, nest, list_ext, encoding):
    root = tmp_path / "uudb"
    expected = fake.build(root, np.random.default_rng(0), nest=nest, list_ext=list_ext,
                          encoding=encoding)
    out = tmp_path / "data"
    summary = corpora.prepare_corpus("uudb", root, out)
    # C001: 7 in the XML - 1 without ratings - 1 without wav; C002: 5; C003: 4
    assert summary["utterances"] == expected["utterances"] == 14
    assert summary["with_category"] == 0 and summary["classes"] == {}
    assert summary["with_dimensions"] == 14
    assert read_kaldi(out, "utt2cat") == {}
    assert summary["speakers"] == 6 and summary["sessions"] == 3
    spk = read_kaldi(out, "utt2spk")
    assert spk == expected["spk"]
    assert spk["uudb_C001L_001"] == "uudb_C001L" and spk["uudb_C003R_002"] == "uudb_C003R"
    assert sorted(set(spk.values())) == expected["speakers"] == [
        "uudb_C001L", "uudb_C001R", "uudb_C002L", "uudb_C002R", "uudb_C003L", "uudb_C003R"]
    sess = read_kaldi(out, "utt2session")
    assert sess["uudb_C002R_003"] == "uudb_C002"
    assert sorted(set(sess.values())) == expected["sessions"]
    vad = read_kaldi(out, "utt2vad")
    assert set(vad) == set(expected["vad"])
    for utt, values in expected["vad"].items():  # XML means (C001, C003), .para (C002)
        assert vad[utt] == _vad(values), utt
    # the C001 .para says 1 1 1 for everything: the XML wins
    assert all(v != _vad((0.0, 0.0, 0.0)) for k, v in vad.items() if "C001" in k)
    dropped = dict(line.split("\t", 1)
                   for line in (out / "dropped.txt").read_text().splitlines())
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
    xml = root / "UUDB" / "Sessions" / "C003" / "C003.xml"
    text = xml.read_bytes().decode("shift_jis")
    # the first utterance of C003 (channel R, id 001): set both annotators' ratings
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
    assert read_kaldi(out, "utt2vad")["uudb_C003R_001"] == "0.750000 0.083333 0.500000"


def test_uudb_full_counts(fast_tmp):
    root = fast_tmp / "uudb"
    fake.build(root, np.random.default_rng(1), full=True, empty_audio=True)
    summary = corpora.prepare_corpus("uudb", root, fast_tmp / "out", with_hours=False)
    assert summary["utterances"] == 4840 == summary["paper_utterances"]
    assert summary["speakers"] == 14 == int(summary["paper_speakers"])
    assert summary["sessions"] == 7
    assert summary["with_dimensions"] == 4840 and summary["with_category"] == 0
    assert summary["dropped"] == 0


def test_uudb_bad_inputs(tmp_path):
    root = tmp_path / "uudb"
    fake.build(root, np.random.default_rng(0))
    base = root / "UUDB"
    xml = base / "Sessions" / "C001" / "C001.xml"
    good = xml.read_bytes()
    xml.write_bytes(good.replace(b'Pleasantness="', b'Pleasantness="9', 1))
    with pytest.raises(CorpusError, match=r"C001\.xml: utterance 001 .*outside"):
        corpora.prepare_corpus("uudb", root, tmp_path / "out")
    xml.write_bytes(good[:-30])
    with pytest.raises(CorpusError, match=r"C001\.xml: unparseable XML"):
        corpora.prepare_corpus("uudb", root, tmp_path / "out")
    xml.write_bytes(good)
    para = base / "var" / "C002" / "C002.para"
    para.write_text("\n".join(para.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(CorpusError, match=r"C002\.para: 4 rating lines but .*C002\.list "
                                          r"lists 5"):
        corpora.prepare_corpus("uudb", root, tmp_path / "out")


def test_uudb_missing_layout(tmp_path):
    (tmp_path / "x" / "UUDB" / "doc").mkdir(parents=True)
    with pytest.raises(CorpusError, match="UUDB/Sessions or UUDB/var"):
        corpora.prepare_corpus("uudb", tmp_path / "x", tmp_path / "out")
    (tmp_path / "x" / "UUDB" / "Sessions" / "C001").mkdir(parents=True)
    with pytest.raises(CorpusError, match=r"UUDB/var is missing"):
        corpora.prepare_corpus("uudb", tmp_path / "x", tmp_path / "out")
