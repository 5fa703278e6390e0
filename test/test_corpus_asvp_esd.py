"""ASVP-ESD parser on a fake tree with the real layout (corpora.md section 11)."""

import numpy as np
import pytest

from espnet2_punser import corpora
from fake_corpora import asvp_esd as fake
from fake_corpora.common import (
    build_and_prepare,
    dropped_lines,
    dropped_pairs,
    prepare_fails,
    read_kaldi,
)


@pytest.mark.parametrize("top", ["ASVP-ESD-Update", ""])
def test_asvp_esd_small(tmp_path, top):
    expected, out, summary = build_and_prepare(fake, tmp_path / "asvp_esd", top=top)
    assert summary["utterances"] == expected["utterances"] == 18
    assert summary["classes"] == expected["classes"] == {
        "neutral": 2, "happy": 3, "sad": 4, "angry": 2, "surprised": 2, "fear": 2,
        "disgust": 1, "excited": 2}
    wav = read_kaldi(out, "wav.scp")
    assert sorted(wav) == expected["ids"]
    # the same name in Audio/ and Bonus/: both kept, under different ids
    same = "03-01-09-01-06-36-02-02-01-39"
    assert wav[f"asvp_esd_audio_{same}"].endswith(f"/Audio/actor_36/{same}.wav")
    assert wav[f"asvp_esd_bonus_{same}"].endswith(f"/Bonus/actor_150/{same}.wav")
    cat = read_kaldi(out, "utt2cat")
    assert cat[f"asvp_esd_audio_{same}"] == cat[f"asvp_esd_bonus_{same}"] == "excited"
    assert cat["asvp_esd_audio_03-01-02-01-03-36-03-03"] == "neutral"  # 8 fields
    assert cat["asvp_esd_bonus_03-02-04-01-09-50-04-01-00-14-77-02"] == "sad"  # 12 fields
    assert cat["asvp_esd_audio_03-02-05-01-22-100-02-01-00-15"] == "angry"
    assert cat["asvp_esd_audio_03-02-07-01-00-36-02-01-00-17"] == "disgust"
    assert cat["asvp_esd_audio_03-02-08-02-81-36-03-03-01-18"] == "surprised"
    assert cat["asvp_esd_audio_03-01-06-02-01-12-02-01-02"] == "fear"
    spk = read_kaldi(out, "utt2spk")
    # the speaker is the folder, not the name's actor field
    assert spk["asvp_esd_audio_03-02-05-01-22-100-02-01-00-15"] == "asvp_esd_101"
    assert spk[f"asvp_esd_bonus_{same}"] == "asvp_esd_150"
    assert spk[f"asvp_esd_audio_{same}"] == "asvp_esd_36"
    assert set(spk.values()) == {"asvp_esd_12", "asvp_esd_36", "asvp_esd_101", "asvp_esd_50",
                                 "asvp_esd_150"}
    assert summary["speakers"] == expected["speakers"] == 5
    assert read_kaldi(out, "utt2session") == spk
    assert not (out / "text").exists()
    dropped = dropped_pairs(out)
    codes = sorted(why.split("'")[1] for _, why in dropped if "category code" in why)
    assert codes == ["01", "01", "10", "11", "12", "13", "17"]
    assert sorted(item for item, why in dropped if "category code" in why) == sorted(
        f"asvp_esd_{p.lower()}_{n}" for p, _, n in expected["files"]
        if n.split("-")[2] in expected["dropped_codes"])
    stray = [item for item, why in dropped if "does not match" in why]
    assert stray == expected["stray"]
    assert len(dropped) == 8  # 7 codes + the stray copy; ._ fork and Readme.txt skipped
    assert any("2 files have an actor field" in n for n in summary["notes"])
    assert summary["hours"] > 0


def test_asvp_esd_second_copy_is_duplicate(tmp_path):
    root = tmp_path / "asvp_esd"
    fake.build(root, np.random.default_rng(0))
    fake.build(root / "backup", np.random.default_rng(0))
    out = tmp_path / "out"
    summary = corpora.prepare_corpus("asvp_esd", root, out, with_hours=False)
    assert summary["utterances"] == 18
    dropped = dropped_lines(out)
    dups = [line for line in dropped if "duplicate" in line]
    assert len(dups) == 25 and all("/backup/" in line.split("\t")[0] for line in dups)


def test_asvp_esd_full_counts(tmp_path):
    expected, _, summary = build_and_prepare(fake, tmp_path / "asvp_esd", 1, full=True)
    assert summary["utterances"] == 11679 == summary["paper_utterances"]
    assert summary["classes"] == {"neutral": 1598, "happy": 1868, "sad": 2694, "angry": 1453,
                                  "surprised": 1586, "fear": 1180, "disgust": 899,
                                  "excited": 401}
    assert summary["dropped"] == 13964 - 11679
    assert summary["speakers"] == expected["speakers"] == 133
    assert any("Audio 12,625, Bonus 1,339" in n for n in summary["notes"])
    assert any("968 files have an actor field" in n for n in summary["notes"])


def test_asvp_esd_missing_layout(tmp_path):
    (tmp_path / "asvp_esd" / "ASVP-ESD-Update" / "Audio").mkdir(parents=True)
    prepare_fails("asvp_esd", tmp_path / "asvp_esd", "actor_<N>")
