"""Distribution metrics: Fréchet distance and kernel distance on deep features.

FID: Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
Nash Equilibrium", NeurIPS 2017. KID: Bińkowski et al., "Demystifying MMD GANs", ICLR
2018. Both computed with clean-fid's ``frechet_distance`` and ``kernel_distance``.

Feature statistics are streamed: a running count, sum and sum of outer products in
float64, so FID's memory does not grow with the number of images. KID needs the
features themselves (it samples subsets) and keeps them. Both states merge across
shards (:meth:`Metric.state` / :meth:`Metric.merge_states`), so a dataset split into
units gives the value of the whole set.

A Fréchet distance on fewer images than the feature dimension has a singular covariance
and a large bias; the value is still reported, with a note (``note``) naming n and the
dimension. KID/KD is unbiased at small n and is what small suites should use.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.errors import MetricError
from zoo.metrics import Metric
from zoo.weights import zoo_cache_dir


class RunningStats:
    """Streaming mean and (unbiased) covariance of feature vectors."""

    def __init__(self, dim: int) -> None:
        self.n = 0
        self.sum = np.zeros(dim, dtype=np.float64)
        self.outer = np.zeros((dim, dim), dtype=np.float64)

    def add(self, feats: np.ndarray) -> None:
        feats = np.asarray(feats, dtype=np.float64)
        self.n += feats.shape[0]
        self.sum += feats.sum(0)
        self.outer += feats.T @ feats

    @classmethod
    def merged(cls, parts: list["RunningStats"]) -> "RunningStats":
        out = cls(parts[0].sum.shape[0])
        for p in parts:
            out.n += p.n
            out.sum += p.sum
            out.outer += p.outer
        return out

    def as_dict(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}n": np.asarray(self.n), f"{prefix}sum": self.sum, f"{prefix}outer": self.outer}

    @classmethod
    def from_dict(cls, d: dict, prefix: str) -> "RunningStats":
        s = cls(np.asarray(d[f"{prefix}sum"]).shape[0])
        s.n, s.sum, s.outer = int(d[f"{prefix}n"]), np.asarray(d[f"{prefix}sum"], np.float64), np.asarray(d[f"{prefix}outer"], np.float64)
        return s

    def mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n < 2:
            raise MetricError(f"a Fréchet distance needs at least 2 images per set, got {self.n}")
        mu = self.sum / self.n
        cov = (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)
        return mu, cov

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # per process: parallel workers may write the same file
        np.savez(tmp, n=self.n, sum=self.sum, outer=self.outer)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "RunningStats":
        data = np.load(path)
        s = cls(data["sum"].shape[0])
        s.n, s.sum, s.outer = int(data["n"]), data["sum"], data["outer"]
        return s


def _ref_path(metric: "DistributionMetric", key: str) -> Path:
    digest = hashlib.sha256(f"{key}|{metric.fingerprint}".encode()).hexdigest()[:24]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", metric.name)
    folder = zoo_cache_dir() / "refstats"
    folder.mkdir(exist_ok=True)
    return folder / f"{safe}-{digest}.npz"


class DistributionMetric(Metric):
    """A metric over two image sets through a feature extractor."""

    paired = False

    def __init__(self, extractor: Any) -> None:
        self.extractor = extractor
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"features": self.extractor.fingerprint}

    def reset(self) -> None:
        super().reset()
        self._ref_loaded = False
        self.note = ""

    def load_reference(self, key: str) -> bool:
        """Use cached reference statistics for dataset ``key`` (if any); later updates skip the reference."""
        path = _ref_path(self, key)
        if path.exists():
            self._load_ref(path)
            self._ref_loaded = True
        return self._ref_loaded

    def save_reference(self, key: str) -> None:
        if not self._ref_loaded:
            self._save_ref(_ref_path(self, key))

    def _features(self, x: torch.Tensor) -> np.ndarray:
        return self.extractor.pooled(x.to(self._device)).cpu().numpy()


class FrechetDistance(DistributionMetric):
    """Fréchet distance between Gaussians fitted to the features of outputs and references."""

    higher_is_better = False
    ideal = 0.0
    tolerance = "1e-6+0.1%"  # sqrtm of float32 features' covariances; measured noise 6.8e-8 relative (docs/ci.md)

    def __init__(self, extractor: Any, name: str) -> None:
        self.name = name
        super().__init__(extractor)

    def reset(self) -> None:
        super().reset()
        self.out_stats = RunningStats(self.extractor.dim)
        self.ref_stats = RunningStats(self.extractor.dim)

    def _update(self, output, reference, **extras) -> None:
        self.out_stats.add(self._features(output))
        if not self._ref_loaded:
            self.ref_stats.add(self._features(reference))

    def _compute(self) -> torch.Tensor:
        from cleanfid.fid import frechet_distance

        mu1, s1 = self.out_stats.mean_cov()
        mu2, s2 = self.ref_stats.mean_cov()
        n, dim = min(self.out_stats.n, self.ref_stats.n), self.extractor.dim
        self.note = (f"low n: {n} images for {dim}-d features; the covariance is singular and the "
                     f"Fréchet distance biased (use a kernel distance at small n)") if n <= dim else ""
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy's "Matrix is singular": the note says it once, in the results
            value = float(np.real(frechet_distance(mu1, s1, mu2, s2)))
        return torch.tensor(value, dtype=torch.float64)

    def state(self) -> dict[str, np.ndarray]:
        return {**self.out_stats.as_dict("out_"), **self.ref_stats.as_dict("ref_")}

    def merge_states(self, states: list[dict]) -> None:
        self.out_stats = RunningStats.merged([RunningStats.from_dict(s, "out_") for s in states])
        self.ref_stats = RunningStats.merged([RunningStats.from_dict(s, "ref_") for s in states])

    def _load_ref(self, path: Path) -> None:
        self.ref_stats = RunningStats.load(path)

    def _save_ref(self, path: Path) -> None:
        self.ref_stats.save(path)


class KernelDistance(DistributionMetric):
    """Kernel (MMD, cubic polynomial kernel) distance; subsets sampled with a fixed seed."""

    higher_is_better = False
    ideal = 0.0
    tolerance = "1e-7+0.1%"  # small values: relative; measured noise 1.9e-8 absolute, 1.0e-7 relative (docs/ci.md)

    def __init__(self, extractor: Any, name: str, num_subsets: int = 100, max_subset_size: int = 1000, seed: int = 0) -> None:
        self.name, self.num_subsets, self.max_subset_size, self.seed = name, num_subsets, max_subset_size, seed
        super().__init__(extractor)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "subsets": self.num_subsets, "subset_size": self.max_subset_size, "seed": self.seed}

    def reset(self) -> None:
        super().reset()
        self.out_feats: list[np.ndarray] = []
        self.ref_feats: list[np.ndarray] = []

    def _update(self, output, reference, **extras) -> None:
        self.out_feats.append(self._features(output))
        if not self._ref_loaded:
            self.ref_feats.append(self._features(reference))

    def _compute(self) -> torch.Tensor:
        from cleanfid.fid import kernel_distance

        if not self.out_feats or not self.ref_feats:
            raise MetricError(f"{self.name}: no images were seen")
        a, b = np.concatenate(self.out_feats), np.concatenate(self.ref_feats)
        state = np.random.get_state()
        np.random.seed(self.seed)
        try:
            value = kernel_distance(a, b, num_subsets=self.num_subsets, max_subset_size=self.max_subset_size)
        finally:
            np.random.set_state(state)
        return torch.tensor(float(value), dtype=torch.float64)

    def state(self) -> dict[str, np.ndarray]:
        dim = self.extractor.dim
        cat = lambda fs: np.concatenate(fs) if fs else np.zeros((0, dim))  # noqa: E731
        return {"out_feats": cat(self.out_feats), "ref_feats": cat(self.ref_feats)}

    def merge_states(self, states: list[dict]) -> None:
        self.out_feats = [np.asarray(s["out_feats"]) for s in states]
        self.ref_feats = [np.asarray(s["ref_feats"]) for s in states]

    def _load_ref(self, path: Path) -> None:
        self.ref_feats = [np.load(path)["feats"]]

    def _save_ref(self, path: Path) -> None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # per process: parallel workers may write the same file
        np.savez(tmp, feats=np.concatenate(self.ref_feats))
        tmp.replace(path)


def fid(mode: str = "clean") -> FrechetDistance:
    from zoo.metrics.features import Inception

    return FrechetDistance(Inception(mode), "fid")


def kid(mode: str = "clean", num_subsets: int = 100, max_subset_size: int = 1000, seed: int = 0) -> KernelDistance:
    from zoo.metrics.features import Inception

    return KernelDistance(Inception(mode), "kid", num_subsets, max_subset_size, seed)


def fd_effnetlite0() -> FrechetDistance:
    """Fréchet distance on EfficientNet-Lite0 pooled features. Not FID: another network."""
    from zoo.metrics.features import EffNetLite0

    return FrechetDistance(EffNetLite0(), "fd-effnetlite0")


def kd_effnetlite0(num_subsets: int = 100, max_subset_size: int = 1000, seed: int = 0) -> KernelDistance:
    """Kernel distance on EfficientNet-Lite0 pooled features. Not KID: another network."""
    from zoo.metrics.features import EffNetLite0

    return KernelDistance(EffNetLite0(), "kd-effnetlite0", num_subsets, max_subset_size, seed)
