"""JTES parser on a fake tree with the layout of corpora.md section 15."""

import numpy as np
import pytest

from espnet2_punser import corpora
from espnet2_punser.audio import audio_info
from fake_corpora import jtes as fake
from fake_corpora.common import (
    build_and_prepare,
    dropped_lines,
    dropped_pairs,
    prepare_fails,
    read_kaldi,
)


@pytest.mark.parametrize("top", sorted(fake.TOPS))
def test_jtes_small(tmp_path, top):
    expected, out, summary = build_and_prepare(fake, tmp_path / "jtes", top=top)
    # 3 speakers x 4 emotions x 2 sentences
    assert summary["utterances"] == expected["utterances"] == 24
    assert summary["classes"] == expected["classes"] == {
        "neutral": 6, "happy": 6, "sad": 6, "angry": 6}
    wav = read_kaldi(out, "wav.scp")
    assert sorted(wav) == sorted(f"jtes_{n}" for n in expected["names"])
    assert wav["jtes_f01_ang_01"].endswith("/wav/f01/ang/f01_ang_01.wav")
    assert audio_info(wav["jtes_f01_ang_01"]).fs == fake.TOPS[top]  # any rate is accepted
    cat = read_kaldi(out, "utt2cat")
    assert cat["jtes_f01_ang_01"] == "angry"
    assert cat["jtes_f50_joy_50"] == "happy"
    assert cat["jtes_m01_neu_01"] == "neutral"
    assert cat["jtes_m01_sad_50"] == "sad"
    spk = read_kaldi(out, "utt2spk")
    assert spk["jtes_m01_sad_50"] == "jtes_m01"  # not "1": f01 and m01 are different people
    assert sorted(set(spk.values())) == sorted(expected["speaker_ids"])
    assert read_kaldi(out, "utt2session") == spk
    assert not (out / "text").exists() and not (out / "utt2split").exists()
    assert (out / "dropped.txt").read_text() == ""  # the ._ fork is skipped silently
    assert summary["hours"] > 0


def test_jtes_root_is_wav_dir_and_mislabelled_file(tmp_path):
    root = tmp_path / "jtes"
    fake.build(root, np.random.default_rng(2))
    wav_dir = root / "jtes_v1.1" / "wav"
    (wav_dir / "f01" / "sad" / "f01_ang_01.wav").write_bytes(b"")  # folder and name disagree
    (wav_dir / "f01" / "sad" / "f01_sad_01 copy.wav").write_bytes(b"")
    out = tmp_path / "out"
    summary = corpora.prepare_corpus("jtes", wav_dir, out, with_hours=False)
    assert summary["utterances"] == 24
    dropped = dict(dropped_pairs(out))
    assert dropped == {
        str(wav_dir / "f01" / "sad" / "f01_ang_01.wav"):
            "the folder says 'sad', the file name 'ang'",
        str(wav_dir / "f01" / "sad" / "f01_sad_01 copy.wav"):
            "file name does not match the JTES pattern <spk>_<emo>_<NN>.wav",
    }


def test_jtes_resampled_copy_is_duplicate(tmp_path):
    root = tmp_path / "jtes"
    fake.build(root, np.random.default_rng(0), top="jtes_v1.1")
    fake.build(root, np.random.default_rng(0), top="jtes_v1.1_22k")
    out = tmp_path / "out"
    summary = corpora.prepare_corpus("jtes", root, out, with_hours=False)
    assert summary["utterances"] == 24
    assert all("/jtes_v1.1/wav/" in p for p in read_kaldi(out, "wav.scp").values())
    dropped = dropped_lines(out)
    assert len(dropped) == 24 and all("/jtes_v1.1_22k/" in line for line in dropped)


def test_jtes_full_counts(tmp_path):
    _, _, summary = build_and_prepare(fake, tmp_path / "jtes", 1, full=True)
    assert summary["utterances"] == 20000 == summary["paper_utterances"]
    assert summary["classes"] == {"neutral": 5000, "happy": 5000, "sad": 5000, "angry": 5000}
    assert summary["speakers"] == 100 == summary["sessions"]
    assert summary["dropped"] == 0


def test_jtes_missing_layout(tmp_path):
    (tmp_path / "jtes" / "jtes_v1.1" / "wav" / "f01").mkdir(parents=True)
    prepare_fails("jtes", tmp_path / "jtes", "wav/<spk>/<emo>")
