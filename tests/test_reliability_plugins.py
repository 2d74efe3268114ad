"""Issue #18, items 10 and 12: a plugin cannot kill the CLI; plugin diagnostics do not mislead."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from PIL import Image

import zoo
from reliability_helpers import cli, write_suite
from zoo import plugins
from zoo.errors import ZooError
from zoo.taskspec import task_names


def _fake_dist(tmp_path, name, module_src, module_name):
    (tmp_path / f"{module_name}.py").write_text(textwrap.dedent(module_src))
    info = tmp_path / f"{module_name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module_name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo]\n{name} = {module_name}\n")


@pytest.mark.parametrize("statement, words", [
    ("raise SystemExit(3)", ["SystemExit"]),
    ("import sys; sys.exit('bye')", ["SystemExit", "bye"]),
    ("raise GeneratorExit()", ["GeneratorExit"]),
])
def test_plugin_exiting_on_import_is_isolated(fresh_plugins, tmp_path, monkeypatch, capsys, statement, words):
    _fake_dist(tmp_path, "quitter", statement + "\n", "zoo_quitter_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh_plugins.reset()
    code, out, _ = cli(capsys, "plugins")
    assert code == 0
    line = next(li for li in out.splitlines() if li.startswith("quitter"))
    assert "ERROR" in line and all(w in line for w in words)
    assert "psnr" in zoo.list_metrics()  # the others keep working
    code, _, err = cli(capsys, "info", "espcn-x4.samples")
    assert code == 0


def test_plugin_exiting_in_a_hook_is_isolated(fresh_plugins, tmp_path, monkeypatch, capsys):
    _fake_dist(tmp_path, "hookquit", """
        import sys
        import zoo
        @zoo.hookimpl
        def register_metrics(register):
            sys.exit(7)
    """, "zoo_hookquit_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh_plugins.reset()
    report = {p.name: p for p in plugins.plugin_report()}
    assert "register_metrics: SystemExit: 7" in report["hookquit"].error
    assert "ssim" in zoo.list_metrics()


def test_lazy_object_exiting_on_import_is_a_plugin_error(fresh_plugins, tmp_path, monkeypatch, capsys):
    (tmp_path / "zoo_lazy_quit.py").write_text("raise SystemExit(9)\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class P:
        @zoo.hookimpl
        def register_metrics(self, register):
            register("quit-metric", "zoo_lazy_quit:Metric")

    fresh_plugins.register_plugin(P(), "lazyquit")
    with pytest.raises(zoo.errors.PluginError, match="cannot be imported.*SystemExit"):
        zoo.metric("quit-metric")


def test_load_plugins_naming_nothing_installed_warns(fresh_plugins, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "superress")
    fresh_plugins.reset()
    code, _, err = cli(capsys, "plugins")
    assert code == 0
    assert "ZOO_LOAD_PLUGINS names 'superress'" in err and "did you mean superres" in err


def test_available_lists_only_loadable_ids(fresh_plugins, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "compression")
    fresh_plugins.reset()
    code, _, err = cli(capsys, "info", "jpeg.pl")
    assert code == 2 and "Did you mean: jpeg.pil" in err
    available = err.split("Available:")[1]
    assert "jpeg.pil" in available
    assert "esrgan-x4.df2k-ost" not in available  # in registry.yaml, but its factory's plugin is not loaded


def test_folder_dataset_with_one_unreadable_file_measures_the_rest(tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    (folder / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    suite = write_suite(tmp_path / "s.yaml", f"""
        benchmarks:
          - name: sr
            task: super-resolution
            dataset: {{name: folder, path: {folder}}}
            degradation: {{bicubic: 4}}
            methods: [{{id: bicubic.classical, settings: [{{scale: 4}}]}}]
            metrics: [psnr]
            batch_size: 4
    """)
    run = zoo.bench(str(suite), out=tmp_path / "run", progress=False)
    df = run.results
    failed = df[df.status == "failed"]
    assert list(failed.item) == ["1"] and "1.png" in failed.error.iloc[0] and "corrupt" in failed.error.iloc[0]
    assert sorted(df[(df.metric == "psnr") & (df.status == "ok")].item) == ["0", "2"]


@pytest.mark.parametrize("name", ["builtin", "superres"])
def test_a_plugin_cannot_take_the_core_or_another_plugins_name(fresh_plugins, tmp_path, monkeypatch, capsys, name):
    _fake_dist(tmp_path, name, "import zoo\n", f"zoo_impostor_{name}")
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh_plugins.reset()
    code, out, err = cli(capsys, "plugins")
    assert code == 0 and f"two installed plugins are named {name!r}" in err and f"zoo_impostor_{name}" in err
    assert "psnr" in zoo.list_metrics() and "super-resolution" in task_names()  # the core is intact
    with pytest.raises(ZooError, match="is taken"):
        from zoo.newplugin import write_plugin

        write_plugin(name, tmp_path / "new")
