"""`zoo new-plugin NAME`: write a working plugin package, its tests and a suite, outside any checkout.

The package is what an author starts from: a super-resolution method with two operating
points, a metric, a catalog entry for the method, a suite the plugin ships
(``register_suites``) and tests that run both conformance kits and the suite. It depends on
``imagezoo`` only (no workspace wiring), so ``pip install -e NAME`` works anywhere imagezoo
is installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path

from zoo.errors import ZooError
from zoo.version import __version__

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

PYPROJECT = """\
[project]
name = "{dist}"
version = "0.1.0"
description = "An imagezoo plugin: {short}"
requires-python = ">=3.10"
# the imagezoo releases whose plugin API this was written against ({core_range}: same minor series).
# Until imagezoo is on a package registry, install it first (its wheel, or its repository) and
# keep this line; or point the dependency at it directly with a direct reference:
#   dependencies = ["imagezoo @ git+https://github.com/OWNER/imagezoo@v{core_version}"]
#   dependencies = ["imagezoo @ file:///ABSOLUTE/PATH/imagezoo-{core_version}-py3-none-any.whl"]
# (a uv project: keep the range; `uv add "imagezoo @ git+https://github.com/OWNER/imagezoo@v{core_version}"` records
# the repository as imagezoo's uv source, which is not published with the plugin)
dependencies = ["imagezoo{core_range}"]

[project.entry-points.zoo]
{short} = "{pkg}"

[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["{pkg}"]
"""

INIT = '''\
"""{dist}: an imagezoo plugin (written by `zoo new-plugin`; see imagezoo's docs/plugins.md).

Everything is registered as a ``"module:attribute"`` string, imported on first use, so
loading the plugin costs ``zoo list`` nothing.
"""

from __future__ import annotations

from pathlib import Path

import zoo

ZOO_HOOK_API = 1  # the hook API version this plugin targets


@zoo.hookimpl
def register_methods(register):
    register("{short}-bilinear", "{pkg}.methods:BilinearUpscaler", task="super-resolution")


@zoo.hookimpl
def register_metrics(register):
    register("{short}-mae", "{pkg}.metrics:MeanAbsoluteError")


@zoo.hookimpl
def register_catalog(register):
    # a method is loadable by id (zoo.load, suites, zoo run) once it has a catalog entry
    register("{short}-bilinear.untrained", {{
        "task": "super-resolution", "factory": "{short}-bilinear", "license": "Apache-2.0",
        "description": "Bilinear upscaling (replace with your method)",
        "settings": [{{"scale": 2}}, {{"scale": 4}}], "options": {{"scale": [2, 3, 4]}},
    }})


@zoo.hookimpl
def register_suites(register):
    register("{short}", str(Path(__file__).parent / "suites" / "{short}.yaml"))
'''

METHODS = '''\
"""The plugin's method (imported only when first used). Results are keyed on this module's
source: edit it, and the next `zoo bench` recomputes this method's units only."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.errors import OptionsError
from zoo.tasks import SuperResolver


class BilinearUpscaler(SuperResolver):
    """Bilinear upscaling by ``scale`` (no antialiasing needed when enlarging)."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise OptionsError("{short}-bilinear", "scale", scale, [2, 3, 4])
        self.scale = scale

    def _upscale(self, lr: torch.Tensor) -> torch.Tensor:
        return F.interpolate(lr, scale_factor=self.scale, mode="bilinear", align_corners=False).clamp(0, 1)
'''

METRICS = '''\
"""The plugin's metric (imported only when first used; every unit it measures is keyed on this module)."""

from __future__ import annotations

import torch

from zoo.metrics import Metric


class MeanAbsoluteError(Metric):
    """Mean absolute error per image, in [0, 1]."""

    name = "{short}-mae"
    higher_is_better = False
    ideal = 0.0

    def _values(self, output, reference, **extras) -> torch.Tensor:
        return (output.double() - reference.double()).abs().flatten(1).mean(1)
'''

SUITE = """\
# Shipped by the plugin (register_suites): `zoo bench {short}` once it is installed.
name: {short}
seed: 0
benchmarks:
  - name: {short}-x2
    task: super-resolution
    dataset: {{name: samples, split: heldout, crop: 64, limit: 2}}
    degradation: {{bicubic: 2}}
    # the core ships no methods; with zoo-superres installed, add its bicubic.classical (scale 2) as a baseline
    methods:
      - {{id: {short}-bilinear.untrained, settings: [{{scale: 2}}]}}
    metrics: [psnr, {short}-mae]
"""

TESTS = '''\
import zoo
from zoo.testing import check_method, check_metric


def test_method_conforms():
    check_method("{short}-bilinear.untrained")          # every operating point of the card


def test_metric_conforms():
    check_metric("{short}-mae")


def test_suite_runs(tmp_path):
    run = zoo.bench("{short}", out=tmp_path / "run", progress=False)
    assert run.failures.empty, run.failures[["method", "error"]].to_string()
    assert set(run.results.method) >= {{"{short}-bilinear.untrained"}}
'''

README = """\
# {dist}

An imagezoo plugin written by `zoo new-plugin {short}`.

```bash
pip install -e .            # into the environment that has imagezoo (uv: uv pip install -e .)
zoo plugins                 # lists "{short}" and what it registered
zoo list --pattern '{short}*'
zoo bench {short}           # the suite this plugin ships
pytest -q tests             # the conformance kits and the suite
```

In a uv project (your own, or an imagezoo checkout), `uv sync` removes whatever
`uv pip install` put there. Record the plugin instead, so every `uv sync` keeps it:

```bash
uv add --editable ./{dist}          # your project: a dependency with a path source
uv add --dev --editable ../{dist}   # an imagezoo checkout: its dev group
```

`pyproject.toml` requires imagezoo `{core_range}`; until imagezoo is on a package registry,
install its wheel (or its repository) first, or use the direct-reference forms written there.

Edit `{pkg}/methods.py`; each change is picked up by the next `zoo bench` into the same
folder (results are keyed on your package's version and source). To submit results to the
imagezoo leaderboard, see imagezoo's CONTRIBUTING.md.
"""


def core_range(version: str = __version__) -> str:
    """The version range a plugin written today should require: this release's minor series.

    ``0.1.3`` -> ``>=0.1,<0.2``; ``1.4.0`` -> ``>=1.4,<2`` (from 1.0 on, minors keep the hook API).
    """
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", version).groups())
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={major}.{minor},<{upper}"


def write_plugin(name: str, parent: Path, force: bool = False) -> Path:
    """Write the plugin ``name`` into ``parent / <distribution name>`` and return that folder.

    Raises:
        ZooError: the name is not a lowercase dashed name, the package name is taken by an
            installed module, or the folder exists and is not empty (unless ``force``).
    """
    if not NAME.match(name):
        raise ZooError(f"zoo new-plugin: name {name!r} must be lowercase letters and digits separated by single "
                       f"dashes, starting with a letter (e.g. my-denoiser)")
    short = name[4:] if name.startswith("zoo-") and len(name) > 4 else name
    dist = name if name.startswith("zoo-") else f"zoo-{name}"
    pkg = dist.replace("-", "_")
    from zoo.plugins import BUILTIN, ENTRY_POINT_GROUP

    taken = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)} | {BUILTIN}
    if short in taken:
        raise ZooError(f"zoo new-plugin: the plugin name {short!r} is taken (installed plugins: "
                       f"{', '.join(sorted(taken))}); choose another name")
    if importlib.util.find_spec(pkg) is not None:
        raise ZooError(f"zoo new-plugin: a module named {pkg!r} is already importable here; choose another name")
    root = Path(parent) / dist
    if root.exists() and any(root.iterdir()) and not force:
        raise ZooError(f"zoo new-plugin: {root} exists and is not empty; choose another name or folder (-o), "
                       f"or pass --force to write into it")
    fields = {"dist": dist, "short": short, "pkg": pkg, "core_version": __version__, "core_range": core_range()}
    files = {
        "pyproject.toml": PYPROJECT, "README.md": README, f"{pkg}/__init__.py": INIT,
        f"{pkg}/methods.py": METHODS, f"{pkg}/metrics.py": METRICS, f"{pkg}/suites/{short}.yaml": SUITE, f"tests/test_{pkg}.py": TESTS,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(**fields))
    return root
