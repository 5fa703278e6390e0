"""Metrics against references, and the paper's Tables IV and V rendered from its numbers."""

import re

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from espnet2_punser.metrics import concordance_cc, confusion, unweighted_accuracy, weighted_accuracy
from espnet2_punser.scoring import render_table, table4_columns, table5_columns


@pytest.mark.parametrize("seed", range(5))
def test_wa_ua_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 300)), int(rng.integers(2, 8))
    t = rng.integers(0, k, n)
    p = np.where(rng.random(n) < 0.6, t, rng.integers(0, k, n))
    assert weighted_accuracy(t, p) == pytest.approx(accuracy_score(t, p), abs=1e-12)
    assert unweighted_accuracy(t, p) == pytest.approx(balanced_accuracy_score(t, p), abs=1e-12)
    m = confusion(t, p, list(range(k)))
    assert m.sum() == n and np.trace(m) == int((t == p).sum())


@pytest.mark.parametrize("seed", range(5))
def test_ccc_equals_independent_formula(seed):
    rng = np.random.default_rng(seed)
    t = rng.random(200)
    p = 0.5 * t + 0.3 * rng.random(200) + 0.1
    rho = np.corrcoef(t, p)[0, 1]
    expected = 2 * rho * t.std() * p.std() / (t.var() + p.var() + (t.mean() - p.mean()) ** 2)
    assert concordance_cc(t, p) == pytest.approx(expected, abs=1e-12)
    t2 = t.copy()
    t2[:20] = np.nan  # missing labels are ignored
    assert concordance_cc(t2, p) == pytest.approx(concordance_cc(t[20:], p[20:]), abs=1e-12)


# The paper's Table IV (columns: IEMOCAP WA4 UA4 WA8 UA8, MSP-Improv WA4 UA4, MELD WA7
# UA7, SAVEE WA7 UA7, EmoDB WA6 UA6) with its Mean column.
TABLE_IV = {
    "emotion2vec base": ([0.587, 0.521, 0.409, 0.253, 0.574, 0.394, 0.484, 0.161, 0.307, 0.216, 0.588, 0.538], 0.419),
    "emotion2vec+ large": ([0.452, 0.377, 0.362, 0.209, 0.494, 0.286, 0.475, 0.143, 0.314, 0.234, 0.305, 0.260], 0.326),
    "WavLM large": ([0.667, 0.592, 0.558, 0.362, 0.620, 0.472, 0.494, 0.179, 0.333, 0.240, 0.674, 0.603], 0.483),
    "DST": ([0.533, 0.451, 0.378, 0.236, 0.461, 0.269, 0.475, 0.143, 0.286, 0.224, 0.361, 0.290], 0.342),
    "ShiftFormer": ([0.654, 0.588, 0.532, 0.340, 0.618, 0.488, 0.497, 0.202, 0.474, 0.415, 0.886, 0.855], 0.546),
    "XEUS": ([0.672, 0.604, 0.555, 0.359, 0.645, 0.518, 0.511, 0.220, 0.485, 0.416, 0.617, 0.570], 0.514),
    "PUNSER (Pre-trained)": ([0.579, 0.555, 0.417, 0.328, 0.535, 0.488, 0.286, 0.231, 0.325, 0.266, 0.572, 0.530], 0.426),
    "PUNSER (Fine-tuned)": ([0.672, 0.618, 0.584, 0.401, 0.652, 0.550, 0.511, 0.235, 0.465, 0.400, 0.811, 0.780], 0.557),
}
TABLE_V = {
    "emotion2vec base": ([0.561, 0.426, 0.453, 0.441, 0.544, 0.466, 0.675, 0.404, 0.791], 0.529),
    "emotion2vec+ large": ([0.413, 0.128, 0.289, 0.247, 0.306, 0.266, 0.533, 0.309, 0.622], 0.346),
    "WavLM large": ([0.682, 0.527, 0.527, 0.527, 0.647, 0.517, 0.786, 0.531, 0.837], 0.620),
    "XEUS": ([0.682, 0.540, 0.531, 0.531, 0.672, 0.542, 0.737, 0.439, 0.820], 0.611),
    "PUNSER (Pre-trained)": ([0.167, 0.027, 0.231, 0.181, 0.346, 0.194, 0.002, 0.004, 0.007], 0.129),
    "PUNSER (Fine-tuned)": ([0.685, 0.581, 0.542, 0.615, 0.672, 0.551, 0.791, 0.554, 0.832], 0.647),
}


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


@pytest.mark.parametrize("table,columns", [(TABLE_IV, table4_columns), (TABLE_V, table5_columns)])
def test_tables_reproduce_the_papers_layout(table, columns):
    groups, cols = columns()
    assert len(cols) == len(next(iter(table.values()))[0])
    md = render_table(groups, {name: vals for name, (vals, _) in table.items()})
    lines = md.splitlines()
    header = _cells(lines[0])
    assert header[0] == "Method" and header[-1] == "Mean"
    labels = [h.split("<br>")[1] for h in header[1:-1]]
    expected = [x for _, m in groups for x in m]
    assert labels == expected
    assert [h.split("<br>")[0] for h in header[1:-1] if h.split("<br>")[0]] == [g for g, _ in groups]
    rows = {(c := _cells(line))[0]: c[1:] for line in lines[2:]}
    assert list(rows) == list(table)
    for name, (vals, mean) in table.items():
        shown = [float(re.sub(r"[*<>/u]", "", c)) for c in rows[name]]
        assert shown[:-1] == pytest.approx(vals, abs=5e-4)
        assert shown[-1] == pytest.approx(mean, abs=1.5e-3)  # the paper's Mean column
    # best bold, second underlined, per column (the paper's convention)
    col = [rows[n][0] for n in table]  # first column
    best = max(v[0][0] for v in table.values())
    assert all(c.startswith("**") == (float(c.strip("*<>/u")) == best) for c in col)
    assert sum(c.startswith("<u>") for c in col) >= 1


def test_missing_corpora_show_dash_and_the_mean_says_over_what():
    groups, cols = table4_columns()
    vals = [None] * len(cols)
    vals[-2:] = [0.5, 0.4]  # only EmoDB
    md = render_table(groups, {"only EmoDB": vals})
    row = _cells(md.splitlines()[2])
    assert row[1:11] == ["-"] * 10
    assert row[-1] == "0.450 (over 2/12)"
