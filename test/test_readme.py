"""The README is what a new user reads: its commands and tables must be the real ones."""

import re

from conftest import REPO
from espnet2_punser.bin.corpus_table import registry_rows
from espnet2_punser import corpora


def test_registry_table_matches_readme():
    readme = (REPO / "README.md").read_text()
    block = readme.split("<!-- registry table: generated -->\n", 1)[1].split(
        "\n<!-- end of registry table -->", 1)[0]
    assert block.strip().splitlines() == registry_rows()
    for name in corpora.names():  # every corpus of the registry is documented
        assert f"`{name}`" in block


def test_ci_runs_the_readme_commands():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    commands = [ln.strip() for ln in ci.splitlines()
                if ln.strip().startswith(("tools/", "./"))]
    assert commands == ["tools/setup.sh", "tools/venv/bin/python -m pytest",
                        "tools/venv/bin/python -m pytest -m slurm"]
    for c in commands:
        assert re.search(rf"^{re.escape(c)}\s", readme, re.M), c
    assert "cd egs2/punser/ser1 && ./run.sh" in readme
