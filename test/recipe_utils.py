"""Helpers for tests that run the recipe in a throw-away copy of egs2/punser/ser1."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from conftest import REPO, RECIPE

GENERATED = {"data", "dump", "exp", "downloads", "RESULTS.md"}


def copy_recipe(dst: Path) -> Path:
    """A copy of the recipe (symlinks resolved, generated outputs left out)."""
    def ignore(directory, names):
        return [n for n in names if Path(directory) == RECIPE and n in GENERATED]

    shutil.copytree(RECIPE, dst, symlinks=False, ignore=ignore)
    return dst


def recipe_env() -> dict:
    env = dict(os.environ)
    env["MAIN_ROOT"] = str(REPO)
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


def run_recipe(recipe: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["./run.sh", *args], cwd=recipe, env=recipe_env(), text=True,
                          capture_output=True, timeout=timeout)
