"""The recipe's own shell helpers (ESPnet's Kaldi utils are not in the pip wheel)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, RECIPE

UTILS = RECIPE / "utils"


def shell_scripts():
    out = sorted(p for p in RECIPE.rglob("*.sh") if "data" not in p.parts)
    out += [REPO / "tools" / "setup.sh", REPO / ".ci" / "run"]
    return out


def test_shellcheck_is_clean():
    shellcheck = shutil.which("shellcheck") or str(Path(__import__("sys").executable).parent / "shellcheck")
    scripts = [str(p) for p in shell_scripts()]
    assert len(scripts) >= 10
    r = subprocess.run([shellcheck, "-x", *scripts], cwd=RECIPE, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_no_dangling_symlinks():
    for p in RECIPE.rglob("*"):
        if p.is_symlink():
            assert p.exists(), f"dangling symlink {p}"


def _script(tmp_path, body):
    s = tmp_path / "s.sh"
    s.write_text("#!/usr/bin/env bash\nset -euo pipefail\n"
                 "alpha=1          # the first option\n"
                 "beta_gamma=x     # an option with an underscore\n"
                 "internal=7\n"
                 f". {UTILS}/parse_options.sh\n" + body)
    s.chmod(0o755)
    return s


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def test_parse_options(tmp_path):
    s = _script(tmp_path, 'echo "alpha=$alpha beta=$beta_gamma rest=$*"\n')
    r = run([str(s), "--alpha", "2", "--beta-gamma=y z", "pos1", "--not-parsed"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "alpha=2 beta=y z rest=pos1 --not-parsed"


def test_parse_options_unknown_and_help(tmp_path):
    s = _script(tmp_path, "echo ran\n")
    r = run([str(s), "--internal", "3"])  # no help comment: not an option
    assert r.returncode == 2 and "unknown option '--internal'" in r.stderr
    assert "--alpha --beta_gamma" in r.stderr and "ran" not in r.stdout
    r = run([str(s), "--alpha"])
    assert r.returncode == 2 and "needs a value" in r.stderr
    h = run([str(s), "--help"])
    assert h.returncode == 0 and "--alpha" in h.stdout and "the first option [1]" in h.stdout


def test_run_local_array_logs_and_failure(tmp_path):
    logs = tmp_path / "log"
    r = run([str(UTILS / "run_local.sh"), "JOB=1:3", f"{logs}/j.JOB.log",
             "bash", "-c", "echo 'job JOB with spaces'; [ JOB -ne 2 ]"])
    assert r.returncode == 1
    assert "job 2 of 1:3 failed" in r.stderr and f"{logs}/j.2.log" in r.stderr
    assert "job 2 with spaces" in r.stderr  # the log's tail is shown
    text = (logs / "j.1.log").read_text()
    assert text.startswith("# ") and "job 1 with spaces" in text and "Ended (code 0)" in text
    assert "Ended (code 1)" in (logs / "j.2.log").read_text()


def test_run_local_max_jobs_serialises(tmp_path):
    out = tmp_path / "order"
    r = run([str(UTILS / "run_local.sh"), "--max_jobs", "1", "JOB=1:4", f"{tmp_path}/l.JOB.log",
             "bash", "-c", f"echo start JOB >> {out}; sleep 0.2; echo end JOB >> {out}"])
    assert r.returncode == 0, r.stderr
    lines = out.read_text().split()
    events = list(zip(lines[::2], lines[1::2]))
    # with one slot, every start is followed by its own end
    for (a, ja), (b, jb) in zip(events[::2], events[1::2]):
        assert (a, b) == ("start", "end") and ja == jb


@pytest.mark.parametrize("n,expected", [(3, 3), (1, 1), (50, 10)])
def test_split_scp(tmp_path, n, expected):
    src = tmp_path / "wav.scp"
    src.write_text("".join(f"utt{i:02d} /a/{i}.wav\n" for i in range(10)))
    r = run([str(UTILS / "split_scp.sh"), str(src), str(tmp_path / "split"), str(n)])
    assert r.returncode == 0 and int(r.stdout) == expected
    parts = [(tmp_path / "split" / str(j) / "wav.scp").read_text().splitlines()
             for j in range(1, expected + 1)]
    assert sum(parts, []) == src.read_text().splitlines()  # contiguous, in order
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
