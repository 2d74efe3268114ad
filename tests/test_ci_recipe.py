"""docs/ci.md's GitHub Actions workflow, executed: every `run:` step of docs/ci/imagezoo-gate.yml
runs as written in a temporary folder, offline, on a tiny suite (issue #28).

What the CI host provides is stood in for, nothing more: the job's `env:` block (with
`${{ github.workspace }}` the temporary folder), `$GITHUB_PATH` (lines added to PATH for the
next steps), and uv's cache and the built wheels in place of the registry (uv reads
UV_FIND_LINKS, UV_CONSTRAINT, UV_OFFLINE). The cache and artifact actions are not emulated;
the test checks that what they name exists. Slow: it builds every package's wheel unless
ZOO_DIST names a folder that has them (.ci/run passes the smoke test's).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / "docs" / "ci" / "imagezoo-gate.yml"

TINY = """\
name: tiny-gate
tolerances: {ssim: 0.5%}
benchmarks:
  - name: sr-x4
    task: super-resolution
    dataset: {name: samples, split: heldout, crop: 64, limit: 2}
    degradation: {bicubic: 4}
    methods: [{id: bicubic.classical, settings: [{scale: 4}]}, espcn-x4.samples]
    metrics: [psnr, ssim]
"""


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_workflow_has_the_parts_docs_ci_promises():
    job = _workflow()["jobs"]["gate"]
    uses = [s.get("uses", "") for s in job["steps"]]
    assert any(u.startswith("actions/cache@") for u in uses) and any(u.startswith("actions/upload-artifact@") for u in uses)
    cache = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@"))["with"]["path"]
    assert ".cache/huggingface" in cache and job["env"]["RUN"] in cache  # the Hub cache and the run folder
    assert job["env"]["HF_HUB_CACHE"].startswith("${{ github.workspace }}/.cache/huggingface")
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and job["env"]["RUN"] in upload["with"]["path"]  # the report even on drift
    runs = " ".join(s.get("run", "") for s in job["steps"])
    assert '--against "$BASELINE"' in runs and 'zoo bench "$SUITE"' in runs
    doc = (REPO / "docs" / "ci.md").read_text()
    assert "(ci/imagezoo-gate.yml)" in doc and WORKFLOW.read_text() in doc  # the page shows the file, verbatim
    plain = doc.split("## 3.")[1].split("## 4.")[0]
    for step in job["steps"]:  # and the plain shell steps run the same commands
        for line in step.get("run", "").strip().splitlines():
            if line.strip() and "GITHUB_PATH" not in line:
                assert line.strip() in plain, f"docs/ci.md's shell steps lack the workflow's command: {line.strip()}"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    given = os.environ.get("ZOO_DIST")
    if given and list(Path(given).glob("imagezoo-*.whl")):
        return Path(given)
    uv = shutil.which("uv") or pytest.skip("uv is not on PATH")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([uv, "build", "--all-packages", "--wheel", "--quiet", "-o", str(out)], cwd=REPO, check=True)
    return out


def _run_steps(steps: list[dict], env: dict, cwd: Path) -> list[subprocess.CompletedProcess]:
    """Run steps as the runner does: bash -eo pipefail, $GITHUB_PATH read after each step."""
    done = []
    for step in steps:
        gh_path = cwd / ".github_path"
        gh_path.write_text("")
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=cwd, env={
            **env, "GITHUB_PATH": str(gh_path)}, capture_output=True, text=True)
        done.append(proc)
        if proc.returncode != 0:
            break
        added = [p for p in gh_path.read_text().splitlines() if p.strip()]
        env["PATH"] = os.pathsep.join([*reversed(added), env["PATH"]])
    return done


@pytest.mark.slow
def test_workflow_run_steps_pass_then_fail_on_drift(wheels, tmp_path):
    uv = shutil.which("uv") or pytest.skip("uv is not on PATH")
    job = _workflow()["jobs"]["gate"]
    steps = [s for s in job["steps"] if "run" in s]
    assert [s["name"] for s in steps][-1].startswith("Benchmark against the baseline")
    ws = tmp_path / "repo"
    (ws / "benchmarks").mkdir(parents=True)
    (ws / "benchmarks" / "tiny.yaml").write_text(TINY)
    constraints = tmp_path / "constraints.txt"
    subprocess.run([uv, "export", "--frozen", "--all-packages", "--no-dev", "--no-emit-workspace", "--no-hashes",
                    "--all-extras", "--quiet", "-o", str(constraints)], cwd=REPO, check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(REPO)))
    env.update({k: str(v).replace("${{ github.workspace }}", str(ws)) for k, v in job["env"].items()})
    env.update(SUITE="benchmarks/tiny.yaml", HF_HUB_OFFLINE="1",
               # the registry and the restored uv cache, stood in for by the built wheels and this machine's cache
               UV_FIND_LINKS=str(wheels), UV_CONSTRAINT=str(constraints), UV_OFFLINE="1",
               UV_CACHE_DIR=subprocess.run([uv, "cache", "dir"], capture_output=True, text=True).stdout.strip())

    # the baseline, made and committed once as docs/ci.md says: zoo bench SUITE -o BASELINE
    install = _run_steps(steps[:1], env, ws)
    assert install[-1].returncode == 0, install[-1].stderr[-3000:]
    made = subprocess.run(["zoo", "bench", env["SUITE"], "-o", env["BASELINE"], "--no-progress"], cwd=ws, env=env,
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-3000:]
    assert shutil.which("zoo", path=env["PATH"]).startswith(str(ws / ".zoo-venv"))

    done = _run_steps(steps[1:], env, ws)
    assert [p.returncode for p in done] == [0] * (len(steps) - 1), done[-1].stdout[-2000:] + done[-1].stderr[-3000:]
    assert "regression gate: no drift against baselines/gate" in done[-1].stderr
    assert (ws / env["RUN"] / "index.html").is_file()  # what the artifact step uploads

    # a baseline whose bicubic PSNR was 0.5 dB higher: the same step now fails the job, the drift first
    res = ws / env["BASELINE"] / "results.parquet"
    df = pd.read_parquet(res)
    hit = (df.method == "bicubic.classical") & (df.metric == "psnr")
    df.loc[hit, "value"] += 0.5
    df.to_parquet(res, index=False)
    again = _run_steps(steps[-1:], env, ws)[0]
    assert again.returncode == 1, again.stderr[-3000:]
    # zoo bench prints the leaderboard, then the gate: the gate's output starts with the moved means
    lines = again.stdout.splitlines()
    gate = lines[next(i for i, line in enumerate(lines) if line.startswith("DRIFT")):]
    first = gate[0]
    assert re.match(r"DRIFT sr-x4 bicubic\.classical \{\"scale\": ?4\} psnr: baseline [\d.]+ run [\d.]+ Δ -0\.5 ", first), first
    assert "regression gate: 2 drift(s) against baselines/gate" in again.stderr
    assert "id=diff" in (ws / env["RUN"] / "index.html").read_text()
