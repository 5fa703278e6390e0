"""The masked multi-task loss equals an independent implementation of eq. (3)-(7)."""

import math

import numpy as np
import pytest
import torch

from espnet2_punser.ser.loss import ccc, masked_mtl_loss, masks_from_labels

ALPHA = 0.25


def reference_loss(logits, cat, vad_pred, vad, alpha=ALPHA):
    """Eq. (3)-(7) written from the paper with plain Python/numpy loops."""
    logits = np.asarray(logits, dtype=np.float64)
    total = 0.0
    i_cat = [i for i in range(len(cat)) if cat[i] >= 0]  # I_cat
    if i_cat:
        ce = 0.0
        for i in i_cat:
            z = logits[i] - logits[i].max()
            logp = z - math.log(np.exp(z).sum())
            ce -= logp[cat[i]]  # one-hot y: only the true class term survives
        total += alpha * ce / len(i_cat)  # eq. (3)
    l_dim = 0.0
    used = False
    for d in range(3):
        i_dim = [i for i in range(len(vad)) if not math.isnan(vad[i][d])]  # I_dim
        if len(i_dim) < 2:
            continue
        p = np.array([vad_pred[i][d] for i in i_dim], dtype=np.float64)
        t = np.array([vad[i][d] for i in i_dim], dtype=np.float64)
        rho = np.corrcoef(p, t)[0, 1] if p.std() > 0 and t.std() > 0 else 0.0
        c = 2 * rho * p.std() * t.std() / (p.var() + t.var() + (p.mean() - t.mean()) ** 2)
        l_dim += 1 - c  # eq. (4), (6)
        used = True
    if used:
        total += (1 - alpha) * l_dim  # eq. (7)
    return total


def random_batch(rng, b, p_cat, p_dim):
    logits = rng.standard_normal((b, 8))
    cat = np.where(rng.random(b) < p_cat, rng.integers(0, 8, b), -1)
    vad = rng.random((b, 3))
    vad[rng.random(b) >= p_dim] = np.nan
    vad_pred = rng.standard_normal((b, 3))
    return logits, cat, vad_pred, vad


def torch_loss(logits, cat, vad_pred, vad, requires_grad=False, cat_mask=None, vad_mask=None):
    """Run the implementation; masks default to the missing markers (-1, nan)."""
    lt = torch.tensor(logits, dtype=torch.float64, requires_grad=requires_grad)
    vt = torch.tensor(vad_pred, dtype=torch.float64, requires_grad=requires_grad)
    cat_t, vad_t = torch.tensor(cat), torch.tensor(vad)
    m_cat, m_dim = masks_from_labels(cat_t, vad_t)
    if cat_mask is not None:
        m_cat = torch.tensor(cat_mask)
    if vad_mask is not None:
        m_dim = torch.tensor(vad_mask)
    out = masked_mtl_loss(lt, cat_t, m_cat, vt, vad_t, m_dim, ALPHA)
    return out, lt, vt


@pytest.mark.parametrize(
    "b,p_cat,p_dim,seed",
    [
        (16, 0.6, 0.5, 0),
        (7, 1.0, 1.0, 1),
        (9, 0.0, 0.7, 2),  # no categories in the batch
        (9, 0.7, 0.0, 3),  # no dimensions in the batch
        (1, 1.0, 1.0, 4),  # a single dimensional sample: no CCC term
        (33, 0.3, 0.3, 5),
    ],
)
def test_loss_equals_reference(b, p_cat, p_dim, seed):
    rng = np.random.default_rng(seed)
    batch = random_batch(rng, b, p_cat, p_dim)
    out, _, _ = torch_loss(*batch)
    ref = reference_loss(*batch)
    assert float(out.loss) == pytest.approx(ref, abs=1e-6)
    assert torch.isfinite(out.loss)


def test_single_dimensional_sample_contributes_nothing():
    rng = np.random.default_rng(7)
    logits, cat, vad_pred, vad = random_batch(rng, 5, 1.0, 0.0)
    vad[2] = [0.3, 0.4, 0.5]  # exactly one labelled dimensional sample
    out, lt, vt = torch_loss(logits, cat, vad_pred, vad, requires_grad=True)
    assert out.loss_dim is None
    out.loss.backward()
    assert vt.grad is None or torch.all(vt.grad == 0)
    assert torch.all(torch.isfinite(lt.grad))


def test_no_labels_at_all_gives_zero_and_finite_gradients():
    rng = np.random.default_rng(8)
    logits, cat, vad_pred, vad = random_batch(rng, 4, 0.0, 0.0)
    out, lt, vt = torch_loss(logits, cat, vad_pred, vad, requires_grad=True)
    assert float(out.loss) == 0.0
    out.loss.backward()
    for g in (lt.grad, vt.grad):
        assert g is None or torch.all(g == 0)


def test_masked_labels_do_not_change_loss_or_gradients():
    """Labels behind a zero mask (m_cat = 0 or m_dim = 0) are ignored bitwise."""
    rng = np.random.default_rng(9)
    b = 12
    logits, vad_pred = rng.standard_normal((b, 8)), rng.standard_normal((b, 3))
    cat, vad = rng.integers(0, 8, b), rng.random((b, 3))
    m_cat = rng.random(b) < 0.5
    m_dim = np.repeat((rng.random(b) < 0.5)[:, None], 3, axis=1)
    assert (~m_cat).any() and (~m_dim).any()

    def run(cat_, vad_):
        out, lt, vt = torch_loss(logits, cat_, vad_pred, vad_, True, m_cat, m_dim)
        out.loss.backward()
        return float(out.loss), lt.grad, vt.grad

    loss1, gl1, gv1 = run(cat, vad)
    cat2, vad2 = cat.copy(), vad.copy()
    cat2[~m_cat] = (cat2[~m_cat] + 3) % 8  # other classes behind the mask
    vad2[~m_dim] = rng.random((~m_dim).sum())  # other values behind the mask
    loss2, gl2, gv2 = run(cat2, vad2)
    assert loss1 == loss2
    assert torch.equal(gl1, gl2) and torch.equal(gv1, gv2)
    # masked samples receive no gradient at all
    assert torch.all(gl1[torch.tensor(~m_cat)] == 0)
    assert torch.all(gv1[torch.tensor(~m_dim)] == 0)
    # and a change of an unmasked label does change the loss
    cat3 = cat.copy()
    cat3[m_cat] = (cat3[m_cat] + 1) % 8
    loss3, _, _ = run(cat3, vad)
    assert loss3 != loss1


def test_ccc_matches_formula():
    rng = np.random.default_rng(11)
    p, t = rng.random(50), rng.random(50)
    expected = 2 * np.cov(p, t, bias=True)[0, 1] / (p.var() + t.var() + (p.mean() - t.mean()) ** 2)
    got = ccc(torch.tensor(p), torch.tensor(t))
    assert float(got) == pytest.approx(expected, abs=1e-7)
    assert float(ccc(torch.tensor(t), torch.tensor(t))) == pytest.approx(1.0, abs=1e-6)
