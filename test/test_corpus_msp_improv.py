"""MSP-Improv parser on a fake tree with the real layout (corpora.md section 9)."""

import numpy as np
import pytest

from fake_corpora import msp_improv as fake
from fake_corpora.common import build_and_prepare, dropped_lines, prepare_fails, read_kaldi

P = "msp_improv_MSP-IMPROV-"


@pytest.mark.parametrize("placement,label_name,n_field,space", [
    ("ertk", "Evaluation.txt", True, True),
    ("audio", "Evalution.txt", True, True),
    ("ertk", "Evalution.txt", False, False),
    ("audio", "Evaluation.txt", False, True),
])
def test_msp_improv_small(tmp_path, placement, label_name, n_field, space):
    root = tmp_path / "msp_improv"
    expected, out, summary = build_and_prepare(fake, root, placement=placement,
                                               label_name=label_name, n_field=n_field,
                                               space=space)
    assert summary["utterances"] == expected["utterances"] == 10
    assert summary["classes"] == expected["classes"] == {
        "neutral": 3, "happy": 2, "sad": 2, "angry": 1}
    assert summary["with_dimensions"] == expected["with_dimensions"] == 9
    wav = read_kaldi(out, "wav.scp")
    sub = "Audio/" if placement == "audio" else ""
    assert wav[P + "S01A-F01-P-FM01"] == str(
        (root / f"{sub}session1/S01A/P/MSP-IMPROV-S01A-F01-P-FM01.wav").resolve())
    cat = read_kaldi(out, "utt2cat")
    assert cat[P + "S01A-F01-P-FM01"] == "angry"
    assert cat[P + "S04N-M02-P-MF01"] == "neutral"  # the line without N:
    assert cat[P + "S10H-M06-S-MF101"] == "happy"  # 3-digit turn
    assert cat[P + "S11S-F06-T-FM07"] == "sad"  # first of two summary lines
    assert P + "S05A-F03-S-FM03" in wav and P + "S05A-F03-S-FM03" not in cat  # O
    assert P + "S06H-M03-T-MF04" in wav and P + "S06H-M03-T-MF04" not in cat  # X
    # V A D, from the file's A, V, D on 1-5
    vad = read_kaldi(out, "utt2vad")
    assert vad[P + "S01A-F01-P-FM01"] == "0.250000 0.750000 0.875000"
    assert vad[P + "S03S-F02-T-FM05"] == "1.000000 0.000000 0.500000"
    assert vad[P + "S11S-F06-T-FM07"] == "0.250000 0.300000 0.350000"
    assert P + "S07S-F04-R-FM01" in cat and P + "S07S-F04-R-FM01" not in vad  # D: NaN
    assert P + "S08N-M04-S-MF10" not in wav  # X and A: NaN: nothing left
    # speaker = gender + session; session = the dyad
    spk = read_kaldi(out, "utt2spk")
    assert spk[P + "S01A-F01-P-FM01"] == spk[P + "S01A-F01-R-FM01"] == "msp_improv_F01"
    assert spk[P + "S02H-M01-S-MF02"] == "msp_improv_M01"
    assert spk[P + "S10H-M06-S-MF101"] == "msp_improv_M06"
    assert summary["speakers"] == expected["speakers"] == 9
    ses = read_kaldi(out, "utt2session")
    assert ses[P + "S01A-F01-P-FM01"] == ses[P + "S02H-M01-S-MF02"] == "msp_improv_session1"
    assert ses[P + "S11S-F06-T-FM07"] == "msp_improv_session6"
    assert summary["sessions"] == expected["sessions"] == 5
    assert not (out / "utt2split").exists()
    dropped = dropped_lines(out)
    assert len(dropped) == 7
    assert f"{P}S05A-F03-S-FM03\tcategory code 'O' is not one of the 8 classes; kept for its " \
        "V/A/D only" in dropped
    assert f"{P}S07S-F04-R-FM01\tA/V/D has NaN; kept for its category only" in dropped
    assert f"{P}S08N-M04-S-MF10\tcategory code 'X' is not one of the 8 classes; and its A/V/D " \
        "has NaN" in dropped
    assert any(d.startswith(f"{P}S09A-F05-P-FM02\taudio file MSP-IMPROV-S09A-F05-P-FM02.wav "
                            "not found") for d in dropped)
    assert any("UTD-IMPROV-S11S-F06-T-FM07.avi\trepeated summary line" in d for d in dropped)
    assert any(d.endswith(f"MSP-IMPROV-{fake.UNLABELLED}.wav\taudio file has no summary line "
                          f"in {label_name}") for d in dropped)
    assert not any("._" in d for d in dropped)
    assert summary["notes"][0].startswith(
        f"{label_name}: 13 summary lines, 12 clips, 11 with audio")
    assert summary["hours"] > 0


def test_msp_improv_full_counts(tmp_path):
    _, _, summary = build_and_prepare(fake, tmp_path / "msp_improv", 1, full=True)
    assert summary["utterances"] == 8438  # the paper's 8,386 is not reproduced [U]
    assert summary["with_category"] == 7798
    assert summary["classes"] == {"neutral": 3477, "happy": 2644, "sad": 885, "angry": 792}
    assert summary["with_dimensions"] == 8438
    assert summary["speakers"] == 12
    assert summary["sessions"] == 6
    assert summary["dropped"] == 85 + 555  # O and X categories


def test_msp_improv_bad_inputs(tmp_path):
    root = tmp_path / "msp_improv"
    fake.build(root, np.random.default_rng(2))
    ev = root / "Evaluation.txt"
    good = ev.read_text()
    # a summary line without its V field
    ev.write_text(good.replace("UTD-IMPROV-S02H-M01-S-MF02.avi; H; A:3.500000; V:4.250000;",
                               "UTD-IMPROV-S02H-M01-S-MF02.avi; H; A:3.500000;"))
    line = good.splitlines().index(next(x for x in good.splitlines()
                                        if x.startswith("UTD-IMPROV-S02H"))) + 1
    prepare_fails("msp_improv", root, rf"Evaluation\.txt:{line}: malformed summary line")
    # a value outside 1-5
    ev.write_text(good.replace("A:3.500000; V:4.250000;", "A:3.500000; V:6.250000;"))
    prepare_fails("msp_improv", root, rf"Evaluation\.txt:{line}: V/A/D .*outside")
    ev.unlink()
    prepare_fails("msp_improv", root, "Evalution.txt")
