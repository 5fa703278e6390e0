"""The recipe end to end on a reduced synthetic configuration, and its bad inputs."""

import json
import re
import time

import pytest

from recipe_utils import copy_recipe, run_recipe

# reduced synthetic set-up: fewer utterances and epochs than the demo
FAST = ["--synth_scale", "0.5", "--fractions", "0.5", "--pretrain_args", "--max_epoch 8"]


@pytest.fixture(scope="module")
def trained_recipe(tmp_path_factory):
    recipe = copy_recipe(tmp_path_factory.mktemp("recipe") / "ser1")
    start = time.time()
    r = run_recipe(recipe, *FAST)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return recipe, r, time.time() - start


def _scores(recipe, system, variant="full"):
    d = recipe / "exp" / "finetune_demo_pretrain" / "scores"
    return json.loads((d / f"{system}_{variant}_synth_eval_main.json").read_text())


def test_recipe_learns(trained_recipe):
    recipe, r, seconds = trained_recipe
    results = (recipe / "RESULTS.md").read_text()
    assert "SYNTHETIC" in results and "random weights" in results
    assert "UA4" in results and "CCC_A" in results
    ft = _scores(recipe, "punser")
    chance = 1 / len(ft["classes"])
    # the synthetic prosody is learnable: far above chance, arousal well tracked
    assert ft["ua"] >= 2 * chance, ft
    assert ft["ccc"]["ccc_a"] >= 0.5, ft
    # every utterance of the protocol was tested once
    assert ft["n_cat"] == sum(json.loads(
        (recipe / "dump/eval/synth_eval/main/protocol.json").read_text())["folds"][f]["test"]
        for f in ft["folds"])
    # the pre-trained model transfers zero-shot better than chance, and the report has
    # the low-resource plot and confusion matrices
    zs = _scores(recipe, "punser", "zeroshot")
    assert zs["ua"] > chance + 0.1
    scores = recipe / "exp/finetune_demo_pretrain/scores"
    for png in ("low_resource.png", "punser_full_synth_eval_main_confusion.png"):
        assert (scores / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "stage 7 (score): done" in r.stdout
    print(f"reduced recipe, stages 1-7: {seconds:.0f} s")  # measured, not asserted


def test_rerun_redoes_nothing(trained_recipe):
    recipe, _, _ = trained_recipe
    start = time.time()
    r = run_recipe(recipe, *FAST)
    assert r.returncode == 0, r.stderr[-2000:]
    skipped = re.findall(r"stage (\d) \(\w+\): done with the same options; skipped", r.stdout)
    assert skipped == [str(i) for i in range(1, 8)], r.stdout
    assert "start" not in r.stdout
    assert time.time() - start < 60


def test_changed_pretrain_option_reruns_stages_4_to_7(trained_recipe):
    recipe, _, _ = trained_recipe
    changed = FAST[:-1] + ["--max_epoch 9"]
    r = run_recipe(recipe, *changed, "--dry_run", "true")
    assert r.returncode == 0, r.stderr[-2000:]
    skipped = re.findall(r"stage (\d) \(\w+\): done with the same options; skipped", r.stdout)
    would = re.findall(r"stage (\d) \(\w+\): would run", r.stdout)
    assert skipped == ["1", "2", "3"] and would == ["4", "5", "6", "7"], r.stdout


def test_stage5_on_fresh_checkout_names_stage4(tmp_path):
    recipe = copy_recipe(tmp_path / "ser1")
    r = run_recipe(recipe, "--stage", "5")
    assert r.returncode != 0
    assert "stage 4 (pretrain) has not completed" in r.stderr
    assert "--stage 1 --stop_stage 4" in r.stderr  # where to start
    assert not (recipe / "dump").exists()


def test_unknown_option_lists_valid_options(tmp_path):
    recipe = copy_recipe(tmp_path / "ser1")
    r = run_recipe(recipe, "--stage_typo", "3")
    assert r.returncode == 2
    assert "unknown option '--stage_typo'" in r.stderr
    assert "--stop_stage" in r.stderr and "--pretrain_corpora" in r.stderr
    h = run_recipe(recipe, "--help")
    assert h.returncode == 0 and "--fractions" in h.stdout and "Stage table" not in h.stderr


def test_db_sh_root_that_does_not_exist(tmp_path):
    recipe = copy_recipe(tmp_path / "ser1")
    db = (recipe / "db.sh").read_text().replace("EMODB=  ", f"EMODB={tmp_path}/nowhere  ")
    (recipe / "db.sh").write_text(db)
    r = run_recipe(recipe, "--stop_stage", "1")
    assert r.returncode != 0
    assert f"EMODB={tmp_path}/nowhere, which does not exist" in r.stderr + r.stdout
