"""IEMOCAP parser on a fake tree with the real layout (corpora.md section 6)."""

import numpy as np
import pytest

from espnet2_punser import corpora
from fake_corpora import iemocap as fake
from fake_corpora.common import build_and_prepare, dropped_lines, prepare_fails, read_kaldi


@pytest.mark.parametrize("release_dir", ["", "IEMOCAP_full_release"])
def test_iemocap_small(tmp_path, release_dir):
    expected, out, summary = build_and_prepare(fake, tmp_path / "iemocap",
                                               release_dir=release_dir)

    # every labelled turn with audio is kept (for V/A/D at least); 10 of 14 have a class
    assert summary["utterances"] == expected["utterances"] == 14
    assert summary["with_dimensions"] == 14
    assert summary["with_category"] == expected["with_category"] == 11
    assert summary["classes"] == expected["classes"] == {
        "neutral": 2, "happy": 1, "sad": 1, "angry": 2, "surprised": 1, "fear": 1,
        "disgust": 1, "excited": 2}
    wav = read_kaldi(out, "wav.scp")
    assert sorted(wav) == sorted(f"iemocap_{u}" for u, *_, a in fake.SMALL if a)
    assert wav["iemocap_Ses05M_impro05b_F003"].endswith(
        "Session5/sentences/wav/Ses05M_impro05b/Ses05M_impro05b_F003.wav")
    assert wav["iemocap_Ses01F_script01_1_M012"].endswith(
        "Session1/sentences/wav/Ses01F_script01_1/Ses01F_script01_1_M012.wav")

    cat = read_kaldi(out, "utt2cat")
    assert cat["iemocap_Ses01F_impro01_F000"] == "neutral"
    assert cat["iemocap_Ses01F_script01_1_M012"] == "angry"
    assert cat["iemocap_Ses05M_impro05b_F003"] == "excited"
    assert cat["iemocap_Ses03F_impro03_F001"] == "disgust"
    for u in ("Ses01F_impro01_M000", "Ses01F_impro01_M001", "Ses04M_script02_2_F010"):
        assert f"iemocap_{u}" not in cat  # fru / xxx / oth: no category ...
        assert f"iemocap_{u}" in wav  # ... but kept for V/A/D

    # [V, A, D] on 1-5 -> [0, 1], in that order
    vad = {k: [float(x) for x in v.split()] for k, v in read_kaldi(out, "utt2vad").items()}
    assert vad["iemocap_Ses01F_impro01_F000"] == [0.375, 0.375, 0.375]
    assert vad["iemocap_Ses01F_impro01_M000"] == [0.25, 0.625, 0.625]  # fru, V/A/D kept
    assert vad["iemocap_Ses01F_script01_1_M012"] == [0.125, 0.75, 0.875]
    assert vad["iemocap_Ses05M_impro05b_M004"] == [0.0, 1.0, 1.0]
    assert vad["iemocap_Ses05M_impro05b_F003"] == pytest.approx([0.583325, 0.666675, 0.5])

    # speaker = session + F/M of the LAST field; session = Ses0n
    spk = read_kaldi(out, "utt2spk")
    assert spk["iemocap_Ses01F_impro01_M000"] == "iemocap_Ses01M"
    assert spk["iemocap_Ses01F_impro01_F000"] == "iemocap_Ses01F"
    assert spk["iemocap_Ses05M_impro05b_F003"] == "iemocap_Ses05F"
    assert spk["iemocap_Ses02M_impro02_F000"] == "iemocap_Ses02F"
    assert spk["iemocap_Ses01F_script01_1_M012"] == "iemocap_Ses01M"
    assert summary["speakers"] == expected["speakers"] == 10
    sess = read_kaldi(out, "utt2session")
    assert sess["iemocap_Ses01F_impro01_M000"] == "iemocap_Ses01"
    assert sess["iemocap_Ses05M_impro05b_F003"] == "iemocap_Ses05"
    assert set(sess.values()) == {f"iemocap_Ses0{i}" for i in range(1, 6)}
    assert read_kaldi(out, "utt2split") == {}  # no official split

    text = read_kaldi(out, "text")
    assert text["iemocap_Ses01F_impro01_F000"] == "Excuse me."
    assert text["iemocap_Ses01F_script01_1_M012"] == \
        "What the hell is that supposed to mean? [BREATHING]"
    assert text["iemocap_Ses02M_impro02_F000"] == "words of ses02m_impro02_f000"
    assert not any("XX0" in k for k in text)

    dropped = dropped_lines(out)
    assert dropped[0].startswith("iemocap_Ses01F_impro01_M000\tcategory code 'fru'")
    assert sum("kept for its V/A/D only" in line for line in dropped) == 3
    assert sum("'xxx'" in line for line in dropped) == 1
    assert sum("'oth'" in line for line in dropped) == 1
    assert [line.split("\t")[0] for line in dropped if "audio file not found" in line] == \
        ["iemocap_Ses05F_impro08a_F000"]
    assert len(dropped) == 4  # ._* junk, rater sub-folders, dialog wavs: nothing else
    assert summary["hours"] > 0


def test_iemocap_full_counts(tmp_path):
    expected, out, summary = build_and_prepare(fake, tmp_path / "IEMOCAP_full_release", 1,
                                               full=True)
    assert summary["utterances"] == 10039 == summary["paper_utterances"]
    assert summary["with_dimensions"] == 10039
    assert summary["with_category"] == 5680
    assert summary["classes"] == {"neutral": 1708, "happy": 595, "sad": 1084, "angry": 1103,
                                  "surprised": 107, "fear": 40, "disgust": 2, "excited": 1041}
    assert summary["speakers"] == 10
    assert summary["sessions"] == 5
    # the 4-class set (excited merged into happy): 5,531, per session as in EmoBox
    cat = read_kaldi(out, "utt2cat")
    sess = read_kaldi(out, "utt2session")
    four = [u for u, c in cat.items() if c in ("neutral", "happy", "excited", "sad", "angry")]
    assert len(four) == 5531 == expected["four_class"]
    per_session = {}
    for u in four:
        per_session[sess[u]] = per_session.get(sess[u], 0) + 1
    assert per_session == {"iemocap_Ses01": 1085, "iemocap_Ses02": 1023,
                           "iemocap_Ses03": 1151, "iemocap_Ses04": 1031,
                           "iemocap_Ses05": 1241}
    reasons = summary["dropped_reasons"]
    assert reasons["category code 'xxx' is not one of the 8 classes; kept for its V/A/D only"] \
        == 2507
    assert reasons["category code 'fru' is not one of the 8 classes; kept for its V/A/D only"] \
        == 1849
    assert reasons["category code 'oth' is not one of the 8 classes; kept for its V/A/D only"] \
        == 3


def test_iemocap_unlabelled_wav_and_partial_copy(tmp_path):
    root = tmp_path / "iemocap"
    fake.build(root, np.random.default_rng(2))
    extra = root / "Session2/sentences/wav/Ses02M_impro02/Ses02M_impro02_M005.wav"
    extra.write_bytes(b"")
    import shutil

    shutil.rmtree(root / "Session4")
    out = tmp_path / "out"
    summary = corpora.prepare_corpus("iemocap", root, out, with_hours=False)
    assert summary["utterances"] == 12
    dropped = (out / "dropped.txt").read_text()
    assert f"{extra}\tno label line in dialog/EmoEvaluation" in dropped
    assert any("[4]" in n for n in summary["notes"])


def test_iemocap_malformed_label_line(tmp_path):
    root = tmp_path / "iemocap"
    fake.build(root, np.random.default_rng(3))
    lab = root / "Session2/dialog/EmoEvaluation/Ses02M_impro02.txt"
    lines = lab.read_text().splitlines()
    lines[2] = lines[2].replace("[1.0000, 1.5000, 2.0000]", "[1.0000, 1.5000]")
    lab.write_text("\n".join(lines) + "\n")
    prepare_fails("iemocap", root, r"Ses02M_impro02\.txt:3: malformed")


def test_iemocap_vad_outside_scale(tmp_path):
    root = tmp_path / "iemocap"
    fake.build(root, np.random.default_rng(4))
    lab = root / "Session3/dialog/EmoEvaluation/Ses03F_impro03.txt"
    lab.write_text(lab.read_text().replace("[1.5000, 3.5000, 1.5000]", "[1.5000, 5.5000, 1.5000]"))
    prepare_fails("iemocap", root, r"Ses03F_impro03\.txt:3: V/A/D")


def test_iemocap_missing_layout(tmp_path):
    (tmp_path / "iemocap" / "Session1").mkdir(parents=True)
    prepare_fails("iemocap", tmp_path / "iemocap", "EmoEvaluation")
