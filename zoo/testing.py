"""Conformance kit: check any registered method against its task contract.

```python
from zoo.testing import check_method
def test_my_method():
    check_method("my-method.id", setting={"quality": 50})
```

Checks: output shape, dtype and range; a batch of N equals N single calls; determinism
under a seed; works after ``.to(device)``; a clear :class:`ContractError` on wrong input.
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.errors import ContractError
from zoo.tasks import Compressor, Method, SuperResolver, Translator, apply


def sample_batch(n: int = 2, size: int = 48, seed: int = 0) -> torch.Tensor:
    """A smooth random batch (natural-image-like), N x 3 x size x size in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 8, size // 8, generator=g)
    x = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return (x + 0.03 * torch.rand(n, 3, size, size, generator=g)).clamp(0, 1)


def _run(method: Method, x: torch.Tensor) -> torch.Tensor:
    style = sample_batch(x.shape[0], x.shape[-1], seed=7) if getattr(method, "needs_style", False) else None
    with torch.inference_mode():
        y, _ = apply(method, x, style=style)
    return y


def check_method(method: str | Method, setting: dict[str, Any] | None = None, device: str = "cpu",
                 size: int = 48, atol: float = 1e-5, weights: str | None = None) -> Method:
    """Run every conformance check on ``method`` (an id, loaded with ``setting``, or an instance)."""
    import zoo

    if isinstance(method, str):
        method = zoo.load(method, device=device, weights=weights, **(setting or {}))
    name = method.id
    x = sample_batch(3, size)

    torch.manual_seed(0)
    y = _run(method, x)
    assert y.dtype == torch.float32, f"{name}: output dtype {y.dtype}"
    assert y.min() >= 0 and y.max() <= 1, f"{name}: output range [{y.min()}, {y.max()}]"
    if isinstance(method, SuperResolver):
        assert y.shape == (3, 3, size * method.scale, size * method.scale), f"{name}: shape {tuple(y.shape)}"
    elif isinstance(method, (Translator, Compressor)):
        assert y.shape == x.shape, f"{name}: shape {tuple(y.shape)} != input {tuple(x.shape)}"

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
