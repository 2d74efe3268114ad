"""The Ray executor: units as Ray tasks on a local Ray or on the user's own cluster.

``zoo bench SUITE --executor ray`` starts a local Ray (``--workers`` CPUs, bound to
127.0.0.1); ``--address ADDR`` or ``RAY_ADDRESS`` joins a running cluster instead, without
asking it for CPUs (the cluster says what it has). Each unit is one task asking for
``--threads-per-unit`` CPUs and, on CUDA, one GPU. Inside the task a node-local worker
process (:class:`zoo.harness.pool.Supervisor`) runs the unit, so a segfault or a timeout
ends that process, not the Ray worker, and the cause is exact.

Nothing is read from the driver's filesystem on a node: the benchmark's content travels
with the task, datasets and weights are resolved on the node (bundled files, the Hub
cache, the catalog), and a folder dataset that exists only on the driver is shipped with
the run (up to :data:`SHIP_LIMIT` bytes, packed once) or refused before anything runs;
``--shared-fs`` says the folders are at the same path on every node. Results come back as
task returns and the driver persists each unit as it lands. A task whose worker or node
dies is submitted again up to ``--retries`` times, then the unit is failed with the cause.
See docs/distributed.md.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.harness.execute import log

#: the most bytes of driver-only folder datasets shipped to a cluster with the run
SHIP_LIMIT = int(float(os.environ.get("ZOO_SHIP_LIMIT_MB", "512")) * (1 << 20))

_supervisor = None  # one per Ray worker process: its node-local unit worker


def ray_unit(request: bytes, shipped: dict[str, Any], timeout: float, threads: int, memory: int) -> bytes:
    """One unit inside a Ray task: the answer of a node-local worker, as a wire message."""
    global _supervisor
    import ray

    from zoo.harness.pool import Supervisor
    from zoo.harness.worker import decode_message, encode_message

    node = ray.get_runtime_context().get_node_id()
    req, _ = decode_message(request)
    for key, (digest, base) in req.pop("ship", {}).items():
        data = shipped[digest]  # an object reference inside a dict is not resolved by Ray: get it here
        req["bench"]["dataset"][key] = str(_materialise(data if isinstance(data, bytes) else ray.get(data), digest) / base)
    if _supervisor is None:
        _supervisor = Supervisor(threads, memory, node)
    header, blobs = _supervisor.run(req, timeout)
    header.setdefault("where", {})["node"] = node
    return encode_message(header, blobs)


def _materialise(data: bytes, digest: str) -> Path:
    """A shipped folder's tar, unpacked once per node under the temp dir (its sha256 names it)."""
    root = Path(tempfile.gettempdir()) / "zoo-shipped" / digest
    done = root / ".complete"
    if not done.exists():
        from filelock import FileLock

        root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(root) + ".lock"):
            if not done.exists():
                with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                    tar.extractall(root, filter="data")  # no absolute paths, no escapes, no devices
                done.write_text("ok\n")
    return root


def _folder_options(bench_payload: dict) -> dict[str, str]:
    """The dataset options of a benchmark that name a folder or file on the driver."""
    return {k: v for k, v in bench_payload["dataset"].items() if k.endswith("path") and isinstance(v, str) and v}


def pack_folders(d: Any) -> tuple[dict[str, bytes], dict[str, dict]]:
    """Tar every driver-only folder the pending units' datasets name; refuse when they are too big.

    Returns (digest -> tar bytes, benchmark -> {option: (digest, basename)}).

    Raises:
        ZooError: the folders add up to more than :data:`SHIP_LIMIT` (before anything runs).
    """
    blobs: dict[str, bytes] = {}
    ship: dict[str, dict] = {}
    sizes: dict[str, int] = {}
    for _, plan, _ in d.units.values():
        payload = d.bench_payload(plan)
        for key, path in _folder_options(payload).items():
            p = Path(path)
            if p.exists() and str(p) not in sizes:
                sizes[str(p)] = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size
    total = sum(sizes.values())
    if total > SHIP_LIMIT:
        big = ", ".join(f"{k} ({v / 2**20:.0f} MB)" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:3])
        raise ZooError(f"--executor ray --address: the folder datasets of this suite ({big}) are on this machine only and "
                       f"add up to {total / 2**20:.0f} MB, more than the {SHIP_LIMIT / 2**20:.0f} MB shipped with a run. "
                       f"Put them where every node sees the same path and pass --shared-fs, publish them as a Hub dataset, "
                       f"or raise ZOO_SHIP_LIMIT_MB")
    packed: dict[str, str] = {}
    for _, plan, _ in d.units.values():
        payload = d.bench_payload(plan)
        for key, path in _folder_options(payload).items():
            if path not in sizes:
                continue
            if path not in packed:
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode="w") as tar:
                    tar.add(path, arcname=Path(path).name)
                data = buf.getvalue()
                digest = hashlib.sha256(data).hexdigest()[:32]
                blobs[digest], packed[path] = data, digest
            ship.setdefault(plan.bench.name, {})[key] = (packed[path], Path(path).name)
    return blobs, ship


def _loopback(address: str) -> bool:
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def connect(runner: Any) -> str:
    """Initialise Ray: join ``--address`` / ``RAY_ADDRESS``, or start a local Ray on 127.0.0.1. Says which."""
    # under `uv run`, Ray would otherwise package the working directory and rebuild the
    # environment for its workers (~30 s); nodes use the imagezoo installed on them.
    # Ray reads the flag when it is first imported.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    address = runner.options.address or os.environ.get("RAY_ADDRESS") or None
    if address and _loopback(address):
        # a cluster bound to the loopback address (a try-out on one machine): Ray would otherwise
        # rewrite 127.0.0.1 to this machine's outward address, where nothing listens
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError as exc:
        raise ZooError("executor 'ray' needs Ray: pip install 'imagezoo[ray]' (or uv sync --extra ray)") from exc
    if ray.is_initialized():
        return "an already initialised Ray"
    if address:
        try:  # a cluster says what it has: no num_cpus / num_gpus here
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        except ConnectionError as exc:
            raise ZooError(f"--address {address}: no Ray cluster answers there ({exc}); start one with `ray start --head` "
                           f"or check the address (docs/distributed.md)") from exc
        return f"the Ray cluster at {address}"
    from zoo.harness.threads import available_cpus

    cpus = runner.options.workers or available_cpus()
    ray.init(num_cpus=cpus * runner.options.threads if runner.options.workers else cpus, include_dashboard=False,
             log_to_driver=False, configure_logging=False, _node_ip_address="127.0.0.1",
             object_store_memory=int(float(os.environ.get("ZOO_RAY_OBJECT_STORE_MB", "256")) * (1 << 20)))
    return f"a local Ray with {cpus} CPUs"


def run_on_ray(runner: Any, d: Any) -> None:
    """Every unit of ``d`` (:class:`zoo.harness.dispatch.Dispatch`) as a Ray task; each lands as it finishes."""
    from zoo.harness.worker import decode_message, encode_message

    o = runner.options
    remote = bool(o.address or os.environ.get("RAY_ADDRESS"))
    blobs, ship = pack_folders(d) if remote and not o.shared_fs else ({}, {})
    where = connect(runner)
    import ray
    from ray.exceptions import RayTaskError

    todo = d.claim_all()
    runner.execution.update(mode="ray", ray=where, timeouts_enforced=True,
                            shipped_bytes=sum(len(b) for b in blobs.values()) or None)
    if not todo:
        return
    refs = {k: ray.put(v) for k, v in blobs.items()}
    cuda = str(runner.device).startswith("cuda")
    task = ray.remote(ray_unit).options(num_cpus=o.threads, num_gpus=1 if cuda else 0, max_retries=0)
    attempts: dict[int, int] = {}
    causes: dict[int, list[str]] = {}
    messages: dict[int, bytes] = {}
    for i in todo:
        req = d.request(i)
        _, plan, _ = d.units[i]
        if plan.bench.name in ship:
            req["ship"] = ship[plan.bench.name]
        messages[i] = encode_message(req)
    shipped = {k: refs[k] for k in refs}

    def submit(i: int) -> Any:
        attempts[i] = attempts.get(i, 0) + 1
        return task.remote(messages[i], shipped, d.timeouts[i][0], o.threads, o.memory)

    pending = {submit(i): i for i in todo}
    t0 = time.perf_counter()
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(done[0])
            try:
                header, out = decode_message(ray.get(done[0]))
            except RayTaskError as exc:  # the task's own code raised: a bug, not the machine
                d.land_failure(i, f"RayTaskError: {str(exc).splitlines()[-1][:500]}", {}, attempts[i], causes.get(i))
                continue
            except ray.exceptions.RayError as exc:  # the worker or node died, the object was lost ...
                header, out = {"ok": False, "died": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}, []
            if header.get("died"):
                causes.setdefault(i, []).append(header["died"])
                if attempts[i] <= o.retries:
                    log(f"[zoo] a Ray task ended without an answer ({header['died']}); submitting it again "
                        f"(attempt {attempts[i] + 1} of {o.retries + 1})")
                    pending[submit(i)] = i
                    continue
                tries = f"; the unit ran {attempts[i]} times" if attempts[i] > 1 else ""
                d.land_failure(i, f"WorkerDied: the worker running this unit ended: {header['died']}{tries}",
                               header.get("where", {}), attempts[i], causes.get(i))
            elif header.get("timeout"):
                d.land_failure(i, f"UnitTimeout: timed out after {header['timeout']:g} s (its worker process was killed; "
                                  f"raise the limit with --unit-timeout or the suite's `timeout:`)",
                               header.get("where", {}), attempts[i], causes.get(i))
            else:
                d.land_answer(i, header, out, attempts[i], causes.get(i))
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        d.release_all()
    runner.execution["pool_wall_s"] = round(time.perf_counter() - t0, 3)
