import pytest
import torch

import zoo
from zoo.testing import check_method


@pytest.mark.parametrize("kernel", ["nearest", "bilinear", "bicubic", "lanczos"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_classical_conform(kernel, scale):
    check_method(f"{kernel}.classical", setting={"scale": scale}, size=24)


def test_espcn_conforms_and_loads_bundled_verified_weights():
    m = check_method("espcn-x4.samples", size=24)
    assert sum(p.numel() for p in m.parameters()) < 5e6 / 4  # <= 5 MB in float32


def test_bicubic_matches_independent_matlab_convention_pipeline(tmp_path):
    """Bicubic x4 through the harness vs an independent pipeline: skimage/scipy-free MATLAB
    imresize re-derived from the kernel definition, Y channel, border = scale."""
    import numpy as np
    from skimage.color import rgb2ycbcr

    from zoo.datasets.degrade import imresize, mod_crop

    def cubic(x):
        a = np.abs(x)
        return np.where(a <= 1, 1.5 * a**3 - 2.5 * a**2 + 1, np.where(a <= 2, -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2, 0))

    def matlab_resize_1d(v, scale):  # direct per-output-sample loop, MATLAB's contributions()
        n_in = v.shape[0]
        n_out = int(np.ceil(n_in * scale))
        width = 4 / scale if scale < 1 else 4
        out = np.zeros((n_out,) + v.shape[1:])
        for i in range(n_out):
            u = (i + 1) / scale + 0.5 * (1 - 1 / scale)
            left = int(np.floor(u - width / 2))
            idx = np.arange(left, left + int(np.ceil(width)) + 2)
            w = scale * cubic(scale * (u - idx)) if scale < 1 else cubic(u - idx)
            w = w / w.sum()
            j = idx - 1
            j = np.where(j < 0, -j - 1, j)
            j = np.where(j >= n_in, 2 * n_in - j - 1, j)
            out[i] = np.tensordot(w, v[j], axes=1)
        return out

    run = zoo.bench("quick", methods=["bicubic.classical"], progress=False, report=False, out=tmp_path)
    ours = run.results[(run.results.method == "bicubic.classical") & (run.results.metric == "psnr-y")]
    ds = zoo.dataset("samples", split="heldout", crop=256)
    for item in ds:
        hr = mod_crop(item.image, 4).permute(1, 2, 0).double().numpy()
        lr = matlab_resize_1d(matlab_resize_1d(hr, 0.25).transpose(1, 0, 2), 0.25).transpose(1, 0, 2)
        lr = np.floor(np.clip(lr, 0, 1) * 255 + 0.5) / 255
        sr = matlab_resize_1d(matlab_resize_1d(lr, 4.0).transpose(1, 0, 2), 4.0).transpose(1, 0, 2)
        sr = np.floor(np.clip(sr, 0, 1) * 255 + 0.5).astype(np.uint8)
        ref = np.floor(hr * 255 + 0.5).astype(np.uint8)
        # Y as MATLAB's rgb2ycbcr returns it for uint8 images: rounded to integers (the papers' convention)
        ys, yr = np.round(rgb2ycbcr(sr))[4:-4, 4:-4, 0], np.round(rgb2ycbcr(ref))[4:-4, 4:-4, 0]
        psnr = 10 * np.log10(255.0**2 / np.mean((ys - yr) ** 2))
        got = float(ours[ours.item == item.id].value.iloc[0])
        assert abs(got - psnr) <= 0.01, (item.id, got, psnr)
    assert torch.allclose(imresize(torch.ones(1, 3, 8, 8), 0.5), torch.ones(1, 3, 4, 4), atol=1e-6)


def test_espcn_beats_bicubic_by_0_3_db_on_heldout_through_harness(tmp_path):
    run = zoo.bench("quick", methods=["bicubic.classical", "espcn-x4.samples"], progress=False, report=False, out=tmp_path)
    df = run.results[run.results.metric == "psnr-y"]
    gain = df[df.method == "espcn-x4.samples"].value.mean() - df[df.method == "bicubic.classical"].value.mean()
    assert gain >= 0.3, gain


@pytest.mark.slow
def test_training_script_runs(tmp_path):
    from zoo_superres.train_espcn import main

    assert main(["--steps", "5", "--batch", "2", "--out", str(tmp_path / "w.safetensors")]) == 0
    assert (tmp_path / "w.safetensors").stat().st_size < 5e6
