"""EmoDB parser on a fake tree with the real layout (corpora.md section 1)."""

import pytest

from fake_corpora import emodb as fake
from fake_corpora.common import build_and_prepare, dropped_lines, prepare_fails, read_kaldi


@pytest.mark.parametrize("wav_dir", ["wav", "wav_corpus"])
def test_emodb_small(tmp_path, wav_dir):
    expected, out, summary = build_and_prepare(fake, tmp_path / "emodb", wav_dir=wav_dir)
    assert summary["utterances"] == expected["utterances"] == 12
    assert summary["classes"] == expected["classes"]
    assert summary["speakers"] == expected["speakers"]
    cat = read_kaldi(out, "utt2cat")
    assert cat["emodb_03a01Wa"] == "angry"
    assert cat["emodb_08a01Ea"] == "disgust"
    assert not any(k.endswith(("La", "Lb")) for k in read_kaldi(out, "wav.scp"))  # boredom
    assert read_kaldi(out, "utt2spk")["emodb_03a01Wa"] == "emodb_03"
    assert read_kaldi(out, "utt2vad") == {}  # no dimensions
    dropped = dropped_lines(out)
    assert sum("'L'" in line for line in dropped) == expected["dropped"]
    assert sum("file name does not match" in line for line in dropped) == 0  # ._ skipped
    assert summary["hours"] > 0


def test_emodb_full_counts(tmp_path):
    _, _, summary = build_and_prepare(fake, tmp_path / "emodb", 1, full=True)
    assert summary["utterances"] == 454 == summary["paper_utterances"]
    assert summary["classes"] == {"neutral": 79, "happy": 71, "sad": 62, "angry": 127,
                                  "fear": 69, "disgust": 46}
    assert summary["speakers"] == 10


def test_emodb_missing_layout(tmp_path):
    (tmp_path / "emodb").mkdir()
    prepare_fails("emodb", tmp_path / "emodb", "wav_corpus")
