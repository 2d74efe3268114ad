"""Release: the packages as built, installed outside the checkout (issue #28).

The slow tests build the core wheel and install it into fresh virtual environments (uv's cache
serves the dependencies, pinned to uv.lock's versions); `.ci/wheel-smoke` covers the same
ground in CI for every package. The fast tests check the build configuration itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p for p in (REPO / "plugins").iterdir() if (p / "pyproject.toml").exists())


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    return uv


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text())


# -- configuration (fast) --------------------------------------------------------------------------
def test_one_version_source_per_package():
    core = _toml(REPO / "pyproject.toml")
    assert "version" not in core["project"] and core["project"]["dynamic"] == ["version"]
    assert core["tool"]["hatch"]["version"]["path"] == "zoo/version.py"
    for p in PLUGINS:  # plugins: the pyproject only; no __version__ in code to drift from it
        assert re.fullmatch(r"\d+\.\d+\.\d+", _toml(p / "pyproject.toml")["project"]["version"])
        for f in p.glob("zoo_*/**/*.py"):
            assert "__version__ =" not in f.read_text(), f


def test_all_extra_names_every_builtin_plugin_with_a_range():
    core = _toml(REPO / "pyproject.toml")
    extra = core["project"]["optional-dependencies"]["all"]
    names = {re.split(r"[<>=!~ \[]", r)[0] for r in extra}
    assert names == {_toml(p / "pyproject.toml")["project"]["name"] for p in PLUGINS}
    assert all(re.search(r">=\d+\.\d+,<\d+", r) for r in extra), extra


def test_plugins_require_a_core_version_range():
    from zoo.newplugin import core_range

    for p in PLUGINS:
        deps = _toml(p / "pyproject.toml")["project"]["dependencies"]
        assert f"imagezoo{core_range()}" in deps, (p.name, deps)


def test_template_dependency_is_a_range_and_documents_the_direct_reference(tmp_path):
    from zoo.newplugin import core_range, write_plugin

    assert core_range("0.1.0") == ">=0.1,<0.2" and core_range("0.12.3") == ">=0.12,<0.13"
    assert core_range("2.3.1") == ">=2.3,<3"
    root = write_plugin("kit-range", tmp_path)
    text = (root / "pyproject.toml").read_text()
    assert _toml(root / "pyproject.toml")["project"]["dependencies"] == [f"imagezoo{core_range()}"]
    assert "imagezoo @ git+https://" in text and "imagezoo @ file://" in text
    readme = (root / "README.md").read_text()
    assert "uv add --editable ./zoo-kit-range" in readme and "uv add --dev --editable" in readme


# -- built and installed (slow) --------------------------------------------------------------------
@pytest.fixture(scope="module")
def core_wheel(tmp_path_factory) -> tuple[Path, Path]:
    """(the core wheel built from this checkout, uv.lock's pins as a constraints file)."""
    uv = _uv()
    out = tmp_path_factory.mktemp("dist")
    given = os.environ.get("ZOO_DIST")  # .ci/run passes the wheels its smoke test built
    if given and list(Path(given).glob("imagezoo-*.whl")):
        shutil.copy(next(Path(given).glob("imagezoo-*.whl")), out)
    else:
        subprocess.run([uv, "build", "--wheel", "--quiet", "--package", "imagezoo", "-o", str(out)], cwd=REPO, check=True)
    constraints = out / "constraints.txt"
    subprocess.run([uv, "export", "--frozen", "--all-packages", "--no-emit-workspace", "--no-hashes", "--all-extras",
                    "--quiet", "-o", str(constraints)], cwd=REPO, check=True)
    (wheel,) = out.glob("imagezoo-*.whl")
    return wheel, constraints


def _pip_install(venv: Path, constraints: Path, *args: str) -> None:
    """uv pip install into ``venv``: from the cache alone if it can (seconds), else from the registry."""
    cmd = [_uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "-c", str(constraints), *args]
    where = venv.parent  # not the checkout: its [tool.uv] settings (compile-bytecode) are not a user's
    if subprocess.run([*cmd, "--offline"], capture_output=True, cwd=where).returncode != 0:
        subprocess.run(cmd, check=True, cwd=where)


def _env(tmp: Path, venv: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT")}
    env.update(HF_HUB_OFFLINE="1", ZOO_CACHE=str(tmp / "cache"))
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    return env


@pytest.mark.slow
def test_core_wheel_carries_its_package_data(core_wheel):
    names = set(zipfile.ZipFile(core_wheel[0]).namelist())
    suites = {f"zoo/benchmarks/{p.name}" for p in (REPO / "benchmarks").glob("*.yaml")}
    assert suites and suites <= names
    assert {"zoo/registry.yaml", "zoo/report/site/site.js", "zoo/report/site/site.css"} <= names
    assert not any(n.startswith("zoo/benchmarks/perf") for n in names)


@pytest.mark.slow
def test_new_plugin_passes_its_tests_in_a_fresh_venv_against_the_core_wheel(core_wheel, tmp_path):
    """An author's path with nothing of the checkout: core wheel, `zoo new-plugin`, install, pytest."""
    wheel, constraints = core_wheel
    venv = tmp_path / "venv"
    subprocess.run([_uv(), "venv", "--quiet", str(venv)], check=True, cwd=tmp_path)
    _pip_install(venv, constraints, str(wheel), "pytest")
    env = _env(tmp_path, venv)
    where = subprocess.run([venv / "bin" / "python", "-c", "import zoo; print(zoo.__file__)"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert str(venv) in where and str(REPO) not in where
    subprocess.run(["zoo", "new-plugin", "kit-fresh", "-o", str(tmp_path)], env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    _pip_install(venv, constraints, "-e", str(tmp_path / "zoo-kit-fresh"))
    done = subprocess.run([venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path / "zoo-kit-fresh" / "tests")], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "3 passed" in done.stdout


@pytest.mark.slow
def test_a_plugin_added_with_uv_add_editable_survives_uv_sync(core_wheel, tmp_path):
    """docs/plugins.md's path for a plugin under development: `uv add --editable`, not `uv pip install -e`.

    Also shows why: a plugin put in with `uv pip install -e` is gone after the next `uv sync`.
    """
    wheel, _ = core_wheel
    uv = _uv()
    proj = tmp_path / "proj"  # the user's project; the plugins are written beside it, as in ~/code
    proj.mkdir()
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "my-study"\nversion = "0"\nrequires-python = ">=3.11,<3.12"\ndependencies = ["imagezoo"]\n\n'
        '[tool.uv]\nenvironments = ["sys_platform == \'linux\'"]\n\n'
        f'[tool.uv.sources]\nimagezoo = {{ path = "{wheel}" }}\n')
    env = _env(tmp_path)  # uv locks against the registry (a universal lock needs more than the cache holds)
    run = lambda *a: subprocess.run([uv, *a], cwd=proj, env=env, capture_output=True, text=True)  # noqa: E731
    for name in ("kit-dev", "kit-pip"):
        subprocess.run([uv, "run", "--no-project", "--with", str(wheel), "zoo", "new-plugin", name, "-o", str(tmp_path)],
                       env=env, cwd=tmp_path, check=True, capture_output=True)
    done = run("add", "--editable", "../zoo-kit-dev")
    assert done.returncode == 0, done.stderr[-3000:]
    done = run("pip", "install", "-e", "../zoo-kit-pip")
    assert done.returncode == 0, done.stderr[-3000:]
    done = run("sync")
    assert done.returncode == 0, done.stderr[-3000:]
    listed = run("run", "--no-sync", "zoo", "plugins")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "kit-dev" in listed.stdout
    assert "kit-pip" not in listed.stdout  # uv sync removed what uv pip install put there
    assert "zoo-kit-dev" in (proj / "pyproject.toml").read_text()
