"""Known-answer tests of the pure maths: ITA, Del Bino categories, discrepancies, tests and intervals."""

import math

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from zoo.images import lab_to_rgb, rgb_to_lab
from zoo_fairness import ita as I
from zoo_fairness import stats as S

# Monk Skin Tone swatches: (L*, b*, ITA, Del Bino class) as tabulated in shared/reference/fairness.md
MST = {
    1: (94.21, 5.43, 83.00, "very_light"), 2: (92.27, 7.29, 80.22, "very_light"),
    3: (93.09, 14.21, 71.75, "very_light"), 4: (87.57, 17.75, 64.71, "very_light"),
    5: (77.90, 23.14, 50.33, "light"), 6: (55.14, 26.74, 10.88, "tan"),
    7: (42.47, 20.53, -20.14, "brown"), 8: (30.68, 13.34, -55.38, "dark"),
    9: (21.07, 5.97, -78.35, "dark"), 10: (14.61, 3.53, -84.31, "dark"),
}


def test_lab_conversion_matches_scikit_image():
    x = torch.rand(3, 17, 13, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours = rgb_to_lab(x).permute(1, 2, 0).numpy()
    ref = rgb2lab(x.permute(1, 2, 0).numpy())
    assert np.abs(ours - ref).max() < 1e-6


@pytest.mark.parametrize("tone", sorted(MST))
def test_monk_swatches_give_published_ita(tone):
    lightness, b, ita, cat = MST[tone]
    st = I.skin_tone(I.swatch(I.MONK_SKIN_TONES[tone]))
    assert st.reason is None
    assert st.lightness == pytest.approx(lightness, abs=0.01)
    assert st.b == pytest.approx(b, abs=0.01)
    assert st.ita == pytest.approx(ita, abs=0.01)
    assert st.category == cat


def add_lightness(x: torch.Tensor, dl: float) -> torch.Tensor:
    lab = rgb_to_lab(x.to(torch.float64))
    lab[0] += dl
    return lab_to_rgb(lab).to(torch.float32)


@pytest.mark.parametrize("tone,dl,expected", [(5, 5, 54.88), (5, 10, 58.59), (6, 5, 20.77), (6, 10, 29.52),
                                              (8, 5, -47.04), (8, 10, -34.95)])
def test_adding_to_lightness_gives_predicted_ita(tone, dl, expected):
    x = I.swatch(I.MONK_SKIN_TONES[tone])
    before, after = I.skin_tone(x), I.skin_tone(add_lightness(x, dl))
    predicted = I.ita_degrees(before.lightness + dl, before.b)  # ITA is non-linear in L*: from the formula
    assert after.ita == pytest.approx(predicted, abs=0.02)
    assert after.ita == pytest.approx(expected, abs=0.03)


def test_del_bino_boundaries():
    assert [I.del_bino(v) for v in (55.01, 55.0, 41.0, 28.0, 10.0, -30.0, -30.01)] == [
        "very_light", "light", "intermediate", "tan", "brown", "dark", "dark"]
    assert I.del_bino(math.nan) is None
    assert I.bin_index(30.0, (28.0,)) == 0 and I.bin_index(28.0, (28.0,)) == 1


def test_near_zero_and_negative_b_are_reported_not_dropped():
    grey = torch.full((3, 8, 8), 0.5)
    st = I.skin_tone(grey)
    assert math.isnan(st.ita) and "within 1.0 of 0" in st.reason and st.n_pixels == 64
    blue = torch.tensor([0.4, 0.5, 0.8]).view(3, 1, 1).expand(3, 8, 8)
    st = I.skin_tone(blue)
    assert math.isnan(st.ita) and "negative" in st.reason
    st = I.skin_tone(grey, mask=torch.zeros(8, 8, dtype=torch.bool))
    assert math.isnan(st.ita) and "0 pixels" in st.reason


def test_mask_excludes_hair_region():
    x = I.swatch(I.MONK_SKIN_TONES[6], 16)
    x[:, :4] = 0.02  # black "hair" band outside the mask
    mask = torch.ones(16, 16, dtype=torch.bool)
    mask[:4] = False
    assert I.skin_tone(x, mask).ita == pytest.approx(10.88, abs=0.01)
    assert I.skin_tone(x).ita != pytest.approx(10.88, abs=1.0)  # the hair does move an unmasked mean


def test_flips_and_rotations_leave_ita_unchanged():
    x = I.swatch(I.MONK_SKIN_TONES[7], 12)
    base = I.skin_tone(x).ita
    for y in (x.flip(-1), x.flip(-2), x.rot90(1, (-2, -1))):
        assert abs(I.skin_tone(y).ita - base) < 1e-6


def test_robust_center():
    v = torch.tensor([1.0, 2.0, 3.0, 4.0, 100.0])
    assert I.robust_center(v, "median") == 3.0
    assert I.robust_center(v, "mean") == 22.0
    assert I.robust_center(v, "trimmed", 0.2) == 3.0
    with pytest.raises(ValueError, match="statistic"):
        I.robust_center(v, "mode")


# -- discrepancies --------------------------------------------------------------------------


def test_fairness_discrepancy_known_answer_08_02():
    labels = [0] * 80 + [1] * 20
    d = S.discrepancy(S.proportions(labels, 2))
    assert d["fd_l2"] == pytest.approx(0.4243, abs=1e-4)
    assert d["fd_l1"] == pytest.approx(0.6, abs=1e-12)
    assert d["kl"] == pytest.approx(0.1927, abs=1e-4)


def test_everything_in_one_of_seven_classes():
    d = S.discrepancy(S.proportions([3] * 50, 7))
    assert d["kl"] == pytest.approx(math.log(7), abs=1e-12)
    assert d["chi2"] == pytest.approx(6.0, abs=1e-12)
    assert d["fd_l2"] == pytest.approx(0.9258, abs=1e-4)
    assert d["norm_entropy"] == 0.0


def test_never_predicted_classes_still_count():
    p = S.proportions([0, 0, 2, 2], 4)  # np.unique would give 2 classes and misalign
    assert p.tolist() == [0.5, 0.0, 0.5, 0.0]
    assert S.discrepancy(p)["fd_l1"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="0..3"):
        S.proportions([0, 4], 4)


def test_uniform_and_custom_target():
    assert S.discrepancy([0.5, 0.5])["fd_l2"] == 0.0
    assert S.discrepancy([0.5, 0.5])["norm_entropy"] == pytest.approx(1.0)
    d = S.discrepancy([0.8, 0.2], target=[0.8, 0.2])
    assert d["kl"] == 0.0 and d["fd_l2"] == 0.0
    assert S.discrepancy([0.5, 0.5], target=[1.0, 0.0])["kl"] == math.inf
    with pytest.raises(ValueError, match="sum to 1"):
        S.discrepancy([0.5, 0.6])


def test_confusion_correction_recovers_true_proportion():
    e = 0.1
    m = np.array([[1 - e, e], [e, 1 - e]])
    p_hat = m.T @ np.array([0.8, 0.2])
    assert p_hat[0] == pytest.approx(0.74)
    assert S.discrepancy(p_hat)["fd_l2"] == pytest.approx(0.3394, abs=1e-4)  # the understatement
    assert S.correct_proportions(p_hat, m) == pytest.approx([0.8, 0.2])
    assert (0.74 - e) / (1 - 2 * e) == pytest.approx(0.8)  # CLEAM's binary form
    with pytest.raises(ValueError, match="singular"):
        S.correct_proportions(p_hat, [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="sum"):
        S.correct_proportions(p_hat, [[0.9, 0.2], [0.1, 0.9]])


# -- group tests and intervals ---------------------------------------------------------------


def test_permutation_test_detects_a_real_gap_and_not_a_null_one():
    rng = np.random.default_rng(0)
    a, b = rng.normal(30, 1, 20), rng.normal(28, 1, 20)
    gap, p = S.permutation_test(np.r_[a, b], ["a"] * 20 + ["b"] * 20, n_perm=2000)
    assert gap == pytest.approx(abs(a.mean() - b.mean()))
    assert p < 0.01
    same = np.full(40, 5.0)
    gap, p = S.permutation_test(same, ["a"] * 20 + ["b"] * 20, n_perm=500)
    assert gap == 0.0 and p == 1.0
    assert all(math.isnan(v) for v in S.permutation_test([1.0, 2.0], ["a", "a"]))


def test_bootstrap_ci_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small, big = rng.normal(0, 1, 20), rng.normal(0, 1, 2000)
    lo, hi = S.bootstrap_ci(small, n_boot=1000)
    assert lo < small.mean() < hi
    lo2, hi2 = S.bootstrap_ci(big, n_boot=300)
    assert hi2 - lo2 < (hi - lo) / 4
    assert all(math.isnan(v) for v in S.bootstrap_ci([1.0]))
    assert S.bootstrap_ci(small, seed=3) == S.bootstrap_ci(small, seed=3)
