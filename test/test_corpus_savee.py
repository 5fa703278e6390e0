"""SAVEE parser on fake trees with the real layouts (corpora.md section 4)."""

import numpy as np
import pytest

from espnet2_punser import corpora
from fake_corpora import savee as fake
from fake_corpora.common import build_and_prepare, dropped_pairs, prepare_fails, read_kaldi


@pytest.mark.parametrize("layout", fake.LAYOUTS)
def test_savee_small(tmp_path, layout):
    expected, out, summary = build_and_prepare(fake, tmp_path / "savee", layout=layout)
    # 4 speakers x (4 neutral + 6 x 2)
    assert summary["utterances"] == expected["utterances"] == 64
    assert summary["classes"] == expected["classes"] == {
        "neutral": 16, "happy": 8, "sad": 8, "angry": 8, "surprised": 8, "fear": 8, "disgust": 8}
    wav = read_kaldi(out, "wav.scp")
    assert sorted(wav) == sorted(expected["ids"])
    if layout in ("official", "nested_dup"):
        assert wav["savee_DC_a01"].endswith("/AudioData/DC/a01.wav")
        assert "/AudioData/AudioData/" not in "".join(wav.values())
    elif layout == "nested":
        assert wav["savee_DC_a01"].endswith("/AudioData/AudioData/DC/a01.wav")
    else:
        assert wav["savee_DC_a01"].endswith("/DC_a01.wav")
    cat = read_kaldi(out, "utt2cat")
    assert cat["savee_DC_a01"] == "angry"
    assert cat["savee_JE_d02"] == "disgust"
    assert cat["savee_JK_f01"] == "fear"
    assert cat["savee_KL_h02"] == "happy"
    assert cat["savee_KL_n04"] == "neutral"
    assert cat["savee_JE_sa01"] == "sad"
    assert cat["savee_JK_su02"] == "surprised"
    spk = read_kaldi(out, "utt2spk")
    assert spk["savee_JK_su02"] == "savee_JK"
    assert set(spk.values()) == {"savee_DC", "savee_JE", "savee_JK", "savee_KL"}
    assert read_kaldi(out, "utt2session") == spk  # leave-one-speaker-out folds
    assert not (out / "text").exists() and not (out / "utt2split").exists()
    dropped = dropped_pairs(out)
    assert sorted(item for item, _ in dropped) == sorted(expected["dropped_paths"])
    assert all(why.startswith("duplicate") for _, why in dropped)
    if layout == "nested_dup":
        assert len(dropped) == 64
    assert summary["hours"] > 0


def test_savee_stray_files(tmp_path):
    root = tmp_path / "savee"
    fake.build(root, np.random.default_rng(5), layout="official")
    (root / "AudioData" / "XX").mkdir()
    (root / "AudioData" / "XX" / "a01.wav").write_bytes(b"")  # not a speaker folder
    (root / "AudioData" / "DC" / "a01 (1).wav").write_bytes(b"")  # not the pattern
    out = tmp_path / "out"
    summary = corpora.prepare_corpus("savee", root, out, with_hours=False)
    assert summary["utterances"] == 64
    reasons = sorted(reason for _, reason in dropped_pairs(out))
    assert len(reasons) == 2
    assert "does not match" in reasons[0] and "not in a speaker folder" in reasons[1]


@pytest.mark.parametrize("layout", ["official", "flat"])
def test_savee_full_counts(tmp_path, layout):
    _, _, summary = build_and_prepare(fake, tmp_path / "savee", 1, full=True, layout=layout)
    assert summary["utterances"] == 480 == summary["paper_utterances"]
    assert summary["classes"] == {"neutral": 120, "happy": 60, "sad": 60, "angry": 60,
                                  "surprised": 60, "fear": 60, "disgust": 60}
    assert summary["speakers"] == 4 and summary["sessions"] == 4
    assert summary["dropped"] == 0


def test_savee_missing_layout(tmp_path):
    (tmp_path / "savee" / "AudioData").mkdir(parents=True)
    prepare_fails("savee", tmp_path / "savee", "AudioData/<SPK>")
