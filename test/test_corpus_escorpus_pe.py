"""ESCorpus-PE through the generic format (corpora.md section 13: no public layout)."""

import math

import numpy as np
import pytest

from espnet2_punser import corpora
from espnet2_punser.corpora.base import CorpusError, load_labels
from fake_corpora import generic as fake
from fake_corpora.common import read_kaldi


def _vad(values):
    return " ".join("nan" if math.isnan(x) else f"{x:.6f}" for x in values)


def test_escorpus_pe_info_and_labels():
    info = corpora.info("escorpus_pe")
    assert (info.role, info.kind, info.language) == ("pretrain", "SPNT", "SPA")
    assert (info.paper_utterances, info.paper_hours, info.db_var) == (3764, 5.0, "ESCORPUS_PE")
    labels = load_labels("escorpus_pe")
    assert labels.classes == [] and labels.codes == {} and labels.scale == (0.0, 5.0)


def test_escorpus_pe_small(tmp_path):
    root = tmp_path / "escorpus"
    expected = fake.build(root, np.random.default_rng(0), kind="escorpus_pe")
    out = tmp_path / "data"
    summary = corpora.prepare_corpus("escorpus_pe", root, out)
    assert summary["corpus"] == "escorpus_pe" and summary["paper_utterances"] == 3764
    assert summary["utterances"] == expected["utterances"] == 10
    assert summary["with_category"] == 0 and read_kaldi(out, "utt2cat") == {}
    vad = read_kaldi(out, "utt2vad")
    assert vad == {k: _vad(v) for k, v in expected["vad"].items()}
    assert vad["escorpus_pe_esc_00003"].startswith("nan ")  # the empty valence
    spk = read_kaldi(out, "utt2spk")
    assert sorted(set(spk.values())) == expected["speakers"]
    assert spk["escorpus_pe_esc_00008"] == "escorpus_pe_p01"
    assert read_kaldi(out, "utt2session") == spk
    assert set(read_kaldi(out, "utt2corpus").values()) == {"escorpus_pe"}
    dropped = dict(line.split("\t", 1) for line in (out / "dropped.txt").read_text().splitlines())
    assert dropped == expected["dropped"]  # the category column is ignored


def test_escorpus_pe_full_counts(fast_tmp):
    root = fast_tmp / "escorpus"
    fake.build(root, np.random.default_rng(1), kind="escorpus_pe", full=True, empty_audio=True)
    summary = corpora.prepare_corpus("escorpus_pe", root, fast_tmp / "out", with_hours=False)
    assert summary["utterances"] == 3764 == summary["paper_utterances"]
    assert summary["with_dimensions"] == 3764 and summary["speakers"] == 7


def test_escorpus_pe_bad_inputs(tmp_path):
    root = tmp_path / "escorpus"
    fake.build(root, np.random.default_rng(0), kind="escorpus_pe")
    table = root / "metadata.csv"
    lines = table.read_text().splitlines()
    lines[4] = "audio/esc_00003.wav,p03,6,1,1,"  # valence 6 on the 0-5 scale
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=r"metadata\.csv:5: V/A/D .*outside the documented "
                                          r"scale \[0\.0, 5\.0\]"):
        corpora.prepare_corpus("escorpus_pe", root, tmp_path / "out")
    table.unlink()
    with pytest.raises(CorpusError, match="neither metadata.csv nor metadata.tsv"):
        corpora.prepare_corpus("escorpus_pe", root, tmp_path / "out")
