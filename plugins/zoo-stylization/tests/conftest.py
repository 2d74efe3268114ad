import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def smooth(n: int = 1, size: int = 48, seed: int = 0, w: int | None = None) -> torch.Tensor:
    """A natural-image-like batch in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    w = w or size
    coarse = torch.rand(n, 3, max(2, size // 8), max(2, w // 8), generator=g)
    x = torch.nn.functional.interpolate(coarse, size=(size, w), mode="bicubic", align_corners=False)
    return (x + 0.05 * torch.rand(n, 3, size, w, generator=g)).clamp(0, 1)

