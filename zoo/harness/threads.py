"""One intra-op thread count for a unit, wherever it runs (identical numbers in-process, in workers, on Ray)."""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def intra_op_threads(n: int):
    """torch's intra-op threads and the BLAS / OpenMP pools numpy and scipy use, ``n`` for the block.

    Both matter: a Fréchet distance's matrix square root (scipy on OpenBLAS) moves in its last
    digits with the BLAS thread count as a torch sum does with torch's.
    """
    import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS now: a library loaded later escapes the limit)
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
