"""RAVDESS parser on a fake tree with the real layout (corpora.md section 2)."""

import pytest

from fake_corpora import ravdess as fake
from fake_corpora.common import build_and_prepare, dropped_pairs, prepare_fails, read_kaldi


@pytest.mark.parametrize("placement", sorted(fake.PLACEMENTS))
def test_ravdess_small(tmp_path, placement):
    expected, out, summary = build_and_prepare(fake, tmp_path / "ravdess", placement=placement)
    # 2 actors x 60 files, 2 x 8 calm dropped
    assert summary["utterances"] == expected["utterances"] == 104
    assert summary["classes"] == expected["classes"] == {
        "neutral": 8, "happy": 16, "sad": 16, "angry": 16, "surprised": 16, "fear": 16,
        "disgust": 16}
    wav = read_kaldi(out, "wav.scp")
    assert sorted(wav) == sorted(f"ravdess_{n}" for n in expected["kept"])
    assert wav["ravdess_03-01-05-02-01-01-02"].endswith("/Actor_02/03-01-05-02-01-01-02.wav")
    cat = read_kaldi(out, "utt2cat")
    assert cat["ravdess_03-01-01-01-01-01-01"] == "neutral"
    assert cat["ravdess_03-01-06-02-02-02-01"] == "fear"
    assert cat["ravdess_03-01-08-01-01-01-02"] == "surprised"
    assert cat["ravdess_03-01-07-01-01-01-02"] == "disgust"
    assert "ravdess_03-01-02-01-01-01-01" not in wav  # calm
    spk = read_kaldi(out, "utt2spk")
    assert spk["ravdess_03-01-05-02-01-01-02"] == "ravdess_02"
    assert set(spk.values()) == {"ravdess_01", "ravdess_02"}
    assert read_kaldi(out, "utt2session") == spk
    text = read_kaldi(out, "text")
    assert text["ravdess_03-01-03-01-01-02-01"] == "Kids are talking by the door"
    assert text["ravdess_03-01-03-01-02-02-01"] == "Dogs are sitting by the door"
    dropped = dropped_pairs(out)
    calm = [item for item, why in dropped if "'02'" in why]
    assert sorted(calm) == sorted(f"ravdess_{n}" for n in expected["names"]
                                  if n.split("-")[2] == "02")
    assert len(calm) == expected["calm"] == 16
    dups = sorted(item for item, why in dropped if why.startswith("duplicate"))
    assert dups == sorted(expected["dropped_paths"])
    assert len(dropped) == len(calm) + len(dups)  # the ._ fork is skipped silently
    assert summary["hours"] > 0


def test_ravdess_song_files_dropped(tmp_path):
    expected, out, summary = build_and_prepare(fake, tmp_path / "ravdess", 3,
                                               placement="zenodo_dir", with_song=True)
    assert summary["utterances"] == 104
    dropped = dropped_pairs(out)
    song = sorted(item for item, why in dropped if "not audio-only speech" in why)
    assert song == sorted(expected["dropped_paths"]) and len(song) == 3


def test_ravdess_full_counts(tmp_path):
    _, _, summary = build_and_prepare(fake, tmp_path / "ravdess", 1, full=True,
                                      placement="emobox")
    assert summary["utterances"] == 1248 == summary["paper_utterances"]
    assert summary["classes"] == {"neutral": 96, "happy": 192, "sad": 192, "angry": 192,
                                  "surprised": 192, "fear": 192, "disgust": 192}
    assert summary["speakers"] == 24
    assert summary["dropped"] == 192
    assert summary["dropped_reasons"] == {"category code '02' is not one of the 8 classes": 192}


def test_ravdess_missing_layout(tmp_path):
    (tmp_path / "ravdess" / "Actor_01").mkdir(parents=True)
    prepare_fails("ravdess", tmp_path / "ravdess", "Actor_NN/03-01")
