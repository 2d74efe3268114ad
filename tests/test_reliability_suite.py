"""Issue #18, item 5: a broken suite is a `file:line` error and exit 2, before the first unit runs.

Each case writes a suite with one mistake, runs `zoo bench` on it and checks the exit code,
that the message names the file and line and the mistake, and that no unit was computed
(no part file, no results) and nothing already in the output folder changed.
"""

from __future__ import annotations

import re

import pytest

from reliability_helpers import TINY, cli, digest, write_suite

BENCH = """
name: broken
{top}
benchmarks:
  - name: sr
    task: super-resolution
    dataset: {dataset}
    degradation: {degradation}
    methods: {methods}
    metrics: {metrics}
{extra}
"""
OK = dict(top="", dataset="{name: samples, split: heldout, crop: 32, limit: 2}", degradation="{bicubic: 4}",
          methods="[{id: bicubic.classical, settings: [{scale: 4}]}]", metrics="[psnr]", extra="")

CASES = {
    "unknown dataset": ({"dataset": "{name: sett5}"}, ["Unknown dataset 'sett5'", "Did you mean: set5"]),
    "unknown dataset option": ({"dataset": "{name: samples, splitt: heldout}"}, ["splitt", "its options are"]),
    "negative crop": ({"dataset": "{name: samples, crop: -5}"}, ["crop", "-5", "positive"]),
    "crop not a number": ({"dataset": "{name: samples, crop: big}"}, ["crop", "'big'"]),
    "dataset not a mapping": ({"dataset": "[samples]"}, ["dataset must be a name or a mapping"]),
    "unknown method id": ({"methods": "[bicubic.clasical]"}, ["Unknown method 'bicubic.clasical'", "Did you mean: bicubic.classical"]),
    "method of another task": ({"methods": "[jpeg.pil]"}, ["jpeg.pil is a compression method", "super-resolution"]),
    "unknown setting": ({"methods": "[{id: bicubic.classical, settings: [{scael: 4}]}]"}, ["scael", "no option"]),
    "setting value not allowed": ({"methods": "[{id: espcn-x4.samples, settings: [{scale: 2}]}]"}, ["scale=2", "allowed: 4"]),
    "settings not a list of mappings": ({"methods": "[{id: bicubic.classical, settings: {scale: 4}}]"}, ["settings must be a non-empty list"]),
    "typo in a method key": ({"methods": "[{id: bicubic.classical, setting: [{scale: 4}]}]"}, ["unknown key", "setting"]),
    "method listed twice": ({"methods": "[{id: bicubic.classical, settings: [{scale: 4}]}, {id: bicubic.classical, settings: [{scale: 4}]}]"},
                            ["listed twice", "counted twice"]),
    "bare method listed twice": ({"methods": "[espcn-x4.samples, espcn-x4.samples]"}, ["listed twice"]),
    "setting listed twice in one list": ({"methods": "[{id: bicubic.classical, settings: [{scale: 4}, {scale: 4}]}]"}, ["listed twice"]),
    "methods as a string": ({"methods": "bicubic.classical"}, ["methods must be a non-empty list", "write [bicubic.classical]"]),
    "no methods": ({"methods": "[]"}, ["methods must be a non-empty list"]),
    "metrics as a string": ({"metrics": "psnr"}, ["metrics must be a non-empty list", "write [psnr]"]),
    "unknown metric": ({"metrics": "[psnrr]"}, ["Unknown metric 'psnrr'", "Did you mean: psnr"]),
    "duplicate metric column": ({"metrics": "[psnr, {name: ssim, as: psnr}]"}, ["'psnr' is used twice", "as:"]),
    "duplicate metric name": ({"metrics": "[ssim, ssim]"}, ["'ssim' is used twice"]),
    "empty metric alias": ({"metrics": "[{name: ssim, as: ''}]"}, ["`as` must be a non-empty name"]),
    "bad metric option": ({"metrics": "[{name: psnr, channel: q}]"}, ["metric 'psnr'"]),
    "unknown degradation key": ({"degradation": "{bicubic: 4, nosie: 3}"}, ["degradation", "nosie"]),
    "degradation scale not an integer": ({"degradation": "{bicubic: four}"}, ["integer >= 2", "four"]),
    "seed not a number": ({"top": "seed: abc"}, ["seed must be a whole number", "abc"]),
    "seed a float": ({"top": "seed: 1.5"}, ["seed must be a whole number"]),
    "round_outputs not a bool": ({"top": "round_outputs: maybe"}, ["round_outputs must be true or false"]),
    "unknown top-level key": ({"top": "benchmark_list: []"}, ["unknown key", "benchmark_list"]),
    "batch_size a word": ({"extra": "    batch_size: four"}, ["batch_size must be a positive number", "four"]),
    "batch_size zero": ({"extra": "    batch_size: 0"}, ["batch_size must be a positive number"]),
    "shard_size negative": ({"extra": "    shard_size: -1"}, ["shard_size must be a positive number"]),
    "unknown benchmark key": ({"extra": "    nosie: 3"}, ["unknown key", "nosie"]),
    "include not a list": ({"top": "include: 7"}, ["include must be a list"]),
}


def _suite(tmp_path, **changes):
    return write_suite(tmp_path / "s.yaml", BENCH.format(**{**OK, **changes}))


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_suite_exits_2_with_file_and_line(tmp_path, capsys, case):
    changes, words = CASES[case]
    path = _suite(tmp_path, **changes)
    out = tmp_path / "run"
    code, stdout, err = cli(capsys, "bench", path, "-o", out, "--no-progress")
    assert code == 2, err
    assert re.search(re.escape(str(path)) + r":\d+: ", err), err  # file:line
    for w in words:
        assert w in err, (w, err)
    assert "Traceback" not in err and stdout == ""
    assert not list(out.glob("parts/*.parquet")) and not (out / "results.parquet").exists()


def test_the_good_suite_of_these_cases_runs(tmp_path, capsys):
    """The template the cases above break is itself valid (so each case fails for its own mistake)."""
    from zoo.harness.suite import load_suite

    suite = load_suite(str(_suite(tmp_path)))
    assert [b.name for b in suite.benchmarks] == ["sr"] and suite.benchmarks[0].line == 4


def test_line_points_at_the_mistake(tmp_path, capsys):
    path = write_suite(tmp_path / "s.yaml", """
        benchmarks:
          - name: sr
            task: super-resolution
            dataset: {name: samples, crop: 32, limit: 2}
            degradation: {bicubic: 4}
            methods:
              - {id: bicubic.classical, settings: [{scale: 4}]}
              - nearest.clasical
            metrics: [psnr]
    """)
    code, _, err = cli(capsys, "bench", path, "-o", tmp_path / "run", "--no-progress")
    assert code == 2 and f"{path}:8:" in err and "nearest.clasical" in err


def test_error_names_the_included_file(tmp_path, capsys):
    write_suite(tmp_path / "_part.yaml", BENCH.format(**{**OK, "metrics": "[psnrr]"}).replace("name: broken\n", ""))
    main = write_suite(tmp_path / "main.yaml", "name: main\ninclude: [_part.yaml]\n")
    code, _, err = cli(capsys, "bench", main, "-o", tmp_path / "run", "--no-progress")
    assert code == 2 and re.search(re.escape(str(tmp_path / "_part.yaml")) + r":\d+:", err) and "psnrr" in err


def test_unknown_split_refused_before_the_first_unit(tmp_path, capsys):
    path = _suite(tmp_path, dataset="{name: samples, split: heldot, crop: 32}")
    code, _, err = cli(capsys, "bench", path, "-o", tmp_path / "run", "--no-progress")
    assert code == 2 and f"{path}:4:" in err and "split='heldot'" in err and "heldout" in err
    assert not list((tmp_path / "run").glob("parts/*.parquet"))


def test_method_filter_naming_no_method_of_the_suite(tmp_path, capsys):
    path = write_suite(tmp_path / "s.yaml", TINY)
    code, _, err = cli(capsys, "bench", path, "-o", tmp_path / "run", "--no-progress", "--method", "bicubic.clasical")
    assert code == 2 and "--method bicubic.clasical" in err and "Did you mean: bicubic.classical" in err
    assert not list((tmp_path / "run").glob("parts/*.parquet"))


@pytest.mark.parametrize("text, words", [
    ("benchmarks: [\n", ["invalid YAML"]),
    ("- just\n- a list\n", ["must be a mapping"]),
    ("name: x\n", ["no benchmarks"]),
    ("benchmarks: {a: 1}\n", ["benchmarks must be a list"]),
    ("benchmarks: [7]\n", ["each benchmark must be a mapping"]),
    ("benchmarks: [{name: a}]\n", ["missing field `task`"]),
    ("benchmarks: [{name: a, task: sr, dataset: samples, methods: [x], metrics: [y]}]\n", ["task must be one of", "'sr'"]),
])
def test_malformed_suite_files(tmp_path, capsys, text, words):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    code, _, err = cli(capsys, "bench", path, "-o", tmp_path / "run", "--no-progress")
    assert code == 2 and str(path) in err and all(w in err for w in words) and "Traceback" not in err


def test_binary_suite_file(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    code, _, err = cli(capsys, "bench", path, "-o", tmp_path / "run", "--no-progress")
    assert code == 2 and str(path) in err and "Traceback" not in err


def test_yaml_alias_bomb_is_refused_quickly(tmp_path, capsys):
    import time

    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nbenchmarks: []\n")
    t0 = time.perf_counter()
    code, _, err = cli(capsys, "bench", path, "-o", tmp_path / "run", "--no-progress")
    assert code == 2 and "alias" in err and str(path) in err
    assert time.perf_counter() - t0 < 10


def test_include_cycle(tmp_path, capsys):
    write_suite(tmp_path / "a.yaml", "include: [b.yaml]\n")
    write_suite(tmp_path / "b.yaml", "include: [a.yaml]\n")
    code, _, err = cli(capsys, "bench", tmp_path / "a.yaml", "-o", tmp_path / "run", "--no-progress")
    assert code == 2 and "include cycle" in err


def test_existing_run_folder_untouched_by_a_broken_suite(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".zoo-run").write_text("")
    (run / "meta.json").write_text('{"suite": "x"}')
    before = digest(run)
    code, _, _ = cli(capsys, "bench", _suite(tmp_path, metrics="psnr"), "-o", run, "--no-progress")
    assert code == 2 and digest(run) == before


def test_fetch_suite_validates_too(tmp_path, capsys):
    code, _, err = cli(capsys, "fetch", "--suite", _suite(tmp_path, methods="[nosuch.method]"))
    assert code == 2 and "Unknown method 'nosuch.method'" in err
