"""MSP-Podcast parser on a fake tree with the real layout (corpora.md section 8)."""

import shutil

import numpy as np
import pytest

from fake_corpora import msp_podcast as fake
from fake_corpora.common import build_and_prepare, dropped_lines, prepare_fails, read_kaldi

P = "msp_podcast_MSP-PODCAST_"


@pytest.mark.parametrize("audio_dir,labels_name,dev_name,test3,release_dir", [
    ("Audios", "labels_consensus.csv", "Development", "present", None),
    ("Audio", "labels_concensus.csv", "Validation", "missing", None),
    ("Audios", "labels_concensus.csv", "Development", "empty", "MSP-PODCAST-Publish-1.11"),
])
def test_msp_podcast_small(tmp_path, audio_dir, labels_name, dev_name, test3, release_dir):
    root = tmp_path / "msp_podcast"
    expected, out, summary = build_and_prepare(fake, root, audio_dir=audio_dir,
                                               labels_name=labels_name, dev_name=dev_name,
                                               test3=test3, release_dir=release_dir)
    # Train rows only (14 with audio), all kept: C/O/X rows keep their V/A/D
    assert summary["utterances"] == expected["utterances"] == 14
    assert summary["with_dimensions"] == 14
    assert summary["classes"] == expected["classes"] == {
        "neutral": 3, "happy": 2, "sad": 1, "angry": 1, "surprised": 1, "fear": 1, "disgust": 1}
    assert summary["with_category"] == 10
    wav = read_kaldi(out, "wav.scp")
    assert len(wav) == 14
    assert wav[P + "0001_0008"] == str((root / (release_dir or "") / audio_dir /
                                        "MSP-PODCAST_0001_0008.wav").resolve())
    cat = read_kaldi(out, "utt2cat")
    assert cat[P + "0001_0008"] == "neutral"
    assert cat[P + "0002_0002"] == "surprised"
    assert cat[P + "0003_0001"] == "disgust"
    assert cat[P + "0047_0295_0001"] == "neutral"  # three-part name
    for code_utt in ("0003_0002", "0003_0003", "0003_0004", "0153_0011"):  # C, O, X, X
        assert P + code_utt in wav and P + code_utt not in cat
    # V/A/D order: EmoVal, EmoAct, EmoDom, min-max scaled from 1-7
    vad = read_kaldi(out, "utt2vad")
    assert vad[P + "0001_0008"] == "0.500000 0.250000 0.750000"  # V 4.0, A 2.5, D 5.5
    assert vad[P + "0003_0004"] == "1.000000 0.000000 0.500000"  # V 7.0, A 1.0, D 4.0
    # speakers: SpkrID; Unknown -> one pseudo-speaker per podcast; session = speaker
    spk = read_kaldi(out, "utt2spk")
    assert spk[P + "0001_0008"] == "msp_podcast_30"
    assert spk[P + "0002_0002"] == "msp_podcast_127"
    assert spk[P + "0153_0010"] == spk[P + "0153_0011"] == "msp_podcast_unk0153"
    assert spk[P + "0154_0001"] == "msp_podcast_unk0154"
    assert summary["speakers"] == expected["speakers"] == 5
    assert read_kaldi(out, "utt2session") == spk
    assert set(read_kaldi(out, "utt2split").values()) == {"Train"}
    assert read_kaldi(out, "utt2corpus")[P + "0001_0008"] == "msp_podcast"
    # transcripts
    text = read_kaldi(out, "text")
    assert text[P + "0001_0008"] == "so I think that's what we do"
    assert text[P + "0153_0010"] == "yeah absolutely"
    assert text[P + "0002_0001"] == "<none>"
    # dropped: 4 C/O/X categories, the Train row without audio, the wav without a row
    dropped = dropped_lines(out)
    assert len(dropped) == 6
    assert f"{P}0003_0002\tcategory code 'C' is not one of the 8 classes; kept for its V/A/D only" \
        in dropped
    assert sum("'X' is not one of the 8 classes" in d for d in dropped) == 2
    assert sum("'O' is not one of the 8 classes" in d for d in dropped) == 1
    assert any(d.startswith(P + "0004_0001\taudio file MSP-PODCAST_0004_0001.wav not found")
               for d in dropped)
    assert any("MSP-PODCAST_9999_0001.wav\taudio file has no row in " + labels_name in d
               for d in dropped)
    assert not any("._" in d for d in dropped)
    # other splits: one note with their counts, nothing in dropped.txt
    n_other = 8 if test3 != "missing" else 6
    note = summary["notes"][0]
    assert note.startswith(f"{n_other:,} rows outside the Train split are not used")
    assert f"{dev_name} 2" in note and "Test1 2" in note and "Test2 2" in note
    assert ("Test3 2" in note) == (test3 != "missing")
    assert expected["other_splits"].get(dev_name) == 2
    assert summary["hours"] > 0


def test_msp_podcast_full_counts(tmp_path):
    expected, out, summary = build_and_prepare(fake, tmp_path / "msp_podcast", 1, full=True)
    assert summary["utterances"] == 84030 == summary["paper_utterances"]
    assert summary["speakers"] == 1409
    assert summary["with_dimensions"] == 84030
    assert summary["classes"] == expected["classes"]
    assert summary["splits"] == {"Train": 84030}
    assert summary["notes"][0].startswith("80 rows outside the Train split")
    dropped = dropped_lines(out)
    # the C/O/X rows and the one unlabelled wav
    assert len(dropped) == expected["dropped_codes"] + 1


def test_msp_podcast_bad_inputs(tmp_path):
    root = tmp_path / "msp_podcast"
    fake.build(root, np.random.default_rng(2))
    csv = root / "Labels" / "labels_consensus.csv"
    good = csv.read_text()
    # a row with a missing field -> the file and line are named
    lines = good.splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]
    csv.write_text("\n".join(lines) + "\n")
    prepare_fails("msp_podcast", root, r"labels_consensus\.csv:4: 7 fields")
    # a Train value outside 1-7
    csv.write_text(good.replace("MSP-PODCAST_0001_0008.wav,N,2.5,",
                                "MSP-PODCAST_0001_0008.wav,N,7.5,"))
    prepare_fails("msp_podcast", root, r"labels_consensus\.csv:\d+: V/A/D .*outside")
    # a header without Split_Set
    csv.write_text(good.replace(",Split_Set", ",Split"))
    prepare_fails("msp_podcast", root, r"labels_consensus\.csv:1: header .*Split_Set")
    # no audio folder
    csv.write_text(good)
    shutil.rmtree(root / "Audios")
    prepare_fails("msp_podcast", root, "Audios")
    # no label file (the Previous_releases_information copy is not used)
    shutil.rmtree(root / "Labels")
    prepare_fails("msp_podcast", root, "labels_consensus.csv")
