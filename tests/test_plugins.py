import textwrap

import pytest

import zoo
import zoo.errors
from zoo import plugins
from zoo.errors import UnknownNameError


def test_builtin_and_plugin_families_are_discovered_through_entry_points(fresh_plugins):
    names = {p.name: p for p in plugins.plugin_report()}
    for name in ("builtin", "example", "superres", "compression"):
        assert name in names and names[name].error is None, names.get(name)
    assert names["example"].registered["methods"] == ["example-grayscale", "example-gaussian-blur"]
    assert names["example"].registered["tasks"] == ["denoising"]
    assert "psnr" in zoo.list_metrics() and "example-mae" in zoo.list_metrics()
    assert "samples" in zoo.list_datasets() and "example-gradients" in zoo.list_datasets()


def test_zoo_load_plugins_limits_and_empty_loads_none(fresh_plugins, monkeypatch):
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "example")
    fresh_plugins.reset()
    loaded = {p.name for p in plugins.plugin_report()}
    assert loaded == {"builtin", "example"}
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "")
    fresh_plugins.reset()
    assert {p.name for p in plugins.plugin_report()} == {"builtin"}
    assert [c.id for c in zoo.list_methods()] == []


def _fake_dist(tmp_path, name, module_src, module_name):
    (tmp_path / f"{module_name}.py").write_text(textwrap.dedent(module_src))
    info = tmp_path / f"{module_name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module_name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo]\n{name} = {module_name}\n")


def test_broken_plugin_is_isolated_and_reported(fresh_plugins, tmp_path, monkeypatch, capsys):
    _fake_dist(tmp_path, "broken", "raise RuntimeError('boom at import')\n", "zoo_broken_plugin")
    _fake_dist(tmp_path, "hookfail", """
        import zoo
        @zoo.hookimpl
        def register_metrics(register):
            raise ValueError('bad hook')
    """, "zoo_hookfail_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh_plugins.reset()
    report = {p.name: p for p in plugins.plugin_report()}
    assert "RuntimeError: boom at import" in report["broken"].error
    assert "register_metrics: ValueError: bad hook" in report["hookfail"].error
    assert "psnr" in zoo.list_metrics()  # the others keep working
    from zoo.cli import main

    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "broken" in out and "boom at import" in out


def test_hook_api_version_mismatch_is_a_clear_error(fresh_plugins, tmp_path, monkeypatch):
    _fake_dist(tmp_path, "future", "ZOO_HOOK_API = 99\n", "zoo_future_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh_plugins.reset()
    err = {p.name: p for p in plugins.plugin_report()}["future"].error
    assert "hook API version 99" in err and "version 1" in err


def test_duplicate_name_is_ambiguous_until_chosen_and_other_registrations_stand(fresh_plugins, monkeypatch):
    class Dup:
        @zoo.hookimpl
        def register_metrics(self, register):
            register("psnr", object)
            register("dup-own-metric", "zoo.metrics.fidelity:PSNR")

    plugins.register_plugin(Dup(), "dupper")
    try:
        info = {p.name: p for p in plugins.plugin_report()}["dupper"]
        assert info.error is None
        assert any("duplicate metric 'psnr'" in w and "'builtin'" in w for w in info.warnings)
        reg = plugins.registry()
        with pytest.raises(zoo.errors.PluginError, match=r"'psnr' is registered by 2 plugins \('builtin', 'dupper'\).*ZOO_PREFER"):
            reg.get("metrics", "psnr")  # a built-in is never replaced (nor kept) silently
        assert reg.get("metrics", "dup-own-metric").plugin == "dupper"  # the plugin's other registrations stand
        for choice, winner in (("psnr=dupper", "dupper"), ("builtin", "builtin")):
            monkeypatch.setenv("ZOO_PREFER", choice)
            plugins._state["registry"] = None
            assert plugins.registry().get("metrics", "psnr").plugin == winner
            assert plugins.plugin_choices()["metrics/psnr"]["plugin"] == winner
    finally:
        plugins.unregister_plugin("dupper")


def test_inline_plugin_registers_a_method(fresh_plugins):
    from zoo.tasks import SuperResolver

    class Twice(SuperResolver):
        scale = 2

        def _upscale(self, lr):
            return lr.repeat_interleave(2, -1).repeat_interleave(2, -2)

    class Inline:
        @zoo.hookimpl
        def register_methods(self, register):
            register("twice", Twice, task="super-resolution")

        @zoo.hookimpl
        def register_catalog(self, register):
            register("twice.test", {"task": "super-resolution", "factory": "twice"})

    plugins.register_plugin(Inline(), "inline")
    try:
        m = zoo.load("twice.test")
        assert m.upscale(__import__("torch").rand(1, 3, 4, 4)).shape == (1, 3, 8, 8)
    finally:
        plugins.unregister_plugin("inline")


def test_unknown_names_list_close_matches():
    with pytest.raises(UnknownNameError, match="Did you mean: psnr"):
        zoo.metric("psnrr")
    with pytest.raises(UnknownNameError, match="bicubic.classical"):
        zoo.load("bicubic.clasical")
    with pytest.raises(UnknownNameError, match="samples"):
        zoo.dataset("sample")


def test_every_hook_is_documented():
    import inspect
    from pathlib import Path

    from zoo import hookspecs

    doc = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()
    hooks = [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("register_")]
    assert len(hooks) == 7
    for name in hooks:
        sig = f"{name}{inspect.signature(getattr(hookspecs, name))}"
        assert f"## `{sig}`" in doc, f"docs/plugins.md lacks a heading for {sig}"
