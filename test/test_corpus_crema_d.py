"""CREMA-D parser on a fake tree with the real layout (corpora.md section 3)."""

import numpy as np
import pytest

from espnet2_punser import corpora
from fake_corpora import crema_d as fake
from fake_corpora.common import build_and_prepare, dropped_lines, prepare_fails, read_kaldi


@pytest.mark.parametrize("extras,subdir", [(True, ""), (False, ""), (True, "CREMA-D")])
def test_crema_d_small(tmp_path, extras, subdir):
    expected, out, summary = build_and_prepare(fake, tmp_path / "crema_d", extras=extras,
                                               subdir=subdir)
    assert summary["utterances"] == expected["utterances"] == 27
    assert summary["classes"] == expected["classes"] == {
        "neutral": 5, "happy": 4, "sad": 4, "angry": 6, "fear": 4, "disgust": 4}
    assert summary["speakers"] == 3 and summary["sessions"] == 3
    wav = read_kaldi(out, "wav.scp")
    assert sorted(wav) == sorted(f"crema_d_{n}" for n in expected["names"])
    assert wav["crema_d_1001_IEO_ANG_LO"].endswith("/AudioWAV/1001_IEO_ANG_LO.wav")
    assert all(p.startswith("/") for p in wav.values())
    assert not any("AudioMP3" in p for p in wav.values())
    cat = read_kaldi(out, "utt2cat")
    assert cat["crema_d_1001_IEO_ANG_LO"] == "angry"
    assert cat["crema_d_1001_DFA_DIS_XX"] == "disgust"
    assert cat["crema_d_1002_IEO_NEU_XX"] == "neutral"
    assert cat["crema_d_1076_MTI_SAD_XX"] == "sad"  # silent file kept
    spk = read_kaldi(out, "utt2spk")
    assert spk["crema_d_1002_TSI_NEU_XX"] == "crema_d_1002"
    assert set(spk.values()) == {"crema_d_1001", "crema_d_1002", "crema_d_1076"}
    assert read_kaldi(out, "utt2session") == spk
    assert set(read_kaldi(out, "utt2corpus").values()) == {"crema_d"}
    text = read_kaldi(out, "text")
    assert text["crema_d_1001_IEO_ANG_HI"] == "It's eleven o'clock"
    assert text["crema_d_1001_ITH_ANG_XX"] == "I think I have a doctor's appointment"
    assert text["crema_d_1002_WSI_SAD_XX"] == "We'll stop in a couple of minutes"
    assert len(text) == 27
    assert read_kaldi(out, "utt2vad") == {}
    assert not (out / "utt2split").exists()
    dropped = dropped_lines(out)
    assert len(dropped) == 1  # the ._ fork is skipped silently
    assert dropped[0].split("\t")[0].endswith("AudioWAV/1001_DFA_ANG_XX_copy.wav")
    assert "does not match" in dropped[0]
    assert any("1076_MTI_SAD_XX" in n for n in summary["notes"])
    assert summary["hours"] > 0


def test_crema_d_root_is_audiowav(tmp_path):
    root = tmp_path / "crema_d"
    fake.build(root, np.random.default_rng(2))
    summary = corpora.prepare_corpus("crema_d", root / "AudioWAV", tmp_path / "out")
    assert summary["utterances"] == 27


def test_crema_d_lfs_pointers_noted(tmp_path):
    _, _, summary = build_and_prepare(fake, tmp_path / "crema_d", 3, lfs_pointers=True)
    assert summary["utterances"] == 27  # metadata only: the pointers are listed
    assert any("27 AudioWAV files are under 1 kB: Git LFS pointers?" in n
               for n in summary["notes"])
    assert summary["unreadable_headers"] == 27


def test_crema_d_full_counts(tmp_path):
    _, out, summary = build_and_prepare(fake, tmp_path / "crema_d", 1, full=True)
    assert summary["utterances"] == 7442 == summary["paper_utterances"]
    assert summary["classes"] == {"neutral": 1087, "happy": 1271, "sad": 1271, "angry": 1271,
                                  "fear": 1271, "disgust": 1271}
    assert summary["speakers"] == 91
    assert summary["dropped"] == 0
    assert len(read_kaldi(out, "text")) == 7442


def test_crema_d_missing_layout(tmp_path):
    (tmp_path / "crema_d" / "AudioMP3").mkdir(parents=True)
    prepare_fails("crema_d", tmp_path / "crema_d", "AudioWAV")
