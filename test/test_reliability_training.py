"""Before and during training: data validation, resuming after SIGKILL, atomic outputs.

- ``validate_data`` finds each kind of broken training set and names ``file:line``.
- A tiny pre-training run through ``espnet2_punser.bin.ser_train`` killed with SIGKILL
  mid-epoch, or while it saves its checkpoint or epoch file, and re-run with the same
  command ends with exactly the weights of an uninterrupted run.
- ``make_sets`` killed mid-write, and a feature cache left half-written, are rebuilt on
  the next run, never reused.
"""

from __future__ import annotations

import filecmp
import logging
import os
import shutil
import signal
import subprocess
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import PYTHON, TINY_XEUS, make_tone_set
from espnet2_punser.bin import format_wav, make_sets, prepare_corpus, validate_data

PRETRAIN = ["synth_cat", "synth_both"]
EVAL = "synth_eval"
FOLD = "synth_eval_f02"


def build_dump(root: Path, dump: Path) -> None:
    """The synthetic corpora prepared, formatted and split (recipe stages 1-2) in-process."""
    from espnet2_punser.corpora.synthetic import generate

    names = PRETRAIN + [EVAL]
    generate(root / "downloads", names, seed=0, scale=0.2)
    for n in names:
        assert prepare_corpus.main([n, str(root / "downloads" / n), str(root / "data" / n)]) in (0, None)
        assert format_wav.main(["--wav_scp", str(root / "data" / n / "wav.scp"), "--audio_dir",
                                str(dump / "audio" / n), "--out_dir", str(dump / "format" / n)]) == 0
    assert make_sets.main(make_sets_args(root, dump)) == 0


def make_sets_args(root: Path, dump: Path):
    return ["--data_dir", str(root / "data"), "--format_dir", str(dump / "format"),
            "--dump_dir", str(dump), "--pretrain", " ".join(PRETRAIN), "--eval", EVAL,
            "--fractions", "0.5", "--seed", "0"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("prepared")
    build_dump(root, root / "dump")
    return root


@pytest.fixture
def dump(prepared, tmp_path):
    d = tmp_path / "dump"
    shutil.copytree(prepared / "dump", d, ignore=shutil.ignore_patterns("audio"))
    return d


# ----------------------------------------------------------------------------- validation
def lines(path: Path):
    return path.read_text().splitlines()


def line_of(path: Path, key: str) -> int:
    return next(i for i, ln in enumerate(lines(path), 1) if ln.split()[0] == key)


def set_value(path: Path, key: str, value: str) -> int:
    rows = lines(path)
    n = line_of(path, key)
    rows[n - 1] = f"{key} {value}"
    path.write_text("\n".join(rows) + "\n")
    return n


def drop_key(d: Path, key: str, names=("wav.scp", "cat", "vad", "utt2num_samples", "utt2spk",
                                         "utt2session", "utt2corpus")) -> None:
    for name in names:
        p = d / name
        if p.is_file():
            p.write_text("".join(ln + "\n" for ln in lines(p) if ln.split()[0] != key))


def first_key(d: Path) -> str:
    return lines(d / "wav.scp")[2].split()[0]


def run_validate(capsys, caplog, *dirs, extra=()):
    """Exit status and what ``validate_data`` printed (problems) and logged (summary)."""
    caplog.clear()
    caplog.set_level(logging.INFO)
    rc = validate_data.main([str(d) for d in dirs] + list(extra))
    return rc, capsys.readouterr().err + caplog.text


def test_valid_dump_passes(dump, capsys, caplog):
    rc, err = run_validate(capsys, caplog, dump / "pretrain", dump / "eval", dump / "data")
    assert rc == 0, err
    assert "21 set(s), 352 utterances: valid" in err


def _fold(dump, part="test"):
    return dump / "eval" / EVAL / "main" / FOLD / part


def case_cat_missing_key(dump):
    d = dump / "pretrain" / "train"
    k = first_key(d)
    n = line_of(d / "wav.scp", k)
    drop_key(d, k, names=("cat",))
    return [dump / "pretrain"], f"{d}/wav.scp:{n}: {k} has no line in {d}/cat"


def case_vad_extra_key(dump):
    d = dump / "pretrain" / "valid"
    with open(d / "vad", "a") as f:
        f.write("ghost_utt 0.1 0.2 0.3\n")
    return [d], f"{d}/vad:{len(lines(d / 'vad'))}: ghost_utt is not in wav.scp"


def case_no_utt2num_samples(dump):
    d = dump / "pretrain" / "train"
    (d / "utt2num_samples").unlink()
    return [d], f"{d}/utt2num_samples: file not found"


def case_category_outside_protocol(dump):
    d = _fold(dump)
    k = first_key(d)
    n = set_value(d / "cat", k, "5")
    return [dump / "eval"], (f"{d}/cat:{n}: {k}: category 5 (fear) is not in the inventory "
                             f"['neutral', 'happy', 'sad', 'angry'] (-1 = missing)")


def case_category_not_an_index(dump):
    d = dump / "pretrain" / "train"
    k = first_key(d)
    n = set_value(d / "cat", k, "happy")
    return [d], f"{d}/cat:{n}: {k}: category 'happy' is not a class index (0-7 or -1)"


def case_category_outside_given_inventory(dump):
    d = dump / "pretrain" / "train"
    k = next(ln.split()[0] for ln in lines(d / "cat") if ln.split()[1] == "2")
    return [d, "--inventory", "neutral,happy"], (
        f"{d}/cat:{line_of(d / 'cat', k)}: {k}: category 2 (sad) is not in the inventory "
        f"['neutral', 'happy']")


def case_vad_out_of_range(dump):
    d = dump / "pretrain" / "train"
    k = first_key(d)
    n = set_value(d / "vad", k, "0.5 1.3 0.2")  # a 1-5 scale value left unscaled
    return [d], f"{d}/vad:{n}: {k}: V/A/D '0.5 1.3 0.2' is not three values in [0, 1] or nan"


def case_vad_two_values(dump):
    d = dump / "pretrain" / "train"
    k = first_key(d)
    n = set_value(d / "vad", k, "0.5 0.2")
    return [d], f"{d}/vad:{n}: {k}: V/A/D '0.5 0.2' is not three values"


def case_empty_set(dump):
    d = dump / "pretrain" / "valid"
    for name in ("wav.scp", "cat", "vad", "utt2num_samples"):
        (d / name).write_text("")
    return [d], f"{d}/wav.scp: empty set (no utterance)"


def case_duplicate_key(dump):
    d = dump / "pretrain" / "train"
    rows = lines(d / "wav.scp")
    (d / "wav.scp").write_text("\n".join(rows + [rows[0]]) + "\n")
    return [d], f"{d}/wav.scp:{len(rows) + 1}: duplicate key {rows[0].split()[0]} (first on line 1)"


def case_audio_file_missing(dump, tmp_path):
    d = dump / "pretrain" / "train"
    k = first_key(d)
    n = set_value(d / "wav.scp", k, str(tmp_path / "gone.wav"))
    return [d], f"{d}/wav.scp:{n}: {k}: audio file not found: {tmp_path / 'gone.wav'}"


def case_fold_key_not_in_corpus_dir(dump):
    d, parent = _fold(dump), dump / "data" / EVAL
    k = first_key(d)
    drop_key(parent, k)
    return [dump / "eval"], f"{d}/wav.scp:{line_of(d / 'wav.scp', k)}: {k} is not in {parent}/wav.scp"


def case_fold_label_differs_from_corpus_dir(dump):
    d, parent = _fold(dump), dump / "data" / EVAL
    k = next(ln.split()[0] for ln in lines(d / "cat") if ln.split()[1] == "1")
    set_value(parent / "cat", k, "2")
    return [dump / "eval"], (f"{d}/cat:{line_of(d / 'cat', k)}: {k}: '1' differs from "
                             f"{parent}/cat:{line_of(parent / 'cat', k)} ('2')")


def case_fold_test_utterance_in_train(dump):
    test, train = _fold(dump), _fold(dump, "train")
    k = first_key(test)
    for name in ("wav.scp", "cat", "vad", "utt2num_samples", "utt2spk"):
        row = lines(test / name)[line_of(test / name, k) - 1]
        (train / name).write_text("\n".join(sorted(lines(train / name) + [row])) + "\n")
    spk = lines(test / "utt2spk")[0].split()[1]
    return [dump / "eval"], [f"{test}/wav.scp: 1 utterance(s) also in {train}, e.g. {k}",
                             f"{train}/utt2spk: spk {spk} of the test part {test} is also in train"]


def case_interrupted_make_sets_tmp_dir(dump):
    shutil.copytree(_fold(dump, "train"), _fold(dump, "train.tmp"))
    return [dump / "eval"], f"{_fold(dump, 'train.tmp')}: left by an interrupted run"


def case_protocol_json_missing(dump):
    p = dump / "eval" / EVAL / "main" / "protocol.json"
    p.unlink()
    return [dump / "eval"], f"{p}: missing, so the folds of {p.parent} are incomplete"


CASES = {name[5:]: fn for name, fn in list(globals().items()) if name.startswith("case_")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_data_names_file_and_line(dump, tmp_path, capsys, caplog, case):
    fn = CASES[case]
    got = fn(dump, tmp_path) if "tmp_path" in fn.__code__.co_varnames else fn(dump)
    args, expected = got
    dirs = [a for a in args if not isinstance(a, str)]
    extra = [a for a in args if isinstance(a, str)]
    rc, err = run_validate(capsys, caplog, *dirs, extra=extra)
    assert rc == 1
    for e in [expected] if isinstance(expected, str) else expected:
        assert e in err, f"{e!r} not in:\n{err}"
    assert "problem(s) in the data of" in err


# -------------------------------------------------------------------- interrupted training
def _data_args(d, split):
    return [
        f"--{split}_data_path_and_name_and_type", f"{d}/wav.scp,speech,sound",
        f"--{split}_data_path_and_name_and_type", f"{d}/cat,cat,text_int",
        f"--{split}_data_path_and_name_and_type", f"{d}/vad,vad,text_float",
    ]


# NOTE: a wrapper that SIGKILLs the trainer halfway through the N-th torch.save (half of
# the bytes written to the file it was given), like a kill that lands while saving
KILL_AT_SAVE = """
import io, os, signal, sys, torch
n, calls, original = int(os.environ["KILL_AT_SAVE"]), [0], torch.save
def save(obj, f, *args, **kwargs):
    calls[0] += 1
    if calls[0] == n and isinstance(f, (str, os.PathLike)):
        buf = io.BytesIO()
        original(obj, buf, *args, **kwargs)
        with open(f, "wb") as out:
            out.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return original(obj, f, *args, **kwargs)
torch.save = save
from espnet2_punser.bin.ser_train import main
sys.argv[0] = "ser_train"
main()
"""


class Training:
    def __init__(self, root: Path):
        import soundfile

        self.root = root
        self.train = make_tone_set(root, 36, 0, "train")
        self.valid = make_tone_set(root, 12, 1, "valid")
        self.common = [
            "--frontend_conf", f"xeus_config={TINY_XEUS}", "--frontend_conf",
            "num_trainable_layers=2", "--optim_conf", "lr=0.001", "--batch_bins", "60000",
            "--use_tensorboard", "false", "--use_matplotlib", "false", "--num_workers", "0",
            "--seed", "0", *_data_args(self.train, "train"), *_data_args(self.valid, "valid")]
        # the shape files of the stats stage (tested in test_task.py), written directly
        for part, d in (("train", self.train), ("valid", self.valid)):
            (root / "stats" / part).mkdir(parents=True)
            (root / "stats" / part / "speech_shape").write_text("".join(
                f"{u} {soundfile.info(p).frames}\n"
                for u, p in (ln.split() for ln in lines(d / "wav.scp"))))

    def args(self, out: Path):
        """The same command for every run: 3 epochs of 8 batches, --resume true."""
        return [*self.common, "--max_epoch", "3", "--log_interval", "1", "--resume", "true",
                "--train_shape_file", f"{self.root}/stats/train/speech_shape",
                "--valid_shape_file", f"{self.root}/stats/valid/speech_shape",
                "--output_dir", str(out)]

    def run(self, out: Path, kill_at_save: int = 0):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if kill_at_save:
            env["KILL_AT_SAVE"] = str(kill_at_save)
            cmd = [PYTHON, "-c", KILL_AT_SAVE, *self.args(out)]
        else:
            cmd = [PYTHON, "-m", "espnet2_punser.bin.ser_train", *self.args(out)]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=self.root, env=env)


def load_checkpoint(out: Path):
    return torch.load(out / "checkpoint.pth", map_location="cpu", weights_only=False)


def assert_same_final_model(a: Path, b: Path):
    ca, cb = load_checkpoint(a), load_checkpoint(b)
    assert ca["reporter"]["epoch"] == cb["reporter"]["epoch"] == 3
    assert ca["model"].keys() == cb["model"].keys()
    for k in ca["model"]:
        torch.testing.assert_close(cb["model"][k], ca["model"][k], rtol=1e-6, atol=1e-7, msg=k)
    # the optimiser state continued from the checkpoint, not from scratch
    sa, sb = ca["optimizers"][0]["state"], cb["optimizers"][0]["state"]
    assert sa.keys() == sb.keys()
    for i in sa:
        torch.testing.assert_close(sb[i]["exp_avg_sq"], sa[i]["exp_avg_sq"], rtol=1e-6, atol=1e-9)
    # the best model is the same epoch with the same weights
    ba, bb = a / "valid.loss.best.pth", b / "valid.loss.best.pth"
    assert os.readlink(ba) == os.readlink(bb)
    wa, wb = torch.load(ba, weights_only=True), torch.load(bb, weights_only=True)
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k], rtol=1e-6, atol=1e-7, msg=k)


def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path):
    """The same command, run to the end once; and killed twice before it ends: first
    mid-epoch (the 3rd of 8 batches of epoch 2), then, on the re-run, halfway through
    writing epoch 2's checkpoint.pth. The third run resumes and ends with the weights,
    optimiser state and best model of the uninterrupted run."""
    training = Training(tmp_path)
    reference = tmp_path / "uninterrupted"
    r = training.run(reference)
    assert r.returncode == 0, r.stderr[-3000:]

    out = tmp_path / "exp"
    proc = subprocess.Popen([PYTHON, "-m", "espnet2_punser.bin.ser_train", *training.args(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "2epoch:train:3-3batch" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-30:])
    # killed in epoch 2: the last checkpoint is epoch 1's
    assert load_checkpoint(out)["reporter"]["epoch"] == 1
    assert not (out / "2epoch.pth").exists()

    # re-run; its first save (epoch 2's checkpoint) is killed halfway
    r = training.run(out, kill_at_save=1)
    assert r.returncode == -signal.SIGKILL, r.stderr[-3000:]
    assert "The training was resumed using" in r.stderr
    assert load_checkpoint(out)["reporter"]["epoch"] == 1  # the old one, intact

    r = training.run(out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "The training was resumed using" in r.stderr
    assert_same_final_model(reference, out)
    assert not list(out.glob(".*.tmp"))


def _checkpoint_dir(out: Path, losses, saved_epochs, best_link: int):
    """An output dir as ESPnet leaves it after epoch ``len(losses)``'s checkpoint."""
    from espnet2.train.reporter import Reporter

    reporter = Reporter()
    for epoch, loss in enumerate(losses, 1):
        reporter.set_epoch(epoch)
        with reporter.observe("valid") as sub:
            sub.register({"loss": loss})
            sub.next()
    out.mkdir()
    model = {"w": torch.arange(6.0) * len(losses)}
    torch.save({"model": model, "reporter": reporter.state_dict(), "optimizers": [],
                "schedulers": [], "scaler": None}, out / "checkpoint.pth")
    for e in saved_epochs:
        torch.save({"w": torch.arange(6.0) * e}, out / f"{e}epoch.pth")
    (out / "valid.loss.best.pth").symlink_to(f"{best_link}epoch.pth")
    (out / "latest.pth").symlink_to(f"{max(saved_epochs)}epoch.pth")
    return model


def _options(patience=None):
    return Namespace(best_model_criterion=[("valid", "loss", "min")], patience=patience,
                     early_stopping_criterion=("valid", "loss", "min"))


def test_resume_restores_epoch_file_and_best_link_of_a_kill_while_saving(tmp_path, caplog):
    """Killed after epoch 2's checkpoint but before 2epoch.pth and its best-model link
    were written (epoch 2 has the lowest loss): both are restored from the checkpoint."""
    from espnet2_punser.ser.trainer import recover_interrupted_save

    out = tmp_path / "exp"
    model = _checkpoint_dir(out, [0.9, 0.5], saved_epochs=[1], best_link=1)
    assert recover_interrupted_save(out, _options()) is None
    torch.testing.assert_close(torch.load(out / "2epoch.pth"), model)
    assert os.readlink(out / "valid.loss.best.pth") == "2epoch.pth"
    assert os.readlink(out / "latest.pth") == "2epoch.pth"
    assert "2epoch.pth is missing (the run was stopped while saving epoch 2)" in caplog.text


def test_resume_after_the_early_stopping_epoch_trains_no_further(tmp_path):
    from espnet2_punser.ser.trainer import recover_interrupted_save

    out = tmp_path / "exp"
    _checkpoint_dir(out, [0.5, 0.6, 0.7, 0.8], saved_epochs=[1, 4], best_link=1)
    assert recover_interrupted_save(out, _options(patience=2)) == 4
    assert recover_interrupted_save(out, _options(patience=3)) is None
    assert os.readlink(out / "valid.loss.best.pth") == "1epoch.pth"


def test_atomic_torch_save_keeps_the_old_file_when_a_save_fails(tmp_path):
    from espnet2_punser.ser.trainer import atomic_torch_save

    f = tmp_path / "checkpoint.pth"
    torch.save({"epoch": 1}, f)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("disk full, say")

    with atomic_torch_save(), pytest.raises(RuntimeError, match="disk full"):
        torch.save({"epoch": 2, "bad": Unpicklable()}, f)
    assert torch.load(f) == {"epoch": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pth"]
    assert torch.save.__module__.startswith("torch")  # restored after the block


# --------------------------------------------------------------- atomic sets and caches
# NOTE: SIGKILL make_sets at its N-th file write, with half of that file's rows written
KILL_AT_WRITE = """
import os, signal, sys
import espnet2_punser.datadir as datadir
from espnet2_punser.bin import make_sets
n, calls, original = int(os.environ["KILL_AT_WRITE"]), [0], datadir.write_map
def write_map(path, rows):
    calls[0] += 1
    if calls[0] == n:
        rows = list(rows)
        original(path, rows[: len(rows) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return original(path, rows)
datadir.write_map = make_sets.write_map = write_map
sys.exit(make_sets.main(sys.argv[1:]))
"""


def tree(d: Path):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


@pytest.mark.parametrize("kill_at", [4, 45, 120])
def test_make_sets_killed_midway_is_redone_not_reused(prepared, tmp_path, capsys, caplog,
                                                      kill_at):
    dump = tmp_path / "dump"
    shutil.copytree(prepared / "dump" / "format", dump / "format")
    args = make_sets_args(prepared, dump)
    r = subprocess.run([PYTHON, "-c", KILL_AT_WRITE, *args], capture_output=True, text=True,
                       env=dict(os.environ, KILL_AT_WRITE=str(kill_at)))
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    # not done: no manifest, and the half-written sets are seen as such
    assert not (dump / "sets.json").exists()
    rc, err = run_validate(capsys, caplog, *[dump / s for s in ("data", "pretrain", "eval") if (dump / s).exists()])
    assert rc == 1 and "left by an interrupted run" in err, err
    # the re-run rebuilds everything: the same files as an uninterrupted run
    assert make_sets.main(args) == 0
    ref = prepared / "dump"
    assert tree(dump) == [p for p in tree(ref) if not p.startswith("audio")]
    for rel in tree(dump):
        if (dump / rel).is_file() and not rel.startswith("format"):
            assert filecmp.cmp(dump / rel, ref / rel, shallow=False), rel


def test_half_written_cache_is_recomputed(prepared, tmp_path, caplog):
    from espnet2_punser.bin.cache_features import encoder_model, get_parser
    from espnet2_punser.cache import build_cache
    from espnet2_punser.datadir import read_map

    d = prepared / "dump" / "data" / EVAL
    scp = dict(list(read_map(d / "wav.scp").items())[:6])
    lengths = {u: int(n) for u, n in read_map(d / "utt2num_samples").items() if u in scp}
    # the parser's own defaults, so this test follows the command line's options
    model = encoder_model(get_parser().parse_args(
        ["--xeus_config", str(TINY_XEUS), "--data_dir", str(d),
         "--cache_root", str(tmp_path), "--name", "x"]))
    ref = tmp_path / "ref"
    build_cache(model, scp, lengths, ref)
    # an interrupted build: killed while writing entry A (only its temporary file
    # exists), entry B cut short (a copy that stopped), before the lists were written
    out = tmp_path / "interrupted"
    shutil.copytree(ref, out)
    a, b, *_ = sorted(scp)
    data = (out / "data" / f"{a}.npy").read_bytes()
    (out / "data" / f"{a}.npy").unlink()
    (out / "data" / f"{a}.npy.tmp").write_bytes(data[: len(data) // 2])
    (out / "data" / f"{b}.npy").write_bytes((out / "data" / f"{b}.npy").read_bytes()[:100])
    (out / "feats.scp").unlink()
    (out / "manifest.json").unlink()
    manifest = build_cache(model, scp, lengths, out)
    assert manifest["computed"] == 2 and manifest["recomputed"] == 1
    assert f"1 truncated or corrupted entries will be recomputed: ['{b}']" in caplog.text
    listed = dict(line.split() for line in lines(out / "feats.scp"))
    assert sorted(listed) == sorted(scp)
    for u, path in listed.items():
        assert not path.endswith(".tmp")
        np.testing.assert_allclose(np.load(path), np.load(ref / "data" / f"{u}.npy"),
                                   rtol=1e-5, atol=1e-5)
