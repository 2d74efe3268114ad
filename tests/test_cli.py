import json

import numpy as np
from PIL import Image

from zoo.cli import main


def test_list_json_and_filters(capsys):
    assert main(["list", "--task", "compression", "--json"]) == 0
    cards = json.loads(capsys.readouterr().out)
    assert cards and all(c["task"] == "compression" for c in cards)
    assert main(["list", "--available", "--pattern", "espcn*"]) == 0
    assert "espcn-x4.samples" in capsys.readouterr().out


def test_info_and_unknown_id(capsys):
    assert main(["info", "espcn-x4.samples", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["available"] and info["paper"] == "arXiv:1609.05158"
    assert main(["info", "espcn-x4.sample"]) == 2
    assert "Did you mean: espcn-x4.samples" in capsys.readouterr().err


def test_run_applies_method_to_files(tmp_path, capsys):
    src = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 20, 3), dtype=np.uint8)).save(src)
    assert main(["run", "bicubic.classical", str(src), "-o", str(tmp_path / "out"), "--setting", "scale=2"]) == 0
    assert Image.open(tmp_path / "out" / "in.png").size == (40, 32)
    assert main(["run", "jpeg.pil", str(src), "-o", str(tmp_path / "c"), "--setting", "quality=30"]) == 0
    assert (tmp_path / "c" / "in.bin").stat().st_size > 0
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    assert main(["run", "bicubic.classical", str(bad), "-o", str(tmp_path / "o2"), "--setting", "scale=2"]) == 1
    assert "bad.png" in capsys.readouterr().err


def test_fetch_offline_fails_fast_for_unpinned_or_missing(capsys):
    assert main(["fetch", "espcn-x4.samples"]) == 0  # bundled: verified in place
    assert "sha256 verified" in capsys.readouterr().out


def test_fetch_reports_unmirrored_unpinned_and_datasets(capsys, tmp_path, monkeypatch):
    assert main(["fetch", "edsr.div2k"]) == 3
    err = capsys.readouterr().err
    assert "edsr_x2-0edfb8a3.pt" in err and "--weights" in err
    assert main(["fetch", "pulse-sg1.ffhq-1024"]) == 3  # two parts on Google Drive: the steps by hand, per part
    err = capsys.readouterr().err
    assert "Google Drive" in err and "--weights synthesis=FILE" in err and "--weights mapping=FILE" in err
    assert main(["fetch", "realesrgan-x4plus.df2k-ost"]) == 3  # pinned Hub mirror, offline: names both ways to get it
    err = capsys.readouterr().err
    assert "zoo fetch realesrgan-x4plus.df2k-ost" in err and "--from-source" in err
    assert main(["fetch", "--dataset", "bsd100"]) == 3
    assert "not a pinned" in capsys.readouterr().err
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert main(["fetch", "--dataset", "kodak"]) == 3  # offline, nothing cached: fails, naming the way out
    assert "HF_HUB_CACHE" in capsys.readouterr().err


def test_plugins_json(capsys):
    assert main(["plugins", "--json"]) == 0
    names = {p["name"] for p in json.loads(capsys.readouterr().out)}
    assert {"builtin", "example", "superres", "compression"} <= names


def test_plugin_commands_get_every_argument_and_cannot_take_a_core_verb(fresh_plugins, capsys):
    import zoo
    from zoo import plugins

    seen = []

    def hello(argv):
        seen.append(argv)
        return 7

    class P:
        @zoo.hookimpl
        def register_commands(self, register):
            register("hello", hello, help="says hello")
            register("list", hello, help="tries to replace zoo list")

    plugins.register_plugin(P(), "cmds")
    try:
        assert main(["hello", "x", "--flag", "-o", "y"]) == 7 and seen == [["x", "--flag", "-o", "y"]]
        assert main(["list", "--json"]) == 0 and len(seen) == 1  # zoo's own verb wins
        assert "ignored" in capsys.readouterr().err
    finally:
        plugins.unregister_plugin("cmds")
