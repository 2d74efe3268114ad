"""Plugin authors and CI (issue #17, #18 item 6): results keyed on plugin code and version,
failed units retried, `zoo bench` exit codes, tolerances, the conformance kits, `zoo new-plugin`."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import torch

import zoo
from zoo import plugins
from zoo.cli import main
from zoo.errors import ConformanceError, MetricUnavailable, ZooError
from zoo.harness import codehash
from zoo.metrics import Metric
from zoo.report.compare import compare, parse_tolerances, unmatched_tolerances
from zoo.tasks import Translator
from zoo.testing import check_method, check_metric

REPO = Path(__file__).resolve().parents[1]

# -- a plugin package written by the test, found through a dist-info entry point ---------------
PLUGIN_INIT = '''
import zoo

@zoo.hookimpl
def register_methods(register):
    register("kit-upscale", "kitplug.method:Upscale", task="super-resolution")

@zoo.hookimpl
def register_catalog(register):
    register("kit-upscale.test", {"task": "super-resolution", "factory": "kit-upscale", "settings": [{"scale": 2}]})
'''

PLUGIN_METHOD = '''
import torch.nn.functional as F
from zoo.tasks import SuperResolver

GAIN = 1.0

class Upscale(SuperResolver):
    def __init__(self, scale=2):
        super().__init__()
        self.scale = scale

    def _upscale(self, lr):
        return (F.interpolate(lr, scale_factor=self.scale, mode="nearest") * GAIN).clamp(0, 1)
'''

SR_SUITE = """
name: kit
seed: 0
benchmarks:
  - name: sr
    task: super-resolution
    dataset: {name: samples, split: heldout, crop: 32, limit: 2}
    degradation: {bicubic: 2}
    methods: [kit-upscale.test, {id: bicubic.classical, settings: [{scale: 2}]}]
    metrics: [psnr]
"""


def _write_plugin(site: Path, version: str = "0.1.0") -> None:
    pkg = site / "kitplug"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(PLUGIN_INIT)
    (pkg / "method.py").write_text(PLUGIN_METHOD)
    _write_dist_info(site, version)


def _write_dist_info(site: Path, version: str) -> None:
    for old in site.glob("kitplug-*.dist-info"):
        shutil.rmtree(old)
    info = site / f"kitplug-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: kitplug\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("[zoo]\nkitplug = kitplug\n")


def _reload_plugins() -> None:
    """What a new process would see: the plugin's modules imported afresh, the registry rebuilt."""
    for name in [m for m in sys.modules if m == "kitplug" or m.startswith("kitplug.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    plugins.reset()


def _psnr(run) -> float:
    df = run.results
    return float(df[(df.method == "kit-upscale.test") & (df.metric == "psnr")].value.mean())


def test_editing_or_upgrading_a_plugin_recomputes_its_units(fresh_plugins, tmp_path, monkeypatch):
    site = tmp_path / "site"
    _write_plugin(site)
    monkeypatch.syspath_prepend(str(site))
    _reload_plugins()
    suite = tmp_path / "kit.yaml"
    suite.write_text(SR_SUITE)
    out = tmp_path / "run"

    first = zoo.bench(str(suite), out=out, progress=False, report=False)
    assert (first.computed_units, first.reused_units) == (2, 0)
    again = zoo.bench(str(suite), out=out, progress=False, report=False)
    assert (again.computed_units, again.reused_units) == (0, 2)  # nothing changed: reused
    assert _psnr(again) == _psnr(first)

    (site / "kitplug" / "method.py").write_text(PLUGIN_METHOD.replace("GAIN = 1.0", "GAIN = 0.9"))
    _reload_plugins()
    edited = zoo.bench(str(suite), out=out, progress=False, report=False)
    assert (edited.computed_units, edited.reused_units) == (1, 1)  # only the edited method's unit
    assert _psnr(edited) < _psnr(first) - 0.5  # the new code's value, not the stored one

    _write_dist_info(site, "0.2.0")  # a new release with the same code
    _reload_plugins()
    upgraded = zoo.bench(str(suite), out=out, progress=False, report=False)
    assert (upgraded.computed_units, upgraded.reused_units) == (1, 1)

    forced = zoo.bench(str(suite), out=out, progress=False, report=False, recompute=["kit-upscale.test"])
    assert (forced.computed_units, forced.reused_units) == (1, 1)
    everything = zoo.bench(str(suite), out=out, progress=False, report=False, recompute=[])
    assert (everything.computed_units, everything.reused_units) == (2, 0)
    with pytest.raises(ZooError, match="--recompute: 'quick' is not a method of suite 'kit'"):
        zoo.bench(str(suite), out=out, progress=False, report=False, recompute=["quick"])


def test_code_identity_names_distribution_version_and_modules(fresh_plugins, tmp_path, monkeypatch):
    site = tmp_path / "site"
    _write_plugin(site, "1.2.3")
    monkeypatch.syspath_prepend(str(site))
    _reload_plugins()
    codehash.clear_caches()
    entry = plugins.registry().get("methods", "kit-upscale")
    ident = codehash.code_identity(entry.plugin, entry.obj)
    assert (ident["distribution"], ident["version"]) == ("kitplug", "1.2.3")
    modules = codehash.defining_modules(entry.obj)
    assert "kitplug.method" in modules and "zoo.tasks" in modules  # the class and its hierarchy
    assert not any(m.startswith("torch") for m in modules)  # third-party libraries: by version in meta.json
    psnr = plugins.registry().get("metrics", "psnr")
    assert codehash.code_identity(psnr.plugin, psnr.obj)["distribution"] == "imagezoo"


# -- failures fail the build; failed units are retried --------------------------------------------
FLAKY = {"fail": True}


class Flaky(Translator):
    """Fails on every item while FLAKY["fail"] is set."""

    def _translate(self, x, direction):
        if FLAKY["fail"]:
            raise RuntimeError("flaky method failed on purpose")
        return x.clone()


class _CIPlugin:
    @zoo.hookimpl
    def register_methods(self, register):
        register("flaky-factory", Flaky, task="translation")

    @zoo.hookimpl
    def register_catalog(self, register):
        register("flaky.test", {"task": "translation", "factory": "flaky-factory"})
        register("remote.test", {"task": "translation", "factory": "example-grayscale", "weights": {
            "hub": "nobody/nothing", "file": "m.safetensors", "revision": "0" * 40, "sha256": "0" * 64}})


CI_SUITE = """
name: ci
seed: 0
benchmarks:
  - name: tr
    task: translation
    dataset: {{name: samples, split: heldout, crop: 32, limit: 2}}
    methods: [grayscale.example, {methods}]
    metrics: [psnr]{allow}
"""


@pytest.fixture
def ci_plugin(fresh_plugins):
    FLAKY["fail"] = True
    plugins.register_plugin(_CIPlugin(), "ci-test")
    yield
    plugins.unregister_plugin("ci-test")


def _bench(capsys, *args) -> tuple[int, str]:
    code = main(["bench", *map(str, args), "--no-progress"])
    return code, capsys.readouterr().err


def test_failed_method_fails_the_build_and_is_retried(ci_plugin, tmp_path, capsys):
    suite = tmp_path / "ci.yaml"
    suite.write_text(CI_SUITE.format(methods="flaky.test", allow=""))
    out = tmp_path / "run"
    code, err = _bench(capsys, suite, "-o", out)
    assert code == 1
    assert "1 failed unit(s)" in err and "flaky.test" in err and "flaky method failed on purpose" in err
    assert "--allow-failures" in err

    code, err = _bench(capsys, suite, "-o", out, "--allow-failures")
    assert code == 0 and "allowed by --allow-failures" in err
    assert "retrying" in err and "flaky.test" in err  # the failed unit is not replayed from the store
    results = pd.read_csv(out / "results.csv")
    flaky = results[results.method == "flaky.test"]
    assert set(flaky[flaky.item != "*"].status) == {"failed"} and "psnr" not in set(flaky.metric)  # still in the report

    FLAKY["fail"] = False  # the cause is fixed: the next run retries and keeps the success
    run = zoo.bench(str(suite), out=out, progress=False, report=False)
    assert (run.computed_units, run.reused_units, run.retried_units) == (1, 1, 1)
    assert run.failures.empty
    run = zoo.bench(str(suite), out=out, progress=False, report=False)
    assert (run.computed_units, run.reused_units, run.retried_units) == (0, 2, 0)

    FLAKY["fail"] = True  # a recompute that fails drops the old result: the next run retries, not reuses
    code, err = _bench(capsys, suite, "-o", out, "--recompute", "flaky.test")
    assert code == 1
    code, err = _bench(capsys, suite, "-o", out)
    assert code == 1 and "retrying" in err


def test_against_is_checked_first_and_a_drift_is_not_hidden_by_exit_3(ci_plugin, tmp_path, capsys):
    suite = tmp_path / "ci.yaml"
    suite.write_text(CI_SUITE.format(methods="remote.test", allow=""))
    out = tmp_path / "run"
    code, err = _bench(capsys, suite, "-o", out, "--against", tmp_path / "nothere")
    assert code == 2 and not out.exists()  # refused before anything ran
    code, err = _bench(capsys, suite, "-o", out, "--against", tmp_path, "--tolerance", "psnr=abc")
    assert code == 2 and "--tolerance" in err and not out.exists()
    assert _bench(capsys, suite, "-o", out)[0] == 3  # remote.test is unavailable
    results = pd.read_parquet(out / "results.parquet")
    results.loc[results.metric == "psnr", "value"] += 1.0
    results.to_parquet(out / "results.parquet", index=False)  # the baseline is this folder, as it is now
    code, err = _bench(capsys, suite, "-o", out, "--against", out)
    assert code == 1 and "drift(s) against" in err  # the drift wins over the unavailable method's exit 3


def test_unavailable_method_exits_3_unless_allowed(ci_plugin, tmp_path, capsys):
    suite = tmp_path / "ci.yaml"
    suite.write_text(CI_SUITE.format(methods="remote.test", allow=""))
    code, err = _bench(capsys, suite, "-o", tmp_path / "a")
    assert code == 3 and "unavailable" in err and "remote.test" in err and "zoo fetch remote.test" in err
    code, err = _bench(capsys, suite, "-o", tmp_path / "a", "--allow-unavailable")
    assert code == 0
    suite.write_text(CI_SUITE.format(methods="remote.test", allow="\n    allow_unavailable: [remote.test]"))
    code, err = _bench(capsys, suite, "-o", tmp_path / "a")
    assert code == 0 and "expected unavailable here" in err and "tr/remote.test" in err


def test_allow_unavailable_must_name_a_metric_or_method(tmp_path):
    suite = tmp_path / "ci.yaml"
    suite.write_text(CI_SUITE.format(methods="identity.baseline", allow="\n    allow_unavailable: [lpisp]"))
    with pytest.raises(ZooError, match=r"ci.yaml:\d+: .*allow_unavailable names \['lpisp'\]"):
        zoo.bench(str(suite), out=tmp_path / "x", progress=False)


def test_quick_suite_expects_only_its_download_metrics_unavailable():
    from zoo.harness.suite import load_suite

    allowed = {b.name: b.allow_unavailable for b in load_suite("quick").benchmarks if b.allow_unavailable}
    assert allowed == {"sr-x4": ["lpips", "fid"], "style": ["artfid"]}


# -- tolerances ------------------------------------------------------------------------------------
def _frame(rows):
    base = {"benchmark": "b", "dataset": "d", "item": "i", "method": "m", "setting": "{}", "status": "ok", "error": ""}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_tolerance_matches_column_alias_and_metric_name_column_wins():
    fp = "psnr(channel=y,crop=4,u8=False)"
    base = _frame([{"metric": "psnr-y", "value": 30.0, "fingerprint": fp},
                   {"metric": "psnr", "value": 30.0, "fingerprint": "psnr(channel=rgb,crop=0,u8=False)"},
                   {"metric": "probe.delta", "value": 1.0, "fingerprint": "probe(k=1)"}])
    cur = base.assign(value=[30.05, 30.05, 1.5])
    assert len(compare(cur, base)) == 3  # default 1e-4
    assert compare(cur, base, parse_tolerances(["psnr=0.1", "probe=1"])).empty  # by metric name / alias
    drifts = compare(cur, base, parse_tolerances(["psnr=0.1,psnr-y=0.01", "probe.delta=0.1"]))
    assert sorted(drifts.metric) == ["probe.delta", "psnr-y"]  # the column's own tolerance wins
    assert set(drifts.tolerance) == {0.01, 0.1}
    assert unmatched_tolerances({"pnsr": 1.0, "psnr": 1.0, "probe": 1.0}, cur, base) == ["pnsr"]


@pytest.mark.parametrize("item,match", [
    ("psnr=nan", ">= 0"), ("psnr=-1", ">= 0"), ("psnr", "expected NAME=TOL"), ("=1", "expected NAME=TOL"),
    ("psnr=0.1,psnr=0.2", "given twice"),
])
def test_bad_tolerances_are_refused(item, match):
    with pytest.raises(ZooError, match=match):
        parse_tolerances([item])


def test_compare_warns_on_a_tolerance_that_matches_nothing(tmp_path, capsys):
    df = _frame([{"metric": "psnr-y", "value": 30.0, "fingerprint": "psnr(channel=y)"}]).assign(run="r", suite="s", task="t")
    df.to_csv(tmp_path / "a.csv", index=False)
    df.assign(value=30.001).to_csv(tmp_path / "b.csv", index=False)
    assert main(["compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--tolerance", "pnsr=1,psnr=0.01"]) == 0
    err = capsys.readouterr().err
    assert "--tolerance pnsr: matches no metric" in err and "no drift" in err
    assert main(["compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--tolerance", "psnr=-1"]) == 2


# -- the metric kit --------------------------------------------------------------------------------
BUILTIN = ["psnr", "ssim", "ms-ssim", "lpips", "deepdist-effnetlite0", "bpp", "fid", "kid", "kd-effnetlite0",
           pytest.param("fd-effnetlite0", marks=pytest.mark.slow)]  # a 1280-d matrix square root per call: ~2 min


def test_kit_covers_every_builtin_metric():
    from zoo.builtin import METRICS

    assert set(METRICS) == {p if isinstance(p, str) else p.values[0] for p in BUILTIN}


@pytest.mark.parametrize("name", BUILTIN)
def test_check_metric_on_builtin_metrics(name):
    torch.set_num_threads(1)
    try:
        m = check_metric(name, size=176 if name == "ms-ssim" else 48, n=3 if name != "kd-effnetlite0" else 4)
    except MetricUnavailable as exc:  # lpips, fid, kid: their weights are downloads
        pytest.skip(f"{name} unavailable here: {exc}")
    assert m.name == name


class Scalar(Metric):
    name = "scalar"

    def _values(self, output, reference, **extras):
        return (output - reference).abs().mean()


class Noisy(Metric):
    name = "noisy"
    higher_is_better = False

    def _values(self, output, reference, **extras):
        return (output - reference).abs().flatten(1).mean(1) + torch.rand(output.shape[0])


class BatchMean(Metric):
    name = "batch-mean"
    higher_is_better = False

    def _values(self, output, reference, **extras):
        return (output - reference).abs().mean().expand(output.shape[0]).clone()


class Backwards(Metric):
    name = "backwards"  # forgot higher_is_better = False: an error, where identical images score best

    def _values(self, output, reference, **extras):
        return (output - reference).abs().flatten(1).mean(1)


class Mutating(Metric):
    name = "mutating"
    higher_is_better = False

    def _values(self, output, reference, **extras):
        output.clamp_(0.1, 0.9)
        return (output - reference).abs().flatten(1).mean(1)


class SilentNaN(Metric):
    name = "silent-nan"
    higher_is_better = False

    def _values(self, output, reference, **extras):
        v = (output - reference).abs().flatten(1).mean(1)
        v[0] = float("nan")
        return v


class WrongIdeal(Metric):
    name = "wrong-ideal"
    higher_is_better = False
    ideal = 1.0

    def _values(self, output, reference, **extras):
        return (output - reference).abs().flatten(1).mean(1)


class Needy(Metric):
    name = "needy"
    needs = ("latents",)

    def _values(self, output, reference, latents=None, **extras):
        return torch.zeros(output.shape[0])


@pytest.mark.parametrize("metric,check,words", [
    (Scalar(), "shape [N]", "return one value per image, shape [N]"),
    (Noisy(), "determinism", "two calls on the same images differ"),
    (BatchMean(), "batch independence", "compute each image's value from that image alone"),
    (Backwards(), "higher_is_better", "set higher_is_better = False"),
    (Mutating(), "input mutation", "changed an output or reference tensor in place"),
    (SilentNaN(), "NaN without a reason", "item_reasons"),
    (WrongIdeal(), "ideal", "declares ideal = 1.0"),
    (Needy(), "inputs", "pass extras={'latents': ...} to check_metric"),
])
def test_check_metric_names_the_metric_the_check_and_the_fix(metric, check, words):
    with pytest.raises(ConformanceError) as info:
        check_metric(metric)
    exc = info.value
    assert type(exc) is ConformanceError and isinstance(exc, AssertionError)
    msg = str(exc)
    assert msg.startswith(f"metric {metric.name}: conformance check '{check}' failed") and "Fix:" in msg
    assert words in msg


def test_check_metric_accepts_a_good_plugin_metric_and_reasoned_nans():
    class Reasoned(SilentNaN):
        name = "reasoned"

        def _values(self, output, reference, **extras):
            v = (output - reference).abs().flatten(1).mean(1)
            unmeasurable = reference[:, 0, 0, 0] > reference[:, 1, 0, 0]  # a property of each item alone
            v[unmeasurable] = float("nan")
            self.item_reasons = ["no face found" if u else None for u in unmeasurable.tolist()]
            return v

    check_metric(Reasoned())
    check_metric("example-mae")


# -- the method kit --------------------------------------------------------------------------------
class Random(Translator):
    """Draws from a generator of its own, seeded by the clock: not reproducible under torch.manual_seed."""

    def _translate(self, x, direction):
        g = torch.Generator().manual_seed(__import__("time").perf_counter_ns())
        return torch.rand(x.shape, generator=g)


class InPlace(Translator):
    def _translate(self, x, direction):
        return x.mul_(0.5)


class Knob(Translator):
    """Takes ``strength`` and silently ignores anything else (a typo in the card goes unnoticed by the factory)."""

    def __init__(self, strength: float = 1.0, **ignored):
        super().__init__()
        self.strength = strength

    def _translate(self, x, direction):
        return x.clone()


class Strict(Translator):
    def __init__(self, strength: float = 1.0):
        super().__init__()
        self.strength = strength

    def _translate(self, x, direction):
        return (x * self.strength).clamp(0, 1)


class _KitPlugin:
    @zoo.hookimpl
    def register_methods(self, register):
        register("kit-knob", Knob, task="translation")
        register("kit-strict", Strict, task="translation")

    @zoo.hookimpl
    def register_catalog(self, register):
        register("knob.test", {"task": "translation", "factory": "kit-knob", "settings": [{"strength": 0.5}, {"strength": 1.0}]})
        register("typo.test", {"task": "translation", "factory": "kit-strict", "settings": [{"strength": 0.5}, {"strenght": 1.0}]})
        register("strict.test", {"task": "translation", "factory": "kit-strict", "settings": [{"strength": 0.5}, {"strength": 1.0}]})


@pytest.fixture
def kit_plugin(fresh_plugins):
    plugins.register_plugin(_KitPlugin(), "kit-test")
    yield
    plugins.unregister_plugin("kit-test")


@pytest.mark.parametrize("method,check,words", [
    (Random(), "determinism", "two calls under torch.manual_seed(0) differ"),
    (InPlace(), "input mutation", "work on a copy"),
])
def test_check_method_reports_problems_under_their_own_names(method, check, words):
    with pytest.raises(ConformanceError, match=rf"^method {type(method).__name__}: conformance check '{check}' failed") as info:
        check_method(method)
    assert words in str(info.value) and "Fix:" in str(info.value)


def test_check_method_runs_every_operating_point_of_the_card(kit_plugin):
    assert check_method("strict.test").id == "strict.test"
    with pytest.raises(ConformanceError, match=r"method typo.test: conformance check 'operating point \{\"strenght\": 1.0\}'") as info:
        check_method("typo.test")
    assert "correct the option name" in str(info.value)
    with pytest.raises(ConformanceError, match="'settings change the output' failed: operating points") as info:
        check_method("knob.test")
    assert "misspelt keyword" in str(info.value)
    check_method("knob.test", settings_change_output=False)


# -- zoo new-plugin and the template ---------------------------------------------------------------
def test_template_pyproject_has_no_workspace_wiring():
    text = (REPO / "plugins" / "example" / "pyproject.toml").read_text()
    assert "tool.uv" not in text and "workspace" not in text
    assert "imagezoo = { workspace = true }" in (REPO / "pyproject.toml").read_text()


def test_new_plugin_writes_a_package_whose_tests_pass(fresh_plugins, tmp_path, monkeypatch, capsys):
    root = tmp_path / "outside"
    assert main(["new-plugin", "kit-sr", "-o", str(root)]) == 0
    pkg = root / "zoo-kit-sr"
    assert (pkg / "zoo_kit_sr" / "suites" / "kit-sr.yaml").exists()
    assert "tool.uv" not in (pkg / "pyproject.toml").read_text()
    assert main(["new-plugin", "kit-sr", "-o", str(root)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert main(["new-plugin", "Kit_SR", "-o", str(root)]) == 2
    assert "lowercase letters" in capsys.readouterr().err
    # found as an installed distribution would be (the slow test below really installs it)
    info = pkg / "zoo_kit_sr-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-kit-sr\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[zoo]\nkit-sr = zoo_kit_sr\n")
    monkeypatch.syspath_prepend(str(pkg))
    monkeypatch.chdir(tmp_path)
    plugins.reset()
    spec = importlib.util.spec_from_file_location("generated_tests", pkg / "tests" / "test_zoo_kit_sr.py")
    tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tests)
    tests.test_method_conforms()
    tests.test_metric_conforms()
    tests.test_suite_runs(tmp_path)
    for name in [m for m in sys.modules if m.startswith("zoo_kit_sr")]:
        del sys.modules[name]


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    return uv


@pytest.mark.slow
def test_new_plugin_installs_with_pip_and_its_tests_pass(tmp_path):
    """The whole author path in fresh processes: generate outside the repo, install, test, bench, edit, re-bench."""
    uv = _uv()
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "zoo.cli", "new-plugin", "kit-installed", "-o", str(tmp_path)], check=True, env=env)
    pkg = tmp_path / "zoo-kit-installed"
    subprocess.run([uv, "pip", "install", "--offline", "--python", sys.executable, "-e", str(pkg)], check=True,
                   capture_output=True)
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(pkg / "tests")],
                              cwd=tmp_path, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        suite = pkg / "zoo_kit_installed" / "suites" / "kit-installed.yaml"  # a baseline (zoo-superres) that an edit leaves alone
        suite.write_text(suite.read_text().replace("untrained, settings: [{scale: 2}]}\n", "untrained, settings: [{scale: 2}]}\n"
                                                   "      - {id: bicubic.classical, settings: [{scale: 2}]}\n"))
        bench = [sys.executable, "-m", "zoo.cli", "bench", "kit-installed", "-o", str(tmp_path / "run"), "--no-progress"]
        first = subprocess.run(bench, cwd=tmp_path, capture_output=True, text=True, env=env)
        assert first.returncode == 0 and "units computed 2, reused 0" in first.stderr, first.stderr[-2000:]
        methods = pkg / "zoo_kit_installed" / "methods.py"
        methods.write_text(methods.read_text().replace('mode="bilinear", align_corners=False', 'mode="nearest"'))
        edited = subprocess.run(bench, cwd=tmp_path, capture_output=True, text=True, env=env)
        assert edited.returncode == 0 and "units computed 1, reused 1" in edited.stderr, edited.stderr[-2000:]
        assert json.loads((tmp_path / "run" / "meta.json").read_text())["units"] == {"computed": 1, "reused": 1, "retried": 0}
    finally:
        subprocess.run([uv, "pip", "uninstall", "--python", sys.executable, "zoo-kit-installed"], capture_output=True)


def test_zoo_list_and_load_name_a_plugin_that_failed_to_load(fresh_plugins, tmp_path, monkeypatch, capsys):
    site = tmp_path / "site"
    (site / "zoo_kit_broken").mkdir(parents=True)
    (site / "zoo_kit_broken" / "__init__.py").write_text("raise ImportError('needs libfoo 2')\n")
    info = site / "zoo_kit_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-kit-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zoo]\nkit-broken = zoo_kit_broken\n")
    monkeypatch.syspath_prepend(str(site))
    plugins.reset()
    assert main(["list"]) == 0
    assert "plugin 'kit-broken' failed to load: ImportError: needs libfoo 2" in capsys.readouterr().err
    with pytest.raises(ZooError, match="Plugin 'kit-broken' failed to load"):
        zoo.load("broken-thing.test")
