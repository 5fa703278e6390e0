"""MELD parser on a fake tree with the real layouts (corpora.md section 7)."""

from pathlib import Path

import numpy as np
import pytest

from espnet2_punser.audio import read_audio
from fake_corpora import meld as fake
from fake_corpora.common import build_and_prepare, dropped_pairs, prepare_fails, read_kaldi


@pytest.mark.parametrize("layout,broken", [("flat", "missing"), ("emobox", "present"),
                                           ("nkululeko", "missing"), ("meld_raw", "present")])
def test_meld_small(tmp_path, layout, broken):
    expected, out, summary = build_and_prepare(fake, tmp_path / "meld", layout=layout,
                                               broken=broken)

    assert expected["rows"] == {"train": 10, "dev": 4, "test": 5}
    assert summary["utterances"] == expected["utterances"] == 16
    assert summary["splits"] == expected["splits"] == {"train": 8, "dev": 3, "test": 5}
    assert summary["classes"] == expected["classes"] == {
        "neutral": 2, "happy": 4, "sad": 3, "angry": 2, "surprised": 2, "fear": 2,
        "disgust": 1}
    # the key is unique only within a split: ids carry the split
    wav = read_kaldi(out, "wav.scp")
    assert "meld_train_dia0_utt0" in wav and "meld_dev_dia0_utt0" in wav \
        and "meld_test_dia0_utt0" in wav
    assert wav["meld_train_dia0_utt0"] == str(
        (Path(expected["folders"]["train"]) / "dia0_utt0.mp4").resolve())
    # twins: the plain copy is kept; a clip that exists only prefixed is used
    assert wav["meld_test_dia93_utt6"].endswith("output_repeated_splits_test/dia93_utt6.mp4")
    assert wav["meld_test_dia93_utt5"].endswith(
        "output_repeated_splits_test/final_videos_testdia93_utt5.mp4")

    cat = read_kaldi(out, "utt2cat")
    assert cat["meld_train_dia0_utt0"] == "surprised"
    assert cat["meld_train_dia0_utt2"] == "happy"
    assert cat["meld_train_dia1_utt1"] == "sad"
    assert cat["meld_dev_dia0_utt0"] == "sad"
    assert cat["meld_test_dia0_utt1"] == "angry"
    assert read_kaldi(out, "utt2vad") == {}

    split = read_kaldi(out, "utt2split")
    assert split["meld_train_dia125_utt2"] == "train"
    assert split["meld_dev_dia110_utt6"] == "dev"
    assert split["meld_test_dia93_utt7"] == "test"

    # speakers: character names, prefixed and sanitised; they cross splits
    spk = read_kaldi(out, "utt2spk")
    assert spk["meld_train_dia1_utt1"] == "meld_Mrs._Green"
    assert spk["meld_train_dia0_utt1"] == "meld_The_Interviewer"
    assert spk["meld_train_dia1_utt2"] == "meld_Rachel_s_Date"
    assert spk["meld_test_dia0_utt1"] == "meld_Dr._Harad"
    assert {split[u] for u, s in spk.items() if s == "meld_Joey"} == {"train", "dev", "test"}
    assert summary["speakers"] == len(expected["speakers"]) == 10
    assert read_kaldi(out, "utt2session") == spk

    text = read_kaldi(out, "text")
    assert text["meld_train_dia1_utt0"] == \
        "Why do all you’re coffee mugs have numbers on the bottom?"
    assert text["meld_train_dia1_utt2"] == "What?! “Really?”"

    dropped = dict(dropped_pairs(out))
    state = "present but broken" if broken == "present" else "missing"
    assert dropped["meld_train_dia125_utt3"].startswith(f"known broken clip ({state}")
    assert dropped["meld_dev_dia110_utt7"].startswith(f"known broken clip ({state}")
    assert sum("known broken" in n for n in summary["notes"]) == 2
    assert dropped["meld_train_dia7_utt0"] == "no clip in train_splits/"
    twin = str(Path(expected["folders"]["test"]) / "final_videos_testdia93_utt6.mp4")
    assert dropped[twin] == "final_videos_test twin of a plain clip (kept the plain copy)"
    assert dropped[expected["junk"][0]].startswith("not a MELD clip name")
    assert dropped[expected["no_row"][0]] == "no row in train_sent_emo.csv"
    assert len(dropped) == 6  # ._* files are skipped silently
    assert summary["hours"] > 0  # mp4 headers read through PyAV


def test_meld_clips_decode(tmp_path):
    """The small fake's clips are real mp4 (AAC, 48 kHz, 6 or 2 channels)."""
    root = tmp_path / "meld"
    fake.build(root, np.random.default_rng(1))
    channels = set()
    for name in ("dia0_utt0.mp4", "dia0_utt1.mp4"):
        x, fs = read_audio(root / "train_splits" / name)
        assert fs == 48000 and x.shape[0] > 10000
        channels.add(x.shape[1])
    assert channels == {2, 6}


def test_meld_full_counts(tmp_path):
    expected, _, summary = build_and_prepare(fake, tmp_path / "MELD", 2, full=True,
                                             layout="meld_raw")
    assert expected["rows"] == {"train": 9989, "dev": 1109, "test": 2610}
    assert summary["utterances"] == 13706 == summary["paper_utterances"]
    assert summary["splits"] == {"train": 9988, "dev": 1108, "test": 2610}
    assert summary["classes"] == {"neutral": 6434, "happy": 2308, "surprised": 1636,
                                  "angry": 1607, "sad": 1002, "disgust": 361, "fear": 358}
    reasons = summary["dropped_reasons"]
    assert sum(v for k, v in reasons.items() if k.startswith("known broken clip")) == 2
    assert reasons["final_videos_test twin of a plain clip (kept the plain copy)"] == \
        expected["twins"]


def test_meld_missing_layout(tmp_path):
    root = tmp_path / "meld"
    fake.build(root, np.random.default_rng(3))
    (root / "dev_sent_emo.csv").unlink()
    prepare_fails("meld", root, "dev_sent_emo.csv")


def test_meld_malformed_row(tmp_path):
    root = tmp_path / "meld"
    fake.build(root, np.random.default_rng(4))
    p = root / "test_sent_emo.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",93,5,", ",x93,5,")
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    prepare_fails("meld", root, r"test_sent_emo\.csv:4: Dialogue_ID")


def test_meld_bad_header(tmp_path):
    root = tmp_path / "meld"
    fake.build(root, np.random.default_rng(5))
    p = root / "train_sent_emo.csv"
    p.write_text(p.read_text(encoding="utf-8").replace("Emotion", "Emo", 1), encoding="utf-8")
    prepare_fails("meld", root, r"train_sent_emo\.csv:1: .*Emotion")


def test_format_stage_decodes_meld_mp4_to_16k_mono(tmp_path):
    """The format stage turns MELD's mp4 video (AAC, 48 kHz, 5.1 or stereo) into 16 kHz
    mono wavs with PyAV's FFmpeg: no system ffmpeg needed."""
    import soundfile

    from espnet2_punser.bin.format_wav import main as format_wav

    _, out, _ = build_and_prepare(fake, tmp_path / "meld", layout="flat", broken="missing")
    fmt = tmp_path / "format"
    assert format_wav(["--wav_scp", str(out / "wav.scp"), "--audio_dir", str(tmp_path / "audio"),
                       "--out_dir", str(fmt)]) == 0
    accepted = read_kaldi(fmt, "wav.scp")
    assert set(accepted) == set(read_kaldi(out, "wav.scp"))  # every clip decoded
    assert (fmt / "rejected.txt").read_text() == ""
    nsamp = read_kaldi(fmt, "utt2num_samples")
    for utt, path in accepted.items():
        info = soundfile.info(path)
        assert info.samplerate == 16000 and info.channels == 1
        assert info.frames == int(nsamp[utt])
        src = read_audio(read_kaldi(out, "wav.scp")[utt])[0]
        assert abs(info.frames - src.shape[0] / 3) <= 2  # 48 kHz -> 16 kHz, same duration
