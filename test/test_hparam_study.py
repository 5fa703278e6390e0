"""The hyper-parameter studies (paper Tables II and III): local/hparam_study.sh pre-trains
one model per alpha and per L through stage 4 of ser.sh, and hparam_tables.py scores each
on the pre-training validation set."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch
import yaml
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from espnet2_punser.datadir import read_map
from espnet2_punser.labels import EMOTION_INDEX
from recipe_utils import copy_recipe, recipe_env, run_recipe

ALPHAS, LAYERS = ("0", "1"), ("0", "2")


def study(recipe):
    return subprocess.run(
        ["local/hparam_study.sh", "--alphas", " ".join(ALPHAS), "--layers", " ".join(LAYERS),
         "--pretrain_args", "--max_epoch 1"],
        cwd=recipe, env=recipe_env(), text=True, capture_output=True, timeout=900)


@pytest.fixture(scope="module")
def studied(tmp_path_factory):
    recipe = copy_recipe(tmp_path_factory.mktemp("hp") / "ser1")
    r = run_recipe(recipe, "--synth_scale", "0.2", "--stop_stage", "3")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    r = study(recipe)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return recipe


def table_rows(md: str, title: str) -> dict:
    section = md.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].startswith(("alpha =", "L =")):
            rows[cells[0]] = [float(c.strip("*<u>/ ")) for c in cells[1:]]
    return rows


def test_each_value_is_its_own_pretraining_run(studied):
    exp = studied / "exp"
    for a in ALPHAS:
        conf = yaml.safe_load((exp / f"pretrain_hp_alpha{a}" / "config.yaml").read_text())
        assert float(conf["model_conf"]["alpha"]) == float(a)
    for n in LAYERS:
        conf = yaml.safe_load((exp / f"pretrain_hp_L{n}" / "config.yaml").read_text())
        assert conf["frontend_conf"]["num_trainable_layers"] == int(n)
    # L = 0: XEUS is frozen, so its weights are those the run started from
    frozen = torch.load(exp / "pretrain_hp_L0" / "valid.loss.best.pth", map_location="cpu")
    moved = torch.load(exp / "pretrain_hp_L2" / "valid.loss.best.pth", map_location="cpu")
    start = torch.load(next((exp / "xeus_random").glob("*.pth")), map_location="cpu")
    top = [k for k in frozen if k.startswith("frontend.") and ".encoders.3." in k]
    assert top
    for k in top:  # the SSL checkpoint names XEUS's parameters without our prefix
        assert torch.equal(frozen[k], start[k[len("frontend.upstream."):]]), k
    assert any(not torch.equal(moved[k], frozen[k]) for k in top)


def test_tables_have_every_run_and_correct_metrics(studied):
    from espnet2_punser.bin.hparam_tables import predict_set
    from espnet2_punser.inference import build_model

    md = (studied / "exp" / "hparam_study.md").read_text()
    t2 = table_rows(md, "Table II")
    t3 = table_rows(md, "Table III")
    assert sorted(t2) == [f"alpha = {a}" for a in ALPHAS]
    assert sorted(t3) == [f"L = {n}" for n in LAYERS]
    # independent scoring of one run: 8-class WA/UA over all outputs, 4-class over the
    # four basic classes with only their outputs competing, CCC per dimension
    valid = studied / "dump" / "pretrain" / "valid"
    run = studied / "exp" / "pretrain_hp_alpha1"
    model, _ = build_model(run / "config.yaml", run / "valid.loss.best.pth")
    preds = predict_set(model, valid)
    cat = read_map(valid / "cat")
    keys = sorted(preds)
    y = np.array([int(cat[k]) for k in keys])
    logits = np.stack([preds[k][0] for k in keys])
    has = y >= 0
    four = [EMOTION_INDEX[c] for c in ("neutral", "happy", "sad", "angry")]
    sel = np.isin(y, four)
    p4 = np.array(four)[logits[:, four].argmax(1)]
    expected = [accuracy_score(y[sel], p4[sel]), balanced_accuracy_score(y[sel], p4[sel]),
                accuracy_score(y[has], logits[has].argmax(1)),
                balanced_accuracy_score(y[has], logits[has].argmax(1))]
    vad = read_map(valid / "vad")
    ref = np.array([[float(x) for x in vad[k].split()] for k in keys])
    hyp = np.stack([preds[k][1] for k in keys])
    for d in range(3):
        r, h = ref[:, d], hyp[:, d]
        ok = ~np.isnan(r)
        r, h = r[ok], h[ok]
        expected.append(2 * np.cov(r, h, bias=True)[0, 1]
                        / (r.var() + h.var() + (r.mean() - h.mean()) ** 2))
    row = t2["alpha = 1"]
    assert row[:7] == pytest.approx(expected, abs=6e-4)  # the table rounds to 3 decimals
    assert row[7] == pytest.approx(np.mean(expected), abs=1e-3)


def test_rerun_skips_finished_runs(studied):
    logs = {p: p.stat().st_mtime_ns for p in (studied / "exp").glob("pretrain_hp_*/train.log")}
    assert len(logs) == len(ALPHAS) + len(LAYERS)
    r = study(studied)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in logs} == logs
