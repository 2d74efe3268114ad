"""Issue #26, items 1-7: numbers that cannot be silently wrong.

Each case is a hostile but ordinary input that used to give wrong numbers with exit 0 (or an
internal error). Each test checks the exit code, the message, and that the numbers already
in the run folder (or of the other rows) did not change.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import textwrap

import pandas as pd
import pytest

import zoo
from reliability_helpers import TINY, cli, digest, png, write_suite

FOLDER_SUITE = """
name: {name}
seed: {seed}
benchmarks:
  - name: c
    task: compression
    dataset: {{name: folder, path: '{path}'{extra}}}
    methods: [png.pil]
    metrics: [{metrics}]
"""


def folder_suite(path, ds, name="f", seed=0, extra="", metrics="bpp, psnr"):
    return write_suite(path, FOLDER_SUITE.format(name=name, seed=seed, path=ds, extra=extra, metrics=metrics))


def images(folder, names, seed=0):
    for i, n in enumerate(names):
        png(folder / n, 24, 24, seed + i)
    return folder


def results(run) -> pd.DataFrame:
    df = pd.read_parquet(run / "results.parquet")
    return df[(df.status == "ok") & (df.item != "*")].sort_values(["method", "setting", "item", "metric"]).reset_index(drop=True)


def values(run, metric="psnr") -> dict:
    df = results(run)
    return {(r.method, r.setting, r.item): r.value for r in df[df.metric == metric].itertuples()}


@pytest.fixture(scope="module")
def _template_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("template")
    suite = write_suite(root / "tiny.yaml", TINY)
    zoo.bench(str(suite), out=root / "base", progress=False)
    return root / "base"


@pytest.fixture
def base_run(tmp_path, _template_run):
    """A finished run of the tiny suite (a copy per test): the folder each refused case must leave as it was."""
    out = tmp_path / "base"
    shutil.copytree(_template_run, out)
    return out


# -- item 1: one id, one image ----------------------------------------------------------------------

def test_two_files_of_one_stem_are_refused_naming_both(tmp_path, capsys, base_run):
    ds = images(tmp_path / "ds", ["a.png", "b.png"])
    png(ds / "a.jpg", 24, 24, 7)  # another image, same stem: used to be a second row of item 'a'
    before = digest(base_run)
    code, _, err = cli(capsys, "bench", folder_suite(tmp_path / "s.yaml", ds), "-o", base_run, "--no-progress")
    assert code == 2, err
    assert f"{ds / 'a.jpg'}" in err and f"{ds / 'a.png'}" in err and "item 'a'" in err
    assert "s.yaml:" in err  # file:line of the suite
    assert digest(base_run) == before


def test_compare_of_a_run_with_itself_passes(tmp_path, capsys):
    ds = images(tmp_path / "ds", ["a.png", "sub/a.png", "b.jpg"])  # 'a' and 'sub/a' are two items
    out = tmp_path / "r"
    code, _, err = cli(capsys, "bench", folder_suite(tmp_path / "s.yaml", ds), "-o", out, "--no-progress")
    assert code == 0, err
    df = results(out)
    assert sorted(set(df.item)) == ["a", "b", "sub/a"]
    assert not df.duplicated(["method", "setting", "item", "metric"]).any()
    code, _, err = cli(capsys, "compare", out, out)
    assert code == 0, err


# -- item 2: no metric column shared with the harness's own columns -----------------------------------

@pytest.mark.parametrize("alias, words", [
    ("runtime_ms", ["'runtime_ms'", "column the harness writes"]),
    ("params", ["'params'", "column the harness writes"]),
    ("decode_ms", ["'decode_ms'"]),
    ("ssim", ["name of metric 'ssim'", "holds psnr"]),
    ("psnr:gap", ["':'"]),
])
def test_reserved_metric_alias_is_refused_with_file_and_line(tmp_path, capsys, base_run, alias, words):
    suite = write_suite(tmp_path / "s.yaml", TINY.replace("metrics: [psnr]", f"metrics: [{{name: psnr, as: '{alias}'}}]"))
    before = digest(base_run)
    code, _, err = cli(capsys, "bench", suite, "-o", base_run, "--no-progress")
    assert code == 2, err
    assert f"{suite}:10:" in err and all(w in err for w in words), err
    assert digest(base_run) == before


# -- item 3: a part is the unit its name says -------------------------------------------------------

def test_part_copied_over_another_is_quarantined_and_recomputed(tmp_path, capsys, base_run):
    want = values(base_run)
    parts = sorted((base_run / "parts").glob("*.parquet"))
    assert len(parts) == 2
    a, b = parts
    b_rows = pd.read_parquet(b)
    shutil.copyfile(a, b)  # b's name now holds a's rows (another method's numbers)
    suite = write_suite(tmp_path / "tiny.yaml", TINY)
    code, _, err = cli(capsys, "bench", suite, "-o", base_run, "--no-progress")
    assert code == 0, err
    assert f"stored unit {b.name.split('.')[0]}" in err and "not" in err and "quarantine" in err
    assert values(base_run) == want  # each method keeps its own numbers
    cols = ["method", "item", "metric", "value"]
    fresh = pd.read_parquet(b)
    assert fresh[fresh.metric == "psnr"][cols].reset_index(drop=True).equals(b_rows[b_rows.metric == "psnr"][cols].reset_index(drop=True))
    assert list((base_run / "parts" / "quarantine").glob(f"{b.name}.*.damaged"))


def test_part_with_altered_rows_is_quarantined(tmp_path, capsys, base_run):
    want = values(base_run)
    part = sorted((base_run / "parts").glob("*.parquet"))[0]
    import pyarrow.parquet as pq

    table = pq.read_table(part)
    df = table.to_pandas()
    df.loc[df.metric == "psnr", "value"] += 5.0  # a part edited in place keeps its key but not its checksum
    pq.write_table(__import__("pyarrow").Table.from_pandas(df, preserve_index=False).replace_schema_metadata(
        table.schema.metadata), part)
    code, _, err = cli(capsys, "bench", write_suite(tmp_path / "tiny.yaml", TINY), "-o", base_run, "--no-progress")
    assert code == 0 and "checksum" in err, err
    assert values(base_run) == want


# -- item 4: where a run may write and read ---------------------------------------------------------

def test_output_inside_the_dataset_folder_is_refused(tmp_path, capsys):
    ds = images(tmp_path / "ds", ["a.png", "b.png"])
    before = digest(ds)
    code, _, err = cli(capsys, "bench", folder_suite(tmp_path / "s.yaml", ds), "-o", ds / "run", "--no-progress")
    assert code == 2 and "inside the dataset folder" in err and str(ds) in err, err
    assert digest(ds) == before and not (ds / "run").exists()


def test_suite_name_is_a_folder_name_under_runs(tmp_path, capsys, monkeypatch):
    ds = images(tmp_path / "data" / "ds", ["a.png"])
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    suite = folder_suite(tmp_path / "s.yaml", ds, name="'../../../x/y'")
    code, _, err = cli(capsys, "bench", suite, "--no-progress")
    assert code == 0, err
    assert [p.name for p in (work / "runs").iterdir()] == ["x-y"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "s.yaml", "work"]  # nothing written outside runs/
    assert json.loads((work / "runs" / "x-y" / "meta.json").read_text())["suite"] == "../../../x/y"


def test_relative_dataset_path_follows_the_suite_file(tmp_path, capsys, monkeypatch):
    images(tmp_path / "ds", ["a.png", "b.png", "c.png"])
    (tmp_path / "suites").mkdir()
    elsewhere = tmp_path / "elsewhere"
    images(elsewhere / "ds", ["z.png"])  # what the current folder would have given
    monkeypatch.chdir(elsewhere)
    suite = folder_suite(tmp_path / "suites" / "s.yaml", "../ds")
    code, _, err = cli(capsys, "bench", suite, "-o", tmp_path / "r", "--no-progress")
    assert code == 0, err
    assert sorted(set(results(tmp_path / "r").item)) == ["a", "b", "c"]


@pytest.mark.parametrize("extra, ds, words", [
    (", pattern: '../*'", "ds", ["'../*'", "outside the folder"]),
    (", pattern: '[ab.png'", "ds", ["'[ab.png'", "not a valid glob"]),
    (", pattern: '*.tif'", "ds", ["no images matching '*.tif'"]),
    ("", "missing", ["missing does not exist", "allow_unavailable"]),
])
def test_bad_folder_dataset_is_a_validation_error(tmp_path, capsys, base_run, extra, ds, words):
    images(tmp_path / "ds", ["a.png"])
    suite = folder_suite(tmp_path / "s.yaml", tmp_path / ds, extra=extra)
    before = digest(base_run)
    code, _, err = cli(capsys, "bench", suite, "-o", base_run, "--no-progress")
    assert code == 2, err
    assert f"{suite}:6:" in err and all(w in err for w in words), err
    assert digest(base_run) == before


def test_missing_folder_listed_in_allow_unavailable_is_reported_not_failed(tmp_path, capsys):
    images(tmp_path / "ds", ["a.png"])
    body = FOLDER_SUITE.format(name="f", seed=0, path=tmp_path / "ds", extra="", metrics="bpp") + textwrap.indent(textwrap.dedent(f"""
        - name: absent
          task: compression
          dataset: {{name: folder, path: '{tmp_path / "nope"}'}}
          methods: [png.pil]
          metrics: [bpp]
          allow_unavailable: [dataset]
        """), "  ")
    out = tmp_path / "r"
    code, _, err = cli(capsys, "bench", write_suite(tmp_path / "s.yaml", body), "-o", out, "--no-progress")
    assert code == 0, err
    assert "absent/dataset" in err
    df = pd.read_parquet(out / "results.parquet")
    assert (df[df.benchmark == "absent"].status == "unavailable").all()
    assert set(df[(df.benchmark == "c") & (df.metric == "bpp")].status) == {"ok"}


def test_run_folder_of_another_suite_is_refused_without_force(tmp_path, capsys, base_run):
    ds = images(tmp_path / "ds", ["a.png"])
    suite = folder_suite(tmp_path / "s.yaml", ds, name="other")
    before = digest(base_run)
    code, _, err = cli(capsys, "bench", suite, "-o", base_run, "--no-progress")
    assert code == 2 and "suite 'tiny'" in err and "--force" in err, err
    assert digest(base_run) == before
    code, _, err = cli(capsys, "bench", suite, "-o", base_run, "--no-progress", "--force")
    assert code == 0, err
    assert json.loads((base_run / "meta.json").read_text())["suite"] == "other"


# -- item 5: plugin precedence ----------------------------------------------------------------------

IMPOSTOR = """
import zoo

@zoo.hookimpl
def register_catalog(register):
    register("bicubic.classical", {"task": "super-resolution", "factory": "interpolation",
                                    "params": {"kernel": "nearest"}, "settings": [{"scale": 4}],
                                    "license": "MIT", "description": "not bicubic at all"})
"""


def test_two_plugins_registering_one_id_is_an_error_until_chosen(fresh_plugins, tmp_path, monkeypatch, capsys, base_run):
    want = values(base_run)
    site = tmp_path / "site"
    site.mkdir()
    (site / "zoo_impostor.py").write_text(textwrap.dedent(IMPOSTOR))
    info = site / "zoo_impostor-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo_impostor\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zoo]\naaa-impostor = zoo_impostor\n")  # sorts before 'superres'
    monkeypatch.syspath_prepend(str(site))
    fresh_plugins.reset()
    suite = write_suite(tmp_path / "tiny.yaml", TINY)
    before = digest(base_run)
    code, _, err = cli(capsys, "bench", suite, "-o", base_run, "--no-progress")
    assert code == 2, err
    assert "'bicubic.classical' is registered by 2 plugins" in err and "'aaa-impostor'" in err and "'superres'" in err
    assert "ZOO_PREFER" in err and f"{suite}:" in err
    assert digest(base_run) == before
    code, out, _ = cli(capsys, "plugins")
    assert "catalo " not in out and "catalog entry" in out
    monkeypatch.setenv("ZOO_PREFER", "bicubic.classical=superres")
    fresh_plugins.reset()
    code, _, err = cli(capsys, "bench", suite, "-o", base_run, "--no-progress")
    assert code == 0, err
    assert values(base_run) == want  # the built-in's numbers, under its name
    choice = json.loads((base_run / "meta.json").read_text())["plugin_choices"]["catalog/bicubic.classical"]
    assert choice["plugin"] == "superres" and choice["by"] == "ZOO_PREFER=bicubic.classical=superres"
    assert choice["registered_by"] == ["aaa-impostor", "superres"]


# -- item 6: special files and sizes ----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder"])
def test_weights_that_are_not_a_regular_file_are_refused_at_once(tmp_path, capsys, kind):
    image = png(tmp_path / "x.png", 16, 16)
    if kind == "dev-zero":
        weights = "/dev/zero"
    elif kind == "fifo":
        weights = tmp_path / "w.safetensors"
        os.mkfifo(weights)  # reading it would block forever
    else:
        weights = tmp_path / "wdir"
        weights.mkdir()
    code, _, err = cli(capsys, "run", "espcn-x4.samples", "--weights", weights, image, "-o", tmp_path / "o")
    assert code == 3, err
    assert str(weights) in err and ("not a regular file" in err or "is a folder" in err), err
    assert not (tmp_path / "o" / "x.png").exists()


def test_suite_file_that_is_a_fifo_is_refused(tmp_path, capsys):
    fifo = tmp_path / "s.yaml"
    os.mkfifo(fifo)
    code, _, err = cli(capsys, "bench", fifo, "-o", tmp_path / "r", "--no-progress")
    assert code == 2 and "not a regular file" in err and str(fifo) in err, err


def _espcn_state():
    return zoo.load("espcn-x4.samples").state_dict()


def test_integer_tensors_are_refused_key_by_key(tmp_path, capsys):
    import torch
    from safetensors.torch import save_file

    state = {k: v.clone() for k, v in _espcn_state().items()}
    ints = sorted(state)[:2]
    for k in ints:
        state[k] = (state[k] * 100).to(torch.int32)  # used to be cast into the float model silently
    path = tmp_path / "w.safetensors"
    save_file(state, str(path))
    image = png(tmp_path / "x.png", 16, 16)
    code, _, err = cli(capsys, "run", "espcn-x4.samples", "--weights", path, image, "-o", tmp_path / "o")
    assert code == 3, err
    assert all(f"{k} (torch.int32 in the file, torch.float32 in the model)" in err for k in ints), err
    assert not (tmp_path / "o" / "x.png").exists()
    # the same tensors as floats load, and give the catalog's output
    save_file({k: v.contiguous() for k, v in _espcn_state().items()}, str(path))
    code, _, err = cli(capsys, "run", "espcn-x4.samples", "--weights", path, image, "-o", tmp_path / "o")
    assert code == 0, err


def test_safetensors_header_past_the_end_is_refused_before_reading(tmp_path, capsys):
    path = tmp_path / "w.safetensors"
    header = json.dumps({"w": {"dtype": "F32", "shape": [1 << 30], "data_offsets": [0, 4 << 30]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)  # claims 4 GiB of data in 16 bytes
    code, _, err = cli(capsys, "run", "espcn-x4.samples", "--weights", path, png(tmp_path / "x.png"), "-o", tmp_path / "o")
    assert code == 3 and "'w' lies outside the file" in err, err
    path.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")  # a header length of 1 TiB
    code, _, err = cli(capsys, "run", "espcn-x4.samples", "--weights", path, png(tmp_path / "x.png"), "-o", tmp_path / "o")
    assert code == 3 and "header claims" in err, err


# -- item 7: a user's value is never an internal error ----------------------------------------------

@pytest.mark.parametrize("seed, words", [
    ("-1", ["seed must be a whole number from 0 to 4294967295", "-1"]),
    ("99999999999999999999999", ["seed must be a whole number from 0"]),
    ("9" * 5000, ["cannot be read", "digits"]),
])
def test_bad_seed_is_a_usage_error(tmp_path, capsys, base_run, seed, words):
    suite = write_suite(tmp_path / "s.yaml", TINY.replace("name: tiny", f"name: tiny\nseed: {seed}"))
    before = digest(base_run)
    code, _, err = cli(capsys, "bench", suite, "-o", base_run, "--no-progress")
    assert code == 2, err
    assert "internal error" not in err and all(w in err for w in words) and str(suite) in err, err
    assert digest(base_run) == before


def test_five_thousand_digit_setting_is_a_usage_error(tmp_path, capsys):
    image = png(tmp_path / "x.png", 16, 16)
    code, _, err = cli(capsys, "run", "jpeg.pil", "--setting", "quality=" + "9" * 5000, image, "-o", tmp_path / "o")
    assert code == 2 and "internal error" not in err and "--setting quality=<5000 characters>" in err, err
    assert len(err) < 600  # the number is not echoed back
    code, _, err = cli(capsys, "run", "jpeg.pil", "--setting", "quality=" + "9" * 30, image, "-o", tmp_path / "o")
    assert code == 2 and "internal error" not in err and "allowed" in err, err


# -- item 11 (suite side): trivial baselines are methods of the benchmark ----------------------------

def test_baselines_must_be_methods_of_the_benchmark(tmp_path, capsys, base_run):
    suite = write_suite(tmp_path / "s.yaml", TINY + "    baselines: [lanczos.classical]\n")
    before = digest(base_run)
    code, _, err = cli(capsys, "bench", suite, "-o", base_run, "--no-progress")
    assert code == 2 and f"{suite}:3:" in err and "baselines names ['lanczos.classical']" in err, err
    assert digest(base_run) == before


# -- item 13: a results.csv opened in a spreadsheet runs no formula --------------------------------

def test_csv_text_cells_that_start_a_formula_are_escaped_and_read_back(tmp_path, capsys):
    import csv

    names = ['=HYPERLINK("evil","y").png', "@SUM(1+1).png", "+1.png", "-2.png", "'quoted.png", "plain.png"]
    ds = images(tmp_path / "ds", names)
    out = tmp_path / "r"
    code, _, err = cli(capsys, "bench", folder_suite(tmp_path / "s.yaml", ds, metrics="bpp, psnr"), "-o", out, "--no-progress")
    assert code == 0, err
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    items = {r["item"] for r in rows if r["metric"] == "bpp"}
    assert items == {"'=HYPERLINK(\"evil\",\"y\")", "'@SUM(1+1)", "'+1", "'-2", "''quoted", "plain"}
    for r in rows:  # no text cell a spreadsheet would run; numbers stay numbers
        for col, cell in r.items():
            assert not cell.startswith(("=", "+", "@")) and not (cell.startswith("-") and col != "value"), (col, cell)
        if r["value"] not in ("", "nan"):
            float(r["value"])
    neg = pd.read_csv(out / "results.csv")
    assert neg.value.dtype == float
    from zoo.report import load_results

    back, parquet = load_results(out / "results.csv"), pd.read_parquet(out / "results.parquet")
    assert sorted(back.item.unique()) == sorted(parquet.item.unique())  # the CSV reads back to the same names
    code, _, err = cli(capsys, "compare", out / "results.csv", out / "results.parquet")
    assert code == 0, err
    summary = (out / "summary.csv").read_text()
    assert "\n=" not in summary and ",=" not in summary and ",@" not in summary


# -- item 8: the ★ means best among comparable rows --------------------------------------------------

CODECS = """
name: rd
benchmarks:
  - name: codecs
    task: compression
    dataset: {{name: folder, path: '{path}'}}
    methods:
      - {{id: jpeg.pil, settings: [{{quality: 10}}, {{quality: 90}}]}}
      - {{id: webp.pil, settings: [{{quality: 50}}]}}
      - png.pil
    metrics: [bpp, psnr, ssim]
"""


def _table(md: str, bench: str) -> list[str]:
    section = md.split(f"### {bench}", 1)[1].split("\\n### ", 1)[0]
    return [li for li in section.splitlines() if li.startswith("| `")]


def test_rate_distortion_table_has_no_star_and_lossless_rows_apart(tmp_path, capsys):
    ds = images(tmp_path / "ds", ["a.png", "b.png"])
    out = tmp_path / "r"
    code, _, err = cli(capsys, "bench", write_suite(tmp_path / "s.yaml", CODECS.format(path=ds)), "-o", out, "--no-progress")
    assert code == 0, err
    md = (out / "leaderboard.md").read_text()
    section = md.split("### codecs", 1)[1]
    main, rest = section.split("No ★ in this table", 1)
    rows = [li for li in main.splitlines() if li.startswith("| `")]
    assert len(rows) == 3 and not any("**" in li for li in rows)  # no ★ on bpp, nor on PSNR across operating points
    assert not any("png.pil" in li for li in rows) and "inf" not in main
    lossless = rest.split("Lossless", 1)[1].split("\n\n", 2)[1].splitlines()
    assert lossless[0] == "| method | setting | n | bpp ↓ |" and lossless[2].startswith("| `png.pil` |  | 2 | ")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["lossless"] == {"codecs": [["png.pil", "{}"]]} and meta["metrics"]["codecs/bpp"]["rate"] is True
    html = (out / "index.html").read_text()
    board = html.split('id="bench-codecs"', 1)[1].split("</section>", 1)[0]
    assert "★" not in board.split("No ★", 1)[0] and "Lossless" in board
    svg = (out / "plots" / "rd-codecs-psnr.svg").read_text()
    assert svg.count("png.pil") == 1 and "lossless, not drawn: png.pil" in svg  # named in the title, not drawn
    assert "jpeg.pil" in svg and "webp.pil" in svg


def test_star_and_below_baseline_marks(tmp_path, capsys):
    suite = write_suite(tmp_path / "s.yaml", TINY.replace("metrics: [psnr]", "metrics: [psnr]\n    baselines: [bicubic.classical]"))
    out = tmp_path / "r"
    code, _, err = cli(capsys, "bench", suite, "-o", out, "--no-progress")
    assert code == 0, err
    v = values(out)
    bicubic = next(x for (m, _, _), x in v.items() if m == "bicubic.classical")
    assert bicubic > next(x for (m, _, _), x in v.items() if m == "nearest.classical")  # the premise
    rows = _table((out / "leaderboard.md").read_text(), "sr")
    near = next(li for li in rows if li.startswith("| `nearest.classical`"))
    bic = next(li for li in rows if li.startswith("| `bicubic.classical`"))
    assert "below baseline `bicubic.classical`" in near and "**" not in near
    assert "below baseline" not in bic and "**" in bic  # a baseline that is best keeps its ★
    html = (out / "index.html").read_text()
    assert "below baseline bicubic.classical" in html
    assert json.loads((out / "meta.json").read_text())["baselines"] == {"sr": {"methods": ["bicubic.classical"], "judged_on": "psnr"}}


def test_shipped_suites_read_relative_paths_from_the_current_folder(tmp_path, monkeypatch):
    from zoo.harness.suite import builtin_suite_dir, plugin_suites, resolve_dataset_paths

    monkeypatch.chdir(tmp_path)
    shipped = [builtin_suite_dir() / "quick.yaml", plugin_suites()["translation"]]
    for suite_file in shipped:  # a suite inside the package cannot hold the user's data
        got = resolve_dataset_paths({"name": "folder", "path": "datasets/x"}, str(suite_file))
        assert got["path"] == str(tmp_path / "datasets" / "x")
    own = tmp_path / "mine" / "s.yaml"
    own.parent.mkdir()
    own.write_text("")
    got = resolve_dataset_paths({"name": "folder", "path": "../ds", "pair_path": "/abs/b"}, str(own))
    assert got == {"name": "folder", "path": str(tmp_path / "ds"), "pair_path": "/abs/b"}
