"""Issue #18, items 7, 8 and 9: a damaged store heals, concurrent runs share units, -o never takes a foreign folder.

Runs use the tiny suite of reliability_helpers (two classical upscalers on two 32-px crops).
"""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from reliability_helpers import TINY, cli, digest, write_suite
from zoo.harness.store import COLUMNS, MARKER, Store


@pytest.fixture
def tiny(tmp_path):
    return write_suite(tmp_path / "tiny.yaml", TINY)


def _parts(run):
    return sorted((run / "parts").glob("*.parquet"))


def _bench(capsys, suite, run, *extra):
    return cli(capsys, "bench", suite, "-o", run, "--no-progress", *extra)


# -- item 7: a damaged store heals ------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage", "columns"])
def test_damaged_part_is_quarantined_and_recomputed(tmp_path, capsys, tiny, damage):
    run = tmp_path / "run"
    assert _bench(capsys, tiny, run)[0] == 0
    first, second = _parts(run)
    good = pd.read_parquet(first).query("metric == 'psnr'")
    intact = digest(second)
    data = first.read_bytes()
    if damage == "truncate":
        first.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        first.write_bytes(b"")
    elif damage == "garbage":
        first.write_bytes(b"PAR1" + bytes(200) + b"PAR1")
    else:
        pd.DataFrame({"x": [1]}).to_parquet(first)
    code, _, err = _bench(capsys, tiny, run)
    assert code == 0 and "damaged" in err and "computing it again" in err and "computed 1, reused 1" in err
    quarantined = list((run / "parts" / "quarantine").iterdir())
    assert any(f.name.endswith(".damaged") for f in quarantined)
    reason = next(f for f in quarantined if f.name.endswith(".reason.txt")).read_text()
    assert reason.strip()
    healed = pd.read_parquet(first).query("metric == 'psnr'")  # timings differ between runs; values do not
    pd.testing.assert_frame_equal(healed.drop(columns=["run"]), good.drop(columns=["run"]))
    assert digest(second) == intact  # the other unit's part was not touched
    assert "was damaged" not in _bench(capsys, tiny, run)[2]  # healed: the next run reuses everything


def test_store_state_file_damage_heals(tmp_path):
    import numpy as np

    store = Store(tmp_path)
    key = "a" * 32
    store.put(key, pd.DataFrame([{c: "" for c in COLUMNS if c != "run"}]))
    store.put_state(key, "fd", {"n": np.array([1.0])})
    state = next(tmp_path.glob("parts/*.state.npz"))
    state.write_bytes(b"PK\x03\x04 broken")
    assert not store.has(key)  # damaged state: the unit is recomputed
    assert not list(tmp_path.glob("parts/*.parquet")) and not list(tmp_path.glob("parts/*.state.npz"))
    assert len(list((tmp_path / "parts" / "quarantine").glob("*.damaged"))) == 2


def test_store_get_state_of_damaged_file_quarantines(tmp_path, capsys):
    import numpy as np

    store = Store(tmp_path)
    store.put_state("b" * 32, "kd", {"n": np.array([1.0])})
    next(tmp_path.glob("parts/*.state.npz")).write_bytes(b"")
    assert store.get_state("b" * 32, "kd") is None
    assert "damaged" in capsys.readouterr().err


def test_invalid_unit_key_is_refused(tmp_path):
    with pytest.raises(ValueError, match="invalid unit key"):
        Store(tmp_path).has("../../etc/passwd")


def test_report_on_damaged_results_then_rebuild(tmp_path, capsys, tiny):
    run = tmp_path / "run"
    assert _bench(capsys, tiny, run)[0] == 0
    (run / "results.parquet").write_bytes(b"\0" * 10)
    code, _, err = cli(capsys, "report", run)
    assert code == 2 and "damaged" in err and f"zoo bench SUITE -o {run}" in err
    code, _, err = _bench(capsys, tiny, run)  # the documented recovery
    assert code == 0 and "computed 0, reused 2" in err
    assert cli(capsys, "report", run)[0] == 0


# -- item 9: -o never writes into someone else's folder -----------------------------------------------


def test_bench_refuses_a_foreign_non_empty_folder(tmp_path, capsys, tiny):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    (mine / "results.csv").write_text("my,own\n1,2\n")
    before = digest(mine)
    code, _, err = _bench(capsys, tiny, mine)
    assert code == 2 and "not a zoo run folder" in err and "--force" in err and "thesis.tex" in err
    assert digest(mine) == before and sorted(p.name for p in mine.iterdir()) == ["results.csv", "thesis.tex"]


def test_bench_force_writes_into_a_foreign_folder(tmp_path, capsys, tiny):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    code, _, _ = _bench(capsys, tiny, mine, "--force")
    assert code == 0 and (mine / MARKER).is_file() and (mine / "thesis.tex").read_text() == "years of work"
    assert _bench(capsys, tiny, mine)[0] == 0  # now a run folder: no --force needed


def test_bench_output_is_a_file(tmp_path, capsys, tiny):
    f = tmp_path / "out"
    f.write_text("x")
    code, _, err = _bench(capsys, tiny, f)
    assert code == 2 and "is a file" in err and f.read_text() == "x"


def test_bench_empty_and_legacy_run_folders_are_accepted(tmp_path, capsys, tiny):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _bench(capsys, tiny, empty)[0] == 0 and (empty / MARKER).is_file()
    legacy = tmp_path / "legacy"  # a run folder written before the marker existed
    (legacy / "parts").mkdir(parents=True)
    (legacy / "meta.json").write_text('{"run": "legacy", "suite": "tiny"}')
    assert _bench(capsys, tiny, legacy)[0] == 0 and (legacy / MARKER).is_file()


def test_bench_into_a_read_only_folder(tmp_path, capsys, tiny, monkeypatch):
    import zoo.harness.store as store

    def refuse(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))

    ro = tmp_path / "ro"
    monkeypatch.setattr(store.Path, "write_text", refuse)  # as root, chmod cannot stop a write
    code, _, err = _bench(capsys, tiny, ro)
    assert code == 2 and "not writable" in err and "-o DIR" in err


# -- item 8: concurrent runs into one folder ------------------------------------------------------------


def test_a_unit_held_by_another_run_is_waited_for_and_reused(tmp_path, capsys, tiny):
    from filelock import FileLock

    import zoo
    from zoo.harness.runner import Runner
    from zoo.harness.suite import load_suite

    ref = tmp_path / "ref"
    zoo.bench(str(tiny), out=ref, progress=False)  # the parts the "other run" will deliver
    suite = load_suite(str(tiny))
    run = tmp_path / "run"
    keys = [u.key for p in Runner(suite, run, progress=False).plan() for u in p.units]
    (run / ".locks").mkdir(parents=True, exist_ok=True)
    held = threading.Event()

    def other_run():  # holds the unit's lock, finishes the unit, releases
        with FileLock(str(run / ".locks" / f"{keys[0]}.lock")):
            held.set()
            time.sleep(1.0)
            (run / "parts" / f"{keys[0]}.parquet").write_bytes((ref / "parts" / f"{keys[0]}.parquet").read_bytes())

    t = threading.Thread(target=other_run)
    t.start()
    held.wait(10)
    try:
        result = zoo.bench(str(tiny), out=run, progress=False)
    finally:
        t.join()
    assert (result.computed_units, result.reused_units) == (1, 1)
    assert "being computed by another run" in capsys.readouterr().err


@pytest.mark.slow
def test_two_processes_into_one_folder_compute_each_unit_once(tmp_path, tiny):
    import json
    import subprocess
    import sys

    run = tmp_path / "run"
    code = ("import sys, torch; torch.set_num_threads(1); from zoo.cli import main; "
            f"sys.exit(main(['bench', {str(tiny)!r}, '-o', {str(run)!r}, '--no-progress']))")
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    computed = sum(int(e.split("units computed ")[1].split(",")[0]) for e in errs)
    assert computed == 2 and len(_parts(run)) == 2
    assert json.loads((run / "meta.json").read_text())["suite"] == "tiny"
