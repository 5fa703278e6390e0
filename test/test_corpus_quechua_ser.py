"""QuechuaSER parser on a fake tree with the real layout (corpora.md section 14)."""

import json

import numpy as np
import pytest

from espnet2_punser import corpora
from espnet2_punser.corpora.quechua_ser import parse_actor, parse_dimension
from fake_corpora import quechua_ser as fake
from fake_corpora.common import build_and_prepare, dropped_pairs, prepare_fails, read_kaldi


def _vad(values):
    return " ".join(f"{x:.6f}" for x in values)


def test_quechua_small(tmp_path):
    expected, out, summary = build_and_prepare(fake, tmp_path / "quechua")
    # 24 table rows - 1 with the malformed valence + 1 row in Data.xlsx only with a
    # category (fear); the calm row without V/A/D, the Labels.csv-only row and the row
    # without audio are dropped
    assert summary["utterances"] == expected["utterances"] == 24
    assert summary["classes"] == expected["classes"] == {
        "angry": 4, "happy": 2, "sad": 4, "fear": 3, "excited": 2, "neutral": 2}
    assert summary["with_dimensions"] == 23
    assert summary["speakers"] == 6 and summary["sessions"] == 6
    spk = read_kaldi(out, "utt2spk")
    assert spk == expected["spk"]
    assert sorted(set(spk.values())) == expected["speakers"] == [
        f"quechua_ser_a{i}" for i in range(1, 7)]
    for utt, s in expected["typo_actors"].items():  # "6-" -> a6, "2_" -> a2
        assert spk[utt] == s
    assert read_kaldi(out, "utt2session") == expected["spk"]
    cat = read_kaldi(out, "utt2cat")
    assert cat == expected["cat"]
    assert cat["quechua_ser_1"] == "angry"          # anger
    assert cat["quechua_ser_2"] == "angry"          # angry
    assert cat["quechua_ser_7"] == "sad"            # sadness
    assert cat["quechua_ser_8"] == "sad"            # sad
    assert cat[expected["untidy_emotion"]] == "neutral"  # " Neutral "
    assert "quechua_ser_3" not in cat and "quechua_ser_9" not in cat  # boredom, calm
    vad = read_kaldi(out, "utt2vad")
    assert set(vad) == set(expected["vad"])
    for utt, values in expected["vad"].items():
        assert vad[utt] == _vad(values), utt
    # the row with the malformed valence 2.333.333.333 is dropped, not repaired
    dirty = expected["dirty_valence"]
    assert dirty not in vad and dirty not in cat and dirty not in spk
    for utt in expected["no_vad"]:
        assert utt in cat and utt not in vad
    dropped = dict(dropped_pairs(out))
    for utt in expected["dropped_category"]:  # bored/sleepy/calm: kept for V/A/D
        assert "not one of the 8 classes; kept for its V/A/D only" in dropped[utt]
    for utt in expected["dropped_no_vad_no_cat"]:
        assert dropped[utt] == "category code 'calm' is not one of the 8 classes"
    for utt in expected["dropped_no_actor"]:
        assert dropped[utt] == "no row in Data.xlsx, so no Actor"
    for utt in expected["dropped_no_audio"]:
        assert dropped[utt] == "no audio file for this Audio id"
    assert dropped[expected["orphan_audio"]] == "no row for this audio in Data.xlsx / Labels.csv"
    assert dropped[dirty] == "malformed V/A/D (Valence '2.333.333.333' is not a number)"
    assert summary["dropped_reasons"][dropped[dirty]] == 1
    assert len(dropped) == 7 + 1 + 1 + 1 + 1 + 1
    assert not any("._" in k for k in dropped)
    notes = " | ".join(summary["notes"])
    assert "'6-' -> a6" in notes and "'2_' -> a2" in notes and "2.333.333.333" not in notes
    assert json.loads((out / "summary.json").read_text())["paper_utterances"] == 12419
    assert summary["hours"] > 0


@pytest.mark.parametrize("variant", [
    dict(audio_ids="string"),
    dict(where="flat", delimiter=";"),
    dict(columns="swapped"),
])
def test_quechua_layout_variants(tmp_path, variant):
    expected, out, summary = build_and_prepare(fake, tmp_path / "quechua", 2, with_hours=False,
                                               **variant)
    assert summary["utterances"] == expected["utterances"]
    assert summary["classes"] == expected["classes"]
    assert read_kaldi(out, "utt2spk") == expected["spk"]
    assert read_kaldi(out, "utt2cat") == expected["cat"]
    vad = read_kaldi(out, "utt2vad")
    for utt, values in expected["vad"].items():
        assert vad[utt] == _vad(values), utt


def test_quechua_full_counts(fast_tmp):
    _, _, summary = build_and_prepare(fake, fast_tmp / "quechua", 1, full=True)
    # 12,420 rows less the one with the malformed valence: Table I's 12,419
    assert summary["utterances"] == 12419 == summary["paper_utterances"]
    assert summary["with_dimensions"] == 12419
    assert summary["speakers"] == 6
    assert summary["with_category"] == 12420 * 8 // 12  # the malformed row is "sleepy"
    # bored, boredom, sleepy, calm: V/A/D only (one of them is the malformed row instead)
    assert summary["dropped"] == 12420 * 4 // 12
    assert summary["dropped_reasons"] == {
        "category code 'sleepy' is not one of the 8 classes; kept for its V/A/D only": 1034,
        "category code 'bored' is not one of the 8 classes; kept for its V/A/D only": 1035,
        "category code 'boredom' is not one of the 8 classes; kept for its V/A/D only": 1035,
        "category code 'calm' is not one of the 8 classes; kept for its V/A/D only": 1035,
        "malformed V/A/D (Valence '2.333.333.333' is not a number)": 1}


def test_quechua_value_parsers():
    with pytest.raises(ValueError, match="'2.333.333.333' is not a number"):
        parse_dimension("2.333.333.333")
    assert parse_dimension("2,5")[0] == 2.5
    assert parse_dimension(" 4 ") == (4.0, None)
    assert parse_dimension(3) == (3.0, None)
    assert parse_dimension("") == (None, None)
    with pytest.raises(ValueError):
        parse_dimension("high")
    assert parse_actor("a3") == ("a3", False)
    assert parse_actor("6-") == ("a6", True)
    assert parse_actor("2_") == ("a2", True)
    assert parse_actor(" A4 ") == ("a4", False)  # case and spaces: no repair
    assert parse_actor("bob") == (None, False)


def test_quechua_bad_inputs(tmp_path):
    root = tmp_path / "quechua"
    fake.build(root, np.random.default_rng(3))
    labels = root / "Labels" / "Labels" / "Labels.csv"
    lines = labels.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",7"  # dominance 7 on a 1-5 scale
    labels.write_text("\n".join(lines) + "\n")
    prepare_fails("quechua_ser", root, r"Labels\.csv:4: V/A/D .*outside")
    # a cell that is not a number drops the row (like the malformed valence)
    lines[3] = lines[3].rsplit(",", 1)[0] + ",loud"
    labels.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    corpora.prepare_corpus("quechua_ser", root, out, with_hours=False)
    uid = "quechua_ser_" + lines[3].split(",", 1)[0]
    assert dict(dropped_pairs(out))[uid] == "malformed V/A/D (Dominance 'loud' is not a number)"
    assert uid not in read_kaldi(out, "utt2spk")
    (root / "Data" / "Data" / "Data.xlsx").write_bytes(b"not a zip")
    prepare_fails("quechua_ser", root, r"Data\.xlsx: not a readable")


def test_quechua_missing_layout(tmp_path):
    (tmp_path / "q" / "Audios").mkdir(parents=True)
    prepare_fails("quechua_ser", tmp_path / "q", "Data.xlsx")
