"""Task specs: contracts through the kit, a plugin-added task, optimising methods, multi-part
weights, options errors, sample-reading metrics, attributes, and a core without import cycles."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from zoo import plugins
from zoo.cli import main
from zoo.errors import ContractError, OptionsError, SuiteError
from zoo.harness.suite import load_suite
from zoo.metrics import Metric
from zoo.taskspec import task_names, task_spec
from zoo.tasks import Inverter, Latent, Stylizer, Translator
from zoo.testing import check_method, sample_batch
from zoo.weights import save_state_dict

ROOT = Path(__file__).parent.parent


# -- contracts of every task through the kit ------------------------------------------------------
class Swap(Translator):
    directions = ("AtoB", "BtoA")

    def _translate(self, x, direction):
        return x.flip(1) if direction == "AtoB" else 1 - x


class MeanStyle(Stylizer):
    needs_style = True

    def _stylize(self, content, style):
        return (0.5 * content + 0.5 * style.mean((2, 3), keepdim=True)).clamp(0, 1)


class Pixels(Inverter):
    space = "w+"

    def _invert(self, x):
        return Latent("w+", x.clone())

    def _generate(self, latent):
        return latent.code.clamp(0, 1)


class Optimiser(Stylizer):
    """Fits an image to content + style mean by gradient descent: needs gradients to run at all."""

    needs_grad = True

    def _stylize(self, content, style):
        target = content.detach()
        y = torch.zeros_like(target, requires_grad=True)
        opt = torch.optim.SGD([y], lr=0.5)
        for _ in range(20):
            opt.zero_grad()
            loss = ((y - target) ** 2).sum()
            loss.backward()  # fails under inference_mode
            opt.step()
        self.stats = {"iterations": 20.0, "loss_final": float(loss)}
        return y.detach().clamp(0, 1)


@pytest.mark.parametrize("method", [Swap(), MeanStyle(), Pixels(), Optimiser()], ids=lambda m: type(m).__name__)
def test_every_task_contract_through_the_kit(method):
    method.id = f"test.{type(method).__name__.lower()}"
    check_method(method)


def test_kit_rejects_a_method_breaking_its_task_check():
    class Shrinks(Translator):
        def _translate(self, x, direction):
            return x

        def translate(self, x, direction=None):  # bypasses the base class's own shape check
            return x[..., ::2, ::2]

    m = Shrinks()
    m.id = "test.shrinks"
    with pytest.raises(AssertionError, match="method test.shrinks: conformance check .translation contract. failed: output shape"):
        check_method(m)


def test_latent_space_is_checked():
    with pytest.raises(ContractError, match="z, w, w\\+"):
        Latent("u", torch.zeros(1, 4))
    p = Pixels()
    with pytest.raises(ContractError, match="space 'z'"):
        p.generate(Latent("z", torch.zeros(1, 3, 4, 4)))


def test_core_tasks_register_through_the_hook_and_the_example_adds_one():
    assert set(task_names()) >= {"super-resolution", "compression", "translation", "style-transfer", "inversion", "denoising"}
    info = {p.name: p for p in plugins.plugin_report()}
    assert "denoising" in info["example"].registered["tasks"]
    assert set(info["builtin"].registered["tasks"]) == {"super-resolution", "compression", "translation", "style-transfer", "inversion"}


def test_no_task_name_branches_outside_the_specs():
    """No core module dispatches on a task by name or by method class: the specs do."""
    import re

    pattern = re.compile(r"""task\s*[!=]=\s*["']|isinstance\(method, \(?(SuperResolver|Compressor|Translator|Stylizer|Inverter)""")
    hits = []
    for f in (ROOT / "zoo").rglob("*.py"):
        if f.name in ("tasks.py", "taskspec.py"):
            continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not hits, hits


# -- a task added by a plugin runs through bench, report, compare and the kit -------------------------
def test_plugin_task_runs_through_bench_leaderboard_compare_and_kit(tmp_path):
    run = zoo.bench("denoise", out=tmp_path / "d", progress=False)
    r = run.results
    assert set(r.task) == {"denoising"} and not (r.status == "failed").any()
    psnr = r[(r.metric == "psnr")].groupby("method").value.mean()
    assert psnr["gaussian-blur.example"] > psnr["identity-denoise.example"] + 1.0  # blur beats noise at sigma 25
    assert 20.0 < psnr["identity-denoise.example"] < 21.5  # 20*log10(255/25) = 20.17 dB before clipping
    md = (tmp_path / "d" / "leaderboard.md").read_text()
    assert "## denoising" in md and "gaussian-blur.example" in md
    assert main(["compare", str(tmp_path / "d"), str(tmp_path / "d")]) == 0
    check_method("gaussian-blur.example", setting={"sigma": 1.5})


def test_task_keys_are_validated_by_the_spec_with_file_and_line(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("benchmarks:\n  - name: d\n    task: denoising\n    dataset: samples\n    noise: {gaussian: -3}\n"
                 "    methods: [gaussian-blur.example]\n    metrics: [psnr]\n")
    with pytest.raises(SuiteError, match=r"s.yaml:2: .*sigma must be a number"):
        load_suite(str(p))
    p.write_text("benchmarks:\n  - name: d\n    task: denoising\n    dataset: samples\n    noise: {gaussian: 5}\n"
                 "    degradation: {bicubic: 4}\n    methods: [gaussian-blur.example]\n    metrics: [psnr]\n")
    with pytest.raises(SuiteError, match=r"unknown key\(s\) \['degradation'\] for task denoising"):
        load_suite(str(p))


# -- metrics read what they declare -------------------------------------------------------------------
class NeedsStyle(Metric):
    name = "needs-style-test"
    needs = ("style",)

    def _values(self, output, reference, style=None, **extras):
        return (output - style).abs().flatten(1).mean(1).double()


def test_metric_needing_what_a_task_cannot_supply_is_refused_before_running(tmp_path, fresh_plugins):
    class P:
        @zoo.hookimpl
        def register_metrics(self, register):
            register("needs-style-test", NeedsStyle)

    plugins.register_plugin(P(), "needs")
    try:
        p = tmp_path / "s.yaml"
        p.write_text("benchmarks:\n  - name: t\n    task: translation\n    dataset: {name: samples, limit: 1}\n"
                     "    methods: [grayscale.example]\n    metrics: [needs-style-test]\n")
        with pytest.raises(SuiteError, match=r"metric 'needs-style-test' needs \['style'\], which task 'translation' does not supply"):
            zoo.bench(str(p), out=tmp_path / "r", progress=False, report=False)
        assert not list((tmp_path / "r" / "parts").glob("*.parquet"))
        assert main(["bench", str(p), "-o", str(tmp_path / "r2"), "--no-progress"]) == 2
    finally:
        plugins.unregister_plugin("needs")


def test_model_level_metric_gets_the_method_and_attributes_reach_results(tmp_path, fresh_plugins):
    from zoo.datasets import Dataset, Item

    class Roundtrip(Metric):
        """||F(G(x)) - x||_1 of a two-way translator: reads the input and the method."""

        name = "roundtrip-test"
        higher_is_better = False
        needs_reference = False
        needs = ("input", "method", "attributes")

        def _values(self, output, reference=None, *, input, method, attributes, **extras):
            back = method.translate(output, "BtoA" if "BtoA" in method.directions else None)
            self.seen = attributes
            return (back - input).abs().flatten(1).mean(1).double()

        def aggregate(self, values, attributes):
            groups = {}
            for v, a in zip(values["value"], attributes):
                groups.setdefault(a["group"], []).append(v)
            return {f"mean[group={g}]": float(np.mean(v)) for g, v in sorted(groups.items())}

    def faces(n: int = 4):
        items = [Item(f"f{i}", sample_batch(1, 16, seed=i)[0], {}, {"group": "ab"[i % 2]}) for i in range(n)]
        return Dataset("faces-test", [(it.id, (lambda it=it: it)) for it in items], {"n": n})

    class P:
        @zoo.hookimpl
        def register_metrics(self, register):
            register("roundtrip-test", Roundtrip)

        @zoo.hookimpl
        def register_datasets(self, register):
            register("faces-test", faces)

    plugins.register_plugin(P(), "rt")
    try:
        p = tmp_path / "s.yaml"
        p.write_text("benchmarks:\n  - name: t\n    task: translation\n    dataset: faces-test\n"
                     "    methods: [grayscale.example]\n    metrics: [roundtrip-test, psnr]\n")
        r = zoo.bench(str(p), out=tmp_path / "r", progress=False).results
        per_item = r[r.metric == "roundtrip-test"]
        assert len(per_item) == 4 and per_item.value.notna().all()
        assert [json.loads(a)["group"] for a in per_item.attributes] == ["a", "b", "a", "b"]
        agg = r[r.metric.str.startswith("roundtrip-test:")].set_index("metric").value
        a_mean = per_item[per_item.attributes.str.contains('"a"')].value.mean()
        assert agg["roundtrip-test:mean[group=a]"] == pytest.approx(a_mean)
        md = (tmp_path / "r" / "leaderboard.md").read_text()
        assert "roundtrip-test — per group" in md and "| group=a |" in md
    finally:
        plugins.unregister_plugin("rt")


# -- optimising methods in the harness, with their statistics ----------------------------------------
def test_optimising_method_runs_with_gradients_and_reports_its_statistics(tmp_path, fresh_plugins):
    class P:
        @zoo.hookimpl
        def register_methods(self, register):
            register("optimiser-test", Optimiser, task="style-transfer")

        @zoo.hookimpl
        def register_catalog(self, register):
            register("optimiser.test", {"task": "style-transfer", "factory": "optimiser-test"})

    plugins.register_plugin(P(), "opt")
    try:
        p = tmp_path / "s.yaml"
        p.write_text("benchmarks:\n  - name: o\n    task: style-transfer\n    dataset: {name: samples, limit: 2, crop: 32}\n"
                     "    methods: [optimiser.test]\n    metrics: [psnr]\n")
        r = zoo.bench(str(p), out=tmp_path / "r", progress=False, report=False).results
        assert not (r.status == "failed").any(), r[r.status == "failed"].error.tolist()
        v = r.set_index("metric").value
        assert v["iterations"] == 20.0 and v["loss_final"] >= 0
        assert "cold" in r[r.metric == "runtime_ms"].fingerprint.iloc[0]  # no warm-up call
        assert (r[r.metric == "psnr"].value > 30).all()
        src = tmp_path / "in.png"
        zoo.images.write_image(src, sample_batch(1, 24)[0])
        assert main(["run", "optimiser.test", str(src), "-o", str(tmp_path / "out")]) == 0
    finally:
        plugins.unregister_plugin("opt")


# -- multi-part weights ------------------------------------------------------------------------------
class TwoPart(Translator):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Conv2d(3, 3, 1)
        self.decoder = torch.nn.Conv2d(3, 3, 1)

    def load_weights(self, state, part=None):
        getattr(self, part).load_state_dict(state, strict=True)

    def _translate(self, x, direction):
        return torch.sigmoid(self.decoder(self.encoder(x)))


def test_two_part_weights_each_verified_and_loaded_by_part(tmp_path, fresh_plugins):
    import importlib.resources

    torch.manual_seed(0)
    ref = TwoPart()
    pkg = Path(str(importlib.resources.files("zoo_example")))
    files = {}
    for part in ("encoder", "decoder"):
        f = tmp_path / f"{part}.safetensors"
        files[part] = save_state_dict(getattr(ref, part).state_dict(), f)
    base = {"task": "translation", "factory": "twopart-test"}

    class P:
        @zoo.hookimpl
        def register_methods(self, register):
            register("twopart-test", TwoPart, task="translation")

        @zoo.hookimpl
        def register_catalog(self, register):
            register("twopart.local", base)
            register("twopart.hub", {**base, "weights": [
                {"hub": "o/enc", "file": "e.safetensors", "revision": "a" * 40, "sha256": files["encoder"], "part": "encoder"},
                {"hub": "o/dec", "file": "d.safetensors", "revision": "b" * 40, "sha256": files["decoder"], "part": "decoder"},
            ]})

    plugins.register_plugin(P(), "twopart")
    try:
        x = sample_batch(1, 8)
        m = zoo.load("twopart.local", weights={"encoder": str(tmp_path / "encoder.safetensors"),
                                                "decoder": str(tmp_path / "decoder.safetensors")})
        assert torch.allclose(m.translate(x), ref.translate(x))
        from zoo.testing import lay_out_hub_cache
        import os

        cache = Path(os.environ["HF_HUB_CACHE"])
        lay_out_hub_cache(cache, "o/enc", "a" * 40, "e.safetensors", (tmp_path / "encoder.safetensors").read_bytes())
        with pytest.raises(zoo.errors.WeightsError, match="d.safetensors"):  # the decoder part is not here
            zoo.load("twopart.hub")
        lay_out_hub_cache(cache, "o/dec", "b" * 40, "d.safetensors", (tmp_path / "decoder.safetensors").read_bytes())
        assert torch.allclose(zoo.load("twopart.hub").translate(x), ref.translate(x))
        assert zoo.catalog.get_card("twopart.hub").parts == ["encoder", "decoder"]
        assert pkg.exists()
    finally:
        plugins.unregister_plugin("twopart")


def test_missing_optional_part_is_listed_and_missing_required_part_is_unavailable(tmp_path, fresh_plugins):
    class P:
        @zoo.hookimpl
        def register_methods(self, register):
            register("twopart-test", TwoPart, task="translation")

        @zoo.hookimpl
        def register_catalog(self, register):
            register("twopart.optional", {"task": "translation", "factory": "twopart-test", "weights": [
                {"source": "https://example.org/enc.pth", "part": "encoder", "optional": True},
            ]})
            register("twopart.required", {"task": "translation", "factory": "twopart-test", "weights": [
                {"source": "https://example.org/dec.pth", "part": "decoder"},
            ]})

    plugins.register_plugin(P(), "parts")
    try:
        assert zoo.load("twopart.optional").missing_parts == {"encoder"}
        p = tmp_path / "s.yaml"
        p.write_text("benchmarks:\n  - name: t\n    task: translation\n    dataset: {name: samples, limit: 1}\n"
                     "    methods: [twopart.required]\n    metrics: [psnr]\n")
        r = zoo.bench(str(p), out=tmp_path / "r", progress=False, report=False).results
        row = r[r.method == "twopart.required"].iloc[0]
        assert row.status == "unavailable" and "dec.pth" in row.error
    finally:
        plugins.unregister_plugin("parts")


# -- one error for bad options ---------------------------------------------------------------------
@pytest.mark.parametrize("method_id, options, match", [
    ("esrgan-x4.df2k-ost", {"scale": 3}, r"esrgan-x4.df2k-ost: option scale=3 is not allowed; allowed: 4"),
    ("bicubic.classical", {"scale": 5}, r"bicubic.classical: option scale=5 is not allowed; allowed: 2, 3, 4"),
    ("jpeg.pil", {"quality": 101}, r"jpeg.pil: option quality=101 is not allowed; allowed: an integer in 0..100"),
    ("jpeg.pil", {"qualty": 50}, r"jpeg.pil: option qualty=50 is not allowed; allowed: no option 'qualty'"),
    ("bmshj2018-factorized-mse.vimeo90k", {"quality": 9}, r"option quality=9 is not allowed; allowed: 1, 2, 3, 4, 5, 6, 7, 8"),
    ("factorized-small.samples", {"rate": 7}, r"factorized-small.samples: option rate=7 is not allowed; allowed: 1, 2, 3"),
    ("gaussian-blur.example", {"sigma": 3.0}, r"gaussian-blur.example: option sigma=3.0 is not allowed; allowed: 0.5, 0.8"),
])
def test_bad_operating_point_is_one_options_error(method_id, options, match):
    with pytest.raises(OptionsError, match=match):
        zoo.load(method_id, **options)


def test_zoo_run_with_a_bad_setting_exits_2_with_the_message(tmp_path, capsys):
    src = tmp_path / "in.png"
    zoo.images.write_image(src, sample_batch(1, 16)[0])
    assert main(["run", "esrgan-x4.df2k-ost", str(src), "-o", str(tmp_path / "o"), "--setting", "scale=3"]) == 2
    err = capsys.readouterr().err
    assert "option scale=3 is not allowed; allowed: 4" in err and "Traceback" not in err


# -- a one-way core ---------------------------------------------------------------------------------
def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: never imported at run time
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names}
            found.update(subs)
            if not all(s.replace(".", "/") and (ROOT / (s.replace(".", "/") + ".py")).exists()
                       or (ROOT / s.replace(".", "/")).is_dir() for s in subs):
                found.add(node.module)  # names taken from the module itself, not submodules
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_the_core_has_no_import_cycle():
    """Every import inside zoo/ (module level and deferred) forms a graph without cycles;
    internals never import the package façade ``zoo``."""
    root = ROOT / "zoo"
    modules = {}
    for f in root.rglob("*.py"):
        rel = f.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        modules[name] = f
    graph = {}
    for name, f in modules.items():
        deps = {d for d in _imports(f) if d in modules and d != name}
        if name != "zoo":
            assert "zoo" not in deps, f"{name} imports the package façade `zoo`"
        graph[name] = {d for d in deps if d != "zoo"}
    state: dict[str, int] = {}

    def visit(n, stack):
        state[n] = 1
        for d in graph.get(n, ()):
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack + [n, d]))
            if not state.get(d):
                visit(d, stack + [n])
        state[n] = 2

    for n in graph:
        if not state.get(n):
            visit(n, [])


def test_zoo_list_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, zoo.cli; zoo.cli.main(['list']); zoo.cli.main(['info', 'espcn-x4.samples']); "
            "print('TORCH' if 'torch' in sys.modules else 'NOTORCH', file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "NOTORCH" in out.stderr, "zoo list / zoo info imported torch"


def test_spec_lookup_names_the_registered_tasks():
    with pytest.raises(zoo.errors.UnknownNameError, match="Available: .*denoising"):
        task_spec("painting")


def test_style_and_inversion_specs_draw_their_trade_off_figures(tmp_path):
    from types import SimpleNamespace

    import pandas as pd

    from zoo.report.figures import task_figures

    rows = []
    for method, setting, style, content, psnr, ms in [("a", '{"ratio":1}', 150.0, 40.0, 20.0, 700.0),
                                                       ("a", '{"ratio":2}', 120.0, 60.0, 21.0, 800.0),
                                                       ("b", "{}", 200.0, 30.0, 18.0, 20.0)]:
        for metric, value in [("style-distance", style), ("content-distance", content), ("psnr", psnr), ("runtime_ms", ms)]:
            rows.append({"benchmark": "bm", "method": method, "setting": setting, "metric": metric, "value": value,
                         "status": "ok", "item": "*"})
    df = pd.DataFrame(rows)
    # the axes come from the suite (style transfer's `tradeoff:` key) or the spec's declaration, drawn by the report
    styled = SimpleNamespace(name="bm", options={"tradeoff": ["content-distance", "style-distance"]})
    plain = SimpleNamespace(name="bm", options={})
    style = task_figures(task_spec("style-transfer"), df, [styled], tmp_path)
    inv = task_figures(task_spec("inversion"), df, [plain], tmp_path)
    assert [p.name for p in style] == ["style-content-bm.png"] and [p.name for p in inv] == ["psnr-seconds-bm.png"]
    assert all(p.stat().st_size > 5000 for p in style + inv)
    assert "seconds per image" in (tmp_path / "plots" / "psnr-seconds-bm.svg").read_text()  # runtime_ms, as seconds
    assert task_figures(task_spec("inversion"), df[df.metric != "psnr"], [plain], tmp_path / "none") == []
    assert task_figures(task_spec("style-transfer"), df, [plain], tmp_path / "none") == []  # no axes named: no figure


def test_regression_gate_ignores_timings_methods_report_but_not_their_other_stats():
    import pandas as pd

    from zoo.report.compare import compare

    def frame(seconds, iterations):
        base = {"benchmark": "b", "dataset": "d", "item": "*", "method": "m", "setting": "{}", "status": "ok", "error": "",
                "fingerprint": "method-reported,median-per-batch"}
        return pd.DataFrame([{**base, "metric": "seconds", "value": seconds}, {**base, "metric": "time_to_fraction_s", "value": seconds},
                             {**base, "metric": "iterations", "value": iterations}])

    assert compare(frame(2.0, 40), frame(1.0, 40)).empty
    drifts = compare(frame(2.0, 41), frame(1.0, 40))
    assert list(drifts.metric) == ["iterations"]
