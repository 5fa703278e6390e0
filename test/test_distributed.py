"""DDP without GPUs: gloo on the CPU, 2 processes.

- Every trainable parameter gets a gradient whatever labels a batch has, so DDP runs
  with ESPnet's default ``--unused_parameters false``.
- The loss under DDP is the loss of the global batch (shards gathered with a gradient):
  2 ranks given the shards ``batch[rank::2]`` take the same optimiser steps, and report
  the same stats, as one process given the whole batch.
- SERTrainer's gathering of validation predictions.
- The whole path through ESPnet: ``torchrun`` (ESPnet's external-launcher mode,
  ``--dist_backend gloo --ngpu 0``) with 2 processes trains the same model as one process
  with the same global batches.
- ``run.sh --ngpu N`` on a machine with fewer GPUs stops before it creates anything.
- The model's forward pass under bf16 autocast (what ``--use_amp true`` gives on a GPU).

NOTE: ESPnet's own launcher (``--ngpu 2 --multiprocessing_distributed true``) cannot run
without GPUs: each spawned worker calls ``torch.cuda.set_device(local_rank)``
(``espnet2/train/distributed_utils.py``, ``init_torch_distributed``), which raises
"RuntimeError: Found no NVIDIA driver on your system". Its external-launcher mode, with
``--ngpu 0``, uses no CUDA call, so the tests take that path.
"""

import datetime
import os
import re
import socket
import subprocess

import numpy as np
import pytest
import torch
import torch.distributed as dist
import yaml

from conftest import PYTHON, TINY_XEUS, make_tone_set
from recipe_utils import copy_recipe, run_recipe
from espnet2_punser.ser.model import PunserModel
from espnet2_punser.ser.trainer import corpus_metrics, gather_predictions
from espnet2_punser.ser.xeus import XeusUpstream

WORLD = 2


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _init_gloo(rank: int, port: int) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    # a collective that one rank never joins fails after 60 s instead of hanging
    dist.init_process_group("gloo", rank=rank, world_size=WORLD,
                            timeout=datetime.timedelta(seconds=60))


def _spawn(fn, *args) -> None:
    torch.multiprocessing.spawn(fn, args=(_free_port(), *args), nprocs=WORLD, join=True)


# --------------------------------------------------------------------------- gradients
def _tiny_model(pos_enc: str = "abs_pos") -> PunserModel:
    cfg = yaml.safe_load(TINY_XEUS.read_text())
    cfg["encoder_conf"]["pos_enc_layer_type"] = pos_enc  # XEUS: conv
    torch.manual_seed(0)
    return PunserModel(XeusUpstream(cfg, num_trainable_layers=2))


@pytest.mark.parametrize("pos_enc", ["abs_pos", "conv"])
@pytest.mark.parametrize("case", ["no_category", "no_vad", "no_labels", "one_vad_sample"])
def test_every_trainable_parameter_gets_a_gradient(case, pos_enc):
    """DDP without --unused_parameters needs a gradient for every parameter that has
    requires_grad in every step; the frozen parts of XEUS (CNN, pre-encoder, positional
    encoding, lower blocks, final norm) have requires_grad False."""
    model = _tiny_model(pos_enc).train()
    rng = np.random.default_rng(0)
    b = 4
    cat = torch.tensor([[0], [1], [2], [3]])
    vad = torch.tensor(rng.random((b, 3)), dtype=torch.float32)
    if case in ("no_category", "no_labels"):
        cat[:] = -1
    if case in ("no_vad", "no_labels"):
        vad[:] = float("nan")
    if case == "one_vad_sample":
        vad[1:] = float("nan")
    speech = torch.tensor(rng.standard_normal((b, 12000)), dtype=torch.float32)
    loss, stats, _ = model(speech, torch.tensor([12000, 11000, 9000, 8000]), cat=cat, vad=vad)
    loss.backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert no_grad == []
    frozen = {n.split(".encoders.")[-1].split(".")[0] for n, p in model.named_parameters()
              if not p.requires_grad and ".encoders." in n}
    assert frozen == {"0", "1"}  # the lower blocks of num_trainable_layers=2
    for frozen_part in ("after_norm", "encoder.embed", "upstream.frontend", "preencoder"):
        assert not any(p.requires_grad for n, p in model.named_parameters() if frozen_part in n)
    if case == "no_labels":
        assert float(loss.detach()) == 0.0


# ---------------------------------------------------------------- DDP steps vs 1 process
L_LAYERS, FEAT = 4, 16


def _cached_model() -> PunserModel:
    torch.manual_seed(0)
    return PunserModel(None, num_layers=L_LAYERS, feat_dim=FEAT, proj_dim=8,
                       head_hidden=8).double()


def _global_batches():
    """Five global batches of 5 utterances (shards of 3 and 2) with label gaps that a
    rank's shard or the whole batch can have."""
    rng = np.random.default_rng(1)
    out = []
    for step in range(5):
        b = 5
        x = torch.tensor(rng.standard_normal((b, L_LAYERS, FEAT)))
        cat = torch.tensor(rng.integers(0, 8, (b, 1)))
        vad = torch.tensor(rng.random((b, 3)))
        if step == 1:      # no category in the whole batch
            cat[:] = -1
        if step == 2:      # rank 1's shard (rows 1, 3) has no label at all
            cat[[1, 3]] = -1
            vad[[1, 3]] = float("nan")
        if step == 3:      # no V/A/D in the whole batch
            vad[:] = float("nan")
        if step == 4:      # one V/A/D sample: no CCC term; rank 0 has no category
            vad[[0, 1, 2, 3]] = float("nan")
            cat[[0, 2, 4]] = -1
        out.append({"speech": x, "cat": cat, "vad": vad})
    return out


def _shard(batch, rank):
    return {k: v[rank::WORLD] for k, v in batch.items()}


def _ddp_steps_worker(rank, port, out_dir):
    from espnet2.torch_utils.recursive_op import recursive_average

    _init_gloo(rank, port)
    model = _cached_model()
    ddp = torch.nn.parallel.DistributedDataParallel(model)  # find_unused_parameters=False
    model.gather_batch = True  # as SERTrainer sets it under DDP
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    stats_per_step = []
    for batch in _global_batches():
        loss, stats, weight = ddp(**_shard(batch, rank))
        # what espnet2.train.trainer.Trainer.train_one_epoch does under DDP
        stats = {k: v for k, v in stats.items() if v is not None}
        loss = (loss * weight.type(loss.dtype)).sum()
        stats, weight = recursive_average(stats, weight, True)
        loss = loss / weight * dist.get_world_size()
        opt.zero_grad()
        loss.backward()
        opt.step()
        stats_per_step.append({k: float(v) for k, v in stats.items()})
    torch.save({"state": model.state_dict(), "stats": stats_per_step},
               f"{out_dir}/rank{rank}.pt")
    dist.destroy_process_group()


def test_ddp_steps_equal_one_process_on_the_global_batch(tmp_path):
    _spawn(_ddp_steps_worker, str(tmp_path))
    model = _cached_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    ref_stats = []
    for batch in _global_batches():
        loss, stats, _ = model(**batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref_stats.append({k: float(v) for k, v in stats.items() if v is not None})
    ref = model.state_dict()
    start = _cached_model().state_dict()
    for rank in range(WORLD):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        # NOTE: the loss terms are computed in float32 (model.py casts them), so the
        # float64 models agree to float32 rounding
        for k in ref:
            torch.testing.assert_close(got["state"][k], ref[k], rtol=0, atol=1e-6, msg=k)
        assert [sorted(s) for s in got["stats"]] == [sorted(s) for s in ref_stats]
        for s, r in zip(got["stats"], ref_stats):
            assert s == pytest.approx(r, rel=1e-6, abs=1e-7)
    # the steps did move every parameter group (the comparison is not between no-ops)
    for k in ("layer_weights", "proj.weight", "cat_head.2.weight", "vad_heads.0.2.weight"):
        assert (ref[k] - start[k]).abs().max() > 1e-3, k


def test_mean_of_shard_losses_is_not_the_global_loss():
    """Why the loss gathers the shards: a CCC (and a CE mean over labelled samples) of a
    batch is not the mean over its shards, so per-shard losses would train another
    model with N processes than with one."""
    model = _cached_model()
    batch = _global_batches()[0]
    whole = float(model(**batch)[0].detach())
    shards = [model(**_shard(batch, r)) for r in range(WORLD)]
    mean = sum(float(loss.detach()) * float(w) for loss, _, w in shards) / 5
    assert abs(whole - mean) > 1e-2


# --------------------------------------------------------------- validation predictions
def _predictions(rank):
    rng = np.random.default_rng(10 + rank)
    n_cat = 0 if rank == 1 else 3  # rank 1: no categorical label in its shard
    n_vad = 4 + rank
    return (rng.integers(0, 4, n_cat), rng.integers(0, 4, n_cat),
            rng.random((n_vad, 3)).astype(np.float32), rng.random((n_vad, 3)).astype(np.float32))


def _gather_worker(rank, port, out_dir):
    _init_gloo(rank, port)
    arrays = gather_predictions(_predictions(rank), True)
    np.savez(f"{out_dir}/rank{rank}.npz", *arrays)
    dist.destroy_process_group()


def test_gather_predictions_concatenates_every_rank(tmp_path):
    _spawn(_gather_worker, str(tmp_path))
    expected = [np.concatenate(x) for x in zip(*[_predictions(r) for r in range(WORLD)])]
    for rank in range(WORLD):
        with np.load(tmp_path / f"rank{rank}.npz") as got:
            for i, e in enumerate(expected):
                np.testing.assert_array_equal(got[f"arr_{i}"], e)
    assert len(expected[0]) == 3 and len(expected[2]) == 9
    stats = corpus_metrics(*expected)
    assert stats["ua"] is not None and stats["ccc_v"] is not None
    # without DDP the arrays pass through unchanged
    arrays = _predictions(0)
    assert gather_predictions(arrays, False) is arrays


# -------------------------------------------------------------- ESPnet, 1 vs 2 processes
def _data_args(d, split):
    return [
        f"--{split}_data_path_and_name_and_type", f"{d}/wav.scp,speech,sound",
        f"--{split}_data_path_and_name_and_type", f"{d}/cat,cat,text_int",
        f"--{split}_data_path_and_name_and_type", f"{d}/vad,vad,text_float",
    ]


def espnet_ddp_case(tmp_path):
    """Clips, shape files and the ser_train arguments of a 1 vs 2 process comparison.

    NOTE: the encoder's dropout is set to 0: the ranks draw dropout masks from their own
    random streams, so with dropout the runs are equally good but not equal.
    Returns ``(training_args, env)``.
    """
    cfg = re.sub(r"(dropout_rate): [0-9.]+", r"\1: 0.0", TINY_XEUS.read_text())
    assert cfg.count("dropout_rate: 0.0") == 3
    xeus = tmp_path / "tiny_nodropout.yaml"
    xeus.write_text(cfg)
    train = make_tone_set(tmp_path, 24, 0, "train")
    valid = make_tone_set(tmp_path, 8, 1, "valid")
    common = [
        "--frontend_conf", f"xeus_config={xeus}", "--frontend_conf", "num_trainable_layers=2",
        "--optim_conf", "lr=0.001", "--batch_bins", "60000",
        "--use_tensorboard", "false", "--use_matplotlib", "false",
        "--num_workers", "0", "--seed", "0", "--ngpu", "0",
        *_data_args(train, "train"), *_data_args(valid, "valid"),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    stats = tmp_path / "stats"
    r = subprocess.run(
        [PYTHON, "-m", "espnet2_punser.bin.ser_train", *common, "--collect_stats", "true",
         "--train_shape_file", f"{train}/wav.scp", "--valid_shape_file", f"{valid}/wav.scp",
         "--output_dir", str(stats)],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    training = [*common, "--max_epoch", "2", "--keep_nbest_models", "2",
                "--train_shape_file", f"{stats}/train/speech_shape",
                "--valid_shape_file", f"{stats}/valid/speech_shape"]
    return training, env


def train_one_process(training, env, out_dir) -> subprocess.CompletedProcess:
    """The reference: one process, the same global batches.

    NOTE: ``--min_batch_size 2``: ESPnet forces min_batch_size to the world size under
    DDP, and the batches must be the same.
    """
    r = subprocess.run(
        [PYTHON, "-m", "espnet2_punser.bin.ser_train", *training, "--min_batch_size", "2",
         "--output_dir", str(out_dir)],
        capture_output=True, text=True, cwd=out_dir.parent, env=env, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r


BATCH_SIZES = re.compile(r"\[train\] mini-batch sizes summary: (.*)")


def assert_same_training(one, two):
    """Two ESPnet output dirs hold the same model and the same epoch stats."""
    a = torch.load(one / "2epoch.pth", weights_only=True)
    b = torch.load(two / "2epoch.pth", weights_only=True)
    a1 = torch.load(one / "1epoch.pth", weights_only=True)
    assert set(a) == set(b)
    for k in a:
        # NOTE: float32 rounding differs (shards are padded to their own length and the
        # sums run in another order); AdamW scales it up where a gradient is ~0 (key
        # biases of attention), hence an absolute tolerance of 1e-4 after 10 steps of
        # lr 1e-3, where training moves weights by up to 1e-2 per epoch.
        torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-4, msg=k)
    moved = max((a[k] - a1[k]).abs().max().item() for k in a if a[k].is_floating_point())
    assert moved > 1e-3
    ra = torch.load(one / "checkpoint.pth", weights_only=False)["reporter"]["stats"]
    rb = torch.load(two / "checkpoint.pth", weights_only=False)["reporter"]["stats"]
    for epoch in (1, 2):
        for phase, keys in (("train", ("loss", "loss_cat", "loss_dim", "acc")),
                            ("valid", ("loss", "loss_cat", "loss_dim", "acc", "ua",
                                       "ccc_v", "ccc_a", "ccc_d"))):
            for k in keys:
                assert rb[epoch][phase][k] == pytest.approx(ra[epoch][phase][k], rel=1e-4,
                                                            abs=1e-5), (epoch, phase, k)


def test_espnet_ddp_gloo_two_processes_equal_one_process(tmp_path):
    """ESPnet's external-launcher mode through torchrun: 2 CPU processes (gloo), each
    given ``batch[rank::2]`` of every global batch, end with the model and the epoch
    stats of one process given the whole batches."""
    training, env = espnet_ddp_case(tmp_path)
    r1 = train_one_process(training, env, tmp_path / "one")
    r2 = subprocess.run(
        [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "espnet2_punser.bin.ser_train", *training,
         "--multiprocessing_distributed", "false", "--dist_backend", "gloo",
         "--output_dir", str(tmp_path / "two")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )
    assert r2.returncode == 0, r2.stderr[-3000:]
    # really two DDP ranks, batches of the same sizes
    assert ":0/2]" in r2.stderr and ":0/2]" not in r1.stderr
    assert BATCH_SIZES.findall(r1.stderr) == BATCH_SIZES.findall(r2.stderr)
    assert_same_training(tmp_path / "one", tmp_path / "two")


# ------------------------------------------------------------------ --ngpu, --use_amp
def test_run_sh_with_more_gpus_than_the_machine_has_stops_before_anything(tmp_path):
    recipe = copy_recipe(tmp_path / "ser1")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    ngpu = max(2, torch.cuda.device_count() + 1)
    r = run_recipe(recipe, "--ngpu", str(ngpu), "--expdir", str(tmp_path / "exp"),
                   "--datadir", str(tmp_path / "data"), "--dumpdir", str(tmp_path / "dump"),
                   timeout=120)
    assert r.returncode != 0
    have = torch.cuda.device_count()
    assert (f"--ngpu {ngpu} but this machine has {have} usable GPU(s) "
            "(torch.cuda.device_count())") in r.stderr
    assert "stage 1" not in r.stdout  # no stage started
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before


def test_forward_backward_under_bf16_autocast():
    """--use_amp true gives bf16 autocast on GPUs that support it; the CPU autocast runs
    the same dtype rules: the loss stays float32, close to the float32 loss, and every
    trainable parameter gets a finite gradient."""
    model = _tiny_model().train()
    # dropout off: the two passes must see the same network
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    rng = np.random.default_rng(3)
    speech = torch.tensor(rng.standard_normal((4, 12000)), dtype=torch.float32)
    lens = torch.tensor([12000, 11000, 9000, 8000])
    cat = torch.tensor([[0], [-1], [2], [3]])
    vad = torch.tensor(rng.random((4, 3)), dtype=torch.float32)
    vad[2] = float("nan")
    ref, _, _ = model(speech, lens, cat=cat, vad=vad)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, stats, _ = model(speech, lens, cat=cat, vad=vad)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert float(loss.detach()) == pytest.approx(float(ref.detach()), rel=0.05)
    loss.backward()
    for n, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), n
