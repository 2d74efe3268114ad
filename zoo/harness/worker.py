"""A unit in a worker process: the wire format, the worker's loop, and running one request.

The driver (``zoo bench``) plans the run and sends each unit that is not in the store to a
worker as a *request*: a JSON header carrying the benchmark's own content (not a path to a
suite file), the method, operating point, shard and the unit's cache key. The worker plans
that benchmark itself (dataset, weights and metrics are resolved where it runs), checks
that it arrives at the same cache key (same imagezoo, plugins, weights and data as the
driver), runs :func:`zoo.harness.execute.run_unit` and answers with the rows, the metric
states and the sample images.

Nothing on the wire is pickled: a message is a length-prefixed JSON header followed by
binary blobs (rows as Parquet, metric states as ``.npz`` read with ``allow_pickle=False``,
samples as PNG), so a driver never unpickles what a worker on another machine sent.

Run as ``python -m zoo.harness.worker --fd N`` by :mod:`zoo.harness.pool`; not a user command.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import os
import socket
import struct
import sys
import time
from typing import Any

#: the largest message accepted (a unit's rows, states and samples); a bigger one is refused
MAX_MESSAGE = 2 << 30
_LEN = struct.Struct("!Q")


class ProtocolError(Exception):
    """A message that is not in the wire format (a worker that wrote something else)."""


# -- framing ------------------------------------------------------------------------------------
def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise EOFError("the other end closed the connection")
        got += k
    return bytes(buf)


def encode_message(header: dict, blobs: list[bytes] | tuple[bytes, ...] = ()) -> bytes:
    """``header`` (JSON) and ``blobs`` as one byte string: [len][json][len][blob]..."""
    head = json.dumps({**header, "_blobs": len(blobs)}, default=str).encode()
    parts = [_LEN.pack(len(head)), head]
    for b in blobs:
        parts += [_LEN.pack(len(b)), bytes(b)]
    return b"".join(parts)


def decode_message(data: bytes) -> tuple[dict, list[bytes]]:
    """The inverse of :func:`encode_message`."""
    view, pos = memoryview(data), 0

    def take() -> bytes:
        nonlocal pos
        if pos + _LEN.size > len(data):
            raise ProtocolError("truncated message")
        (n,) = _LEN.unpack_from(view, pos)
        pos += _LEN.size
        if pos + n > len(data):
            raise ProtocolError("truncated message")
        out = bytes(view[pos : pos + n])
        pos += n
        return out

    header = json.loads(take())
    return header, [take() for _ in range(int(header.pop("_blobs", 0)))]


def send(sock: socket.socket, header: dict, blobs: list[bytes] | tuple[bytes, ...] = ()) -> None:
    data = encode_message(header, blobs)
    sock.sendall(_LEN.pack(len(data)) + data)


def recv(sock: socket.socket) -> tuple[dict, list[bytes]]:
    """One message; :class:`EOFError` when the other end is gone."""
    (n,) = _LEN.unpack(_recv_exact(sock, _LEN.size))
    if n > MAX_MESSAGE:
        raise ProtocolError(f"message of {n} bytes is larger than the {MAX_MESSAGE} allowed")
    return decode_message(_recv_exact(sock, n))


# -- payloads -----------------------------------------------------------------------------------
def frame_to_bytes(df) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def frame_from_bytes(data: bytes):
    import pandas as pd

    return pd.read_parquet(io.BytesIO(data))


def state_to_bytes(state: dict) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **state)
    return buf.getvalue()


def state_from_bytes(data: bytes) -> dict:
    import numpy as np

    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def bench_to_dict(bench) -> dict:
    """A benchmark's content (what the suite file said), to travel with each request."""
    return json.loads(json.dumps(dataclasses.asdict(bench), default=str))


def bench_from_dict(d: dict):
    from zoo.harness.suite import Benchmark, MethodSpec, MetricSpec

    fields = {f.name for f in dataclasses.fields(Benchmark)}
    d = {k: v for k, v in d.items() if k in fields}
    return Benchmark(**{**d, "methods": [MethodSpec(**m) for m in d["methods"]],
                        "metrics": [MetricSpec(**m) for m in d["metrics"]]})


def sample_relpath(bench: str, method_id: str, setting: dict, item: str) -> str:
    """Where a method's output for a sample item is written, relative to the run folder."""
    from zoo.harness.execute import setting_str
    from zoo.results import sample_file

    return sample_file(bench, method_id, setting_str(setting), item)


def versions() -> dict[str, str | None]:
    """imagezoo's and every loaded plugin's version, as this process sees them."""
    from zoo.plugins import plugin_report
    from zoo.version import __version__

    return {"imagezoo": __version__, **{f"plugin {p.name}": p.version for p in plugin_report()}}


# -- the worker side ----------------------------------------------------------------------------
_plans: dict[str, Any] = {}


def _plan(req: dict):
    """The benchmark's plan, built once per worker (datasets, metrics and cards are reused by its units)."""
    from zoo.harness.plan import plan_benchmark
    from zoo.harness.suite import Suite

    tag = hashlib.sha256(json.dumps([req["bench"], req["suite"], req["device"]], sort_keys=True, default=str).encode()).hexdigest()
    if tag not in _plans:
        import torch

        s = req["suite"]
        bench = bench_from_dict(req["bench"])
        suite = Suite(name=s["name"], benchmarks=[bench], seed=s["seed"], round_outputs=s["round_outputs"],
                      samples_per_benchmark=s["samples_per_benchmark"], source=s["source"])
        while len(_plans) >= 3:  # a few benchmarks' plans at a time: units of a benchmark mostly arrive together
            _plans.pop(next(iter(_plans)))
        _plans[tag] = (suite, plan_benchmark(bench, suite, req["run_id"], torch.device(req["device"])))
    return _plans[tag]


def execute(req: dict, where: dict, started=lambda: None) -> tuple[dict, list[bytes]]:
    """Run the unit a request names; the answer's header and blobs. Raises only on a driver bug."""
    import torch

    from zoo.harness.execute import UnitContext, run_unit, setting_str
    from zoo.images import encode

    t0 = time.perf_counter()
    suite, plan = _plan(req)
    unit = next((u for u in plan.units if u.key == req["key"]), None)
    if unit is None:
        same = [u for u in plan.units if u.card.id == req["method"] and setting_str(u.setting) == setting_str(req["setting"])
                and list(u.shard) == list(req["shard"])]
        why = (f"the worker computed another cache key for this unit ({same[0].key[:12]}… against the driver's "
               f"{req['key'][:12]}…)" if same else "the worker's plan of this benchmark has no such unit")
        problems = "; ".join(f"{p.get('error')}" for p in plan.failures if p.get("error"))
        mine = versions()
        differ = {k: (req.get("versions", {}).get(k), v) for k, v in mine.items() if req.get("versions", {}).get(k) != v}
        return {"ok": False, "error": (
            f"WorkerMismatch: {why}: the worker's imagezoo, plugins, weights or dataset differ from the driver's"
            + (f" (driver vs worker: {', '.join(f'{k} {a} vs {b}' for k, (a, b) in sorted(differ.items()))})" if differ else "")
            + (f"; planning on the worker found: {problems[:500]}" if problems else "")
            + "; install the same imagezoo and plugins on every node and make the data and weights reachable "
              "(docs/distributed.md)"), "where": where}, []
    started()  # the benchmark is planned here: the unit's timeout counts from now
    keep = set(req.get("samples") or [])
    samples: list[tuple[str, bytes]] = []

    def save_samples(ids: list[str], y: torch.Tensor) -> None:
        for i, img in zip(ids, y):
            if i in keep:
                samples.append((i, encode(img.cpu())))

    timing: dict[str, float] = {"model_s": 0.0, "metrics_s": 0.0}
    ctx = UnitContext(
        bench=plan.bench, spec=plan.spec, card=unit.card, setting=unit.setting, dataset=plan.dataset.subset(*unit.shard),
        metrics=plan.metrics, unavailable=plan.unavailable, base=unit.base, load=_load(req["device"]),
        device=torch.device(req["device"]), round_outputs=suite.round_outputs, sharded=unit.sharded,
        save_samples=save_samples, timing=timing)
    from zoo.harness.threads import intra_op_threads

    with intra_op_threads(int(req["threads"])):
        torch.manual_seed(suite.seed)
        result = run_unit(ctx)
    aliases = list(result.states)
    blobs = [frame_to_bytes(result.rows), *[state_to_bytes(result.states[a]) for a in aliases], *[b for _, b in samples]]
    return {"ok": True, "states": aliases, "samples": [i for i, _ in samples], "timing": timing,
            "where": {**where, "wall_s": round(time.perf_counter() - t0, 3)}}, blobs


def _load(device: str):
    def load(method_id: str, setting: dict):
        from zoo.loading import load_method

        return load_method(method_id, device=device, download=False, **setting)

    return load


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this worker when the process that started it dies."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m zoo.harness.worker", description="imagezoo unit worker (started by zoo bench)")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--parent", type=int, required=True)
    p.add_argument("--id", default="worker")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--memory", type=int, default=0, help="address-space limit in bytes (RLIMIT_AS); 0: none")
    a = p.parse_args(argv)
    _die_with_parent(a.parent)
    if a.memory:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (a.memory, a.memory))
    extra = json.loads(os.environ.pop("ZOO_WORKER_SYS_PATH", "[]"))
    if extra:  # the driver's import path (plugins it can see, e.g. a folder added at run time)
        sys.path[:] = extra + [x for x in sys.path if x not in extra]
    sock = socket.socket(fileno=a.fd)
    import torch

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    from zoo.plugins import registry

    for kind in ("tasks", "methods", "metrics", "datasets", "catalog"):
        registry().items[kind]
    where = {"host": socket.gethostname(), "pid": os.getpid(), "worker": a.id, "node": os.environ.get("ZOO_WORKER_NODE", "")}
    send(sock, {"ready": True, "where": where, "versions": versions()})
    while True:
        try:
            header, _ = recv(sock)
        except EOFError:
            break
        if header.get("op") == "stop":
            break
        try:
            answer, blobs = execute(header, where, lambda: send(sock, {"started": True}))
        except Exception as exc:  # planning failed in a way run_unit does not cover: the unit fails with it
            import traceback

            traceback.print_exc()
            answer, blobs = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "where": where}, []
        sys.stdout.flush()
        sys.stderr.flush()
        send(sock, answer, blobs)
    sock.close()


if __name__ == "__main__":
    main()
