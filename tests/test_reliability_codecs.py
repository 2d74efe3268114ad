"""Issue #18, items 3 and 4: bitstreams are checked before anything is allocated; a verified hash stays honest.

The learned codec is the one trained here (``factorized-small.samples``, bundled weights).
"""

from __future__ import annotations

import io
import os
import resource
import struct
import time

import pytest
import torch

import zoo
from zoo.errors import ImageTooLargeError, LimitError, ZooError
from zoo.images import sample_batch
from zoo_compression.learned import MAGIC, pack, unpack


@pytest.fixture(scope="module")
def learned():
    torch.set_num_threads(1)
    codec = zoo.load("factorized-small.samples", rate=2)
    stream = codec.compress(sample_batch(1, 40))[0]
    return codec, stream


def _header_len(stream: bytes) -> int:
    pos, n = 6, stream[1] & 0x0F
    for _ in range(n - 1):
        while stream[pos] & 0x80:
            pos += 1
        pos += 1
    return pos + 4  # lengths, then the crc


def test_round_trip_still_works(learned):
    codec, stream = learned
    y = codec.decompress([stream])
    assert y.shape == (1, 3, 40, 40) and 0 <= float(y.min()) and float(y.max()) <= 1


def test_forged_short_payload_does_not_crash_the_process(learned):
    """Found by fuzzing: CompressAI's rANS decoder read past a too-short string (segfault); now padded with zeros."""
    import subprocess
    import sys

    code = ("import os, random, torch, zoo; torch.set_num_threads(1)\n"
            "from zoo_compression.learned import pack\n"
            "c = zoo.load('factorized-small.samples', rate=2); random.seed(1)\n"
            "for _ in range(60):\n"
            "    try: c.decompress([pack(random.randint(100, 512), random.randint(100, 512), [os.urandom(random.randint(0, 8))])])\n"
            "    except Exception: pass\n"
            "print('survived')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-2000:]


def test_guard_bytes_leave_valid_streams_unchanged(learned):
    codec, stream = learned
    h, w, groups = unpack(stream)
    shape = (1, 1)
    ref = codec.net.decompress([[g] for g in groups], (64 // codec.stride, 64 // codec.stride))["x_hat"]
    from zoo_compression.learned import crop, padding

    assert torch.equal(codec.decompress([stream]), crop(ref, padding(h, w)).clamp(0, 1)), shape


def test_every_flipped_header_byte_is_caught(learned):
    """Version 1 left the header outside the CRC: a flipped size byte decoded to a wrong-size image."""
    codec, stream = learned
    for i in range(_header_len(stream)):
        for bit in (0x01, 0x80):
            bad = stream[:i] + bytes([stream[i] ^ bit]) + stream[i + 1:]
            with pytest.raises(ZooError, match="corrupt or truncated"):
                codec.decompress([bad])


def test_forged_huge_header_is_refused_before_allocating(learned):
    codec, stream = learned
    _, _, groups = unpack(stream)
    forged = pack(8192, 8192, groups)  # a valid CRC: only the size check stands in the way
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(LimitError, match="ZOO_MAX_MEMORY_MB") as err:
        codec.decompress([forged])
    assert "8192x8192" in str(err.value) and time.perf_counter() - t0 < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 200_000  # KiB: nothing near 8 GB was touched


def test_forged_header_over_the_pixel_limit(learned):
    codec, stream = learned
    with pytest.raises(ImageTooLargeError, match="ZOO_MAX_PIXELS"):
        codec.decompress([pack(65535, 65535, unpack(stream)[2])])


def test_memory_limit_is_configurable(learned, monkeypatch):
    codec, stream = learned
    big = pack(256, 256, unpack(stream)[2])
    monkeypatch.setenv("ZOO_MAX_MEMORY_MB", "1")
    with pytest.raises(LimitError, match="over the 1 MiB limit"):
        codec.decompress([big])
    monkeypatch.setenv("ZOO_MAX_MEMORY_MB", "4096")
    assert codec.decompress([stream]).shape == (1, 3, 40, 40)


def test_version_1_stream_is_refused_with_the_fix(learned):
    import zlib

    codec, stream = learned
    h, w, groups = unpack(stream)
    head = MAGIC + bytes([1 << 4 | len(groups)]) + struct.pack(">HH", h, w)
    payload = b"".join(groups)
    v1 = head + b"".join(bytes([len(g)]) for g in groups[:-1]) + struct.pack(">I", zlib.crc32(payload)) + payload
    with pytest.raises(ZooError, match="version 1.*re-encode"):
        codec.decompress([v1])


@pytest.mark.parametrize("bad", [b"", b"Z", b"Z" + bytes(20), b"\x89PNG" + bytes(40)])
def test_garbage_learned_streams(learned, bad):
    with pytest.raises(ZooError, match="corrupt or truncated"):
        learned[0].decompress([bad])


def test_zero_sized_header_is_refused():
    s = pack(1, 1, [b"x"])
    forged = bytearray(s)
    forged[2:6] = struct.pack(">HH", 0, 5)
    with pytest.raises(ValueError):
        unpack(bytes(forged))


def _png_header(width: int, height: int) -> bytes:
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(20000, 20000), (100_000, 100_000)])
def test_pillow_codec_bomb_stream(size):
    codec = zoo.load("png.pil")
    with pytest.raises(ImageTooLargeError, match="ZOO_MAX_PIXELS"):
        codec.decompress([_png_header(*size)])


def test_pillow_codec_truncated_stream():
    codec = zoo.load("jpeg.pil", quality=50)
    s = codec.compress(sample_batch(1, 32))[0]
    with pytest.raises(ZooError, match="corrupt or truncated"):
        codec.decompress([s[: len(s) // 3]])


def test_image_pixel_limit_environment(monkeypatch):
    from zoo.images import decode, encode

    data = encode(sample_batch(1, 32)[0])
    monkeypatch.setenv("ZOO_MAX_PIXELS", "100")
    with pytest.raises(ImageTooLargeError, match="100-pixel limit.*ZOO_MAX_PIXELS"):
        decode(data, "x.png")
    monkeypatch.setenv("ZOO_MAX_PIXELS", "2000")
    assert decode(data, "x.png").shape == (3, 32, 32)


def test_tiff_pixel_limit(monkeypatch):
    import numpy as np
    import tifffile

    from zoo.images import decode

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((40, 40, 3), np.uint8))
    monkeypatch.setenv("ZOO_MAX_PIXELS", "1000")
    with pytest.raises(ImageTooLargeError, match="ZOO_MAX_PIXELS"):
        decode(buf.getvalue(), "x.tif")


# -- item 3: the sha256 verdict is keyed on what a content change cannot keep ---------------------------


def test_bytes_patched_in_place_with_mtime_restored_are_hashed_again(tmp_path):
    from zoo.weights import cached_sha256, sha256_file

    f = tmp_path / "w.bin"
    f.write_bytes(b"a" * 1000)
    first = cached_sha256(f)
    st = f.stat()
    time.sleep(0.01)
    with open(f, "r+b") as h:  # same size, same inode
        h.write(b"b")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime put back
    assert f.stat().st_mtime_ns == st.st_mtime_ns and f.stat().st_size == st.st_size
    assert cached_sha256(f) == sha256_file(f) != first


def test_replaced_file_with_same_size_and_mtime_is_hashed_again(tmp_path):
    from zoo.weights import cached_sha256, sha256_file

    f = tmp_path / "w.bin"
    f.write_bytes(b"a" * 100)
    first, st = cached_sha256(f), f.stat()
    other = tmp_path / "other.bin"
    other.write_bytes(b"c" * 100)
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, f)  # a new inode under the old name
    assert cached_sha256(f) == sha256_file(f) != first


def test_bundled_weights_are_always_hashed(monkeypatch):
    """A poisoned verdict cache cannot vouch for a bundled file: verify() hashes it every time."""
    import zoo.weights as w
    from zoo.catalog import get_card

    ref = get_card("espcn-x4.samples").weights[0]
    calls = []
    real = w.sha256_file
    monkeypatch.setattr(w, "sha256_file", lambda p, *a: calls.append(p) or real(p, *a))
    monkeypatch.setattr(w, "cached_sha256", lambda p: ref.sha256)  # would say "verified" for any bytes
    w.resolve(ref, "espcn-x4.samples")
    assert calls, "bundled weights were not re-hashed"
    bad = type(ref)(bundled=ref.bundled, sha256="0" * 64)
    with pytest.raises(w.WeightsIntegrityError, match="sha256 mismatch"):
        w.verify(w._bundled_path(bad), bad, "espcn-x4.samples")
