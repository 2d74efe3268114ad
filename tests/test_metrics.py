"""Every metric against its reference implementation, on the same inputs, with stated tolerances."""

import numpy as np
import pytest
import torch

import zoo
from zoo.errors import MetricError, MetricUnavailable


def _pair(n=3, size=192, seed=0):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 16, size // 16, generator=g)
    ref = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic").clamp(0, 1)
    out = (ref + 0.05 * torch.randn(n, 3, size, size, generator=g)).clamp(0, 1)
    return out, ref


def test_psnr_matches_skimage_and_torchmetrics():
    from skimage.metrics import peak_signal_noise_ratio
    from torchmetrics.functional.image import peak_signal_noise_ratio as tm_psnr

    out, ref = _pair()
    ours = zoo.metric("psnr")(out, ref)
    for i in range(out.shape[0]):
        sk = peak_signal_noise_ratio(ref[i].double().numpy(), out[i].double().numpy(), data_range=1.0)
        tm = tm_psnr(out[i : i + 1].double(), ref[i : i + 1].double(), data_range=1.0)
        assert abs(float(ours[i]) - sk) <= 1e-4 and abs(float(ours[i]) - float(tm)) <= 1e-4


def test_psnr_y_crop_and_rounding_options():
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio

    out, ref = _pair(n=1)
    m = zoo.metric("psnr", channel="y", crop_border=4, round=True, luma="float")  # unrounded Y
    u8 = lambda t: (t[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)  # noqa: E731
    y_o, y_r = rgb2ycbcr(u8(out))[4:-4, 4:-4, 0], rgb2ycbcr(u8(ref))[4:-4, 4:-4, 0]
    assert abs(float(m(out, ref)[0]) - peak_signal_noise_ratio(y_r, y_o, data_range=255)) <= 1e-4
    assert "channel=y" in m.fingerprint and "crop=4" in m.fingerprint and "u8=True" in m.fingerprint
    assert "luma=float" in m.fingerprint


def test_y_rounded_as_matlab_by_hand():
    from zoo.images import rgb_to_y_u8

    # (R, G, B) 8-bit -> MATLAB rgb2ycbcr(uint8) Y, worked out by hand:
    # Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255, rounded half up
    pixels = {(0, 0, 0): 16,           # 16
              (255, 255, 255): 235,    # 16 + 219
              (255, 0, 0): 81,         # 81.481
              (0, 255, 0): 145,        # 144.553
              (0, 0, 255): 41,         # 40.966
              (10, 20, 30): 32,        # 16 + (654.81 + 2571.06 + 748.98) / 255 = 31.588
              (128, 128, 128): 126}    # 16 + 219 * 128 / 255 = 125.929
    rgb = torch.tensor(list(pixels), dtype=torch.float32).T.reshape(1, 3, 1, -1) / 255
    y = rgb_to_y_u8(rgb)[0, 0, 0] * 255
    assert y.round().tolist() == list(pixels.values())
    assert torch.allclose(y, y.round(), atol=1e-4)  # integers: Y is rounded
    # float Y keeps the fraction (pure red: 81.481)
    from zoo.images import rgb_to_y

    assert abs(float(rgb_to_y(rgb)[0, 0, 0, 2]) * 255 - 81.481) < 1e-3


def test_psnr_ssim_y_default_is_skimage_rgb2ycbcr_rounded():
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    out, ref = _pair(n=2)
    u8 = lambda t: (t.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)  # noqa: E731
    psnr = zoo.metric("psnr", channel="y", crop_border=4)
    ssim = zoo.metric("ssim", channel="y", crop_border=4)
    assert "luma=matlab" in psnr.fingerprint and "luma=matlab" in ssim.fingerprint
    ours_p, ours_s = psnr(out, ref), ssim(out, ref)
    for i in range(out.shape[0]):
        y_o = np.round(rgb2ycbcr(u8(out[i]))[..., 0])[4:-4, 4:-4]
        y_r = np.round(rgb2ycbcr(u8(ref[i]))[..., 0])[4:-4, 4:-4]
        assert abs(float(ours_p[i]) - peak_signal_noise_ratio(y_r, y_o, data_range=255)) <= 1e-4
        sk = structural_similarity(y_r / 255, y_o / 255, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                   use_sample_covariance=False)
        assert abs(float(ours_s[i]) - sk) <= 1e-5
    # rounding Y is a real difference, not a no-op
    assert abs(float(psnr(out, ref)[0]) - float(zoo.metric("psnr", channel="y", crop_border=4, luma="float")(out, ref)[0])) > 1e-3


def test_gray_image_convention_is_replicate_then_y(tmp_path):
    """A gray image stored as L or as RGB (the Set14 variants) decodes to the same pixels and the same Y."""
    from PIL import Image

    from zoo.images import read_image, rgb_to_y_u8

    g = (np.arange(64 * 48).reshape(48, 64) % 251).astype(np.uint8)
    Image.fromarray(g, "L").save(tmp_path / "l.png")
    Image.fromarray(np.stack([g] * 3, -1), "RGB").save(tmp_path / "rgb.png")
    a, b = read_image(tmp_path / "l.png"), read_image(tmp_path / "rgb.png")
    assert torch.equal(a, b)
    y = rgb_to_y_u8(a[None])[0, 0] * 255
    assert torch.equal(y.round(), torch.floor(16 + 219 * torch.from_numpy(g).double() / 255 + 0.5).float())


def test_luma_option_is_checked():
    with pytest.raises(MetricError, match="luma must be 'matlab'"):
        zoo.metric("psnr", channel="y", luma="bt709")
    assert "luma" not in zoo.metric("psnr").fingerprint  # RGB fingerprints unchanged


def test_ssim_matches_skimage_and_pytorch_msssim():
    from pytorch_msssim import ssim as pm_ssim
    from skimage.metrics import structural_similarity

    out, ref = _pair()
    ours = zoo.metric("ssim")(out, ref)
    pm = pm_ssim(out, ref, data_range=1.0, size_average=False)
    assert torch.allclose(ours.double(), pm.double(), atol=1e-5)  # pytorch-msssim is itself 2.3e-6 from scikit-image here
    for i in range(out.shape[0]):
        sk = structural_similarity(ref[i].double().numpy(), out[i].double().numpy(), channel_axis=0, data_range=1.0,
                                   gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        assert abs(float(ours[i]) - sk) <= 1e-6  # measured 3e-7 (float32 arithmetic)


@pytest.mark.parametrize("size", [(192, 192), (161, 177)])
def test_ssim_opencv_path_equals_torch_path(size, monkeypatch):
    """The CPU path (OpenCV filters, per-plane threads) against the torch path on the same float64 inputs,
    at even and odd sizes (MS-SSIM's zero-padded pooling), with 1 and 3 threads."""
    import zoo.metrics.fidelity as fid

    g = torch.Generator().manual_seed(1)
    ref = torch.rand(2, 3, *size, generator=g, dtype=torch.float64)
    out = (ref + 0.1 * torch.randn(2, 3, *size, generator=g, dtype=torch.float64)).clamp(0, 1)
    win = fid.gaussian_window()
    expected_s, expected_cs = [], []
    a, b = out, ref
    for level in range(5):  # the torch reference, scale by scale
        s, cs = fid.ssim_components(a, b, win, need_ssim=True)
        expected_s.append(s)
        expected_cs.append(cs)
        pad = [a.shape[-2] % 2, a.shape[-1] % 2]
        a, b = (torch.nn.functional.avg_pool2d(t, kernel_size=2, padding=pad) for t in (a, b))
    for threads in (1, 3):
        monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
        s1, cs1 = fid.ssim_scales(out, ref, win, scales=1)
        assert torch.allclose(s1, expected_s[0], rtol=0, atol=1e-12) and cs1.isnan().all()
        s5, cs5 = fid.ssim_scales(out, ref, win, scales=5)
        assert torch.allclose(s5, expected_s[4], rtol=0, atol=1e-12)
        assert torch.allclose(cs5[:4], torch.stack(expected_cs[:4]), rtol=0, atol=1e-12) and cs5[4].isnan().all()
    assert (expected_s[0] - expected_s[4]).abs().min() > 1e-3  # the scales differ: the check above can fail


def test_ms_ssim_matches_pytorch_msssim():
    from pytorch_msssim import ms_ssim

    out, ref = _pair(size=200)
    ours = zoo.metric("ms-ssim")(out, ref)
    pm = ms_ssim(out, ref, data_range=1.0, size_average=False)
    assert torch.allclose(ours.double(), pm.double(), atol=1e-6)  # measured 2.4e-7 (both float32)


def test_lpips_matches_lpips_package_with_same_weights():
    import lpips

    out, ref = _pair(n=2, size=64)
    m = zoo.metric("lpips", net="alex", random_trunk=True, seed=3)
    torch.manual_seed(3)
    reference = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False).eval()
    with torch.no_grad():
        expected = reference(out * 2 - 1, ref * 2 - 1).flatten()
    assert torch.allclose(m(out, ref).float(), expected, atol=1e-6)
    assert "random_trunk_seed=3" in m.fingerprint


def test_lpips_without_trunk_is_unavailable_with_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(MetricUnavailable, match="trunk weights"):
        zoo.metric("lpips")


def test_fid_unavailable_offline_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_INCEPTION_DIR", str(tmp_path))
    with pytest.raises(MetricUnavailable, match="inception-2015-12-05.pt"):
        zoo.metric("fid")


def test_frechet_and_kernel_distance_match_clean_fid_on_same_features():
    from cleanfid.fid import frechet_distance, kernel_distance

    from zoo.metrics.distribution import FrechetDistance, KernelDistance

    rng = np.random.default_rng(0)
    fa, fb = rng.normal(size=(40, 16)), rng.normal(0.3, 1.2, size=(50, 16))

    class Fixed:  # the features themselves, so only the statistics are under test
        dim, fingerprint = 16, "fixed"

        def __init__(self):
            self.queue = []

        def pooled(self, x):
            return torch.from_numpy(self.queue.pop(0))

    ext = Fixed()
    fd = FrechetDistance(ext, "fd-test")
    for chunk_a, chunk_b in zip(np.array_split(fa, 7), np.array_split(fb, 7)):  # streamed in uneven batches
        ext.queue += [chunk_a, chunk_b]
        fd.update(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    expected = frechet_distance(fa.mean(0), np.cov(fa, rowvar=False), fb.mean(0), np.cov(fb, rowvar=False))
    assert abs(float(fd.compute()) - expected) <= 1e-6 * abs(expected)

    kd = KernelDistance(ext, "kd-test", num_subsets=10, max_subset_size=30, seed=1)
    ext.queue += [fa, fb]
    kd.update(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    np.random.seed(1)
    expected_k = kernel_distance(fa, fb, num_subsets=10, max_subset_size=30)
    assert abs(float(kd.compute()) - expected_k) <= 1e-6 * abs(expected_k)


@pytest.mark.parametrize("batch", [1, 3, 10])
def test_streaming_fd_equals_batch_formula_at_any_batch_size(batch):
    from zoo.metrics.distribution import RunningStats

    feats = np.random.default_rng(1).normal(size=(30, 8))
    s = RunningStats(8)
    for i in range(0, 30, batch):
        s.add(feats[i : i + batch])
    mu, cov = s.mean_cov()
    assert np.allclose(mu, feats.mean(0), atol=1e-12) and np.allclose(cov, np.cov(feats, rowvar=False), atol=1e-12)


def test_effnet_lite0_is_a_working_imagenet_classifier():
    import skimage.data

    from zoo.metrics.features import EffNetLite0

    cat = torch.from_numpy(skimage.data.chelsea()).permute(2, 0, 1)[None].float() / 255
    top = EffNetLite0().logits(cat).softmax(-1)[0].topk(3)
    assert int(top.indices[0]) in range(281, 286)  # ImageNet domestic cat classes (tabby .. Egyptian cat)
    assert float(top.values[0]) > 0.5


def test_effnet_distances_are_zero_for_identical_and_grow_with_noise():
    out, ref = _pair(n=2, size=96)
    d = zoo.metric("deepdist-effnetlite0")
    assert torch.allclose(d(ref, ref), torch.zeros(2, dtype=torch.float64))
    assert (d(out, ref) > 0).all()
    fd = zoo.metric("fd-effnetlite0")
    assert "effnetlite0(sha=" in fd.fingerprint and "not fid" not in fd.name


def test_bpp_is_bytes_over_pixels():
    x = torch.rand(2, 3, 10, 20)
    v = zoo.metric("bpp")(x, x, bitstreams=[b"a" * 25, b"b" * 50])
    assert v.tolist() == [8 * 25 / 200, 8 * 50 / 200]
    with pytest.raises(MetricError, match="bitstreams"):
        zoo.metric("bpp")(x, x)


@pytest.mark.parametrize("name,a,b,match", [
    ("psnr", torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9), "differs from reference shape"),
    ("ssim", torch.rand(1, 3, 16, 16) * 2, torch.rand(1, 3, 16, 16), r"\[0, 1\]"),
    ("ssim", torch.full((1, 3, 16, 16), float("nan")), torch.rand(1, 3, 16, 16), "NaN"),
    ("ms-ssim", torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64), "at least 161x161"),
    ("psnr", torch.rand(3, 8, 8), torch.rand(3, 8, 8), "N x 3 x H x W"),
])
def test_bad_input_names_metric_and_requirement(name, a, b, match):
    with pytest.raises(MetricError, match=match) as err:
        zoo.metric(name)(a, b)
    assert name in str(err.value)


def test_paired_update_compute_reset():
    out, ref = _pair(n=2, size=32)
    m = zoo.metric("psnr")
    m.update(out[:1], ref[:1])
    m.update(out[1:], ref[1:])
    assert torch.allclose(m.compute(), m(out, ref))
    m.reset()
    assert m.compute().numel() == 0


def test_lpips_trunk_file_names_match_torchvision():
    import torchvision.models as tvm

    from zoo.metrics.perceptual import TRUNK_FILES

    weights = {"alex": tvm.AlexNet_Weights, "vgg": tvm.VGG16_Weights, "squeeze": tvm.SqueezeNet1_1_Weights}
    for net, w in weights.items():
        assert w.IMAGENET1K_V1.url.rsplit("/", 1)[-1] == TRUNK_FILES[net]
