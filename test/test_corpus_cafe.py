"""CaFE parser on a fake tree with the real layout (corpora.md section 5)."""

import pytest

from fake_corpora import cafe as fake
from fake_corpora.common import (
    build_and_prepare,
    dropped_lines,
    dropped_pairs,
    prepare_fails,
    read_kaldi,
)

SMALL_CLASSES = {"neutral": 4, "happy": 8, "sad": 8, "angry": 8, "surprised": 8, "fear": 8,
                 "disgust": 8}


@pytest.mark.parametrize("folder_names", ["utf8", "emobox", "nkululeko"])
@pytest.mark.parametrize("release,top", [("48k", "CaFE_48k"), ("192k", "CaFE_192k"),
                                         ("both", "CaFE"), ("48k", "")])
def test_cafe_small(tmp_path, folder_names, release, top):
    expected, out, summary = build_and_prepare(fake, tmp_path / "cafe", folder_names=folder_names,
                                               release=release, top=top)
    # 2 actors x 2 sentences x 13
    assert summary["utterances"] == expected["utterances"] == 52
    assert summary["classes"] == expected["classes"] == SMALL_CLASSES
    wav = read_kaldi(out, "wav.scp")
    assert sorted(wav) == sorted(f"cafe_{n}" for n in expected["ids"])
    ext = ".aiff" if release == "192k" else ".wav"
    assert all(p.endswith(ext) for p in wav.values())
    angry = wav["cafe_01-C-2-1"]
    assert angry.endswith(f"/{expected['folders']['C']}/Fort/01-C-2-1{ext}")
    assert wav["cafe_02-N-1-2"].endswith(f"/Neutre/02-N-1-2{ext}")
    cat = read_kaldi(out, "utt2cat")  # labels from names, whatever the folders are called
    assert cat["cafe_01-C-2-1"] == "angry"
    assert cat["cafe_01-D-1-2"] == "disgust"
    assert cat["cafe_02-J-1-1"] == "happy"
    assert cat["cafe_02-N-1-2"] == "neutral"
    assert cat["cafe_01-P-2-1"] == "fear"
    assert cat["cafe_01-S-1-1"] == "surprised"
    assert cat["cafe_02-T-2-2"] == "sad"
    spk = read_kaldi(out, "utt2spk")
    assert spk["cafe_02-T-2-2"] == "cafe_02"
    assert set(spk.values()) == {"cafe_01", "cafe_02"} and summary["speakers"] == 2
    assert read_kaldi(out, "utt2session") == spk
    text = read_kaldi(out, "text")
    assert text["cafe_01-C-2-1"] == "Un cheval fou dans mon jardin"
    assert text["cafe_02-N-1-2"] == "Deux ânes aigris au pelage brun"
    dropped = dropped_pairs(out)
    assert sorted(item for item, _ in dropped) == sorted(expected["dropped_paths"])
    if release == "both":
        assert len(dropped) == 52
        assert {why for _, why in dropped} == {"duplicate: the .wav file of the same id is kept"}
    else:
        assert dropped == []  # ._ fork and .DS_Store skipped silently
    assert summary["hours"] > 0


def test_cafe_undecodable_folder_names(tmp_path):
    """Folders unzipped as raw CP437 bytes cannot go into wav.scp: dropped, with a note."""
    expected, out, summary = build_and_prepare(fake, tmp_path / "cafe", 4, folder_names="raw")
    assert summary["utterances"] == expected["utterances"] == 52 - 16
    assert "angry" not in summary["classes"] and "disgust" not in summary["classes"]
    dropped = dropped_lines(out)
    assert len(dropped) == expected["undecodable"] == 16
    assert all("\\x8a" in line or "\\x82" in line for line in dropped)
    assert any("convmv" in n for n in summary["notes"])


def test_cafe_full_counts(tmp_path):
    _, _, summary = build_and_prepare(fake, tmp_path / "cafe", 1, full=True,
                                      folder_names="emobox")
    assert summary["utterances"] == 936 == summary["paper_utterances"]
    assert summary["classes"] == {"neutral": 72, "happy": 144, "sad": 144, "angry": 144,
                                  "surprised": 144, "fear": 144, "disgust": 144}
    assert summary["speakers"] == 12
    assert summary["dropped"] == 0


def test_cafe_missing_layout(tmp_path):
    (tmp_path / "cafe" / "Neutre").mkdir(parents=True)
    (tmp_path / "cafe" / "Neutre" / "readme.txt").write_text("x")
    prepare_fails("cafe", tmp_path / "cafe", "NN-E-I-S")
