import io

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.errors import ContractError, ImageError
from zoo.images import decode, lab_to_rgb, read_image, rgb_to_lab, rgb_to_y, rgb_to_ycbcr, to_uint8, write_image
from zoo.tasks import SuperResolver


def _rgb(h=20, w=30):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt,ext,lossless", [("PNG", "png", True), ("JPEG", "jpg", False), ("WEBP", "webp", False),
                                              ("TIFF", "tif", True), ("BMP", "bmp", True)])
def test_decode_rgb_formats(tmp_path, fmt, ext, lossless):
    arr = _rgb()
    p = tmp_path / f"x.{ext}"
    data = _save(Image.fromarray(arr), fmt, **({"quality": 95} if not lossless else {}))
    p.write_bytes(data)
    x = read_image(p)
    assert x.shape == (3, 20, 30) and x.dtype == torch.float32
    decoded = arr if lossless else np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert torch.equal(to_uint8(x), torch.from_numpy(decoded).permute(2, 0, 1))


def test_modes_gray_rgba_cmyk_palette():
    arr = _rgb()
    gray = decode(_save(Image.fromarray(arr[..., 0]), "PNG"))
    assert torch.equal(gray[0], gray[1]) and torch.allclose(gray[0], torch.from_numpy(arr[..., 0]).float() / 255)
    rgba = decode(_save(Image.fromarray(np.dstack([arr, np.full(arr.shape[:2], 7, np.uint8)])), "PNG"))
    assert torch.allclose(rgba, torch.from_numpy(arr).permute(2, 0, 1).float() / 255)
    cmyk = decode(_save(Image.fromarray(arr).convert("CMYK"), "TIFF"))
    assert cmyk.shape == (3, 20, 30)
    pal = Image.fromarray(arr).convert("P")
    assert torch.allclose(decode(_save(pal, "PNG")), torch.from_numpy(np.asarray(pal.convert("RGB"))).permute(2, 0, 1).float() / 255)


def test_16bit_png_and_tiff_keep_precision(tmp_path):
    import tifffile

    arr16 = (np.arange(20 * 30 * 3, dtype=np.uint16).reshape(20, 30, 3) * 61).astype(np.uint16)
    p = tmp_path / "x16.tif"
    tifffile.imwrite(p, arr16)
    x = read_image(p)
    assert torch.allclose(x, torch.from_numpy(arr16.astype(np.float32) / 65535).permute(2, 0, 1))
    g16 = (np.arange(600, dtype=np.uint16).reshape(20, 30) * 100).astype(np.uint16)
    y = decode(_save(Image.fromarray(g16), "PNG"))
    assert torch.allclose(y[0], torch.from_numpy(g16.astype(np.float32) / 65535))


def test_exif_orientation_is_applied():
    arr = _rgb(10, 20)
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    x = decode(_save(img, "JPEG", exif=exif, quality=95))
    assert x.shape == (3, 20, 10)


@pytest.mark.parametrize("data,match", [(b"", "empty"), (b"not an image at all", "not a recognised image"),
                                        (None, "truncated")])
def test_bad_files_give_clear_errors(tmp_path, data, match):
    if data is None:
        data = _save(Image.fromarray(_rgb(64, 64)), "PNG")[:200]
    p = tmp_path / "bad.png"
    p.write_bytes(data)
    with pytest.raises(ImageError, match=match) as err:
        read_image(p)
    assert "bad.png" in str(err.value)


def test_decompression_bomb_is_refused(monkeypatch):
    import zoo.images as images

    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    with pytest.raises(ImageError, match="decompression bomb"):
        decode(_save(Image.fromarray(_rgb(20, 30)), "PNG"), "big.png")


def test_missing_file():
    with pytest.raises(ImageError, match="no such file"):
        read_image("/nonexistent/x.png")


def test_uint8_round_trip(tmp_path):
    x = torch.rand(3, 9, 11)
    p = write_image(tmp_path / "o.png", x)
    assert torch.equal(to_uint8(read_image(p)), to_uint8(x))


def test_y_matches_matlab_rgb2ycbcr_via_skimage():
    from skimage.color import rgb2ycbcr

    arr = _rgb()
    ours = rgb_to_ycbcr(torch.from_numpy(arr).permute(2, 0, 1).double() / 255) * 255
    ref = rgb2ycbcr(arr)  # MATLAB convention, Y in [16, 235]
    assert np.abs(ours.permute(1, 2, 0).numpy() - ref).max() < 1e-6
    assert torch.allclose(rgb_to_y(torch.from_numpy(arr).permute(2, 0, 1).double() / 255)[0] * 255, torch.from_numpy(ref[..., 0]), atol=1e-6)


def test_lab_matches_skimage_and_round_trips():
    from skimage.color import rgb2lab

    arr = _rgb().astype(np.float64) / 255
    ours = rgb_to_lab(torch.from_numpy(arr).permute(2, 0, 1))
    assert np.abs(ours.permute(1, 2, 0).numpy() - rgb2lab(arr)).max() < 1e-3
    assert torch.allclose(lab_to_rgb(ours), torch.from_numpy(arr).permute(2, 0, 1), atol=1e-4)


class _Bad(SuperResolver):
    scale = 2

    def __init__(self, mode):
        super().__init__()
        self.mode, self.id = mode, "bad-method"

    def _upscale(self, lr):
        y = lr.repeat_interleave(2, -1).repeat_interleave(2, -2)
        return {"shape": y[..., :-1], "dtype": y.double(), "range": y * 3, "nan": y * float("nan")}[self.mode]


@pytest.mark.parametrize("mode,match", [("shape", "shape"), ("dtype", "float32"), ("range", r"\[0, 1\]"), ("nan", "NaN")])
def test_contract_violations_name_the_method(mode, match):
    with pytest.raises(ContractError, match=match) as err:
        _Bad(mode).upscale(torch.rand(1, 3, 4, 4))
    assert "bad-method" in str(err.value)
