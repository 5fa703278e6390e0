"""WHiSER parser on a fake tree with the real layout (corpora.md section 12)."""

import shutil

import numpy as np
import pytest

from fake_corpora import whiser as fake
from fake_corpora.common import build_and_prepare, dropped_lines, prepare_fails, read_kaldi


@pytest.mark.parametrize("layout,with_csv", [
    ("github", True), ("hf", True), ("nested", True), ("github", False)])
def test_whiser_small(tmp_path, layout, with_csv):
    expected, out, summary = build_and_prepare(fake, tmp_path / "whiser", layout=layout,
                                               with_csv=with_csv)
    assert summary["utterances"] == expected["utterances"] == 12
    assert summary["with_dimensions"] == 12  # C/O/X kept for V/A/D
    assert summary["classes"] == expected["classes"] == {
        "neutral": 2, "happy": 1, "sad": 1, "angry": 1, "surprised": 1, "fear": 1, "disgust": 1}
    wav = read_kaldi(out, "wav.scp")
    assert wav["whiser_006-040.1-2_13"] == str(
        (expected["wav_dir"] / "006-040.1-2_13.wav").resolve())
    cat = read_kaldi(out, "utt2cat")
    assert cat["whiser_rmn_e001a_10.1-2_12"] == "surprised"
    assert cat["whiser_rmn_e012c.1-2_143"] == "fear"
    for utt in ("004-017.1-2_2", "rmn_e465b_8.1-2_2144", "rmn_e465b_8.1-2_244",
                "rmn_e465b_8.1-2_263"):  # X, C, O, X
        assert "whiser_" + utt in wav and "whiser_" + utt not in cat
    vad = read_kaldi(out, "utt2vad")  # V A D from 1-7
    assert vad["whiser_rmn_e465b_8.1-2_244"] == "1.000000 0.000000 0.500000"
    assert vad["whiser_rmn_e027_18.1-2_0"] == "0.250000 0.500000 0.500000"
    assert vad["whiser_004-017.1-2_14"] == "0.481481 0.537037 0.555555"
    # speaker = source tape (SpkrID is Unknown everywhere); session = speaker; no split
    spk = read_kaldi(out, "utt2spk")
    assert spk["whiser_rmn_e001a_10.1-2_11"] == spk["whiser_rmn_e001a_10.1-2_12"] \
        == "whiser_rmn_e001a_10"
    assert spk["whiser_017-046b.1-2_8"] == "whiser_017-046b"
    assert spk["whiser_rmn_e012c.1-2_143"] == "whiser_rmn_e012c"
    assert summary["speakers"] == expected["speakers"] == 8
    assert read_kaldi(out, "utt2session") == spk
    assert not (out / "utt2split").exists() and not (out / "text").exists()
    dropped = dropped_lines(out)
    assert len(dropped) == 6
    assert "whiser_rmn_e465b_8.1-2_2144\tcategory code 'C' is not one of the 8 classes; " \
        "kept for its V/A/D only" in dropped
    assert sum("'X' is not one of the 8 classes" in d for d in dropped) == 2
    assert any(d.startswith("whiser_rmn_e466a_4.1-2_92\taudio file rmn_e466a_4.1-2_92.wav "
                            "not found") for d in dropped)
    assert any(d.endswith(fake.UNLABELLED + "\taudio file has no row in "
                          + ("labels_consensus.csv" if with_csv else "labels.txt"))
               for d in dropped)
    assert not any("._" in d for d in dropped)
    assert summary["hours"] > 0


def test_whiser_full_counts(tmp_path):
    expected, _, summary = build_and_prepare(fake, tmp_path / "whiser", 1, full=True)
    assert summary["utterances"] == 5427 == summary["paper_utterances"]
    assert summary["with_dimensions"] == 5427
    assert summary["with_category"] == 4454
    assert summary["classes"] == expected["classes"] == {
        "neutral": 3492, "happy": 345, "angry": 293, "sad": 284, "surprised": 33, "fear": 6,
        "disgust": 1}
    assert summary["speakers"] == 1089
    assert summary["dropped"] == 916 + 47 + 10  # X, O, C categories


def test_whiser_bad_inputs(tmp_path):
    root = tmp_path / "whiser"
    fake.build(root, np.random.default_rng(2))
    csv = root / "Labels" / "labels_consensus.csv"
    good = csv.read_text()
    csv.write_text(good.replace("006-040.1-2_13.wav,H,4.2,4.8,5.0,Unknown,Unknown,NA",
                                "006-040.1-2_13.wav,H,4.2,4.8,Unknown,Unknown,NA"))
    prepare_fails("whiser", root, r"labels_consensus\.csv:5: 7 fields")
    csv.write_text(good.replace("006-040.1-2_13.wav,H,4.2,", "006-040.1-2_13.wav,H,high,"))
    prepare_fails("whiser", root, r"labels_consensus\.csv:5: 'high' is not a number")
    # only labels.txt, with a malformed summary line
    csv.unlink()
    txt = root / "Labels" / "labels.txt"
    txt.write_text(txt.read_text().replace("006-040.1-2_13.wav; H; A:4.200000;",
                                           "006-040.1-2_13.wav; H; A=4.200000;"))
    prepare_fails("whiser", root, r"labels\.txt:\d+: malformed summary line")
    # the zip was not extracted
    shutil.rmtree(root / "Annotation_wav_files")
    (root / "Annotation_wav_files.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    prepare_fails("whiser", root, "extract Annotation_wav_files.zip")
    shutil.rmtree(root / "Labels")
    prepare_fails("whiser", root, "labels_consensus.csv")
