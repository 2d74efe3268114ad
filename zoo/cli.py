"""The ``zoo`` command. Data goes to stdout, logs and progress to stderr.

Exit codes: 0 success; 1 a regression gate found drifts, or some items/methods failed
in `zoo run`; 2 usage or input error (unknown id, bad file, bad suite); 3 weights or
metric unavailable / integrity failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from zoo.errors import WeightsError, ZooError

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_WEIGHTS = 0, 1, 2, 3
CORE_VERBS = ("list", "info", "fetch", "convert", "run", "plugins", "bench", "report", "compare")


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _parse_setting(items: list[str]) -> dict:
    import yaml

    out = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep:
            raise ZooError(f"--setting {item!r}: expected KEY=VALUE, e.g. quality=75")
        out[k] = yaml.safe_load(v)
    return out


def cmd_list(a) -> int:
    from zoo.catalog import list_methods
    from zoo.weights import availability

    cards = list_methods(task=a.task, pattern=a.pattern, available=a.available)
    if a.json:
        _print_json([{**c.to_dict(), "availability": availability(c.weights)} for c in cards])
        return 0
    for c in cards:
        print(f"{c.id:40s} {c.task:18s} {availability(c.weights):14s} {c.paper or ''}")
    return 0


def cmd_info(a) -> int:
    from zoo.catalog import get_card
    from zoo.weights import is_available, local_path

    card = get_card(a.id)
    d = card.to_dict()
    d["available"] = all(is_available(r) for r in card.weights)
    d["local_files"] = [str(local_path(r)) if local_path(r) else None for r in card.weights]
    if a.json:
        _print_json(d)
    else:
        for k, v in d.items():
            print(f"{k}: {v}")
    return 0


def _fetch_refs(method_ids: list[str], pin: bool) -> int:
    from zoo.catalog import get_card
    from zoo.weights import pin as pin_ref
    from zoo.weights import resolve

    status = EXIT_OK
    for mid in method_ids:
        card = get_card(mid)
        if not card.weights:
            print(f"{mid}: no weights needed", file=sys.stderr)
        for ref in card.weights:
            if ref.unmirrored:
                print(f"error: {mid}: no Hugging Face Hub mirror is pinned for {ref.source}; download it from there "
                      f"and pass it with --weights", file=sys.stderr)
                status = EXIT_WEIGHTS
                continue
            try:
                if pin:
                    revision, digest = pin_ref(ref)
                    where = ref.bundled or ref.file
                    print(f"{mid}: {where}" + (f"\n  revision: {revision}" if revision else "") + f"\n  sha256: {digest}")
                else:
                    path = resolve(ref, mid, download=True)
                    print(f"{mid}: {path} (sha256 verified)")
            except Exception as exc:
                print(f"error: {exc}", file=sys.stderr)
                status = EXIT_WEIGHTS
    return status


def _fetch_datasets(names: list[str]) -> int:
    """Download catalog Hub datasets (pinned revision) into the Hub cache."""
    from zoo.datasets import build_dataset
    from zoo.datasets.hub import catalog_datasets

    status = EXIT_OK
    hub_names = catalog_datasets()
    for name in names:
        if name not in hub_names:
            continue  # embedded or local datasets need no download
        try:
            ds = build_dataset(name)
            print(f"{name}: {len(ds)} images at {ds.options.get('revision', '')[:12]} (content sha256 {ds.content_hash[:12]})")
        except Exception as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = EXIT_WEIGHTS
    return status


def cmd_fetch(a) -> int:
    ids = list(a.ids)
    datasets = list(a.dataset or [])
    if a.suite:
        from zoo.harness.suite import load_suite

        spec = load_suite(a.suite, a.include_path)
        ids += [m.id for b in spec.benchmarks for m in b.methods]
        datasets += [b.dataset["name"] for b in spec.benchmarks]
    if not ids and not datasets:
        raise ZooError("zoo fetch: name method ids, --dataset NAME or --suite SUITE")
    status = _fetch_refs(list(dict.fromkeys(ids)), a.pin) if ids else EXIT_OK
    return max(status, _fetch_datasets(list(dict.fromkeys(datasets))))


def cmd_convert(a) -> int:
    from zoo.catalog import get_card
    from zoo.loading import build
    from zoo.weights import load_state_dict, save_state_dict

    card = get_card(a.id)
    method = build(card, **_parse_setting(a.setting))
    method.load_weights(load_state_dict(a.checkpoint))  # strict: proves the converted layout is complete
    out = Path(a.output)
    digest = save_state_dict(method.weights_state_dict(), out)
    fields = {"file": out.name, "sha256": digest, "source": a.source or "<official URL of the checkpoint>"}
    if a.json:
        _print_json(fields)
    else:
        print(f"# catalog fields for {card.id}:\nweights:")
        for k, v in fields.items():
            print(f"  {k}: {v}")
    return 0


def _parse_weights(items: list[str] | None) -> str | dict[str, str] | None:
    """``--weights FILE`` or, for multi-part methods, ``--weights PART=FILE`` (repeatable)."""
    if not items:
        return None
    parts = dict(i.split("=", 1) for i in items if "=" in i and not Path(i).exists())
    if not parts:
        if len(items) > 1:
            raise ZooError("--weights: give one FILE, or PART=FILE for each part of a multi-part method")
        return items[0]
    if len(parts) != len(items):
        raise ZooError("--weights: use PART=FILE for every file once one is given by part")
    return parts


def cmd_run(a) -> int:
    import torch

    from zoo.images import read_image, write_image
    from zoo.loading import load_method
    from zoo.report.html import safe_name
    from zoo.taskspec import task_spec

    method = load_method(a.id, device=a.device, weights=_parse_weights(a.weights), **_parse_setting(a.setting))
    spec = task_spec(method.task)
    out = Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    options = {"direction": a.direction}
    extras = {"style": read_image(a.style)[None].to(a.device)} if a.style else {}
    status = EXIT_OK
    for inp in a.inputs:
        try:
            x = read_image(inp)[None].to(a.device)
            with torch.enable_grad() if method.needs_grad else torch.inference_mode():
                outcome = spec.run_file(method, x, options, extras)
            dest = out / f"{safe_name(Path(inp).stem)}.png"
            write_image(dest, outcome.images[0].detach().cpu())
            if "bitstreams" in outcome.outputs:
                (out / f"{safe_name(Path(inp).stem)}.bin").write_bytes(outcome.outputs["bitstreams"][0])
            print(dest)
        except ZooError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = EXIT_DRIFT
    return status


def cmd_plugins(a) -> int:
    from zoo.plugins import plugin_report

    infos = plugin_report()
    if a.json:
        _print_json([i.__dict__ for i in infos])
        return 0
    for i in infos:
        counts = ", ".join(f"{len(v)} {k}" for k, v in i.registered.items()) or "nothing registered"
        print(f"{i.name:14s} {i.version or '':8s} {i.module:28s} {'ERROR: ' + i.error if i.error else counts}")
        for w in i.warnings:
            print(f"{'':14s} warning: {w}")
    return 0


def _print_leaderboard(run) -> None:
    print((Path(run.path) / "leaderboard.md").read_text())
    print(f"report: {Path(run.path).resolve()}/index.html  (units computed {run.computed_units}, reused {run.reused_units})", file=sys.stderr)


def _gate(current, baseline_path: str, tolerances: list[str], subset: bool) -> int:
    from zoo.report import load_results
    from zoo.report.compare import compare, parse_tolerances

    drifts = compare(current, load_results(baseline_path), parse_tolerances(tolerances), subset=subset)
    if drifts.empty:
        print(f"regression gate: no drift against {baseline_path}", file=sys.stderr)
        return EXIT_OK
    print(drifts.to_markdown(index=False))
    print(f"regression gate: {len(drifts)} drift(s) against {baseline_path}", file=sys.stderr)
    return EXIT_DRIFT


def cmd_bench(a) -> int:
    from zoo.harness.runner import run_suite

    run = run_suite(a.suite, out=a.output, include_path=a.include_path, device=a.device, methods=a.method or None,
                    progress=not a.no_progress, executor=a.executor, workers=a.workers)
    _print_leaderboard(run)
    if a.against:
        _site_against(run.path, a.against, a.tolerance, subset=bool(a.method))
        return _gate(run.results, a.against, a.tolerance, subset=bool(a.method))
    return EXIT_OK


def _site_against(run_path, against: str, tolerances: list[str], subset: bool) -> Path:
    """Rebuild the run's index.html with a diff view against the baseline."""
    from zoo.report.compare import parse_tolerances
    from zoo.report import rebuild_site

    return rebuild_site(run_path, against, parse_tolerances(tolerances), subset=subset)


def cmd_report(a) -> int:
    from zoo.report import load_results

    path = Path(a.run)
    load_results(path)
    md = path / "leaderboard.md"
    if not md.exists():
        raise ZooError(f"{path}: no leaderboard.md; re-run `zoo bench` into this folder to rebuild the report")
    print(md.read_text())
    if a.against or a.open:
        page = _site_against(path, a.against, a.tolerance, a.subset) if a.against else path / "index.html"
        if not page.exists():
            from zoo.report import rebuild_site

            page = rebuild_site(path)
        print(f"report: {page.resolve()}", file=sys.stderr)
        if a.open:
            import webbrowser

            if not webbrowser.open(page.resolve().as_uri()):
                print(f"no browser found to open {page.resolve()}; open it by hand", file=sys.stderr)
    return 0


def cmd_compare(a) -> int:
    from zoo.report import load_results

    return _gate(load_results(a.run), a.baseline, a.tolerance, subset=a.subset)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zoo", description="imagezoo: model zoo and benchmark harness for neural image processing")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("list", help="list catalog methods")
    s.add_argument("--task")
    s.add_argument("--pattern", help="glob on the method id")
    s.add_argument("--available", action="store_true", help="only methods whose weights are local")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_list)

    s = sub.add_parser("info", help="show a method card")
    s.add_argument("id")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_info)

    s = sub.add_parser("fetch", help="download and verify weights")
    s.add_argument("ids", nargs="*")
    s.add_argument("--suite", help="fetch every method and Hub dataset of a suite")
    s.add_argument("--dataset", action="append", help="fetch a catalog Hub dataset (repeatable)")
    s.add_argument("--include-path", action="append", default=[])
    s.add_argument("--pin", action="store_true", help="resolve the current commit and print revision + sha256 to pin")
    s.set_defaults(fn=cmd_fetch)

    s = sub.add_parser("convert", help="official checkpoint -> safetensors + catalog fields")
    s.add_argument("id")
    s.add_argument("checkpoint")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--source", help="official URL the checkpoint came from")
    s.add_argument("--setting", action="append", default=[])
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_convert)

    s = sub.add_parser("run", help="apply a method to image files")
    s.add_argument("id")
    s.add_argument("inputs", nargs="+")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--setting", action="append", default=[], help="KEY=VALUE operating point")
    s.add_argument("--weights", action="append", help="local checkpoint for the entry's architecture; "
                   "PART=FILE for a part of a multi-part method (repeatable)")
    s.add_argument("--style", help="style image (style-transfer)")
    s.add_argument("--direction", help="translation direction")
    s.add_argument("--device", default="cpu")
    s.set_defaults(fn=cmd_run)

    s = sub.add_parser("plugins", help="loaded plugins, what they registered, their errors")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_plugins)

    s = sub.add_parser("bench", help="run a benchmark suite (default: the embedded quick suite)")
    s.add_argument("suite", nargs="?", default="quick")
    s.add_argument("-o", "--output", help="run folder (default runs/<suite>); re-running resumes and reuses")
    s.add_argument("--include-path", action="append", default=[], help="extra folder of suite files")
    s.add_argument("--method", action="append", default=[], help="run only these method ids")
    s.add_argument("--against", help="baseline run folder or results file: exit 1 on drift")
    s.add_argument("--tolerance", action="append", default=[], help="METRIC=ABS tolerance for --against")
    s.add_argument("--device", default="cpu")
    s.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="ray: run units in parallel as Ray tasks (pip install 'imagezoo[ray]')")
    s.add_argument("--workers", type=int, help="CPUs for the ray executor (default: all)")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(fn=cmd_bench)

    s = sub.add_parser("report", help="print a run's leaderboard; --open shows its index.html in the browser")
    s.add_argument("run")
    s.add_argument("--open", action="store_true", help="open the run's index.html in the default browser")
    s.add_argument("--against", help="baseline run folder or results file: rebuild index.html with a diff view")
    s.add_argument("--tolerance", action="append", default=[], help="METRIC=ABS tolerance for --against")
    s.add_argument("--subset", action="store_true", help="with --against: only methods present in RUN")
    s.set_defaults(fn=cmd_report)

    s = sub.add_parser("compare", help="regression gate: run vs baseline")
    s.add_argument("run")
    s.add_argument("baseline")
    s.add_argument("--tolerance", action="append", default=[], help="METRIC=ABS")
    s.add_argument("--subset", action="store_true", help="only methods present in RUN")
    s.set_defaults(fn=cmd_compare)
    _add_plugin_commands(sub)
    return p


def _add_plugin_commands(sub) -> None:
    """Sub-commands plugins registered (``register_commands``); a name the core uses stays the core's."""
    from zoo.plugins import registry

    taken = set(sub.choices) | set(CORE_VERBS)
    for name, entry in registry().items["commands"].items():
        if name in taken:
            print(f"warning: plugin {entry.plugin!r} registered command {name!r}, which zoo itself provides; ignored",
                  file=sys.stderr)
            continue
        s = sub.add_parser(name, help=f"{entry.help or ''} (plugin {entry.plugin})".strip(), add_help=False)
        s.add_argument("args", nargs=argparse.REMAINDER)
        s.set_defaults(fn=lambda a, entry=entry: entry.obj(list(a.args)))


def _plugin_command(verb: str):
    from zoo.plugins import registry

    return None if verb in CORE_VERBS else registry().items["commands"].get(verb)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    command = _plugin_command(argv[0]) if argv else None
    try:
        if command is not None:  # everything after the verb, options included, is the plugin's
            return int(command.obj(argv[1:]) or 0)
        args = parser.parse_args(argv)
        return int(args.fn(args) or 0)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_WEIGHTS
    except ZooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
