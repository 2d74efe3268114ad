"""The Ray executor: units not in the store run as Ray tasks, each persisted as it arrives.

(The local executor is the runner's own loop.)
"""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm

from zoo.errors import ZooError


def run_on_ray(runner, deferred: list[tuple], parts: list, unit_fn) -> None:
    """Run ``deferred`` (slot, plan, unit) as Ray tasks (one CPU each); fill ``parts[slot]`` as each lands.

    ``unit_fn(spec, bench_name, method_id, setting, shard) -> (rows, states, timing)`` runs
    one unit inside a worker (the runner's :func:`~zoo.harness.runner.ray_unit`).
    """
    # under `uv run`, Ray would otherwise package the working directory and rebuild the
    # environment for its workers (~30 s); a local cluster's workers can use this interpreter.
    # Ray reads the flag when it is first imported.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError as exc:
        raise ZooError("executor 'ray' needs Ray: pip install 'imagezoo[ray]' (or uv sync --extra ray)") from exc
    if not ray.is_initialized():  # a local cluster: its workers inherit this process's environment (caches, offline)
        ray.init(num_cpus=runner.workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    task = ray.remote(num_cpus=1)(unit_fn)
    spec = (runner.suite.source, runner.include_path, str(runner.out), str(runner.device), runner.run_id)
    pending = {task.remote(spec, plan.bench.name, unit.card.id, unit.setting, unit.shard): (slot, unit)
               for slot, plan, unit in deferred}
    bar = tqdm(total=len(pending), desc="ray", unit="unit", disable=not runner.progress, file=sys.stderr)
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        slot, unit = pending.pop(done[0])
        df, states, timing = ray.get(done[0])
        df = runner.persist(unit.key, df, states)
        for k, v in timing.items():
            runner.timing[k] = runner.timing.get(k, 0.0) + v
        parts[slot] = df.assign(run=runner.run_id)
        bar.update(1)
    bar.close()
