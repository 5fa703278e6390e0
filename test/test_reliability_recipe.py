"""The recipe under concurrent runs, kills and a full or read-only file system.

- A second run on a locked experiment dir refuses, naming the lock and its holder; a
  stale lock of a dead process is cleared.
- A run killed in the middle of a stage leaves that stage not done: a later stage
  refuses to start on its half-written output, and the re-run redoes it.
- A full ``dump/`` (small tmpfs) or a read-only output dir stops the stage that hits it
  with a message naming the path, and what was written before stays as it was.

NOTE: as root, permission bits do not stop writes. The file-system faults are made
with a private mount namespace (``unshare -m``): a 8 MB tmpfs mounted on ``dump/``, or a
read-only bind mount of the output dir; the mounts vanish with the namespace. Where
``unshare -m`` is not allowed, a user namespace (``unshare -Urm``) is tried, and for the
read-only case ``chattr +i`` (ext4) or, for a non-root user, plain ``chmod``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import PYTHON
from recipe_utils import copy_recipe, recipe_env, run_recipe

OPTS = ["--synth_scale", "0.2"]  # stage 1 ran with these; same options -> skipped


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A recipe copy with stage 1 (data) done."""
    recipe = copy_recipe(tmp_path_factory.mktemp("recipe") / "ser1")
    r = run_recipe(recipe, "--stage", "1", "--stop_stage", "1", *OPTS)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return recipe


@pytest.fixture
def recipe(base, tmp_path):
    dst = tmp_path / "ser1"
    shutil.copytree(base, dst, symlinks=True)
    return dst


# ---------------------------------------------------------------------------- concurrency
HOLD = ("import fcntl, sys, time\n"
        "f = open(sys.argv[1], 'a')\n"
        "fcntl.flock(f, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n")


def test_second_run_on_a_locked_expdir_refuses(recipe):
    lock = recipe / "exp" / ".lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        (recipe / "exp" / ".lock.pid").write_text(f"{holder.pid}\n")
        (recipe / "exp" / ".lock.cmd").write_text("./ser.sh --stage 4 (the first run)\n")
        r = run_recipe(recipe, "--stage", "1", "--stop_stage", "1", *OPTS)
        assert r.returncode != 0
        assert (f"another run holds exp/.lock (pid {holder.pid}, ./ser.sh --stage 4 (the "
                f"first run)); wait for it or stop it") in r.stderr
        assert "stage 1" not in r.stdout
        # the holder's records are left alone
        assert (recipe / "exp" / ".lock.pid").read_text().strip() == str(holder.pid)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_stale_lock_of_a_dead_process_is_cleared(recipe):
    pid = dead_pid()
    (recipe / "exp" / ".lock.pid").write_text(f"{pid}\n")
    (recipe / "exp" / ".lock.cmd").write_text("./ser.sh (killed)\n")
    r = run_recipe(recipe, "--stage", "1", "--stop_stage", "1", *OPTS)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"cleared the stale lock of process {pid} (" in r.stdout
    assert "which no longer runs" in r.stdout
    assert "stage 1 (data): done with the same options; skipped" in r.stdout
    assert not (recipe / "exp" / ".lock.pid").exists()  # removed on exit


# ---------------------------------------------------------------------------- kills
def wait_until_gone(pid: int, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still exists {timeout} s after SIGKILL")


def done(recipe: Path, stage: str) -> bool:
    """Whether ser.sh marked ``stage`` done (its marker under exp/.stages*/)."""
    return any((recipe / "exp").glob(f".stages*/{stage}.done"))


def test_run_killed_mid_stage_leaves_it_not_done_and_the_rerun_redoes_it(recipe):
    """SIGKILL to the whole run (as a cluster does) while stage 2 formats its second
    corpus: stage 2 is not marked done; the next run clears the dead run's lock, and
    stage 3 refuses to start on the half-written dump; the re-run redoes stage 2."""
    proc = subprocess.Popen(["./run.sh", "--stage", "2", "--stop_stage", "2", *OPTS],
                            cwd=recipe, env=recipe_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "format synth_dim:" in line:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert done(recipe, "data") and not done(recipe, "format")
    killed = (recipe / "exp" / ".lock.pid").read_text().strip()
    # NOTE: ser.sh tests "dead" with kill -0, which a zombie passes; the killed ser.sh
    # (an orphan after run.sh died) is reaped by PID 1 a moment later
    wait_until_gone(int(killed))

    r = run_recipe(recipe, "--stage", "3", "--stop_stage", "3", *OPTS)
    assert r.returncode != 0
    assert f"cleared the stale lock of process {killed}" in r.stdout
    assert "stage 2 (format) has not completed" in r.stderr
    assert "run stages 2-2 first (--stage 2 --stop_stage 2)" in r.stderr

    r = run_recipe(recipe, "--stage", "2", "--stop_stage", "2", *OPTS)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "stage 2 (format): start" in r.stdout and "stage 2 (format): done" in r.stdout
    assert done(recipe, "format")
    v = subprocess.run([PYTHON, "-m", "espnet2_punser.bin.validate_data", "dump/pretrain",
                        "dump/eval", "dump/data"], cwd=recipe, capture_output=True, text=True)
    assert v.returncode == 0, v.stderr


# ---------------------------------------------------------------------- file-system faults
def _works(cmd) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def namespace_prefix():
    """A command prefix that runs its command in a private mount namespace where root
    may mount, or None where this machine allows none."""
    for prefix in (["unshare", "-m", "--propagation", "private"], ["unshare", "-Urm"]):
        if shutil.which("unshare") and _works(prefix + ["mount", "-t", "tmpfs", "-o", "size=1m",
                                                        "tmpfs", "/mnt"]):
            return prefix
    return None


def checksums(d: Path, skip=("/log/", "/split/")):
    """sha1 of every file below ``d`` (job logs and scp shards left out)."""
    out = {}
    for p in sorted(d.rglob("*")):
        rel = str(p.relative_to(d))
        if p.is_file() and not any(s in f"/{rel}" for s in skip):
            out[rel] = hashlib.sha1(p.read_bytes()).hexdigest()
    return out


FULL_DUMP = r"""
set -u
cd "$1"
mkdir -p dump
mount -t tmpfs -o size=8m tmpfs dump
./run.sh --stage 2 --stop_stage 2 --synth_scale 0.2 > run1.out 2> run1.err; echo $? > run1.rc
cp -a dump dump_before
# fill the file system: the next run of stage 2 has no room for converted audio
dd if=/dev/zero of=dump/filler bs=4k 2> /dev/null
./run.sh --stage 2 --stop_stage 2 --synth_scale 0.2 --min_wav_duration 0.2 > run2.out 2> run2.err
echo $? > run2.rc
rm dump/filler
cp -a dump dump_after
"""


def test_full_dump_stops_the_format_stage_naming_the_path_and_keeps_earlier_outputs(recipe):
    prefix = namespace_prefix()
    assert prefix is not None, ("neither 'unshare -m' nor 'unshare -Urm' can mount a tmpfs "
                                "here: no way to make a small full file system as root")
    r = subprocess.run(prefix + ["bash", "-c", FULL_DUMP, "full", str(recipe)],
                       env=recipe_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert (recipe / "run1.rc").read_text().strip() == "0", (recipe / "run1.err").read_text()
    assert (recipe / "run2.rc").read_text().strip() != "0"
    err = (recipe / "run2.err").read_text()
    # the stage that hit it, the corpus and the file it could not write (the first write
    # of the re-run that needs room: a merged list or a converted clip)
    assert re.search(r"ERROR: format of synth_\w+ failed", err), err
    assert re.search(r"cannot write dump/\S+", err) and "No space left on device" in err, err
    # nothing written before was changed: formatted audio and lists, sets, manifest
    before, after = checksums(recipe / "dump_before"), checksums(recipe / "dump_after")
    assert before == after
    assert "sets.json" in before and any(k.startswith("audio/synth_dim/") for k in before)
    assert not done(recipe, "format")


READ_ONLY = r"""
set -u
d=$1; shift
mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" || exit 97
exec "$@"
"""


def run_with_read_only(d: Path, cmd):
    """Run ``cmd`` while ``d`` cannot be written (see the module docstring)."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [d, *d.rglob("*")]}
        try:
            for p in modes:
                p.chmod(modes[p] & ~0o222)
            return subprocess.run(cmd, capture_output=True, text=True)
        finally:
            for p, m in modes.items():
                p.chmod(m)
    prefix = namespace_prefix()
    if prefix is not None:
        return subprocess.run(prefix + ["bash", "-c", READ_ONLY, "ro", str(d), *cmd],
                              capture_output=True, text=True)
    paths = [str(p) for p in [d, *d.rglob("*")]]
    assert _works(["chattr", "+i", *paths]), "no way to make a dir read-only for root here"
    try:
        return subprocess.run(cmd, capture_output=True, text=True)
    finally:
        subprocess.run(["chattr", "-i", *paths])


def test_read_only_output_dir_stops_format_naming_the_path_and_keeps_earlier_outputs(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i, fs in enumerate([16000, 44100, 16000]):  # the 44.1 kHz one is converted
        x = (0.3 * np.sin(2 * np.pi * 200 * np.arange(fs) / fs)
             + 0.01 * rng.standard_normal(fs)).astype(np.float32)
        soundfile.write(str(src / f"u{i}.wav"), x, fs, subtype="PCM_16")
        rows.append(f"u{i} {src / f'u{i}.wav'}\n")
    (src / "wav.scp").write_text("".join(rows))
    out = tmp_path / "dump"
    cmd = [PYTHON, "-m", "espnet2_punser.bin.format_wav", "--wav_scp", str(src / "wav.scp"),
           "--audio_dir", str(out / "audio"), "--out_dir", str(out / "format")]
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    before = checksums(out)
    assert "audio/u1.wav" in before and "format/wav.scp" in before
    r = run_with_read_only(out, cmd)
    assert r.returncode == 1, r.stderr
    assert (f"ERROR: cannot write {out / 'audio' / 'u1.wav'}: Read-only file system" in r.stderr
            or f"ERROR: cannot write {out / 'audio' / 'u1.wav'}: Operation not permitted" in r.stderr
            or f"ERROR: cannot write {out / 'audio' / 'u1.wav'}: Permission denied" in r.stderr), r.stderr
    assert checksums(out) == before
    assert not list(out.rglob("*.tmp"))
