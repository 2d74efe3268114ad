"""NIQE and BRISQUE: parity with the MATLAB releases' algorithm and with piq, known behaviour, the kit, the harness."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import gamma

import zoo
from zoo.datasets.degrade import imresize
from zoo.testing import check_metric
from zoo_iqa.models import load_brisque_model, load_niqe_model
from zoo_iqa.nr import matlab_gray

from iqa_helpers import DISTORTIONS, noise, photo

# ------------------------------------------------------------------------------------------------
# An independent NIQE written line by line from the release's computequality.m / computefeature.m /
# estimateaggdparam.m: scalar per-block loops in MATLAB's (column-major) block order, padding and
# sliding windows by hand, nancov and pinv spelled out.

GAM = np.arange(0.2, 10.0 + 0.0005, 0.001)


def ref_aggd(vec: np.ndarray) -> tuple[float, float, float]:
    r_gam = gamma(2 / GAM) ** 2 / (gamma(1 / GAM) * gamma(3 / GAM))
    neg, pos = vec[vec < 0], vec[vec > 0]
    leftstd = math.sqrt(np.mean(neg**2)) if neg.size else math.nan
    rightstd = math.sqrt(np.mean(pos**2)) if pos.size else math.nan
    gammahat = leftstd / rightstd
    rhat = np.mean(np.abs(vec)) ** 2 / np.mean(vec**2)
    rhatnorm = rhat * (gammahat**3 + 1) * (gammahat + 1) / ((gammahat**2 + 1) ** 2)
    alpha = 0.2 if math.isnan(rhatnorm) else GAM[int(np.argmin((r_gam - rhatnorm) ** 2))]
    k = math.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, leftstd * k, rightstd * k


def ref_computefeature(block: np.ndarray) -> list[float]:
    alpha, bl, br = ref_aggd(block.ravel(order="F"))
    feat = [alpha, (bl + br) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):
        pair = block.ravel(order="F") * np.roll(block, shift, axis=(0, 1)).ravel(order="F")
        alpha, bl, br = ref_aggd(pair)
        feat += [alpha, (br - bl) * (gamma(2 / alpha) / gamma(1 / alpha)), bl, br]
    return feat


def ref_imfilter_replicate(im: np.ndarray, w: np.ndarray) -> np.ndarray:
    r = w.shape[0] // 2
    win = sliding_window_view(np.pad(im, r, mode="edge"), w.shape)
    return np.einsum("ijkl,kl->ij", win, w)


def ref_niqe(im: np.ndarray, mu_pris: np.ndarray, cov_pris: np.ndarray, bs: int = 96) -> float:
    rows, cols = im.shape
    im = im[: (rows // bs) * bs, : (cols // bs) * bs]
    x = np.arange(-3, 4)
    w = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * (7 / 6) ** 2))
    w /= w.sum()
    feats = []
    for scale in (1, 2):
        mu = ref_imfilter_replicate(im, w)
        sigma = np.sqrt(np.abs(ref_imfilter_replicate(im * im, w) - mu * mu))
        structdis = (im - mu) / (sigma + 1)
        b = bs // scale
        scale_feats = []
        for j in range(structdis.shape[1] // b):  # blkproc visits blocks column by column
            for i in range(structdis.shape[0] // b):
                scale_feats.append(ref_computefeature(structdis[i * b : (i + 1) * b, j * b : (j + 1) * b]))
        feats.append(np.array(scale_feats))
        im = imresize(torch.from_numpy(im), 0.5).numpy()
    feat = np.hstack(feats)
    mu_dist = np.nanmean(feat, 0)
    complete = feat[~np.isnan(feat).any(1)]
    centred = complete - complete.mean(0)
    cov_dist = centred.T @ centred / (len(complete) - 1)
    a = (cov_pris + cov_dist) / 2
    u, s, vt = np.linalg.svd(a)
    tol = max(a.shape) * s[0] * np.finfo(float).eps
    inv = (vt.T[:, s > tol] / s[s > tol]) @ u[:, s > tol].T
    d = mu_pris - mu_dist
    return float(np.sqrt(d @ inv @ d))


def test_matlab_gray_is_rgb2gray_on_uint8():
    x = torch.tensor([[[[0.0, 1.0, 10 / 255]], [[0.0, 1.0, 200 / 255]], [[0.0, 1.0, 33 / 255]]]])
    # MATLAB: rgb2gray(uint8(cat(3, [0 255 10], [0 255 200], [0 255 33]))) = [0 255 124]
    assert matlab_gray(x).tolist() == [[[0.0, 255.0, 124.0]]]
    assert round(0.298936021293775 * 10 + 0.587043074451121 * 200 + 0.114020904255103 * 33, 4) == 124.1607


@pytest.mark.parametrize("sigma", [0.0, 0.06])
def test_niqe_equals_the_release_algorithm(sigma):
    x = noise(photo(3, 200, 296), sigma) if sigma else photo(3, 200, 296)  # crops to 2 x 3 blocks; 8 and 104 px unused
    m = zoo.metric("niqe")
    model = load_niqe_model()
    ref = ref_niqe(matlab_gray(x)[0], model.mu, model.cov)
    assert float(m(x)) == pytest.approx(ref, rel=1e-9)


def test_niqe_reads_only_whole_96_pixel_blocks():
    x = photo(3, 200, 296)
    y = x.clone()
    y[..., 192:, :] = 0.0  # rows beyond the 2 x 96 block grid
    y[..., :, 288:] = 1.0
    m = zoo.metric("niqe")
    assert float(m(x)) == float(m(y))
    z = x.clone()
    z[..., 100:110, 100:110] = 0.5  # inside the grid
    assert float(m(z)) != float(m(x))


def test_niqe_circshift_wraps_within_each_block():
    """computefeature.m is applied by blkproc: the neighbour of a block's last column is its own first column."""
    x = photo(3, 200, 296)
    model = load_niqe_model()
    gray = matlab_gray(x)[0]
    ours = float(zoo.metric("niqe")(x))
    assert ours == pytest.approx(ref_niqe(gray, model.mu, model.cov), rel=1e-9)
    # a whole-image shift (BRISQUE's convention) gives a measurably different value
    from zoo_iqa import nr

    def whole_image_features(im, block=96):
        h, w = (im.shape[0] // block) * block, (im.shape[1] // block) * block
        im = im[:h, :w]
        out = []
        for scale in (1, 2):
            s, _ = nr.mscn(im, "replicate")
            cols = []
            b = nr._blocks(s, block // scale)
            a, le, ri = nr.aggd(b.reshape(len(b), -1))
            k = np.sqrt(gamma(1 / a) / gamma(3 / a))
            cols += [a, (le * k + ri * k) / 2]
            for dy, dx in nr.SHIFTS:
                pb = nr._blocks(s * np.roll(s, (dy, dx), axis=(0, 1)), block // scale)
                a, le, ri = nr.aggd(pb.reshape(len(pb), -1))
                k = np.sqrt(gamma(1 / a) / gamma(3 / a))
                cols += [a, (ri * k - le * k) * gamma(2 / a) / gamma(1 / a), le * k, ri * k]
            out.append(np.stack(cols, 1))
            im = nr.matlab_half(im)
        return np.concatenate(out, 1)

    wrong = nr.niqe_score(whole_image_features(gray), model.mu, model.cov)
    assert abs(wrong - ours) > 1e-4


def test_niqe_skips_images_smaller_than_a_block_with_the_reason():
    m = zoo.metric("niqe")
    v = m(photo(0, 64, 200))
    assert math.isnan(float(v)) and "at least 96x96" in m.item_reasons[0]
    flat = torch.full((1, 3, 96, 96), 0.5)
    assert math.isnan(float(m(flat))) and "constant image" in m.item_reasons[0]


# ------------------------------------------------------------------------------------------------
# BRISQUE against piq (a second implementation with the same LIVE model, laid out for it here)


@pytest.fixture
def piq_brisque(tmp_path, monkeypatch):
    """piq.brisque with its model file (a download) laid out in a private torch hub from the shipped model."""
    import piq

    model = load_brisque_model()
    (tmp_path / "checkpoints").mkdir()
    torch.save((torch.from_numpy(model.coef), torch.from_numpy(model.sv).contiguous()), tmp_path / "checkpoints" / "brisque_svm_weights.pt")
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    yield lambda x: float(piq.brisque(x.double(), data_range=1.0, reduction="none"))
    torch.hub.set_dir(old)


@pytest.mark.parametrize("i,sigma", [(3, 0.0), (0, 0.05)])
def test_brisque_equals_piq_on_matlab_gray(piq_brisque, i, sigma):
    """piq converts with YIQ's Y and resizes to floor(H/2): given MATLAB's gray (as 3 equal channels, which
    its Y keeps exactly) at an even size, the two implementations compute the same features and SVR."""
    x = photo(i, 256, 320)
    if sigma:
        x = noise(x, sigma)
    gray = torch.from_numpy(matlab_gray(x) / 255).float()[:, None].repeat(1, 3, 1, 1)
    exact = zoo.metric("brisque", matlab_io=False)
    ours = float(exact(x))
    assert piq_brisque(gray) == pytest.approx(ours, abs=1e-6)
    # with the release's text round trips (%f features, %g scaled features and prediction): within their rounding
    assert float(zoo.metric("brisque")(x)) == pytest.approx(ours, abs=2e-3)


def test_brisque_differs_from_piq_on_odd_sizes(piq_brisque):
    """Documented difference: piq halves an odd side to floor(H/2), MATLAB's imresize to ceil(H/2)."""
    x = photo(0, 255, 321)
    gray = torch.from_numpy(matlab_gray(x) / 255).float()[:, None].repeat(1, 3, 1, 1)
    ours = float(zoo.metric("brisque", matlab_io=False)(x))
    assert 1e-3 < abs(ours - piq_brisque(gray)) < 5.0


def test_brisque_release_text_round_trips():
    m = zoo.metric("brisque")
    exact = zoo.metric("brisque", matlab_io=False)
    x = photo(1, 200, 200)
    v, e = float(m(x)), float(exact(x))
    assert v == float(f"{v:g}")  # svm-predict printed the prediction with %g
    assert v != e and abs(v - e) < 2e-3


# ------------------------------------------------------------------------------------------------
# known behaviour, the kit, the harness


@pytest.mark.parametrize("name", ["niqe", "brisque"])
@pytest.mark.parametrize("kind", ["blur", "noise", "jpeg"])
def test_no_reference_scores_rise_with_distortion(name, kind):
    f, levels = DISTORTIONS[kind]
    x = photo(3, 288, 288)
    m = zoo.metric(name)
    vals = [float(m(f(x, level))) for level in levels]
    # documented behaviour (docs/iqa.md): rising from the mildest level on, the strongest well above the clean
    # photo; a mild distortion can score *better* than the clean photo (NIQE: JPEG q50 on this photo, 3.29 < 3.68)
    assert vals[1:] == sorted(vals[1:]) and vals[-1] > vals[0] + 1, f"{name} under {kind} {levels}: {vals}"


@pytest.mark.parametrize("name,size", [("niqe", 192), ("brisque", 64)])
def test_no_reference_metrics_pass_the_kit(name, size):
    m = check_metric(name, size=size, n=2)
    assert m.requirements() == set() and m.ideal is None


def test_no_reference_metrics_run_on_an_unpaired_task(tmp_path):
    """Style transfer has no reference: NIQE and BRISQUE score the stylised output alone."""
    suite = tmp_path / "nr.yaml"
    suite.write_text(
        "name: nr\nbenchmarks:\n  - name: style-nr\n    task: style-transfer\n"
        "    dataset: {name: samples-style, styles: [ihc], crop: 128, style_size: 128, limit: 2}\n"
        "    methods: [reinhard.classical]\n    metrics: [brisque, niqe]\n")
    run = zoo.bench(str(suite), out=tmp_path / "run", progress=False)
    df = run.results
    br = df[df.metric == "brisque"]
    assert len(br) >= 1 and (br.status == "ok").all() and br.value.notna().all()
    nq = df[df.metric == "niqe"]  # 128 px crops hold one 96-px block: measured
    assert (nq.status == "ok").all()
    assert "brisque" in (tmp_path / "run" / "leaderboard.md").read_text()
