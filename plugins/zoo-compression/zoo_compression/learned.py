"""Learned codecs through CompressAI's architectures and its rANS entropy coder.

Architectures (CompressAI's modules, loaded key for key from the official checkpoints):

- ``bmshj2018-factorized``: Ballé et al., "Variational Image Compression with a Scale
  Hyperprior", ICLR 2018 (arXiv:1802.01436), factorized-prior baseline;
- ``bmshj2018-hyperprior``: the same paper's scale hyperprior;
- ``mbt2018-mean`` and ``mbt2018``: Minnen et al., "Joint Autoregressive and Hierarchical
  Priors for Learned Image Compression", NeurIPS 2018 (arXiv:1809.02736);
- ``cheng2020-anchor`` and ``cheng2020-attn``: Cheng et al., "Learned Image Compression
  with Discretized Gaussian Mixture Likelihoods and Attention Modules", CVPR 2020
  (arXiv:2001.01568).

Bitstream (self-contained, every byte counted in bpp)::

    magic 'Z' | version+groups (1 byte) | height, width (uint16 big-endian)
    | length of every group but the last (LEB128) | crc32 of all the bytes before and after it (4 bytes) | payload

The payload is CompressAI's strings, byte for byte. The image is padded to a multiple of
64 the way CompressAI's own evaluation pads it (centred, zeros) and cropped after decoding,
so the decoder needs nothing but the bitstream and the model. The CRC covers the header as
well as the payload (format version 2), so a corrupted or truncated stream is a clear error
instead of garbage; the claimed size is checked against the pixel and memory limits
(``ZOO_MAX_PIXELS``, ``ZOO_MAX_MEMORY_MB``) before anything is allocated.
"""

from __future__ import annotations

import struct
import zlib

import torch
import torch.nn.functional as F

from zoo.errors import OptionsError, ZooError
from zoo.tasks import Compressor
from zoo_compression.catalog import QUALITIES

PAD_MULTIPLE = 64
MAGIC = b"Z"
VERSION = 2  # 2: the CRC covers the header too
MAX_SIDE = 65535
CDF_BUFFERS = {"_quantized_cdf", "_offset", "_cdf_length", "scale_table"}


def _import_compressai() -> None:
    """Import CompressAI once, silencing the FutureWarnings its import emits on recent torch."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import compressai.zoo.image  # noqa: F401


def _architecture(arch: str):
    _import_compressai()
    from compressai.zoo.image import model_architectures

    if arch not in QUALITIES:
        raise ZooError(f"compressai: unknown architecture {arch!r}; choose from {sorted(QUALITIES)}")
    return model_architectures[arch]


def padding(h: int, w: int, multiple: int = PAD_MULTIPLE) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) zero padding up to ``multiple``, centred (CompressAI's evaluation convention)."""
    nh, nw = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    left, top = (nw - w) // 2, (nh - h) // 2
    return (left, nw - w - left, top, nh - h - top)


def pad_to(x: torch.Tensor, multiple: int = PAD_MULTIPLE) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Zero-pad H and W up to ``multiple`` (see :func:`padding`)."""
    pad = padding(*x.shape[-2:], multiple)
    return F.pad(x, pad, mode="constant", value=0), pad


def crop(x: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    left, right, top, bottom = pad
    return x[..., top : x.shape[-2] - bottom, left : x.shape[-1] - right]


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_leb128(buf: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if pos >= len(buf) or shift > 56:
            raise ValueError("truncated length field")
        byte = buf[pos]
        n |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return n, pos


def pack(height: int, width: int, groups: list[bytes]) -> bytes:
    """One image's header and strings as a self-contained bitstream."""
    if not (0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE):
        raise ZooError(f"image of {height}x{width} pixels: sides must be between 1 and {MAX_SIDE} for this bitstream format")
    if not 1 <= len(groups) <= 15:
        raise ZooError(f"bitstream format holds 1 to 15 string groups, got {len(groups)}")
    payload = b"".join(groups)
    head = MAGIC + bytes([VERSION << 4 | len(groups)]) + struct.pack(">HH", height, width)
    head += b"".join(_leb128(len(g)) for g in groups[:-1])
    return head + struct.pack(">I", zlib.crc32(payload, zlib.crc32(head))) + payload


def unpack(stream: bytes) -> tuple[int, int, list[bytes]]:
    """Inverse of :func:`pack`; raises ValueError on any inconsistency."""
    if len(stream) < 10 or stream[:1] != MAGIC:
        raise ValueError("not an imagezoo learned-codec bitstream (bad magic or too short)")
    version, n = stream[1] >> 4, stream[1] & 0x0F
    if version != VERSION or n == 0:
        raise ValueError(f"unsupported bitstream version {version} with {n} groups (this decoder reads version "
                         f"{VERSION}; re-encode the image)")
    height, width = struct.unpack(">HH", stream[2:6])
    pos, lengths = 6, []
    for _ in range(n - 1):
        length, pos = _read_leb128(stream, pos)
        lengths.append(length)
    if pos + 4 > len(stream):
        raise ValueError("truncated header")
    (crc,) = struct.unpack(">I", stream[pos : pos + 4])
    payload = stream[pos + 4 :]
    if zlib.crc32(payload, zlib.crc32(stream[:pos])) != crc:
        raise ValueError("checksum mismatch over header and payload (corrupted or truncated)")
    if height == 0 or width == 0:
        raise ValueError(f"header claims an empty {height}x{width} image")
    if sum(lengths) > len(payload):
        raise ValueError("group lengths exceed the payload")
    groups, start = [], 0
    for length in lengths:
        groups.append(payload[start : start + length])
        start += length
    groups.append(payload[start:])
    return height, width, groups


class CompressAICodec(Compressor):
    """A CompressAI architecture at one quality, with real rANS bitstreams.

    Args:
        arch: one of :data:`QUALITIES` (CompressAI zoo names).
        quality: 1-8 (1-6 for cheng2020); picks the channel widths of the official model.
        N, M: explicit channel widths instead of ``quality`` (for models trained here).
        metric: what the weights were optimised for (``mse`` or ``ms-ssim``); informational.
    """

    def __init__(self, arch: str = "bmshj2018-factorized", quality: int | None = None, N: int | None = None,
                 M: int | None = None, metric: str = "mse", rate: int | None = None) -> None:
        super().__init__()
        cls = _architecture(arch)
        if metric not in ("mse", "ms-ssim"):
            raise OptionsError(f"compressai {arch}", "metric", metric, ["mse", "ms-ssim"])
        if N is not None:
            widths: tuple[int, ...] = (N,) if M is None else (N, M)
        else:
            if quality not in QUALITIES[arch]:
                q = QUALITIES[arch]
                raise OptionsError(f"compressai {arch}", "quality", quality, list(q))
            from compressai.zoo.image import cfgs

            widths = cfgs[arch][quality]
        self.arch, self.quality, self.metric, self.rate = arch, quality, metric, rate
        self.net = cls(*widths)
        self.stride = int(getattr(self.net, "downsampling_factor", PAD_MULTIPLE))

    @staticmethod
    def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """CompressAI's own renames (DataParallel prefix, old entropy-bottleneck lists)."""
        from compressai.zoo.pretrained import load_pretrained

        return load_pretrained(state)

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        """Load an official-layout state dict into the CompressAI module (key for key).

        CompressAI's ``load_state_dict`` resizes the CDF buffers to the checkpoint's; a
        checkpoint saved before ``update()`` (no CDF tables) gets them computed here.
        """
        state = self.convert_state_dict(state)
        own = self.net.state_dict()
        tables = [k for k in own if k.rsplit(".", 1)[-1] in CDF_BUFFERS]
        missing_tables = [k for k in tables if k not in state]
        state = {**state, **{k: own[k] for k in missing_tables}}  # empty; computed by update() below
        try:
            self.net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ZooError(f"{self.id}: checkpoint does not match {self.arch} ({exc})") from exc
        self.net.update(force=bool(missing_tables) or not any(k.endswith("_quantized_cdf") and v.numel() for k, v in state.items()))

    def weights_state_dict(self) -> dict[str, torch.Tensor]:
        """The CompressAI module's state dict: the official layout, CDF tables included."""
        return self.net.state_dict()

    def _ready(self) -> None:
        eb = self.net.entropy_bottleneck
        if eb._offset.numel() == 0:
            self.net.update()

    @torch.inference_mode()
    def _compress(self, x: torch.Tensor) -> list[bytes]:
        self._ready()
        h, w = x.shape[-2:]
        xp, _ = pad_to(x)
        out = self.net.compress(xp)
        n = x.shape[0]
        return [pack(h, w, [bytes(s[i]) for s in out["strings"]]) for i in range(n)]

    def _check_size(self, height: int, width: int, source: str) -> None:
        """Refuse a decode whose feature maps would exceed the pixel or memory limit, before allocating them.

        Estimate: float32 activations of the widest layer (``C`` channels) at half resolution
        plus the RGB output, ``4 * H * W * (3 + C / 4) * 2`` bytes (a working copy of each).
        """
        from zoo.images import check_memory, check_pixels

        check_pixels(height, width, source)
        check_memory(int(8 * height * width * (3 + self._widest() / 4)), source, f"decoding {width}x{height} pixels")

    def _widest(self) -> int:
        """Channels of the widest convolution (bounds the latent's size and the decoder's activations)."""
        return max((p.shape[0] for p in self.net.parameters() if p.dim() == 4), default=3)

    @torch.inference_mode()
    def _decompress(self, streams: list[bytes]) -> torch.Tensor:
        self._ready()
        images = []
        for i, s in enumerate(streams):
            try:
                h, w, groups = unpack(s)
            except ValueError as exc:
                raise ZooError(f"{self.id}: bitstream {i} ({len(s)} bytes) is corrupt or truncated: {exc}") from exc
            left, right, top, bottom = pad = padding(h, w)
            self._check_size(h + top + bottom, w + left + right, f"{self.id}: bitstream {i} ({h}x{w} claimed)")
            shape = ((h + top + bottom) // self.stride, (w + left + right) // self.stride)
            # CompressAI's rANS decoder reads past the end of a string that is too short for the
            # latent it is asked to decode (a forged stream whose CRC matches): it would read
            # outside the buffer and crash the process. Trailing zeros bound every read; a valid
            # stream never reaches them, so its decoding is unchanged.
            guard = bytes(4 * shape[0] * shape[1] * self._widest() + 1024)
            try:
                x_hat = self.net.decompress([[g + guard] for g in groups], shape)["x_hat"]
            except Exception as exc:
                raise ZooError(f"{self.id}: bitstream {i} could not be decoded by {self.arch}: {exc}") from exc
            images.append(crop(x_hat, pad))
        if len({t.shape for t in images}) > 1:
            raise ZooError(f"{self.id}: decoded images differ in size; decompress them one at a time")
        return torch.cat(images).clamp(0, 1).contiguous()
