"""Issue #18, items 1, 11 and 12: `zoo run` never destroys a file; one handler maps errors to exit codes.

Every case asserts the exit code, the words of the message that tell the user what to do,
and that nothing else changed (the inputs' bytes, files already in the output folder).
"""

from __future__ import annotations

import os
import struct
import zlib

import pandas as pd
import pytest
import torch
from PIL import Image

from reliability_helpers import cli, digest, png

# -- item 1: zoo run never destroys a user's file -------------------------------------------------


def test_run_refuses_to_write_over_its_input(tmp_path, capsys):
    same = tmp_path / "same"
    png(same / "photo.png")
    before = digest(same)
    code, _, err = cli(capsys, "run", "jpeg.pil", same / "photo.png", "-o", same, "--setting", "quality=5")
    assert code == 2 and "one of the inputs" in err and "photo.png" in err
    assert digest(same) == before  # the photo is intact and nothing was added


def test_run_refuses_to_write_over_its_input_even_with_overwrite(tmp_path, capsys):
    same = tmp_path / "same"
    png(same / "photo.png")
    before = digest(same)
    code, _, err = cli(capsys, "run", "bicubic.classical", same / "photo.png", "-o", same, "--setting", "scale=2", "--overwrite")
    assert code == 2 and "would be destroyed" in err
    assert digest(same) == before


def test_run_same_names_in_two_folders_are_both_kept(tmp_path, capsys):
    a, b = png(tmp_path / "a" / "x.png", seed=1), png(tmp_path / "b" / "x.png", seed=2)
    before = digest(tmp_path)
    code, out, _ = cli(capsys, "run", "jpeg.pil", a, b, "-o", tmp_path / "out", "--setting", "quality=30")
    assert code == 0
    outs = tmp_path / "out"
    assert (outs / "a" / "x.png").is_file() and (outs / "b" / "x.png").is_file()
    assert (outs / "a" / "x.bin").read_bytes() != (outs / "b" / "x.bin").read_bytes()  # two images, two streams
    assert {k: v for k, v in digest(tmp_path).items() if not k.startswith("out")} == before


def test_run_same_stem_different_extensions_are_both_kept(tmp_path, capsys):
    p = png(tmp_path / "x.png", seed=1)
    j = tmp_path / "x.jpg"
    Image.open(png(tmp_path / "tmp.png", seed=2)).save(j)
    code, _, _ = cli(capsys, "run", "bicubic.classical", p, j, "-o", tmp_path / "out", "--setting", "scale=2")
    assert code == 0
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == ["x-jpg.png", "x-png.png"]


def test_run_refuses_existing_output_without_overwrite(tmp_path, capsys):
    src = png(tmp_path / "in" / "p.png")
    out = tmp_path / "out"
    png(out / "p.png", seed=9)
    before = digest(out)
    code, _, err = cli(capsys, "run", "bicubic.classical", src, "-o", out, "--setting", "scale=2")
    assert code == 2 and "--overwrite" in err and "p.png" in err
    assert digest(out) == before


def test_run_overwrite_replaces_outputs_only(tmp_path, capsys):
    src = png(tmp_path / "in" / "p.png")
    out = tmp_path / "out"
    png(out / "p.png", seed=9)
    png(out / "keep.png", seed=3)
    keep = digest(out)["keep.png"]
    code, _, _ = cli(capsys, "run", "bicubic.classical", src, "-o", out, "--setting", "scale=2", "--overwrite")
    assert code == 0
    assert Image.open(out / "p.png").size == (40, 32) and digest(out)["keep.png"] == keep


def test_run_input_given_twice_is_processed_once(tmp_path, capsys):
    src = png(tmp_path / "p.png")
    code, out, err = cli(capsys, "run", "bicubic.classical", src, src, "-o", tmp_path / "o", "--setting", "scale=2")
    assert code == 0 and "more than once" in err and out.count("p.png") == 1


def test_run_output_is_an_existing_file(tmp_path, capsys):
    src = png(tmp_path / "p.png")
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    code, _, err = cli(capsys, "run", "bicubic.classical", src, "-o", target, "--setting", "scale=2")
    assert code == 2 and "is a file" in err and target.read_text() == "mine"


def test_run_output_folder_not_writable(tmp_path, capsys, monkeypatch):
    src = png(tmp_path / "p.png")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the permission check see what a user would
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m, **k: False if os.fspath(p) == str(ro) else real(p, m, **k))
    try:
        code, _, err = cli(capsys, "run", "bicubic.classical", src, "-o", ro, "--setting", "scale=2")
    finally:
        ro.chmod(0o755)
    assert code == 2 and "not writable" in err and list(ro.iterdir()) == []


def test_run_missing_input_is_refused_before_anything_is_written(tmp_path, capsys):
    good = png(tmp_path / "p.png")
    code, _, err = cli(capsys, "run", "bicubic.classical", good, tmp_path / "nope.png", "-o", tmp_path / "o", "--setting", "scale=2")
    assert code == 2 and "nope.png" in err and "no such file" in err
    assert not (tmp_path / "o").exists()


def test_run_one_corrupt_input_fails_alone(tmp_path, capsys):
    good = png(tmp_path / "p.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(100))
    code, out, err = cli(capsys, "run", "bicubic.classical", good, bad, "-o", tmp_path / "o", "--setting", "scale=2")
    assert code == 1 and "bad.png" in err and "p.png" in out
    assert (tmp_path / "o" / "p.png").is_file() and not (tmp_path / "o" / "bad.png").exists()


def _png_header_only(path, width: int, height: int) -> None:
    """A few hundred bytes claiming a huge image (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_run_pixel_bomb_is_refused_before_decoding(tmp_path, capsys):
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 100_000, 100_000)
    code, _, err = cli(capsys, "run", "bicubic.classical", bomb, "-o", tmp_path / "o", "--setting", "scale=2")
    assert code == 1 and "ZOO_MAX_PIXELS" in err and "pixel limit" in err


def test_run_memory_estimate_counts_the_scale(tmp_path, capsys, monkeypatch):
    src = png(tmp_path / "p.png", 200, 200)
    monkeypatch.setenv("ZOO_MAX_MEMORY_MB", "10")  # 24 B x 40000 px x (1 + 16) = 16 MB at x4; 3.8 MB at x1
    code, _, err = cli(capsys, "run", "bicubic.classical", src, "-o", tmp_path / "o4", "--setting", "scale=4")
    assert code == 1 and "ZOO_MAX_MEMORY_MB" in err and "x4" in err
    code, _, _ = cli(capsys, "run", "jpeg.pil", src, "-o", tmp_path / "o1", "--setting", "quality=50")
    assert code == 0


# -- item 11: no traceback for a user's own mistake -----------------------------------------------


@pytest.mark.parametrize("setting, words", [
    ("quality=50.7", ["quality=50.7", "integer in 0..100"]),
    ("quality=101", ["quality=101", "0..100"]),
    ("qualty=50", ["qualty", "no option"]),
])
def test_run_bad_setting(tmp_path, capsys, setting, words):
    src = png(tmp_path / "p.png")
    code, _, err = cli(capsys, "run", "jpeg.pil", src, "-o", tmp_path / "o", "--setting", setting)
    assert code == 2 and all(w in err for w in words) and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_run_fixed_param_of_a_trained_model(tmp_path, capsys):
    code, _, err = cli(capsys, "run", "espcn-x4.samples", png(tmp_path / "p.png"), "-o", tmp_path / "o", "--setting", "scale=2")
    assert code == 2 and "scale=2" in err and "allowed: 4" in err


def test_setting_without_equals(tmp_path, capsys):
    code, _, err = cli(capsys, "run", "jpeg.pil", png(tmp_path / "p.png"), "-o", tmp_path / "o", "--setting", "quality")
    assert code == 2 and "KEY=VALUE" in err


@pytest.mark.parametrize("device, words", [("banana", ["not a device", "cpu"]), ("cuda:banana", ["not a device"]),
                                           ("meta", ["cpu, cuda or mps"])])
def test_bad_device(tmp_path, capsys, device, words):
    code, _, err = cli(capsys, "run", "bicubic.classical", png(tmp_path / "p.png"), "-o", tmp_path / "o",
                       "--setting", "scale=2", "--device", device)
    assert code == 2 and all(w in err for w in words) and not (tmp_path / "o").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_cuda_device_without_a_gpu(tmp_path, capsys):
    for verb in (["run", "bicubic.classical", png(tmp_path / "p.png"), "-o", tmp_path / "o", "--setting", "scale=2"],
                 ["bench", "quick", "-o", tmp_path / "b", "--no-progress"]):
        code, _, err = cli(capsys, *verb, "--device", "cuda")
        assert code == 2 and "no CUDA GPU" in err and "--device cpu" in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "b").exists()


def test_weights_of_another_architecture(tmp_path, capsys):
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"conv.weight": torch.zeros(3, 3, 1, 1)}, str(other))
    before = digest(other)
    code, _, err = cli(capsys, "run", "espcn-x4.samples", png(tmp_path / "p.png"), "-o", tmp_path / "o", "--weights", other)
    assert code == 3 and "does not fit espcn-x4.samples" in err and "architecture" in err
    assert digest(other) == before and not (tmp_path / "o").exists()


def test_weights_on_a_method_without_weights(tmp_path, capsys):
    ckpt = tmp_path / "w.pth"
    torch.save({"a": torch.zeros(1)}, ckpt)
    code, _, err = cli(capsys, "run", "bicubic.classical", png(tmp_path / "p.png"), "-o", tmp_path / "o",
                       "--setting", "scale=2", "--weights", ckpt)
    assert code == 3 and "has no weights" in err and "drop --weights" in err


def test_convert_checkpoint_of_another_architecture(tmp_path, capsys):
    ckpt = tmp_path / "w.pth"
    torch.save({"a": torch.zeros(1)}, ckpt)
    code, _, err = cli(capsys, "convert", "espcn-x4.samples", ckpt, "-o", tmp_path / "m.safetensors")
    assert code == 3 and "does not fit" in err and not (tmp_path / "m.safetensors").exists()


def test_random_bytes_checkpoint_is_not_called_a_pickle(tmp_path, capsys):
    junk = tmp_path / "model.pth"
    junk.write_bytes(os.urandom(4096).replace(b"\x80", b"\x81"))
    for verb in (["run", "espcn-x4.samples", png(tmp_path / "p.png"), "-o", tmp_path / "o", "--weights", junk],
                 ["convert", "espcn-x4.samples", junk, "-o", tmp_path / "m.safetensors"]):
        code, _, err = cli(capsys, *verb)
        assert code == 3 and "not a PyTorch checkpoint" in err and "Python objects" not in err


def test_truncated_safetensors(tmp_path, capsys):
    from safetensors.torch import save_file

    f = tmp_path / "w.safetensors"
    save_file({"a": torch.zeros(100)}, str(f))
    f.write_bytes(f.read_bytes()[:40])
    code, _, err = cli(capsys, "run", "espcn-x4.samples", png(tmp_path / "p.png"), "-o", tmp_path / "o", "--weights", f)
    assert code == 3 and "not a valid safetensors file" in err


@pytest.mark.parametrize("value", ["abc", "-5", "0", "1.5"])
def test_bad_max_pixels_environment(tmp_path, capsys, monkeypatch, value):
    monkeypatch.setenv("ZOO_MAX_PIXELS", value)
    code, _, err = cli(capsys, "run", "bicubic.classical", png(tmp_path / "p.png"), "-o", tmp_path / "o", "--setting", "scale=2")
    assert code == 1 and "ZOO_MAX_PIXELS" in err and "positive whole number" in err and "Traceback" not in err


def test_zoo_cache_pointing_at_a_file(tmp_path, monkeypatch):
    from zoo.errors import ConfigError
    from zoo.weights import zoo_cache_dir

    f = tmp_path / "cache"
    f.write_text("not a folder")
    monkeypatch.setenv("ZOO_CACHE", str(f))
    with pytest.raises(ConfigError, match="is a file, not a folder; point ZOO_CACHE"):
        zoo_cache_dir()
    assert f.read_text() == "not a folder"


def test_debug_shows_the_traceback_and_default_does_not(tmp_path, capsys):
    args = ["run", "bicubic.classical", png(tmp_path / "p.png"), "-o", tmp_path / "o", "--device", "banana"]
    code, _, err = cli(capsys, *args)
    assert code == 2 and "Traceback" not in err
    code, _, err = cli(capsys, "--debug", *args)
    assert code == 2 and "Traceback" in err and "not a device" in err
    code, _, err = cli(capsys, *args, "--debug")
    assert code == 2 and "Traceback" in err


def _command_plugin(fresh_plugins, exc):
    import zoo

    def boom(argv):
        raise exc

    class P:
        @zoo.hookimpl
        def register_commands(self, register):
            register("boom", boom, help="raises")

    fresh_plugins.register_plugin(P(), "boomplugin")


@pytest.mark.parametrize("exc, code, words", [
    (RuntimeError("kaput"), 4, ["internal error", "RuntimeError: kaput", "--debug"]),
    (PermissionError(13, "Permission denied", "/root/x"), 2, ["/root/x", "Permission denied"]),
    (KeyboardInterrupt(), 130, ["interrupted", "resume"]),
    (MemoryError(), 2, ["out of memory", "ZOO_MAX_MEMORY_MB"]),
])
def test_error_families_map_to_exit_codes(fresh_plugins, capsys, exc, code, words):
    _command_plugin(fresh_plugins, exc)
    got, _, err = cli(capsys, "boom")
    assert got == code and all(w in err for w in words) and "Traceback" not in err


# -- item 12: diagnostics that do not mislead -------------------------------------------------------


def test_fetch_unknown_dataset_suggests(capsys):
    code, _, err = cli(capsys, "fetch", "--dataset", "sett5")
    assert code == 2 and "Unknown dataset 'sett5'" in err and "Did you mean: set5" in err


def _results(folder, value):
    folder.mkdir()
    pd.DataFrame([{"run": "r", "suite": "s", "benchmark": "b", "task": "t", "dataset": "d", "item": "*", "method": "m",
                   "setting": "{}", "metric": "psnr", "value": value, "fingerprint": "", "status": "ok", "error": "",
                   "attributes": ""}]).to_csv(folder / "results.csv", index=False)
    return folder


@pytest.mark.parametrize("tol", ["psnr=nan", "psnr=-1", "=0.1", "psnr=abc"])  # inf is allowed: it ignores a metric
def test_compare_rejects_bad_tolerances(tmp_path, capsys, tol):
    a, b = _results(tmp_path / "a", 30.0), _results(tmp_path / "b", 30.0)
    code, _, err = cli(capsys, "compare", a, b, "--tolerance", tol)
    assert code == 2 and "--tolerance" in err


def test_compare_nan_vs_nan_is_documented_and_configurable(tmp_path, capsys):
    a, b = _results(tmp_path / "a", float("nan")), _results(tmp_path / "b", float("nan"))
    assert cli(capsys, "compare", a, b)[0] == 0
    code, out, _ = cli(capsys, "compare", a, b, "--nan-is-drift")
    assert code == 1 and "psnr" in out


@pytest.mark.parametrize("damage", [b"", b"PAR1 not really parquet", b"run,suite\n1,2\n"])
def test_report_and_compare_on_a_damaged_results_file(tmp_path, capsys, damage):
    run = tmp_path / "run"
    run.mkdir()
    name = "results.csv" if damage.startswith(b"run") else "results.parquet"
    (run / name).write_bytes(damage)
    (run / "leaderboard.md").write_text("# board\n")
    good = _results(tmp_path / "good", 1.0)
    for verb in (["report", run], ["compare", run, good], ["compare", good, run]):
        code, _, err = cli(capsys, *verb)
        assert code == 2 and "damaged or not a results table" in err and "zoo bench" in err and "Traceback" not in err
    assert (run / name).read_bytes() == damage


def test_a_setting_that_is_not_yaml_is_a_usage_error(tmp_path, capsys):
    img = png(tmp_path / "a.png")
    code, _, err = cli(capsys, "run", "bicubic.classical", str(img), "-o", str(tmp_path / "o"), "--setting", "scale=[4")
    assert code == 2 and "--setting" in err and "not a value" in err and "Traceback" not in err


def test_an_infinite_tolerance_ignores_nan_against_a_number(tmp_path, capsys):
    a, b = _results(tmp_path / "a", float("nan")), _results(tmp_path / "b", 30.0)
    assert cli(capsys, "compare", a, b)[0] == 1
    assert cli(capsys, "compare", a, b, "--tolerance", "psnr=inf")[0] == 0

