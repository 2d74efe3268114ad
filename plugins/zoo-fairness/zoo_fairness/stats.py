"""Statistics for the probes: distribution discrepancies, group gaps, bootstrap and permutation tests.

Fairness discrepancy follows Choi, Grover, Singh, Shu and Ermon, "Fair Generative Modeling
via Weak Supervision", ICML 2020 (arXiv:1910.12008): the L2 distance between the predicted
class proportions and a target (uniform by default), counted with hard argmax labels. KL
to uniform is the measure of Tan, Shen and Zhou, "Improving the Fairness of Deep Generative
Models without Retraining" (arXiv:2012.04842). The confusion-matrix correction follows the
idea of Teo, Abdollahzadeh and Cheung, "On Measuring Fairness in Generative Models",
NeurIPS 2023: a noisy classifier pulls proportions toward uniform, so they are corrected
with its confusion matrix.

Conventions stated once: FD_L2 and FD_L1 are *not* divided by K; KL is in nats; a class
that is never predicted still counts (``bincount(minlength=K)``, never ``np.unique``).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np


def proportions(labels: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
    """Class proportions over ``k`` classes from integer labels; unseen classes get 0."""
    a = np.asarray(labels)
    if a.size == 0:
        raise ValueError("proportions: no labels")
    if not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise ValueError("proportions: labels must be integers (drop unlabelled items first)")
        a = a.astype(np.int64)
    if a.min() < 0 or a.max() >= k:
        raise ValueError(f"proportions: labels must lie in 0..{k - 1}, got {a.min()}..{a.max()}")
    return np.bincount(a, minlength=k).astype(np.float64) / a.size


def _check_distribution(p: np.ndarray, what: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size < 2:
        raise ValueError(f"{what} must be a 1-D distribution over at least 2 classes, got shape {p.shape}")
    if np.any(p < -1e-12) or abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"{what} must be non-negative and sum to 1, got {np.round(p, 6).tolist()} (sum {p.sum():.6g})")
    return np.clip(p, 0.0, None)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats, with 0 log 0 = 0; +inf when q is 0 where p is not."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    nz = p > 0
    if np.any(q[nz] <= 0):
        return math.inf
    return float(np.sum(p[nz] * (np.log(p[nz]) - np.log(q[nz]))))


def discrepancy(p: Sequence[float] | np.ndarray, target: Sequence[float] | np.ndarray | None = None) -> dict[str, float]:
    """Distances between observed proportions ``p`` and ``target`` (uniform when None).

    Returns ``fd_l2`` = ||p - t||_2 (Choi et al. 2020), ``fd_l1`` = sum |p - t|, ``kl`` =
    KL(p || t) in nats, ``chi2`` = sum (p - t)^2 / t (Pearson, as a divergence), ``max_abs``
    (Chebyshev) and ``norm_entropy`` = H(p) / ln K (1 = every class equally often).
    """
    p = _check_distribution(np.asarray(p, np.float64), "observed proportions")
    k = p.size
    t = np.full(k, 1.0 / k) if target is None else _check_distribution(np.asarray(target, np.float64), "target")
    if t.size != k:
        raise ValueError(f"target has {t.size} classes, the proportions {k}")
    nz = p > 0
    entropy = float(-np.sum(p[nz] * np.log(p[nz])))
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = float(np.sum(np.where(t > 0, (p - t) ** 2 / np.where(t > 0, t, 1.0), np.where(p > 0, np.inf, 0.0))))
    return {
        "fd_l2": float(np.linalg.norm(p - t)),
        "fd_l1": float(np.abs(p - t).sum()),
        "kl": kl_divergence(p, t),
        "chi2": chi2,
        "max_abs": float(np.abs(p - t).max()),
        "norm_entropy": entropy / math.log(k),
    }


def correct_proportions(p_hat: Sequence[float] | np.ndarray, confusion: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Proportions corrected for a classifier's known errors.

    ``confusion[i, j]`` = Pr[predicted j | true i] (rows sum to 1). The observed proportions
    satisfy p_hat = confusion^T p, so p = solve(confusion^T, p_hat); negative components
    (sampling noise) are clipped to 0 and the result renormalised. For two classes with a
    symmetric error e this is CLEAM's (p_hat - e) / (1 - 2e).

    Raises:
        ValueError: the matrix is not K x K row-stochastic, or is singular (a classifier at
            chance level carries no information to correct with).
    """
    p_hat = _check_distribution(np.asarray(p_hat, np.float64), "observed proportions")
    m = np.asarray(confusion, np.float64)
    k = p_hat.size
    if m.shape != (k, k):
        raise ValueError(f"confusion matrix must be {k} x {k} (rows: true class, columns: predicted), got shape {m.shape}")
    if np.any(m < 0) or not np.allclose(m.sum(1), 1.0, atol=1e-6):
        raise ValueError(f"confusion matrix rows must be probabilities summing to 1 (Pr[pred | true]), got row sums {m.sum(1).round(6).tolist()}")
    if abs(np.linalg.det(m)) < 1e-9:
        raise ValueError("confusion matrix is singular: the classifier cannot separate the classes, so proportions cannot be corrected")
    p = np.linalg.solve(m.T, p_hat)
    p = np.clip(p, 0.0, None)
    return p / p.sum()


def bootstrap_ci(data: Sequence[float] | np.ndarray, statistic: Callable[[np.ndarray], float] = np.mean,
                 n_boot: int = 2000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap (1 - alpha) interval of ``statistic`` over items (resampled along axis 0).

    Returns (nan, nan) with fewer than 2 items.
    """
    a = np.asarray(data)
    n = a.shape[0] if a.ndim else 0
    if n < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    stats = np.array([statistic(a[i]) for i in idx], dtype=np.float64)
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def group_means(values: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Mean of ``values`` per distinct label in ``groups`` (labels as strings, sorted)."""
    v, g = np.asarray(values, np.float64), np.asarray(groups).astype(str)
    return {name: float(v[g == name].mean()) for name in sorted(set(g.tolist()))}


def _range_of_means(values: np.ndarray, codes: np.ndarray, k: int) -> float:
    sums = np.bincount(codes, weights=values, minlength=k)
    counts = np.bincount(codes, minlength=k)
    means = sums / counts
    return float(means.max() - means.min())


def permutation_test(values: Sequence[float] | np.ndarray, groups: Sequence, n_perm: int = 5000,
                     seed: int = 0, strata: Sequence | None = None) -> tuple[float, float]:
    """Permutation test of "the groups have the same mean".

    The statistic is the range of group means (max - min); labels are shuffled ``n_perm``
    times; p = (1 + #{shuffled >= observed}) / (1 + n_perm) (never 0, exact-size test).
    With ``strata`` (the independent unit of each value, e.g. the person in a paired design),
    labels are shuffled only within each stratum: the test of a repeated-measures design.

    Returns:
        (observed range, p-value); (nan, nan) with fewer than two groups.
    """
    v = np.asarray(values, np.float64)
    g = np.asarray(groups).astype(str)
    if v.shape != g.shape:
        raise ValueError(f"{v.size} values but {g.size} group labels")
    names, codes = np.unique(g, return_inverse=True)
    k = names.size
    if k < 2:
        return math.nan, math.nan
    observed = _range_of_means(v, codes, k)
    rng = np.random.default_rng(seed)
    tol = 1e-12 * max(1.0, abs(observed))
    blocks = None
    if strata is not None:
        st = np.asarray(strata).astype(str)
        if st.shape != g.shape:
            raise ValueError(f"{st.size} strata for {g.size} values")
        blocks = [np.flatnonzero(st == u) for u in np.unique(st)]
    hits = 0
    for _ in range(n_perm):
        if blocks is None:
            perm = rng.permutation(codes)
        else:
            perm = codes.copy()
            for b in blocks:
                perm[b] = codes[rng.permutation(b)]
        if _range_of_means(v, perm, k) >= observed - tol:
            hits += 1
    return observed, (1 + hits) / (1 + n_perm)


#: Fewest independent units (people) behind a group statistic. A two-sided sign-flip test over 5
#: units cannot go below p = 2 / 2**5 = 0.0625, so with fewer than 6 no interval or p-value here can
#: carry a claim at the 5 % level.
MIN_UNITS = 6


def insufficient(k: int, need: int, units: str = "people") -> str:
    """The reason a statistic is not reported: ``insufficient n (k of K people)``."""
    return f"insufficient n ({k} of {need} {units})"


def sign_flip_test(d: Sequence[float] | np.ndarray, n_perm: int = 5000, seed: int = 0) -> float:
    """Two-sided paired test of "mean of d is 0" by flipping signs of the per-unit differences ``d``.

    Exact (all 2^n sign patterns) for n <= 16, else ``n_perm`` random flips; p never 0.
    """
    v = np.asarray(d, np.float64)
    v = v[np.isfinite(v)]
    n = v.size
    if n == 0:
        return math.nan
    observed = abs(v.mean())
    tol = 1e-12 * max(1.0, observed)
    if n <= 16:
        signs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        means = np.abs((signs * v).mean(1))
        return float((means >= observed - tol).mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_perm, n))
    hits = int((np.abs((signs * v).mean(1)) >= observed - tol).sum())
    return (1 + hits) / (1 + n_perm)
