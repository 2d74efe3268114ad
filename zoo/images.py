"""Decode, encode and convert images.

Everything returns float32 RGB in [0, 1] as C x H x W tensors (add a batch dim yourself).
Decoding handles PNG, JPEG, WebP, TIFF (8/16-bit), grayscale, RGBA (alpha dropped),
CMYK, palette images and EXIF orientation. Colour conversions: RGB <-> Y (ITU-R BT.601,
MATLAB ``rgb2ycbcr``: Y in [16, 235] / 255; :func:`rgb_to_y_u8` rounds Y as MATLAB does for
uint8 images) and RGB <-> CIELAB (D65, sRGB).

Gray images (L, LA, 16-bit gray, gray palettes) are replicated to three equal channels when
decoded, the one gray convention everywhere: a gray image stored as L or as RGB decodes to the
same tensor, and its Y is 16 + 219 g.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from zoo.errors import ConfigError, ImageError, ImageTooLargeError, LimitError

#: Largest image accepted, in pixels (a decompression bomb guard); ZOO_MAX_PIXELS overrides.
MAX_PIXELS = 16384 * 16384
#: Largest working memory one image may need (``zoo run``'s estimate, a decoder's allocation), in MiB;
#: ZOO_MAX_MEMORY_MB overrides.
MAX_MEMORY_MB = 8192


def _env_limit(name: str, default: int, unit: str) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{name}={raw!r} is not a positive whole number of {unit}; unset it (default {default}) "
                          f"or set e.g. {name}={default}")
    return value


def max_pixels() -> int:
    """The pixel limit for any decoded image: ``ZOO_MAX_PIXELS``, default :data:`MAX_PIXELS`."""
    return _env_limit("ZOO_MAX_PIXELS", MAX_PIXELS, "pixels")


def max_memory_bytes() -> int:
    """The working-memory limit for one image: ``ZOO_MAX_MEMORY_MB`` MiB, default :data:`MAX_MEMORY_MB`."""
    return _env_limit("ZOO_MAX_MEMORY_MB", MAX_MEMORY_MB, "MiB") << 20


def check_pixels(height: int, width: int, source: str) -> None:
    """Raise :class:`LimitError` when ``height x width`` exceeds :func:`max_pixels` (before anything is allocated)."""
    limit = max_pixels()
    if height * width > limit:
        raise ImageTooLargeError(f"{source}: {width}x{height} = {height * width} pixels exceeds the {limit}-pixel limit "
                         f"(decompression bomb guard); set ZOO_MAX_PIXELS to a larger number to allow it")


def check_memory(nbytes: int, source: str, what: str) -> None:
    """Raise :class:`LimitError` when an estimated allocation of ``nbytes`` exceeds :func:`max_memory_bytes`."""
    limit = max_memory_bytes()
    if nbytes > limit:
        raise LimitError(f"{source}: {what} needs about {nbytes / 2**30:.1f} GiB, over the {limit >> 20} MiB limit; "
                         f"use a smaller image (or tiles), or set ZOO_MAX_MEMORY_MB to a larger number to allow it")


def _unreadable(path: Path, exc: OSError) -> ImageError:
    """The error for an image file that cannot be opened: missing, a folder, or not readable."""
    if isinstance(exc, FileNotFoundError):
        return ImageError(f"{path}: no such file")
    if isinstance(exc, IsADirectoryError):
        return ImageError(f"{path}: is a directory, expected an image file")
    return ImageError(f"{path}: cannot be read ({exc.strerror}); check its permissions")


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of an image file from its header, without decoding the pixels."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            f.seek(0)
            if head in (b"II*\x00", b"MM\x00*"):
                import tifffile

                with tifffile.TiffFile(f) as t:
                    shape = t.pages[0].shape
                return int(shape[0]), int(shape[1]) if len(shape) > 1 else 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                old, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
                try:
                    with Image.open(f) as img:
                        return img.height, img.width
                finally:
                    Image.MAX_IMAGE_PIXELS = old
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise _unreadable(path, exc) from exc
    except Exception as exc:
        raise ImageError(f"{path}: not a recognised image ({type(exc).__name__}: {exc}); supported: {', '.join(EXTENSIONS)}") from exc
EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".ppm", ".pgm")


def _from_array(arr: np.ndarray, source: str) -> torch.Tensor:
    if arr.size == 0:
        raise ImageError(f"{source}: image has zero size {arr.shape}")
    if arr.dtype == np.uint8:
        x = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        x = arr.astype(np.float32) / 65535.0
    elif arr.dtype in (np.int32, np.uint32):  # Pillow mode "I" (16-bit PNG/TIFF grayscale)
        x = arr.astype(np.float32) / (65535.0 if arr.max() > 255 else 255.0)
    elif arr.dtype.kind == "f":
        x = arr.astype(np.float32)
    elif arr.dtype == bool:
        x = arr.astype(np.float32)
    else:
        raise ImageError(f"{source}: unsupported pixel type {arr.dtype}")
    if x.ndim == 2:
        x = np.stack([x] * 3, axis=-1)
    if x.ndim != 3:
        raise ImageError(f"{source}: expected a 2-D image, got array of shape {arr.shape}")
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    elif x.shape[2] == 4:
        x = x[:, :, :3]
    elif x.shape[2] != 3:
        raise ImageError(f"{source}: {x.shape[2]} channels; expected 1, 3 or 4")
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))).clamp_(0, 1)


def _read_tiff(data: bytes, source: str) -> torch.Tensor:
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            shape = tif.pages[0].shape  # from the header: checked before the pixels are allocated
            if len(shape) >= 2:
                planar = len(shape) == 3 and shape[0] in (3, 4) and shape[2] not in (3, 4)
                h, w = (shape[1], shape[2]) if planar else (shape[0], shape[1])
                check_pixels(int(h), int(w), source)
            arr = tif.pages[0].asarray()
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"{source}: not a readable TIFF ({type(exc).__name__}: {exc}); re-export the file") from exc
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[2] not in (3, 4):
        arr = arr.transpose(1, 2, 0)
    if arr.ndim >= 2:
        check_pixels(arr.shape[0], arr.shape[1], source)
    return _from_array(arr, source)


def decode(data: bytes, source: str = "<bytes>") -> torch.Tensor:
    """Decode encoded image bytes into a 3 x H x W float32 RGB tensor in [0, 1]."""
    if not data:
        raise ImageError(f"{source}: file is empty (0 bytes)")
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _read_tiff(data, source)
    limit = max_pixels()
    old = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = limit
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"{source}: image is too large ({exc}); over the {limit}-pixel limit, it may be a decompression "
                         f"bomb. Set ZOO_MAX_PIXELS to a larger number to allow it.") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{source}: not a recognised image format (corrupt, or not an image); supported: {', '.join(EXTENSIONS)}") from exc
    except Exception as exc:  # a decoder's own error on damaged bytes (OSError, SyntaxError, struct.error ...)
        raise ImageError(f"{source}: corrupt or truncated image ({type(exc).__name__}: {exc}); re-export or re-download the file") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = old
    if img.width == 0 or img.height == 0:
        raise ImageError(f"{source}: image has zero size {img.size}")
    try:
        img = ImageOps.exif_transpose(img)
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(img).astype(np.uint16 if img.mode.startswith("I;16") else np.int32)
            if arr.dtype == np.int32:
                arr = arr.clip(0, 65535).astype(np.uint16)
        elif img.mode == "F":
            arr = np.asarray(img)
        else:
            arr = np.asarray(img if img.mode == "RGB" else img.convert("RGB"))  # palette, grayscale, CMYK; alpha dropped
    except Exception as exc:  # damaged metadata (EXIF) or a mode Pillow cannot convert
        raise ImageError(f"{source}: corrupt image data ({type(exc).__name__}: {exc}); re-export or re-download the file") from exc
    return _from_array(arr, source)


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """Read an image file into a 3 x H x W float32 RGB tensor in [0, 1].

    Raises:
        ImageError: missing, empty, corrupt, truncated, zero-size or oversized file.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise _unreadable(path, exc) from exc
    return decode(data, str(path))


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Round [0, 1] floats to uint8 as a saved image would be (round half up, clamp)."""
    return torch.floor(x.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Float image rounded to the uint8 grid and back to [0, 1] floats."""
    return to_uint8(x).to(torch.float32) / 255.0


def encode(x: torch.Tensor, fmt: str = "PNG", **options) -> bytes:
    """Encode a 3 x H x W [0, 1] tensor (rounded to uint8) with Pillow."""
    arr = to_uint8(x).permute(1, 2, 0).cpu().numpy()
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format=fmt, **options)
    return buf.getvalue()


def write_image(path: str | os.PathLike, x: torch.Tensor) -> Path:
    """Write a 3 x H x W (or 1 x 3 x H x W) tensor; the format follows the extension."""
    path = Path(path)
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise ImageError(f"{path}: write_image takes one image, got a batch of {x.shape[0]}")
        x = x[0]
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ImageError(f"{path}: unknown image extension {path.suffix!r}; use one of {', '.join(EXTENSIONS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(x, fmt))
    return path


def check_destinations(destinations: list[Path], inputs: list[str | os.PathLike], overwrite: bool,
                       where: str = "-o folder") -> None:
    """Refuse to write over an input, or over an existing file unless ``overwrite``.

    Used by every command that writes images a user named (``zoo run``, plugin verbs such as
    ``zoo edit``), before anything is computed.

    Raises:
        RunFolderError: a destination is one of ``inputs``, or exists and ``overwrite`` is off.
    """
    from zoo.errors import RunFolderError

    keep = {Path(f).resolve() for f in inputs if f}
    existing = []
    for d in destinations:
        if d.resolve() in keep:
            raise RunFolderError(f"refusing to write {d}: it is one of the inputs and would be destroyed; choose "
                                 f"another {where}")
        if d.exists() or d.is_symlink():
            existing.append(str(d))
    if existing and not overwrite:
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise RunFolderError(f"refusing to overwrite existing output {', '.join(existing[:3])}{more}; pass --overwrite "
                             f"to replace them, or choose another {where}")


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 (0..255) -> float32 [0, 1]; float tensors pass through as float32."""
    return x.to(torch.float32) / 255.0 if x.dtype == torch.uint8 else x.to(torch.float32)


# --- colour -------------------------------------------------------------------------------

_Y_WEIGHTS = (65.481, 128.553, 24.966)  # ITU-R BT.601 for R, G, B in [0, 1] -> Y in [16, 235]


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """Luma of ``... x 3 x H x W`` RGB in [0, 1] as MATLAB ``rgb2ycbcr``: (16 + 65.481R + 128.553G + 24.966B) / 255."""
    r, g, b = x.unbind(-3)
    return ((16.0 + _Y_WEIGHTS[0] * r + _Y_WEIGHTS[1] * g + _Y_WEIGHTS[2] * b) / 255.0).unsqueeze(-3)


def rgb_to_y_u8(x: torch.Tensor) -> torch.Tensor:
    """Luma exactly as MATLAB ``rgb2ycbcr`` returns it for a uint8 image, divided by 255.

    The RGB values are first taken to the uint8 grid (as a saved image would be), and Y is
    rounded to an integer in [16, 235]: MATLAB returns uint8 for uint8 input, and the
    PSNR/SSIM tables of SR papers (SRCNN, VDSR, EDSR, RCAN ...) are computed on that Y.
    Arithmetic is float64 so the rounding does not depend on float32 error.
    """
    q = to_uint8(x).to(torch.float64)
    r, g, b = q.unbind(-3)
    y = torch.floor(16.0 + (_Y_WEIGHTS[0] * r + _Y_WEIGHTS[1] * g + _Y_WEIGHTS[2] * b) / 255.0 + 0.5)
    return (y / 255.0).to(x.dtype if x.is_floating_point() else torch.float32).unsqueeze(-3)


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """Full MATLAB ``rgb2ycbcr`` (BT.601, studio swing), all channels divided by 255."""
    r, g, b = x.unbind(-3)
    y = 16.0 + 65.481 * r + 128.553 * g + 24.966 * b
    cb = 128.0 - 37.797 * r - 74.203 * g + 112.0 * b
    cr = 128.0 + 112.0 * r - 93.786 * g - 18.214 * b
    return torch.stack([y, cb, cr], dim=-3) / 255.0


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr`."""
    y, cb, cr = (x * 255.0).unbind(-3)
    y, cb, cr = y - 16.0, cb - 128.0, cr - 128.0
    r = 0.00456621 * y + 0.00625893 * cr
    g = 0.00456621 * y - 0.00153632 * cb - 0.00318811 * cr
    b = 0.00456621 * y + 0.00791071 * cb
    return torch.stack([r, g, b], dim=-3)


_RGB2XYZ = torch.tensor([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
_WHITE_D65 = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)


def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> CIELAB (D65, 2 degree observer); L in [0, 100]."""
    d = x.to(torch.float64)
    lin = torch.where(d > 0.04045, ((d + 0.055) / 1.055) ** 2.4, d / 12.92)
    xyz = torch.einsum("ij,...jhw->...ihw", _RGB2XYZ, lin) / _WHITE_D65.view(3, 1, 1)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    fx, fy, fz = f.unbind(-3)
    lab = torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)
    return lab.to(x.dtype)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIELAB (D65) -> sRGB in [0, 1] (clamped)."""
    d = lab.to(torch.float64)
    L, a, b = d.unbind(-3)
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], dim=-3)
    xyz = torch.where(f > 0.2068966, f**3, (f - 16 / 116) / 7.787) * _WHITE_D65.view(3, 1, 1)
    lin = torch.einsum("ij,...jhw->...ihw", torch.linalg.inv(_RGB2XYZ), xyz).clamp_min(0)
    rgb = torch.where(lin > 0.0031308, 1.055 * lin ** (1 / 2.4) - 0.055, 12.92 * lin)
    return rgb.clamp(0, 1).to(lab.dtype)


def sample_batch(n: int = 2, size: int = 48, seed: int = 0) -> torch.Tensor:
    """A smooth random batch (natural-image-like), N x 3 x size x size in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 8, size // 8, generator=g)
    x = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return (x + 0.03 * torch.rand(n, 3, size, size, generator=g)).clamp(0, 1)
