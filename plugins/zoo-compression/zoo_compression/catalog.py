"""Catalog entries this plugin ships (classical codecs; operating points as settings)."""

from __future__ import annotations

Q = [{"quality": q} for q in (10, 30, 50, 75, 90)]

ENTRIES: dict[str, dict] = {
    "jpeg.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "jpeg"}, "settings": Q,
                 "license": "libjpeg (IJG)", "paper": "ITU-T T.81 (1992)", "description": "JPEG baseline, 4:2:0"},
    "jpeg444.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "jpeg", "subsampling": "4:4:4"},
                    "settings": Q, "license": "libjpeg (IJG)", "paper": "ITU-T T.81 (1992)", "description": "JPEG, 4:4:4"},
    "jpeg2000.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "jpeg2000"},
                     "settings": [{"quality": q} for q in (28, 32, 36, 40)], "license": "OpenJPEG (BSD-2)",
                     "paper": "ISO/IEC 15444-1", "description": "JPEG 2000 (OpenJPEG), quality = target PSNR in dB"},
    "webp.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "webp"}, "settings": Q,
                 "license": "libwebp (BSD-3)", "description": "WebP lossy"},
    "webp-lossless.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "webp", "lossless": True},
                          "license": "libwebp (BSD-3)", "description": "WebP lossless"},
    "avif.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "avif"}, "settings": Q,
                 "license": "libavif (BSD-2)", "description": "AVIF (AV1 intra)"},
    "png.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "png"},
                "license": "libpng", "description": "PNG (lossless)"},
    "jpegxl.pil": {"task": "compression", "factory": "pillow-codec", "params": {"codec": "jpegxl"}, "settings": Q,
                   "license": "libjxl (BSD-3)", "paper": "ISO/IEC 18181", "description": "JPEG XL via pillow-jxl-plugin"},
}
