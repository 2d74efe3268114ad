"""Issue #18: property-based fuzzing of every decoder that takes bytes from outside.

Random and mutated inputs must give a valid result or the documented error (a ``ZooError``
subclass), never another exception, a hang (each example has a deadline) or an allocation
beyond the stated limit (the pixel limit is lowered so a forged header cannot hide behind
the default). The default run keeps the example counts small; ``-m slow`` runs more.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import zoo
from zoo.errors import CatalogError, ImageError, SuiteError, ZooError
from zoo.images import decode, encode, sample_batch

FAST = settings(max_examples=40, deadline=3000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
SLOW = settings(max_examples=400, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
LIMIT = 1 << 20  # ZOO_MAX_PIXELS while fuzzing: a forged header claiming more must be refused


@contextlib.contextmanager
def env(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    b = bytearray(data)
    for pos, byte in edits:
        b[pos % len(b)] = byte
    return bytes(b[:cut] if cut is not None else b)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=6)
CUT = st.none() | st.integers(0, 4000)

_img = sample_batch(1, 24)[0]
SEEDS = {fmt: encode(_img, fmt) for fmt in ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF", "PPM")}


def _decode_ok(data: bytes) -> None:
    with env(ZOO_MAX_PIXELS=LIMIT):
        try:
            x = decode(data, "fuzz")
        except ImageError:
            return
    assert x.dtype == torch.float32 and x.dim() == 3 and x.shape[0] == 3
    assert x.shape[1] * x.shape[2] <= LIMIT and float(x.min()) >= 0 and float(x.max()) <= 1


@FAST
@given(st.binary(max_size=3000))
def test_decode_random_bytes(data):
    _decode_ok(data)


@FAST
@given(st.sampled_from(sorted(SEEDS)), EDITS, CUT)
def test_decode_mutated_images(fmt, edits, cut):
    _decode_ok(_mutate(SEEDS[fmt], edits, cut))


@pytest.mark.slow
@SLOW
@given(st.sampled_from(sorted(SEEDS)), EDITS, CUT)
def test_decode_mutated_images_long(fmt, edits, cut):
    _decode_ok(_mutate(SEEDS[fmt], edits, cut))


# -- each codec's decompress ---------------------------------------------------------------------------

CODECS = {"jpeg.pil": {"quality": 50}, "webp.pil": {"quality": 50}, "png.pil": {}, "jpeg2000.pil": {"quality": 32},
          "webp-lossless.pil": {}, "factorized-small.samples": {"rate": 2}}


@pytest.fixture(scope="module")
def codecs():
    """Each codec, loaded once (outside the per-example deadline), with one real stream of its own."""
    torch.set_num_threads(1)
    out = {}
    for mid, setting in CODECS.items():
        codec = zoo.load(mid, **setting)
        out[mid] = (codec, codec.compress(sample_batch(1, 24))[0])
    return out


def _decompress_ok(codec, stream: bytes) -> None:
    with env(ZOO_MAX_PIXELS=LIMIT, ZOO_MAX_MEMORY_MB=512):
        try:
            y = codec.decompress([stream])
        except ZooError:
            return
    assert y.dim() == 4 and y.shape[1] == 3 and y.shape[2] * y.shape[3] <= LIMIT


@FAST
@given(st.sampled_from(sorted(CODECS)), EDITS, CUT)
def test_codec_decompress_mutated_streams(codecs, mid, edits, cut):
    codec, stream = codecs[mid]
    _decompress_ok(codec, _mutate(stream, edits, cut))


@FAST
@given(st.sampled_from(sorted(CODECS)), st.binary(max_size=2000))
def test_codec_decompress_random_bytes(codecs, mid, data):
    _decompress_ok(codecs[mid][0], data)


@FAST
@given(st.integers(1, 65535), st.integers(1, 65535), st.lists(st.binary(max_size=80), min_size=1, max_size=3))
def test_learned_codec_streams_with_a_valid_checksum(codecs, h, w, groups):
    """Past the CRC (a forged but consistent stream): any size and payload is decoded or refused by the limits."""
    from zoo_compression.learned import pack

    codec, _ = codecs["factorized-small.samples"]
    assume(len(groups) == 1)  # this architecture has one string group
    _decompress_ok(codec, pack(min(h, 512), min(w, 512), groups) if h * w <= 512 * 512 else pack(h, w, groups))


@FAST
@given(st.binary(max_size=200))
def test_bitstream_unpack_random_bytes(data):
    from zoo_compression.learned import unpack

    try:
        h, w, groups = unpack(data)
    except ValueError:
        return
    assert h > 0 and w > 0 and groups


# -- suite YAML ----------------------------------------------------------------------------------------

_SUITE = Path(__file__).parent / "reliability_helpers.py"
from reliability_helpers import TINY  # noqa: E402


def _load(text: str) -> None:
    from zoo.harness.suite import load_suite

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.yaml"
        p.write_text(text, encoding="utf-8", errors="surrogatepass") if isinstance(text, str) else p.write_bytes(text)
        try:
            suite = load_suite(str(p))
        except SuiteError:
            return
    assert suite.benchmarks and all(b.methods and b.metrics for b in suite.benchmarks)


@FAST
@given(st.text(max_size=400))
def test_suite_random_text(text):
    _load(text.encode("utf-8", "replace"))


@FAST
@given(EDITS, CUT)
def test_suite_mutated_bytes(edits, cut):
    _load(_mutate(TINY.encode(), edits, cut))


YAML_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10), st.floats(allow_nan=True), st.text(max_size=12),
                         st.sampled_from(["bicubic.classical", "psnr", "samples", "super-resolution", "{bicubic: 4}"]))
YAML_VALUES = st.recursive(YAML_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["name", "id", "settings", "task", "dataset", "methods", "metrics", "as", "scale", "crop",
                     "split", "degradation", "bicubic", "seed", "batch_size", "include"]), inner, max_size=5), max_leaves=20)


@FAST
@given(st.dictionaries(st.sampled_from(["name", "task", "dataset", "degradation", "methods", "metrics", "batch_size",
                                        "shard_size"]), YAML_VALUES, max_size=8), YAML_VALUES)
def test_suite_random_structures(bench, seed):
    import yaml

    _load(yaml.safe_dump({"seed": seed, "benchmarks": [bench]}))


# -- catalog entries -------------------------------------------------------------------------------------

_VALID = {"task": "super-resolution", "factory": "espcn", "params": {"scale": 4},
          "weights": {"bundled": "zoo_superres:weights/espcn-x4.safetensors", "sha256": "a" * 64},
          "settings": [{}], "license": "Apache-2.0", "paper": "arXiv:1609.05158"}


def _parse(raw) -> None:
    from zoo.catalog import parse_entry

    try:
        card = parse_entry("fuzz.entry", raw, "fuzz")
    except CatalogError:
        return
    assert card.id == "fuzz.entry" and card.task


@FAST
@given(YAML_VALUES)
def test_catalog_random_entries(raw):
    _parse(raw)


@FAST
@given(st.sampled_from(sorted(_VALID)), YAML_VALUES)
def test_catalog_entry_with_one_field_replaced(field, value):
    _parse({**_VALID, field: value})


@FAST
@given(st.sampled_from(["hub", "file", "revision", "bundled", "sha256", "source", "setting", "part", "optional", "bogus"]),
       YAML_VALUES)
def test_catalog_weights_ref_with_one_field_replaced(field, value):
    _parse({**_VALID, "weights": {**_VALID["weights"], field: value}})
