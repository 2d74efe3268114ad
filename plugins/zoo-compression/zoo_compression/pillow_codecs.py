"""Classical codecs through Pillow: JPEG (4:2:0 / 4:4:4), JPEG 2000, WebP (lossy and
lossless), AVIF, PNG and JPEG XL (``pillow-jxl-plugin``). Each image is encoded to a
self-contained file in memory; bpp counts every byte of it (headers included)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from PIL import Image

from zoo.errors import ImageTooLargeError, OptionsError, ZooError
from zoo.images import check_pixels, to_uint8
from zoo.tasks import Compressor

FORMATS = {
    "jpeg": "JPEG", "jpeg2000": "JPEG2000", "webp": "WEBP", "avif": "AVIF", "png": "PNG", "jpegxl": "JXL",
}


def _jxl_available() -> bool:
    try:
        import pillow_jxl  # noqa: F401  (registers the JXL format with Pillow)

        return True
    except ImportError:
        return False


class PillowCodec(Compressor):
    """One Pillow format at one operating point.

    Args:
        codec: jpeg, jpeg2000, webp, avif, png or jpegxl.
        quality: codec quality (JPEG/WebP/AVIF/JXL 0-100; JPEG 2000: PSNR target in dB).
        subsampling: JPEG chroma subsampling, "4:2:0" or "4:4:4".
        lossless: WebP / JPEG XL lossless mode.
    """

    def __init__(self, codec: str = "jpeg", quality: int | None = None, subsampling: str = "4:2:0", lossless: bool = False) -> None:
        super().__init__()
        if codec not in FORMATS:
            raise OptionsError("pillow-codec", "codec", codec, sorted(FORMATS))
        if codec == "jpegxl" and not _jxl_available():
            raise ZooError("jpegxl needs the Pillow plugin: pip install pillow-jxl-plugin")
        if quality is not None:
            number = (int, float) if codec == "jpeg2000" else int  # JPEG 2000: a PSNR target in dB
            if isinstance(quality, bool) or not isinstance(quality, number) or not (0 <= quality <= 100):
                raise OptionsError(codec, "quality", quality,
                                   "a number of dB in 0..100" if codec == "jpeg2000" else "an integer in 0..100")
        if subsampling not in ("4:2:0", "4:4:4"):
            raise OptionsError(codec, "subsampling", subsampling, ["4:2:0", "4:4:4"])
        self.codec, self.quality, self.subsampling, self.lossless = codec, quality, subsampling, lossless

    def _options(self) -> dict:
        q = self.quality
        if self.codec == "jpeg":
            return {"quality": q if q is not None else 75, "subsampling": 0 if self.subsampling == "4:4:4" else 2, "optimize": True}
        if self.codec == "jpeg2000":
            return {"quality_mode": "dB", "quality_layers": [q if q is not None else 35], "irreversible": True} if not self.lossless else {}
        if self.codec == "webp":
            return {"lossless": True, "quality": 100, "method": 6} if self.lossless else {"quality": q if q is not None else 75, "method": 6}
        if self.codec == "avif":
            return {"quality": q if q is not None else 75, "speed": 6}
        if self.codec == "jpegxl":
            return {"lossless": True} if self.lossless else {"quality": q if q is not None else 75}
        return {"optimize": True}

    def _compress(self, x: torch.Tensor) -> list[bytes]:
        out = []
        for img in to_uint8(x).permute(0, 2, 3, 1).cpu().numpy():
            buf = io.BytesIO()
            Image.fromarray(img, "RGB").save(buf, format=FORMATS[self.codec], **self._options())
            out.append(buf.getvalue())
        return out

    def _decompress(self, streams: list[bytes]) -> torch.Tensor:
        imgs = []
        for i, s in enumerate(streams):
            try:
                im = Image.open(io.BytesIO(s))
            except Image.DecompressionBombError as exc:
                raise ImageTooLargeError(f"{self.id}: bitstream {i}: {exc}; set ZOO_MAX_PIXELS to allow larger images") from exc
            except Exception as exc:
                raise ZooError(f"{self.id}: bitstream {i} ({len(s)} bytes) is corrupt or truncated: {exc}") from exc
            check_pixels(im.height, im.width, f"{self.id}: bitstream {i}")  # before the pixels are allocated
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit is checked above
                    im.load()
                    arr = np.asarray(im.convert("RGB"))
            except Exception as exc:
                raise ZooError(f"{self.id}: bitstream {i} ({len(s)} bytes) is corrupt or truncated: {exc}") from exc
            imgs.append(torch.from_numpy(arr.copy()).permute(2, 0, 1))
        if len({t.shape for t in imgs}) > 1:
            raise ZooError(f"{self.id}: decoded images differ in size; decompress them one at a time")
        return torch.stack(imgs).float() / 255.0
