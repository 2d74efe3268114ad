"""The ``zoo`` command. Data goes to stdout, logs and progress to stderr.

Exit codes: 0 success; 1 a regression gate found drifts, or some items/methods failed
in `zoo run`, or units failed in `zoo bench` (unless --allow-failures); 2 usage or input
error (unknown id, bad file, bad suite, a limit exceeded, a folder imagezoo may not write
into); 3 weights or metric unavailable / integrity failure (in `zoo bench`: a method or
metric unavailable, unless --allow-unavailable or the suite's `allow_unavailable`); 4 an
internal error (a bug: re-run with --debug and report the traceback); 130 interrupted.
One handler in :func:`main` maps each error family to its code; a traceback is shown only
with ``--debug`` (or ``ZOO_DEBUG=1``). See docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from zoo.errors import WeightsError, ZooError

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_WEIGHTS, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
CORE_VERBS = (
    "list", "info", "fetch", "convert", "run", "plugins", "bench", "report", "compare", "mirror", "dataset-manifest",
    "new-plugin",
)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _parse_setting(items: list[str]) -> dict:
    import yaml

    out = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep:
            raise ZooError(f"--setting {item!r}: expected KEY=VALUE, e.g. quality=75")
        try:
            out[k] = yaml.safe_load(v)
        except yaml.YAMLError as exc:
            raise ZooError(f"--setting {item!r}: {v!r} is not a value ({str(exc).splitlines()[0]}); e.g. scale=4, "
                           f"kernel=bicubic, sizes=[1,2]") from None
    return out


def cmd_list(a) -> int:
    from zoo.catalog import list_methods
    from zoo.weights import availability

    from zoo.plugins import failed_plugins

    cards = list_methods(task=a.task, pattern=a.pattern, available=a.available)
    if getattr(a, "provenance", False):
        return _list_provenance(cards, a.json)
    for name, error in sorted(failed_plugins().items()):
        print(f"warning: plugin {name!r} failed to load: {error}; its methods are not listed "
              f"(`zoo plugins` shows every plugin's state)", file=sys.stderr)
    if a.json:
        _print_json([{**c.to_dict(), "availability": availability(c.weights)} for c in cards])
        return 0
    for c in cards:
        print(f"{c.id:40s} {c.task:18s} {availability(c.weights):14s} {c.paper or ''}")
    return 0


def provenance_rows(cards) -> list[dict[str, Any]]:
    """One row per card: official source, licence, weakest hash status of its files, Hub mirror, local copy."""
    from zoo.licences import is_non_commercial
    from zoo.sources import hash_status, parse_source, verification_of, weakest

    rows = []
    for c in cards:
        refs = list(c.weights)
        links = [parse_source(r.source) for r in refs]
        kinds = sorted({"bundled" if r.bundled else lk.kind if lk.kind != "manual" else f"manual ({lk.host})"
                        for r, lk in zip(refs, links)})
        statuses = [hash_status(r) for r in refs]
        rows.append({
            "id": c.id, "task": c.task, "license": c.license, "non_commercial": is_non_commercial(c.license),
            "hash_status": weakest(statuses) if refs else "-", "files": len(refs),
            "source": ", ".join(kinds) if refs else "-",
            "hub_mirror": ", ".join(sorted({r.hub for r in refs if r.hub})) or "-",
            "local": ", ".join(sorted({v for r in refs if (v := verification_of(r))})) or "-",
            "sources": [r.source for r in refs], "provenance": sorted({r.provenance for r in refs if r.provenance}),
        })
    return rows


def _list_provenance(cards, as_json: bool) -> int:
    from collections import Counter

    rows = provenance_rows(cards)
    counts = Counter(r["hash_status"] for r in rows)
    if as_json:
        _print_json({"methods": rows, "counts": dict(counts)})
        return 0
    print(f"{'id':40s} {'hash':16s} {'source':22s} {'hub mirror':28s} {'local':8s} licence")
    for r in rows:
        lic = (r["license"] or "") + ("  [NON-COMMERCIAL]" if r["non_commercial"] else "")
        print(f"{r['id']:40s} {r['hash_status']:16s} {r['source'][:22]:22s} {r['hub_mirror'][:28]:28s} {r['local'][:8]:8s} {lic}")
    order = ["published-pinned", "prefix-only", "unverified", "none", "bundled", "-"]
    print("\n" + ", ".join(f"{counts[k]} {k if k != '-' else 'without weights'}" for k in order if counts[k])
          + f" ({len(rows)} methods)", file=sys.stderr)
    return 0


def cmd_info(a) -> int:
    from zoo.catalog import get_card
    from zoo.weights import is_available, local_path

    card = get_card(a.id)
    d = card.to_dict()
    d["available"] = all(is_available(r) for r in card.weights)
    d["local_files"] = [str(local_path(r)) if local_path(r) else None for r in card.weights]
    d.update(_info_provenance(card))
    if a.json:
        _print_json(d)
    else:
        for k, v in d.items():
            print(f"{k}: {v}")
    return 0


def _info_provenance(card) -> dict[str, Any]:
    from zoo.licences import is_non_commercial, licence_label
    from zoo.sources import hash_status, parse_source, verification_of

    return {"license": licence_label(card.license), "non_commercial": is_non_commercial(card.license),
            "weights_provenance": [{"part": r.part, "setting": r.setting or None, "source": parse_source(r.source).url,
                                    "source_kind": parse_source(r.source).kind, "hash_status": hash_status(r),
                                    "sha256": r.expected_source_sha256, "sha256_prefix": r.sha256_prefix,
                                    "size": r.size, "provenance": r.provenance, "local_copy": verification_of(r)}
                                   for r in card.weights]}


def _fetch_from_source(method_ids: list[str], a) -> int:
    """``zoo fetch --from-source``: official files, verified, into the cache ``zoo.load`` reads."""
    from zoo.catalog import get_card
    from zoo.sources import TOFU, fetch_from_source, parse_source

    if a.file and len(method_ids) != 1:
        raise ZooError("zoo fetch --file FILE: name exactly one method id")
    status = EXIT_OK
    for mid in method_ids:
        card = get_card(mid)
        refs = [r for r in card.weights if not r.bundled]
        if a.file:
            name = Path(a.file).name
            refs = [r for r in refs if parse_source(r.source).file_name == name] or (refs if len(refs) == 1 else [])
            if not refs:
                raise ZooError(f"zoo fetch {mid} --file {a.file}: the file name matches none of the entry's official "
                               f"files ({', '.join(str(parse_source(r.source).file_name) for r in card.weights)})")
        if not refs:
            print(f"{mid}: no weights to fetch" + (" (bundled in its plugin)" if card.weights else ""), file=sys.stderr)
        for ref in refs:
            link = parse_source(ref.source)
            url = f"{a.source_base.rstrip('/')}/{link.file_name}" if a.source_base and link.file_name else None
            try:
                got = fetch_from_source(ref, mid, trust_on_first_use=a.trust_on_first_use, url=url, file=a.file)
            except ZooError as exc:
                print(f"error: {exc}", file=sys.stderr)
                status = EXIT_WEIGHTS
                continue
            how = {"sha256": "sha256 verified", "prefix": f"sha256 prefix {ref.sha256_prefix} verified",
                   TOFU: "UNVERIFIED (trust on first use)"}[got.verification]
            print(f"{mid}: {got.path} ({how}{', filed from ' + a.file if a.file else '' if got.downloaded else ', already cached'})")
            if got.verification == TOFU:
                print(f"  no published hash was checked. To pin this file, add to the entry's weights"
                      f"{' (part ' + ref.part + ')' if ref.part else ''}:\n  sha256: {got.sha256}\n  size: {got.size}\n"
                      f"  (and `provenance:` once two independent public records agree on it)", file=sys.stderr)
    return status


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
                from zoo.sources import manual_steps, parse_source

                if parse_source(ref.source).kind == "direct":
                    part = f"{ref.part}=" if ref.part else ""
                    print(f"error: {mid}: no Hugging Face Hub mirror is pinned for {ref.source}; `zoo fetch {mid} "
                          f"--from-source` gets the official file, or download it from there and pass it with "
                          f"--weights {part}FILE", file=sys.stderr)
                else:  # Drive, Dropbox, a repository page, a file to convert: the steps by hand, per part
                    print(f"error: {manual_steps(ref, mid)}", file=sys.stderr)
                status = EXIT_WEIGHTS
                continue
            try:
                if pin and ref.bundled:
                    _, digest = pin_ref(ref)
                    note = ("matches the catalog" if digest == ref.sha256 else
                            f"the catalog pins {ref.sha256}: paste this sha256 into the entry if the file is right")
                    print(f"{mid}: bundled {ref.bundled} ({note})\n  bundled: {ref.bundled}\n  sha256: {digest}")
                elif pin:
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

    from zoo.errors import UnknownNameError
    from zoo.plugins import registry, unknown_message

    status = EXIT_OK
    hub_names = catalog_datasets()
    kinds = registry().items["datasets"]
    unknown = [n for n in names if n not in hub_names and n not in kinds]
    if unknown:
        raise UnknownNameError(unknown_message("dataset", unknown[0], [*kinds, *hub_names]))
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
    if a.from_source or a.file:
        return _fetch_from_source(list(dict.fromkeys(ids)), a)
    if a.trust_on_first_use or a.source_base:
        raise ZooError("--trust-on-first-use and --source-base go with --from-source")
    status = _fetch_refs(list(dict.fromkeys(ids)), a.pin) if ids else EXIT_OK
    return max(status, _fetch_datasets(list(dict.fromkeys(datasets))))


def cmd_dataset_manifest(a) -> int:
    """Print the sha256 manifest of a dataset's files as a registry.yaml ``variants:`` block (pins a variant)."""
    from zoo.datasets import variants as V
    from zoo.datasets.folder import folder
    from zoo.datasets.hub import catalog_datasets, from_catalog

    if a.name in catalog_datasets():
        ds = from_catalog(a.name, path=a.path)
    elif a.path:
        ds = folder(a.path, name=a.name)
    else:
        raise ZooError(f"zoo dataset-manifest: {a.name!r} is not a catalog dataset; give --path DIR to hash a local folder")
    found = V.manifest(ds.files)
    if ds.variant:
        print(f"[zoo] {a.name}: {V.describe(ds.variant)}", file=sys.stderr)
    print(V.emit_manifest(a.name, found, source=a.source or (str(a.path) if a.path else None), name=a.variant), end="")
    return EXIT_OK


def cmd_convert(a) -> int:
    from zoo.catalog import get_card
    from zoo.loading import build, load_local_weights
    from zoo.weights import save_state_dict

    card = get_card(a.id)
    method = build(card, own_weights=True, **_parse_setting(a.setting))
    load_local_weights(method, a.checkpoint)  # strict: proves the converted layout is complete
    out = Path(a.output)
    digest = save_state_dict(method.weights_state_dict(), out)
    source = a.source or "<official URL of the checkpoint>"
    bundled = a.bundled or _bundled_guess(card, out.name)
    fields = {"file": out.name, "sha256": digest, "source": source, "bundled": bundled}
    if a.json:
        _print_json(fields)
        return 0
    print(f"# catalog fields for {card.id}, either on the Hugging Face Hub (upload {out.name} to a model repo;\n"
          f"# `zoo fetch --pin {card.id}` then prints the revision to pin):\nweights:\n  hub: <owner/repo>\n"
          f"  file: {out.name}\n  revision: <40-hex commit of the upload>\n  sha256: {digest}\n  source: {source}")
    print(f"# or shipped inside your plugin package (copy {out.name} to the path after the colon):\nweights:\n"
          f"  bundled: {bundled}\n  sha256: {digest}\n  source: {source}")
    return 0


def _bundled_guess(card, filename: str) -> str:
    """``package:weights/FILE`` in the package of the card's bundled weights, or of the plugin that built it."""
    for ref in card.weights:
        if ref.bundled:
            return f"{ref.bundled.split(':', 1)[0]}:weights/{filename}"
    try:
        from zoo.plugins import registry

        module = registry().get("methods", card.factory).obj.__module__
        return f"{module.split('.')[0]}:weights/{filename}"
    except Exception:
        return f"<your_package>:weights/{filename}"


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


def parse_device(name: str) -> str:
    """``--device`` checked before anything is loaded: a torch device that exists here."""
    import torch

    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise ZooError(f"--device {name!r} is not a device; use cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ZooError(f"--device {name}: no CUDA GPU is usable here (torch.cuda.is_available() is False); "
                           f"use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ZooError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                           f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1})")
    elif dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ZooError(f"--device {name}: Apple's MPS backend is not available here; use --device cpu")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ZooError(f"--device {name}: imagezoo runs on cpu, cuda or mps, not {dev.type}")
    return str(dev)


def _output_names(inputs: list[Path]) -> list[str]:
    """Unique output stems for ``zoo run``'s inputs (no extension).

    Each file keeps its stem (``photo.png`` -> ``photo``) unless two inputs share it; then
    the input folders are mirrored (``a/x.png``, ``b/x.png`` -> ``a/x``, ``b/x``), and where
    that is still ambiguous the extension is kept too (``x.png``, ``x.jpg`` -> ``x-png``, ``x-jpg``).
    """
    import os

    from zoo.report.html import safe_name

    real = [p.resolve() for p in inputs]
    common = Path(os.path.commonpath([str(r.parent) for r in real]))

    def mirrored(r: Path, ext: bool) -> str:
        rel = r.relative_to(common)
        stem = safe_name(rel.stem + (f"-{rel.suffix.lstrip('.')}" if ext and rel.suffix else ""))
        return "/".join([safe_name(part) for part in rel.parent.parts] + [stem])

    for name in (lambda r: safe_name(r.stem), lambda r: mirrored(r, False), lambda r: mirrored(r, True)):
        names = [name(r) for r in real]
        if len(set(names)) == len(names):
            return names
    return [f"{n}-{i}" for i, n in enumerate(names)]  # unreachable for distinct files; kept as a last resort


def _plan_run_outputs(inputs: list[str], out: Path, protected: list[str], overwrite: bool, bitstreams: bool) -> list[tuple[Path, Path, Path | None]]:
    """(input, image destination, bitstream destination) per input, checked before anything is computed.

    Raises:
        RunFolderError: ``-o`` is a file or not writable, a destination is one of the inputs
            (or the style or weights files), or a destination exists and ``overwrite`` is off.
    """
    import os

    from zoo.errors import RunFolderError

    if out.exists() and not out.is_dir():
        raise RunFolderError(f"-o {out}: is a file, not a folder; name a folder (created if missing)")
    paths, seen = [], set()
    for i in inputs:
        p = Path(i)
        if not p.is_file():
            raise ZooError(f"{p}: no such file" if not p.exists() else f"{p}: is not a file; give image files")
        if p.resolve() in seen:
            print(f"warning: {p} is given more than once; it is processed once", file=sys.stderr)
            continue
        seen.add(p.resolve())
        paths.append(p)
    plans = [(p, out / f"{n}.png", out / f"{n}.bin" if bitstreams else None) for p, n in zip(paths, _output_names(paths))]
    from zoo.images import check_destinations

    check_destinations([d for _, *dests in plans for d in dests if d], [*(str(p) for p in paths), *protected], overwrite)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(f"-o {out}: cannot create the folder ({exc.strerror}); choose another -o folder") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise RunFolderError(f"-o {out}: the folder is not writable; choose another -o folder")
    return plans


def _write_atomic(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` through a temporary file, so a failure never leaves half a file."""
    import os
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _estimate_run_memory(path: Path, method) -> None:
    """Refuse an input whose pixels (and output pixels, x scale^2) would exceed the memory limit."""
    from zoo.images import check_memory, check_pixels, image_size

    h, w = image_size(path)
    check_pixels(h, w, str(path))
    scale = getattr(method, "scale", 1)
    scale = scale if isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0 else 1
    # float32 RGB input and output, and a working copy of each: 2 x 12 bytes x (1 + scale^2) per input pixel
    check_memory(int(24 * h * w * (1 + scale * scale)), str(path),
                 f"{w}x{h} pixels" + (f" at x{scale}" if scale != 1 else ""))


def cmd_run(a) -> int:
    import torch

    from zoo.images import encode, read_image
    from zoo.loading import load_method
    from zoo.taskspec import task_spec

    device = parse_device(a.device)
    method = load_method(a.id, device=device, weights=_parse_weights(a.weights), **_parse_setting(a.setting))
    spec = task_spec(method.task)
    protected = [a.style] + [w.partition("=")[2] if "=" in w and not Path(w).exists() else w for w in a.weights or []]
    plans = _plan_run_outputs(a.inputs, Path(a.output), protected, a.overwrite, bitstreams="bitstreams" in spec.provides)
    options = {"direction": a.direction}
    extras = {"style": read_image(a.style)[None].to(device)} if a.style else {}
    status = EXIT_OK
    for inp, dest, bin_dest in plans:
        try:
            _estimate_run_memory(inp, method)
            x = read_image(inp)[None].to(device)
            with torch.enable_grad() if method.needs_grad else torch.inference_mode():
                outcome = spec.run_file(method, x, options, extras)
            _write_atomic(dest, encode(outcome.images[0].detach().cpu(), "PNG"))
            if "bitstreams" in outcome.outputs:
                target = bin_dest or dest.with_suffix(".bin")
                _write_atomic(target, outcome.outputs["bitstreams"][0])
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
    retried = f", of which retried after failing before {run.retried_units}" if getattr(run, "retried_units", 0) else ""
    print(f"report: {Path(run.path).resolve()}/index.html  (units computed {run.computed_units}{retried}, reused {run.reused_units})", file=sys.stderr)


def _gate(current, baseline_path: str, tolerances: list[str], subset: bool, nan_equal: bool = True,
          label: str | None = None, run_path=None, details: bool = False) -> int:
    from zoo.report import load_results
    from zoo.report.compare import Tolerances, gate, parse_tolerances, run_tolerances, unmatched_tolerances

    tol = Tolerances(parse_tolerances(tolerances), suite=run_tolerances(run_path))
    baseline = load_results(baseline_path)
    for name in unmatched_tolerances(tol.given, current, baseline):
        print(f"warning: --tolerance {name}: matches no metric, alias or column in the run or the baseline; "
              f"it is not applied (check the spelling: see the `metric` column of results.csv)", file=sys.stderr)
    drifted, text = gate(current, baseline, tol, subset=subset, nan_equal=nan_equal, details=details)
    if text:
        print(text)
    if not drifted:
        print(f"regression gate: no drift against {label or baseline_path}", file=sys.stderr)
        return EXIT_OK
    print(f"regression gate: {drifted} drift(s) against {label or baseline_path}", file=sys.stderr)
    return EXIT_DRIFT


def cmd_bench(a) -> int:
    import tempfile

    from zoo.harness.runner import run_suite
    from zoo.harness.verdict import run_problems, verdict

    with tempfile.TemporaryDirectory(prefix="zoo-baseline-") as tmp:  # the snapshot lives as long as the command
        baseline = _snapshot_baseline(a.against, a.tolerance, Path(tmp)) if a.against else None
        run = run_suite(a.suite, out=a.output, include_path=a.include_path, device=parse_device(a.device),
                        methods=a.method or None, progress=not a.no_progress, executor=a.executor, workers=a.workers,
                        licence=a.licence, recompute=a.recompute, force=a.force)
        _print_leaderboard(run)
        left_out = run.meta.get("licence_filter", {}).get("left_out", [])
        if left_out:
            print(f"--licence {a.licence}: left out {len(left_out)} non-commercial method(s): {', '.join(left_out)}", file=sys.stderr)
        expected = {b.name: b.allow_unavailable for b in run.suite.benchmarks}
        status, summary = verdict(run_problems(run.results, expected), a.allow_failures, a.allow_unavailable)
        for line in summary:
            print(line, file=sys.stderr)
        if baseline is not None:
            subset = bool(a.method) or bool(left_out)
            _site_against(run.path, str(baseline), a.tolerance, subset=subset, label=a.against)
            gate = _gate(run.results, str(baseline), a.tolerance, subset=subset, label=a.against, run_path=run.path,
                         details=a.details)
            status = EXIT_DRIFT if EXIT_DRIFT in (status, gate) else max(status, gate)  # a drift is never hidden by exit 3
        return status


def _snapshot_baseline(against: str, tolerances: list[str], folder: Path) -> Path:
    """Check ``--against`` and ``--tolerance`` before anything runs, and copy the baseline's results
    as they are now into ``folder``: the run may write into the very folder the baseline is."""
    from zoo.report import load_results
    from zoo.report.compare import parse_tolerances

    parse_tolerances(tolerances)
    snapshot = folder / "results.parquet"
    load_results(against).to_parquet(snapshot, index=False)
    return snapshot


def _site_against(run_path, against: str, tolerances: list[str], subset: bool, label: str | None = None) -> Path:
    """Rebuild the run's index.html with a diff view against the baseline."""
    from zoo.report.compare import Tolerances, parse_tolerances, run_tolerances
    from zoo.report import rebuild_site

    tol = Tolerances(parse_tolerances(tolerances), suite=run_tolerances(run_path))
    return rebuild_site(run_path, against, tol, subset=subset, label=label)


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

    return _gate(load_results(a.run), a.baseline, a.tolerance, subset=a.subset, nan_equal=not a.nan_is_drift,
                 run_path=a.run, details=a.details)


def cmd_mirror(a) -> int:
    from zoo.mirror import mirror

    done = mirror(a.ids, a.to, dry_run=a.dry_run, out=a.out, trust_on_first_use=a.trust_on_first_use,
                  source_base=a.source_base, registry=Path(a.registry) if a.registry else None,
                  log=lambda m: print(m, file=sys.stderr))
    for s in done:
        verb = "staged (dry run, nothing uploaded)" if a.dry_run else "uploaded and recorded in registry.yaml"
        print(f"{s.method_id}: {s.repo_id} {verb}: {s.folder if a.dry_run else ''}".rstrip())
        for c in s.copies:
            print(f"  {c['file']}: sha256 {c['sha256']} (from source sha256 {c['source_sha256']})"
                  + (f" revision {c['revision']}" if c.get("revision") else ""))
    return EXIT_WEIGHTS if any(s.skipped for s in done) else EXIT_OK
def cmd_new_plugin(a) -> int:
    from zoo.newplugin import write_plugin

    root = write_plugin(a.name, Path(a.output), force=a.force)
    print(root)
    print(f"next: pip install -e {root}  (uv: uv pip install -e {root}), then pytest -q {root / 'tests'}", file=sys.stderr)
    return EXIT_OK


TOLERANCE_HELP = ("NAME=TOL: absolute (psnr=0.01), relative to the baseline value (psnr=0.1%%) or both "
                  "(psnr=0.01+0.1%%); repeatable or comma-separated; NAME: column, alias or metric (the column or alias "
                  "wins); over the suite's tolerances: block and the metric's own (docs/ci.md)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zoo", description="imagezoo: model zoo and benchmark harness for neural image processing")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error (also ZOO_DEBUG=1)")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("list", help="list catalog methods")
    s.add_argument("--task")
    s.add_argument("--pattern", help="glob on the method id")
    s.add_argument("--available", action="store_true", help="only methods whose weights are local")
    s.add_argument("--provenance", action="store_true",
                   help="official source, licence, hash status (published-pinned / prefix-only / unverified / none), Hub mirror")
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
    s.add_argument("--from-source", action="store_true",
                   help="download the official file (direct links), verify its published hash, file it in the cache")
    s.add_argument("--trust-on-first-use", action="store_true",
                   help="with --from-source: accept a file no published hash covers (recorded as unverified)")
    s.add_argument("--source-base", help="with --from-source: fetch the official file names from this URL "
                   "(an internal mirror); the pinned hashes still apply")
    s.add_argument("--file", help="file a copy downloaded by hand (Google Drive, Dropbox) after verifying it")
    s.set_defaults(fn=cmd_fetch)

    s = sub.add_parser("convert", help="official checkpoint -> safetensors + catalog fields")
    s.add_argument("id")
    s.add_argument("checkpoint")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--source", help="official URL the checkpoint came from")
    s.add_argument("--bundled", metavar="PACKAGE:PATH", help="where the file will live in your plugin package "
                   "(printed as the `bundled:` form; default PACKAGE:weights/FILE)")
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
    s.add_argument("--overwrite", action="store_true", help="replace existing outputs (inputs are never overwritten)")
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
    s.add_argument("--tolerance", action="append", default=[], help=TOLERANCE_HELP)
    s.add_argument("--details", action="store_true", help="with --against: after the drifted means, every mean that moved "
                   "and every item value that drifted")
    s.add_argument("--device", default="cpu")
    s.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="ray: run units in parallel as Ray tasks (pip install 'imagezoo[ray]')")
    s.add_argument("--workers", type=int, help="CPUs for the ray executor (default: all)")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--licence", "--license", dest="licence", choices=["any", "commercial"], default="any",
                   help="commercial: leave out methods whose weights are for non-commercial use only")
    s.add_argument("--recompute", nargs="*", metavar="METHOD",
                   help="compute again instead of reusing stored units: these method ids, or every method if none "
                        "is named (put the suite first: zoo bench SUITE --recompute)")
    s.add_argument("--allow-failures", action="store_true", help="exit 0 even if units failed (they stay in the report)")
    s.add_argument("--allow-unavailable", action="store_true",
                   help="exit 0 even if methods or metrics were unavailable (beyond the suite's allow_unavailable)")
    s.add_argument("--force", action="store_true", help="write into a non-empty -o folder that is not a zoo run folder")
    s.set_defaults(fn=cmd_bench)

    s = sub.add_parser("report", help="print a run's leaderboard; --open shows its index.html in the browser")
    s.add_argument("run")
    s.add_argument("--open", action="store_true", help="open the run's index.html in the default browser")
    s.add_argument("--against", help="baseline run folder or results file: rebuild index.html with a diff view")
    s.add_argument("--tolerance", action="append", default=[], help=TOLERANCE_HELP)
    s.add_argument("--subset", action="store_true", help="with --against: only methods present in RUN")
    s.set_defaults(fn=cmd_report)

    s = sub.add_parser("compare", help="regression gate: run vs baseline")
    s.add_argument("run")
    s.add_argument("baseline")
    s.add_argument("--tolerance", action="append", default=[], help=TOLERANCE_HELP)
    s.add_argument("--details", action="store_true", help="after the drifted means, every mean that moved and every "
                   "item value that drifted")
    s.add_argument("--subset", action="store_true", help="only methods present in RUN")
    s.add_argument("--nan-is-drift", action="store_true", help="a value NaN in both runs is a drift (default: it matches)")
    s.set_defaults(fn=cmd_compare)
    s = sub.add_parser("mirror", help="maintainers: official files -> verified safetensors Hub repos (+ registry.yaml)")
    s.add_argument("ids", nargs="+")
    s.add_argument("--to", required=True, help="Hugging Face user or organisation: repos are OWNER/<method id>")
    s.add_argument("--dry-run", action="store_true", help="write the folder that would be uploaded; upload nothing")
    s.add_argument("--out", help="with --dry-run: parent folder of the staged repos (default mirrors/)")
    s.add_argument("--trust-on-first-use", action="store_true", help="mirror files no published hash covers")
    s.add_argument("--source-base", help="fetch the official file names from this URL (an internal mirror)")
    s.add_argument("--registry", help="registry.yaml to record the mirrors in (default: the package's)")
    s.set_defaults(fn=cmd_mirror)

    s = sub.add_parser("dataset-manifest", help="sha256 of every file of a dataset, as a registry.yaml variants block")
    s.add_argument("name", help="catalog dataset (or any name, with --path)")
    s.add_argument("--path", help="local folder of the dataset's files (default: the catalog's Hub copy)")
    s.add_argument("--variant", help="name to record the variant under (default: local)")
    s.add_argument("--source", help="where the files came from (URL, archive, paper)")
    s.set_defaults(fn=cmd_dataset_manifest)

    s = sub.add_parser("new-plugin", help="write a working plugin package (method, metric, suite, tests)")
    s.add_argument("name", help="lowercase dashed name, e.g. my-denoiser (package zoo_my_denoiser)")
    s.add_argument("-o", "--output", default=".", help="parent folder (default: here)")
    s.add_argument("--force", action="store_true", help="write into an existing non-empty folder")
    s.set_defaults(fn=cmd_new_plugin)
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


def _os_error_message(exc: OSError) -> str:
    where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
    fix = {"PermissionError": "check the permissions, or choose another path",
           "FileNotFoundError": "check the path", "FileExistsError": "remove it or choose another path",
           "IsADirectoryError": "give a file, not a folder", "NotADirectoryError": "a part of the path is a file, not a folder"}
    return f"{where}{exc.strerror or exc}; {fix.get(type(exc).__name__, 'check the path and free disk space')}"


def main(argv: list[str] | None = None) -> int:
    """The ``zoo`` command: one handler maps every error family to its documented exit code."""
    import os

    argv = sys.argv[1:] if argv is None else list(argv)
    debug = os.environ.get("ZOO_DEBUG", "") not in ("", "0")
    while argv and argv[0] == "--debug":  # a global flag before the verb
        debug = True
        argv.pop(0)
    if argv and argv[0] in CORE_VERBS and "--debug" in argv:  # core verbs take it anywhere
        debug = True
        argv = [x for x in argv if x != "--debug"]

    def fail(code: int, message: str) -> int:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"error: {message}", file=sys.stderr)
        return code

    try:
        parser = build_parser()
        command = _plugin_command(argv[0]) if argv else None
        if command is not None:  # everything after the verb, options included, is the plugin's
            return int(command.obj(argv[1:]) or 0)
        args = parser.parse_args(argv)
        return int(args.fn(args) or 0)
    except KeyboardInterrupt:
        print("interrupted; finished units are kept, re-run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except WeightsError as exc:
        return fail(EXIT_WEIGHTS, str(exc))
    except ZooError as exc:
        return fail(EXIT_USAGE, str(exc))
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a path the user named: unreadable, read-only, missing, full disk
        return fail(EXIT_USAGE, _os_error_message(exc))
    except MemoryError:
        return fail(EXIT_USAGE, "out of memory; use smaller inputs (or tiles), or lower ZOO_MAX_MEMORY_MB so inputs "
                                "that cannot fit are refused up front")
    except Exception as exc:
        return fail(EXIT_INTERNAL, f"internal error ({type(exc).__name__}: {exc}). This is a bug in imagezoo or a "
                                   f"plugin: re-run with --debug for the traceback and report it")


if __name__ == "__main__":
    sys.exit(main())
