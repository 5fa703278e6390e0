"""The generic corpus format (espnet2_punser/corpora/generic.py) on hand-made tables."""

import math

import numpy as np
import pytest

from espnet2_punser import corpora
from fake_corpora import generic as fake
from fake_corpora.common import dropped_pairs, prepare_fails, read_kaldi


def _vad(values):
    return " ".join("nan" if math.isnan(x) else f"{x:.6f}" for x in values)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_generic_small(tmp_path, fmt):
    root = tmp_path / "mine"
    expected = fake.build(root, np.random.default_rng(0), fmt=fmt)
    out = tmp_path / "data"
    summary = corpora.prepare_corpus("generic", root, out, labels_file=expected["labels"])
    assert summary["corpus"] == "generic" and summary["role"] == "generic"
    assert summary["utterances"] == expected["utterances"] == 5
    assert summary["classes"] == {"neutral": 1, "happy": 1, "angry": 1}
    assert read_kaldi(out, "utt2cat") == expected["cat"]
    vad = read_kaldi(out, "utt2vad")
    assert vad == {k: _vad(v) for k, v in expected["vad"].items()}
    assert vad["mycorpus_custom_1"] == "0.000000 nan nan"  # partly empty triple
    assert read_kaldi(out, "utt2spk") == expected["spk"]
    assert read_kaldi(out, "utt2session") == expected["session"]
    assert read_kaldi(out, "utt2split") == expected["split"]
    assert read_kaldi(out, "text")["mycorpus_s01_001"] == "hello, world"
    assert set(read_kaldi(out, "utt2corpus").values()) == {"generic"}
    wav = read_kaldi(out, "wav.scp")
    assert wav["mycorpus_s02_001"] == expected["abs_path"]
    assert wav["mycorpus_s01_001"] == str((root / "wav" / "s01_001.wav").resolve())
    assert dict(dropped_pairs(out)) == {k.replace("metadata.csv", f"metadata.{fmt}"): v
                             for k, v in expected["dropped"].items()}
    assert summary["hours"] > 0


def test_generic_default_prefix_and_labels(tmp_path):
    root = tmp_path / "mine"
    expected = fake.build(root, np.random.default_rng(0), corpus=None)
    out = tmp_path / "data"
    corpora.prepare_corpus("generic", root, out, labels_file=expected["labels"],
                           with_hours=False)
    assert "generic_s01_001" in read_kaldi(out, "wav.scp")  # no 'corpus:' -> generic
    # the packaged example map: unified names and abbreviations, V/A/D on [0, 1]
    (root / "metadata.csv").write_text("path,speaker,category,valence,arousal,dominance\n"
                                       "wav/s01_001.wav,a,hap,0.2,0.4,1\n"
                                       "wav/s01_002.wav,b,surprised,,,\n")
    summary = corpora.prepare_corpus("generic", root, out, with_hours=False)
    assert summary["classes"] == {"happy": 1, "surprised": 1}
    assert read_kaldi(out, "utt2vad") == {"generic_s01_001": "0.200000 0.400000 1.000000"}


def test_generic_full_size(fast_tmp):
    root = fast_tmp / "mine"
    expected = fake.build(root, np.random.default_rng(1), full=True, empty_audio=True, n=400)
    summary = corpora.prepare_corpus("generic", root, fast_tmp / "out",
                                     labels_file=expected["labels"], with_hours=False)
    assert summary["utterances"] == 400 and summary["with_dimensions"] == 400
    assert summary["with_category"] == expected["with_category"] == 300
    assert summary["speakers"] == 10


@pytest.mark.parametrize("table,message", [
    ("path,speaker,mood\nwav/s01_001.wav,a,hap\n",
     r"metadata\.csv:1: unknown column 'mood'"),
    ("path,category\nwav/s01_001.wav,hap\n",
     r"metadata\.csv:1: required column\(s\) \['speaker'\] missing"),
    ("Path,Speaker,path\nx,y,z\n", r"metadata\.csv:1: column 'path' appears twice"),
    ("path,speaker,valence,arousal,dominance\nwav/s01_001.wav,a,1,2,3\n"
     "wav/nope.wav,a,1,2,3\nwav/s01_002.wav,a,high,2,3\nwav/s02_002.wav,a,1,2,7\n"
     ",a,1,1,1\nwav/s01_002.wav,,1,1,1\n",
     r"metadata\.csv: 5 error\(s\):\n  metadata\.csv:3: path does not exist: wav/nope\.wav\n"
     r"  metadata\.csv:4: valence 'high' is not a number\n"
     r"  metadata\.csv:5: V/A/D .*outside the documented scale \[1\.0, 5\.0\]\n"
     r"  metadata\.csv:6: empty path\n  metadata\.csv:7: empty speaker"),
    ("path,speaker,utt_id\nwav/s01_001.wav,a,x\nwav/s01_002.wav,a,x\n",
     r"metadata\.csv:3: utterance id 'mycorpus_x' already used on line 2"),
    ("path,speaker,split\nwav/s01_001.wav,a,dev set\n",
     r"metadata\.csv:2: split 'dev set' has spaces"),
    ("path,speaker\nwav/s01_001.wav,a,extra\n", r"metadata\.csv:2: 3 cells, the header has 2"),
])
def test_generic_errors(tmp_path, table, message):
    root = tmp_path / "mine"
    expected = fake.build(root, np.random.default_rng(0))
    (root / "metadata.csv").write_text(table)
    prepare_fails("generic", root, message, labels_file=expected["labels"])
    assert not (tmp_path / "out").exists()


def test_generic_layout_errors(tmp_path):
    root = tmp_path / "mine"
    expected = fake.build(root, np.random.default_rng(0))
    labels = expected["labels"]
    (root / "metadata.tsv").write_text("path\tspeaker\n")
    prepare_fails("generic", root, "both metadata.csv and metadata.tsv", labels_file=labels)
    (root / "metadata.tsv").unlink()
    (root / "metadata.csv").unlink()
    prepare_fails("generic", root, "neither metadata.csv nor metadata.tsv", labels_file=labels)
    # V/A/D columns with a label map that has no dimensions
    (root / "metadata.csv").write_text("path,speaker,valence\nwav/s01_001.wav,a,3\n")
    labels.write_text("corpus: x\nclasses: [happy]\ncodes: {hap: happy}\ndimensions: null\n")
    prepare_fails("generic", root, r"metadata\.csv:2: V/A/D values given but the label map "
                  r".*labels\.yaml has 'dimensions: null'", labels_file=labels)
    labels.write_text("corpus: 'my corpus'\nclasses: []\ncodes: {}\ndimensions: null\n")
    prepare_fails("generic", root, "'my corpus' is not a valid id prefix", labels_file=labels)


def test_generic_table_as_root(tmp_path):
    root = tmp_path / "mine"
    expected = fake.build(root, np.random.default_rng(0))
    summary = corpora.prepare_corpus("generic", expected["table"], tmp_path / "out",
                                     labels_file=expected["labels"], with_hours=False)
    assert summary["utterances"] == 5
