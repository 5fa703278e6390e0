"""The recipe's Slurm backend (utils/run_slurm.sh) on a real Slurm on this machine.

Opt-in (``pytest -m slurm``): installs Debian's Slurm and MUNGE with apt-get where they
are missing (root only), then starts a private cluster in a temporary directory: one
munged (own key and socket), one slurmctld and two slurmd on localhost (two "nodes"
with their own ports and spool directories), configured with
``ProctrackType=proctrack/linuxproc`` and ``TaskPlugin=task/none`` (no cgroups, no
systemd). Every daemon is a child of this test and is stopped at the end; the system's
own Slurm/MUNGE configuration is not touched.

What runs through it: job arrays with per-job logs, failing and cancelled jobs (named
with their Slurm job id and log), a job that can never start, stages 2-3 of the recipe
with ``cmd_backend=slurm``, a failing recipe stage, and ESPnet DDP training across the
two nodes with ``--dist_launcher slurm`` (srun, gloo) that trains the same model as one
process.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import PYTHON, RECIPE
from recipe_utils import copy_recipe, recipe_env
from test_distributed import assert_same_training, espnet_ddp_case, train_one_process

pytestmark = pytest.mark.slurm

RUN_SLURM = RECIPE / "utils" / "run_slurm.sh"
PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
TOOLS = ["slurmctld", "slurmd", "sbatch", "srun", "squeue", "scontrol", "scancel", "sinfo",
         "munged"]
# Node names: the host's own name (ESPnet's --dist_launcher slurm takes the first node
# name of the step as the master address, so it must resolve) and a second one.
# NOTE: "localhost" cannot be a NodeName (slurmctld: "Duplicated NodeHostName").
HOST = socket.gethostname().split(".")[0]
NODES = [HOST, f"{HOST}b"]
TIMINGS = {}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _install() -> None:
    """apt-get install the Slurm daemons, client and MUNGE where a tool is missing."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(f"Slurm is not installed ({', '.join(missing)} missing) and this test "
                    f"installs it with apt-get as root only: run it as root on Debian/Ubuntu, "
                    f"or install {' '.join(PACKAGES)} first")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:  # a fresh machine has no package lists yet
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, env=env)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}"


def _slurm_conf(d: Path, ctld_port: int, ports, cpus: int, mem_mb: int) -> str:
    nodes = "\n".join(
        f"NodeName={n} NodeHostname={HOST} NodeAddr=127.0.0.1 Port={p} CPUs={cpus} "
        f"RealMemory={mem_mb} State=UNKNOWN" for n, p in zip(NODES, ports))
    return f"""\
ClusterName=punsertest
SlurmctldHost={HOST}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={d}/munge.sock
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool/%n
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.%n.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
InactiveLimit=0
MinJobAge=300
KillWait=5
{nodes}
PartitionName=punser Nodes={','.join(NODES)} Default=YES MaxTime=60 State=UP
"""


def _stop(procs) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in reversed(procs):
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def slurm():
    """A running private Slurm; yields the environment that points its clients at it."""
    t0 = time.time()
    _install()
    TIMINGS["install_s"] = time.time() - t0
    if os.geteuid() != 0:
        pytest.fail("slurmd runs jobs as root here (SlurmdUser=root): run this test as root")
    # NOTE: not under pytest's tmp_path: munged wants its socket's directory and the
    # directories above it searchable by all (pytest's are 0700)
    d = Path(tempfile.mkdtemp(prefix="punser-slurm-"))
    d.chmod(0o755)
    (d / "state").mkdir()
    (d / "spool").mkdir()
    mem_mb = min(8000, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 // 2)
    conf = d / "slurm.conf"
    conf.write_text(_slurm_conf(d, _free_port(), [_free_port(), _free_port()],
                                os.cpu_count() or 1, mem_mb))
    key = d / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    env = dict(os.environ, SLURM_CONF=str(conf))
    procs = []

    def start(name, *cmd):
        log = open(d / f"{name}.out", "w")
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env))

    def logs():
        return "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}"
                         for p in sorted(d.glob("*.out")) + sorted(d.glob("*.log")))

    try:
        start("munged", "munged", "-F", f"--socket={d}/munge.sock", f"--key-file={key}",
              f"--pid-file={d}/munged.pid", f"--log-file={d}/munged.log",
              f"--seed-file={d}/munged.seed")
        for _ in range(100):
            if (d / "munge.sock").exists():
                break
            time.sleep(0.1)
        start("slurmctld", "slurmctld", "-D", "-f", str(conf))
        time.sleep(1)
        for node in NODES:
            start(f"slurmd.{node}", "slurmd", "-D", "-N", node, "-f", str(conf))
        deadline = time.time() + 60
        states = ""
        while time.time() < deadline:
            states = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %t"], capture_output=True,
                                    text=True, env=env).stdout
            if sorted(states.split()) == sorted(NODES + ["idle", "idle"]):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the Slurm nodes did not become idle within 60 s ({states!r}):\n{logs()}")
        TIMINGS["start_s"] = time.time() - t0 - TIMINGS["install_s"]
        print(f"\nSlurm: install {TIMINGS['install_s']:.1f} s, start {TIMINGS['start_s']:.1f} s")
        yield env
    finally:
        subprocess.run(["scancel", "--full", "--user", "root"], env=env, capture_output=True)
        _stop(procs)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def conf(tmp_path):
    """run_slurm.sh settings for this small cluster: short polls."""
    c = tmp_path / "run_slurm.conf"
    c.write_text("mem=500M   # per job\npoll_max=2\nlog_wait=5\n")
    return c


def run_slurm(env, cwd, *args, timeout=300):
    return subprocess.run([str(RUN_SLURM), *map(str, args)], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout)


def _job_id(stderr: str) -> str:
    m = re.search(r"run_slurm\.sh: Slurm job (\d+)", stderr)
    assert m, stderr
    return m.group(1)


def test_job_array_writes_one_log_per_job(slurm, conf, tmp_path):
    r = run_slurm(slurm, tmp_path, "--config", conf, "--max_jobs", 2, "JOB=1:3",
                  tmp_path / "log" / "hello.JOB.log",
                  "bash", "-c", "echo job JOB on $SLURMD_NODENAME with $SLURM_CPUS_PER_TASK cpu")
    assert r.returncode == 0, r.stderr
    job = _job_id(r.stderr)
    for j in (1, 2, 3):
        lines = (tmp_path / "log" / f"hello.{j}.log").read_text().splitlines()
        assert lines[0].startswith(f"# bash -c echo\\ job\\ {j}\\ on")
        assert lines[1].startswith("# Started at ")
        assert re.fullmatch(rf"# Slurm job {job}_{j} on \S+", lines[2])
        assert re.fullmatch(rf"job {j} on ({'|'.join(NODES)}) with .*cpu", lines[3]), lines[3]
        assert lines[-2].startswith("# Accounting: time=")
        assert re.fullmatch(r"# Ended \(code 0\) at .*", lines[-1])
    script = (tmp_path / "log" / "q" / "hello.sh").read_text()
    assert "--array 1-3%2" in script and "--mem 500M" in script


def test_failed_job_is_named_with_its_slurm_id_and_log(slurm, conf, tmp_path):
    log = tmp_path / "log" / "part.JOB.log"
    r = run_slurm(slurm, tmp_path, "--config", conf, "JOB=1:3", log,
                  "bash", "-c",
                  "echo working on JOB; [ JOB != 2 ] || { echo bad input >&2; exit 3; }")
    assert r.returncode == 1
    job = _job_id(r.stderr)
    assert (f"Slurm job {job}_2 (job 2 of 1:3) failed (exit code 3); see {tmp_path}/log/part.2.log"
            in r.stderr), r.stderr
    assert "    bad input" in r.stderr
    assert f"1 of 3 job(s) of Slurm job {job} failed" in r.stderr
    assert "job 1 of" not in r.stderr and "job 3 of" not in r.stderr
    assert "# Ended (code 0)" in (tmp_path / "log" / "part.3.log").read_text()


def test_cancelled_job_is_named_with_its_state_and_log(slurm, conf, tmp_path):
    err = tmp_path / "stderr"
    with open(err, "w") as e:
        p = subprocess.Popen([str(RUN_SLURM), "--config", str(conf), "JOB=1:2",
                              str(tmp_path / "s.JOB.log"), "bash", "-c",
                              "echo started JOB; [ JOB = 1 ] || sleep 300"],
                             cwd=tmp_path, env=slurm, stderr=e, text=True)
        log2 = tmp_path / "s.2.log"
        for _ in range(300):  # until job 2 runs
            if log2.exists() and "started 2" in log2.read_text():
                break
            time.sleep(0.1)
        job = _job_id(err.read_text())
        subprocess.run(["scancel", f"{job}_2"], env=slurm, check=True)
        assert p.wait(timeout=120) == 1
    out = err.read_text()
    assert f"Slurm job {job}_2 (job 2 of 1:2) was CANCELLED; see {tmp_path}/s.2.log" in out, out
    assert "CANCELLED AT" in out  # slurmstepd's line, from the tail of the log


def test_stopping_the_runner_cancels_its_job(slurm, conf, tmp_path):
    err = tmp_path / "stderr"
    with open(err, "w") as e:
        p = subprocess.Popen([str(RUN_SLURM), "--config", str(conf), str(tmp_path / "x.log"),
                              "sleep", "300"], cwd=tmp_path, env=slurm, stderr=e, text=True)
        for _ in range(100):
            if "Slurm job" in err.read_text():
                break
            time.sleep(0.1)
        job = _job_id(err.read_text())
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=60) == 143
    assert f"cancelled Slurm job {job}" in err.read_text()
    for _ in range(100):
        q = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], env=slurm,
                           capture_output=True, text=True).stdout.strip()
        if q in ("", "COMPLETING"):
            break
        time.sleep(0.2)
    assert q in ("", "COMPLETING")


def test_job_that_cannot_start_is_cancelled_with_the_reason(slurm, conf, tmp_path):
    """A time limit above the partition's (MaxTime=60 here): sbatch accepts the job,
    which would then wait for ever."""
    r = run_slurm(slurm, tmp_path, "--config", conf, "--time", "3:00:00",
                  tmp_path / "long.log", "true", timeout=60)
    assert r.returncode == 1
    job = _job_id(r.stderr)
    assert f"Slurm job {job} cannot start (PENDING Partition" in r.stderr, r.stderr
    assert "cancelled it" in r.stderr and "--time 3:00:00" in r.stderr
    q = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], env=slurm,
                       capture_output=True, text=True).stdout.strip()
    assert q in ("", "CANCELLED")


def test_sbatch_refusal_is_reported(slurm, conf, tmp_path):
    r = run_slurm(slurm, tmp_path, "--config", conf, "--gpu", 1, tmp_path / "gpu.log", "true")
    assert r.returncode == 1
    assert "sbatch refused the job" in r.stderr and "--gres=gpu:1" in r.stderr


# --------------------------------------------------------------------- the recipe
def _recipe_env(slurm, conf):
    return dict(recipe_env(), SLURM_CONF=slurm["SLURM_CONF"], cmd_backend="slurm",
                slurm_config=str(conf))


def test_recipe_stages_through_slurm(slurm, conf, tmp_path):
    """Stages 1-3 with cmd_backend=slurm: the format and stats jobs run as Slurm job
    arrays; then a bad audio file with --strict true fails the format stage, which
    names the Slurm job and its log."""
    recipe = copy_recipe(tmp_path / "ser1")
    env = _recipe_env(slurm, conf)
    args = ["--synth_scale", "0.1"]
    r = subprocess.run(["./run.sh", "--stop_stage", "3", *args], cwd=recipe, env=env,
                       text=True, capture_output=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    submitted = re.findall(r"run_slurm\.sh: Slurm job (\d+) \(JOB=1:(\d+)\)", r.stderr)
    assert len(submitted) >= 5, r.stderr  # 4 corpora formatted + collect_stats
    fmt_log = recipe / "dump" / "format" / "synth_cat" / "log" / "format.1.log"
    assert re.search(r"^# Slurm job \d+_1 on ", fmt_log.read_text(), re.M)
    stats_log = recipe / "exp" / "stats_pretrain" / "log" / "stats.1.log"
    assert "# Ended (code 0)" in stats_log.read_text()
    assert (recipe / "exp" / "stats_pretrain" / "train" / "speech_shape").stat().st_size > 0

    # a broken file of synth_dim: the strict format stage fails on it
    wav = Path((recipe / "data" / "synth_dim" / "wav.scp").read_text().split()[1])
    wav.write_bytes(b"RIFF broken")
    r = subprocess.run(["./run.sh", "--stage", "2", "--stop_stage", "2", "--strict", "true",
                        *args], cwd=recipe, env=env, text=True, capture_output=True,
                       timeout=600)
    assert r.returncode != 0
    m = re.search(r"Slurm job (\d+_\d+) \(job (\d+) of 1:\d+\) failed \(exit code 1\); "
                  r"see (\S+/format/synth_dim/log/format\.\d+\.log)", r.stderr)
    assert m, r.stderr[-3000:]
    failed_log = recipe / m.group(3)  # ser.sh names it relative to the recipe
    assert failed_log.is_file() and "--strict" in failed_log.read_text()
    assert "format of synth_dim failed" in r.stderr


def test_espnet_ddp_across_two_slurm_nodes_equals_one_process(slurm, conf, tmp_path):
    """Multi-node training as the recipe runs it on Slurm: one task per node (srun),
    ESPnet's --dist_launcher slurm with --multiprocessing_distributed true (here
    --ngpu 0 and gloo: one process per node; with GPUs, one per GPU), master address
    from the step's node list, MASTER_PORT from run_slurm.sh."""
    training, env = espnet_ddp_case(tmp_path)
    train_one_process(training, env, tmp_path / "one")
    env = dict(env, SLURM_CONF=slurm["SLURM_CONF"])
    log = tmp_path / "two" / "train.log"
    # NOTE: ESPnet cuts the first node name at its first "-" to get the master address
    # (distributed_utils.get_master_addr); on such a host, name it explicitly
    master = ["--dist_master_addr", HOST] if "-" in HOST else []
    r = run_slurm(env, tmp_path, "--config", conf, "--nodes", 2, log,
                  PYTHON, "-m", "espnet2_punser.bin.ser_train", *training,
                  "--multiprocessing_distributed", "true", "--dist_launcher", "slurm",
                  *master, "--dist_backend", "gloo", "--output_dir", tmp_path / "two",
                  timeout=600)
    text = log.read_text()
    assert r.returncode == 0, r.stderr[-2000:] + text[-4000:]
    assert re.search(r"^\[\S+:0/2\] ", text, re.M)  # the log of rank 0 of a world of 2
    script = (tmp_path / "two" / "q" / "train.sh").read_text()
    assert "--nodes 2 --ntasks-per-node 1" in script and "srun --kill-on-bad-exit=1 bash" in script
    assert_same_training(tmp_path / "one", tmp_path / "two")
