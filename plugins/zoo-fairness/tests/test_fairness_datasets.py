"""Face datasets: the embedded faces with attributes, FairFace refused unpinned and read from a laid-out Hub cache,
and the skin-tone probe end to end on a real super-resolution method."""

import hashlib
import io
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import zoo
from zoo.errors import ZooError
from zoo_fairness.datasets import FAIRFACE_REPO, item_attributes, samples_faces

torch.set_num_threads(1)


def test_samples_faces_items_have_faces_and_attributes():
    ds = zoo.dataset("samples-faces")
    assert ds.ids == ["astronaut", "grace_hopper"]
    for item in ds:
        assert item.image.shape == (3, 256, 256)
        attrs = item_attributes(item)
        assert attrs["colour"] == "colour" and attrs["ita_category"] != "unmeasured"
    assert item_attributes(ds[0])["source"] == "scikit-image" and item_attributes(ds[1])["source"] == "matplotlib"


def test_samples_faces_lfw_crops_are_grayscale_and_unmeasurable():
    ds = samples_faces(lfw=3, lfw_size=100)
    assert len(ds) == 5 and ds.ids[2:] == ["lfw-000", "lfw-001", "lfw-002"]
    item = ds[2]
    assert item.image.shape == (3, 100, 100) and torch.equal(item.image[0], item.image[2])
    assert item_attributes(item) == {"source": "lfw", "colour": "grayscale", "ita_category": "unmeasured"}
    m = zoo.metric("skin-tone-shift", region="whole")
    x = item.image[None]
    vals = m(x, x)
    assert math.isnan(float(vals["delta_ita"][0])) and "b* = 0.00" in m.item_reasons[0]
    with pytest.raises(ZooError, match="0..100"):
        samples_faces(lfw=101)
    with pytest.raises(ZooError, match="32..256"):
        samples_faces(size=512)


def test_skin_tone_shift_on_bicubic_super_resolution_of_embedded_faces():
    ds = samples_faces()
    ref = torch.stack([it.image for it in ds])
    lr = F.interpolate(ref, scale_factor=0.25, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    sr = zoo.load("bicubic.classical", scale=4).upscale(lr)
    m = zoo.metric("skin-tone-shift")
    vals = m(sr, ref)
    assert m.item_reasons == [None, None]
    d = vals["delta_ita"]
    assert torch.isfinite(d).all() and d.abs().max() < 3.0  # bicubic blurs, it does not re-tone skin
    agg = m.aggregate({k: v.tolist() for k, v in vals.items()}, [item_attributes(it) for it in ds])
    assert agg["n_measured"] == 2 and "mean_delta_ita[source=matplotlib]" in agg


def test_fairface_unpinned_is_refused_with_the_way_to_pin_it():
    with pytest.raises(ZooError, match=r"commits/main.*revision="):
        zoo.dataset("fairface", revision="main")
    with pytest.raises(ZooError, match=r"not a pinned"):
        zoo.dataset("fairface", revision=None)
    with pytest.raises(ZooError, match=r"54d573cdb8b5.*Fetch it where the Hub is reachable"):
        zoo.dataset("fairface")  # pinned by default; offline and not cached here
    with pytest.raises(ZooError, match="padding"):
        zoo.dataset("fairface", revision="a" * 40, padding="2")


def _parquet_bytes(n: int) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    imgs = []
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(buf, "PNG")
        imgs.append({"bytes": buf.getvalue(), "path": None})
    features = {"image": {"_type": "Image"},
                "race": {"_type": "ClassLabel", "names": ["East Asian", "Indian", "Black", "White", "Middle Eastern",
                                                          "Latino_Hispanic", "Southeast Asian"]},
                "gender": {"_type": "ClassLabel", "names": ["Male", "Female"]},
                "age": {"_type": "ClassLabel", "names": ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59",
                                                         "60-69", "more than 70"]}}
    table = pa.table({"image": imgs, "race": [2, 3, 0][:n], "gender": [1, 0, 1][:n], "age": [3, 4, 8][:n]})
    table = table.replace_schema_metadata({b"huggingface": json.dumps({"info": {"features": features}}).encode()})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def test_fairface_labels_fall_back_to_the_dataset_card_names(tmp_path):
    import pyarrow.parquet as pq

    from zoo_fairness.catalog import FAIRFACE_AGE, FAIRFACE_RACE7
    from zoo_fairness.datasets import FAIRFACE_NAMES, _fairface_from_parquet

    f = tmp_path / "validation-0.parquet"
    f.write_bytes(_parquet_bytes(2))
    table = pq.read_table(f).replace_schema_metadata(None)
    pq.write_table(table, f)
    ds = _fairface_from_parquet([f], None, {})
    assert item_attributes(ds[0]) == {"race": "Black", "gender": "Female", "age": "20-29"}
    assert set(FAIRFACE_NAMES["race"]) == set(FAIRFACE_RACE7)  # the race classifier maps onto the labels by name
    assert FAIRFACE_NAMES["age"] == FAIRFACE_AGE


def test_fairface_reads_labels_by_name_from_a_pinned_cached_commit(hub_cache):
    from zoo.testing import lay_out_hub_cache

    rev = hashlib.sha1(b"fairface-test").hexdigest()
    lay_out_hub_cache(hub_cache, FAIRFACE_REPO, rev, "0.25/validation-00000-of-00001.parquet", _parquet_bytes(3),
                      repo_type="dataset")
    ds = zoo.dataset("fairface", revision=rev)
    assert len(ds) == 3
    assert [item_attributes(it)["race"] for it in ds] == ["Black", "White", "East Asian"]
    assert item_attributes(ds[2]) == {"race": "East Asian", "gender": "Female", "age": "more than 70"}
    assert ds[1].image.shape == (3, 8, 8) and float(ds[1].image.mean()) == pytest.approx(40 / 255, abs=1e-6)
    assert len(zoo.dataset("fairface", revision=rev, limit=2)) == 2
    with pytest.raises(ZooError, match="no files match"):
        zoo.dataset("fairface", revision=rev, split="train")
