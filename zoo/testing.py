"""Conformance kit: check any registered method against its task contract.

```python
from zoo.testing import check_method
def test_my_method():
    check_method("my-method.id", setting={"quality": 50})
```

Checks: output shape, dtype and range (and the task's own check, from its spec); a batch
of N equals N single calls; determinism under a seed; works after ``.to(device)``; a clear
:class:`ContractError` on wrong input. Methods that optimise (``needs_grad``) run with
gradients enabled, as the harness runs them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import torch

from zoo.errors import ContractError
from zoo.images import sample_batch
from zoo.taskspec import Batch, task_spec
from zoo.tasks import Method

__all__ = ["check_method", "isolated_caches", "lay_out_hub_cache", "sample_batch"]


def _run(method: Method, x: torch.Tensor) -> torch.Tensor:
    spec = task_spec(method.task)
    batch = Batch([f"kit-{i}" for i in range(x.shape[0] if x.dim() == 4 else 1)], x, None, [{}], {})
    if x.dim() == 4:
        batch.extras = spec.kit_extras(method, x)
    with torch.enable_grad() if method.needs_grad else torch.inference_mode():
        return spec.run(method, batch, {}).images.detach()


def check_method(method: str | Method, setting: dict[str, Any] | None = None, device: str = "cpu",
                 size: int = 48, atol: float = 1e-5, weights: str | None = None) -> Method:
    """Run every conformance check on ``method`` (an id, loaded with ``setting``, or an instance)."""
    from zoo.loading import load_method

    if isinstance(method, str):
        method = load_method(method, device=device, weights=weights, **(setting or {}))
    name = method.id
    spec = task_spec(method.task)
    assert isinstance(method, spec.method_class), f"{name}: not a {spec.method_class.__name__} (task {method.task})"
    x = sample_batch(3, size)

    torch.manual_seed(0)
    y = _run(method, x)
    assert y.dtype == torch.float32, f"{name}: output dtype {y.dtype}"
    assert y.min() >= 0 and y.max() <= 1, f"{name}: output range [{y.min()}, {y.max()}]"
    problem = spec.check(method, x, y)
    assert problem is None, f"{name}: {problem}"

    torch.manual_seed(0)
    singles = torch.cat([_run(method, x[i : i + 1]) for i in range(x.shape[0])])
    assert torch.allclose(y, singles, atol=atol), f"{name}: batch of 3 differs from 3 single calls by {(y - singles).abs().max():.3g}"

    torch.manual_seed(0)
    again = _run(method, x)
    assert torch.equal(y, again) or torch.allclose(y, again, atol=atol), f"{name}: not deterministic under a fixed seed"

    moved = method.to(device)
    torch.manual_seed(0)
    assert torch.allclose(_run(moved, x.to(device)).cpu(), y, atol=atol), f"{name}: differs after .to({device!r})"

    for bad, why in [(x[:, :1], "1 channel"), (x * 2, "range [0, 2]"), (x.double(), "float64"), (x[0], "no batch dim")]:
        try:
            _run(method, bad)
        except ContractError as exc:
            assert name in str(exc), f"{name}: error for {why} does not name the method: {exc}"
        else:
            raise AssertionError(f"{name}: accepted invalid input ({why}) without a ContractError")
    return method


def lay_out_hub_cache(cache: Path, repo: str, rev: str, filename: str, data: bytes, repo_type: str = "model") -> Path:
    """Write ``data`` into a Hugging Face Hub cache exactly as huggingface_hub lays it out
    (``blobs/<sha256>``, ``snapshots/<rev>/<file>`` -> blob, ``refs/main``), so tests exercise the
    real download code offline (``HF_HUB_OFFLINE=1``, ``HF_HUB_CACHE=cache``)."""
    import hashlib

    folder = Path(cache) / f"{repo_type}s--{repo.replace('/', '--')}"
    blob = folder / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    snap = folder / "snapshots" / rev / filename
    snap.parent.mkdir(parents=True, exist_ok=True)
    if snap.exists() or snap.is_symlink():
        snap.unlink()
    snap.symlink_to(blob)
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(rev)
    return snap


@contextlib.contextmanager
def isolated_caches(root: Path):
    """A private zoo cache and Hub cache under ``root``, Hub offline, for the block; restores the environment."""
    keys = ("ZOO_CACHE", "HF_HUB_CACHE", "HF_HUB_OFFLINE")
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(ZOO_CACHE=str(Path(root) / "zoo"), HF_HUB_CACHE=str(Path(root) / "hub"), HF_HUB_OFFLINE="1")
    try:
        yield Path(root)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
