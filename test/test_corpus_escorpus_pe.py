"""ESCorpus-PE through the generic format (corpora.md section 13: no public layout)."""

import math

import numpy as np

from espnet2_punser import corpora
from espnet2_punser.corpora.base import load_labels
from fake_corpora import generic as fake
from fake_corpora.common import build_and_prepare, dropped_pairs, prepare_fails, read_kaldi


def _vad(values):
    return " ".join("nan" if math.isnan(x) else f"{x:.6f}" for x in values)


def test_escorpus_pe_info_and_labels():
    info = corpora.info("escorpus_pe")
    assert (info.role, info.kind, info.language) == ("pretrain", "SPNT", "SPA")
    assert (info.paper_utterances, info.paper_hours, info.db_var) == (3764, 5.0, "ESCORPUS_PE")
    labels = load_labels("escorpus_pe")
    assert labels.classes == [] and labels.codes == {} and labels.scale == (0.0, 5.0)


def test_escorpus_pe_small(tmp_path):
    expected, out, summary = build_and_prepare(fake, tmp_path / "escorpus",
                                               corpus="escorpus_pe", kind="escorpus_pe")
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
    dropped = dict(dropped_pairs(out))
    assert dropped == expected["dropped"]  # the category column is ignored


def test_escorpus_pe_full_counts(fast_tmp):
    _, _, summary = build_and_prepare(fake, fast_tmp / "escorpus", 1, full=True,
                                      corpus="escorpus_pe", kind="escorpus_pe")
    assert summary["utterances"] == 3764 == summary["paper_utterances"]
    assert summary["with_dimensions"] == 3764 and summary["speakers"] == 7


def test_escorpus_pe_bad_inputs(tmp_path):
    root = tmp_path / "escorpus"
    fake.build(root, np.random.default_rng(0), kind="escorpus_pe")
    table = root / "metadata.csv"
    lines = table.read_text().splitlines()
    lines[4] = "audio/esc_00003.wav,p03,6,1,1,"  # valence 6 on the 0-5 scale
    table.write_text("\n".join(lines) + "\n")
    prepare_fails("escorpus_pe", root,
                  r"metadata\.csv:5: V/A/D .*outside the documented scale \[0\.0, 5\.0\]")
    table.unlink()
    prepare_fails("escorpus_pe", root, "neither metadata.csv nor metadata.tsv")
