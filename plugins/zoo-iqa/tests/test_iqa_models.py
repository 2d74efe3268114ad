"""The shipped NIQE / BRISQUE models: the MATLAB releases' published numbers, verified at load."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import torch

from zoo.errors import MetricError, MetricUnavailable
from zoo_iqa import models
from zoo_iqa.models import (BRISQUE_SHA256, NIQE_SHA256, arrays_sha256, brisque_model_from_libsvm, load_brisque_model,
                            load_niqe_model)


def test_niqe_model_is_the_release_pristine_gaussian():
    m = load_niqe_model()
    assert m.sha256 == NIQE_SHA256
    assert m.mu.shape == (36,) and m.cov.shape == (36, 36)
    # published values of modelparameters.mat (first entries of mu_prisparam and cov_prisparam)
    assert m.mu[:4] == pytest.approx([2.60131368, 0.90570272, 0.81204778, 0.09042671], abs=5e-9)
    assert m.cov[0, :2] == pytest.approx([0.4534781, 0.0961011], abs=5e-8)
    np.testing.assert_allclose(m.cov, m.cov.T, atol=1e-12)
    assert np.linalg.eigvalsh(m.cov).min() > 0  # a covariance


def test_brisque_model_is_the_release_live_svr():
    m = load_brisque_model()
    assert m.sha256 == BRISQUE_SHA256
    # the release's allmodel header: 774 support vectors, rho -153.591, gamma 0.05 (not the C++ port's 770 / -155.845)
    assert m.sv.shape == (774, 36) and m.rho == -153.591 and m.gamma == 0.05
    assert (m.lower, m.upper) == (-1.0, 1.0)
    assert m.ranges[0].tolist() == [0.338, 10.0] and m.ranges[35].tolist() == [0.001118, 0.370399]
    assert np.abs(m.coef).max() == 1024  # the SVR's C: most support vectors sit at the bound


def test_brisque_ranges_equal_piqs_published_table():
    """piq carries the release's 36 feature ranges in its source: a third record of allrange."""
    from piq.brisque import _scale_features

    m = load_brisque_model()
    f = torch.rand(5, 36, dtype=torch.float64)
    ours = m.lower + (m.upper - m.lower) * (f.numpy() - m.ranges[:, 0]) / (m.ranges[:, 1] - m.ranges[:, 0])
    np.testing.assert_allclose(ours, _scale_features(f).numpy(), rtol=0, atol=1e-12)


def _write_release_files(tmp_path, m):
    """allmodel / allrange in the release's LibSVM text layout, from the shipped arrays."""
    lines = ["svm_type epsilon_svr", "kernel_type rbf", f"gamma {m.gamma:g}", "nr_class 2", f"total_sv {len(m.sv)}",
             f"rho {m.rho:g}", "probA 5.71401", "SV"]
    for c, sv in zip(m.coef, m.sv):
        lines.append(f"{c:.17g} " + " ".join(f"{k + 1}:{v:.17g}" for k, v in enumerate(sv) if v != 0) + " ")
    (tmp_path / "allmodel").write_text("\r\n".join(lines) + "\r\n")
    rng = ["x", f"{m.lower:g} {m.upper:g}"] + [f"{k + 1} {lo:.17g} {hi:.17g}" for k, (lo, hi) in enumerate(m.ranges)]
    (tmp_path / "allrange").write_text("\n".join(rng) + "\n")


def test_release_files_load_to_the_same_model(tmp_path):
    shipped = load_brisque_model()
    _write_release_files(tmp_path, shipped)
    again = load_brisque_model(tmp_path)
    assert again.sha256 == shipped.sha256
    niqe = load_niqe_model()
    scipy.io.savemat(tmp_path / "modelparameters.mat", {"mu_prisparam": niqe.mu[None], "cov_prisparam": niqe.cov})
    assert load_niqe_model(tmp_path / "modelparameters.mat").sha256 == niqe.sha256


def test_a_different_model_file_is_used_and_fingerprinted(tmp_path):
    import zoo

    niqe = load_niqe_model()
    np.savez(tmp_path / "other.npz", mu=niqe.mu + 0.1, cov=niqe.cov)
    m = zoo.metric("niqe", model=str(tmp_path / "other.npz"))
    assert m.model.sha256 != NIQE_SHA256 and m.model.sha256[:12] in m.fingerprint
    assert zoo.metric("niqe").fingerprint != m.fingerprint


def test_changed_or_missing_shipped_files_are_refused(tmp_path, monkeypatch):
    niqe = load_niqe_model()
    bad = tmp_path / "niqe.npz"
    np.savez(bad, mu=niqe.mu, cov=niqe.cov * 1.0001)
    monkeypatch.setattr(models, "NIQE_FILE", bad)
    with pytest.raises(MetricError, match="sha256 .* expected"):
        load_niqe_model()
    monkeypatch.setattr(models, "NIQE_FILE", tmp_path / "absent.npz")
    with pytest.raises(MetricUnavailable, match="modelparameters.mat"):
        load_niqe_model()
    monkeypatch.setattr(models, "BRISQUE_FILE", tmp_path / "absent.npz")
    with pytest.raises(MetricUnavailable, match="allmodel and allrange"):
        load_brisque_model()


def test_malformed_model_files_name_the_file(tmp_path):
    np.savez(tmp_path / "x.npz", mu=np.zeros(35), cov=np.zeros((35, 35)))
    with pytest.raises(MetricError, match="36 values"):
        load_niqe_model(tmp_path / "x.npz")
    (tmp_path / "allmodel").write_text("svm_type c_svc\nkernel_type linear\nSV\n")
    (tmp_path / "allrange").write_text("x\n-1 1\n")
    with pytest.raises(MetricError, match="not an epsilon-SVR"):
        brisque_model_from_libsvm(tmp_path / "allmodel", tmp_path / "allrange")
    assert arrays_sha256({"a": np.zeros(2)}) != arrays_sha256({"a": np.zeros(3)})
