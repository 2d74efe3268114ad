"""``zoo list``, ``zoo info``, ``zoo plugins``: what the catalog and the plugins hold."""

from __future__ import annotations

import sys
from typing import Any

from zoo.cli._common import parse_setting, print_json


def cmd_list(a: Any) -> int:
    from zoo.catalog import list_methods
    from zoo.plugins import failed_plugins
    from zoo.weights import availability

    cards = list_methods(task=a.task, pattern=a.pattern, available=a.available, settings=parse_setting(a.setting))
    if getattr(a, "provenance", False):
        return _list_provenance(cards, a.json)
    for name, error in sorted(failed_plugins().items()):
        print(f"warning: plugin {name!r} failed to load: {error}; its methods are not listed "
              f"(`zoo plugins` shows every plugin's state)", file=sys.stderr)
    if a.json:
        print_json([{**c.to_dict(), "availability": availability(c.weights)} for c in cards])
        return 0
    for c in cards:
        print(f"{c.id:40s} {c.task:18s} {availability(c.weights):14s} {c.paper or ''}")
    return 0


def _list_provenance(cards: list[Any], as_json: bool) -> int:
    from collections import Counter

    from zoo.provenance import provenance_rows

    rows = provenance_rows(cards)
    counts = Counter(r["hash_status"] for r in rows)
    if as_json:
        print_json({"methods": rows, "counts": dict(counts)})
        return 0
    print(f"{'id':40s} {'hash':16s} {'source':22s} {'hub mirror':28s} {'local':8s} licence")
    for r in rows:
        lic = (r["license"] or "") + ("  [NON-COMMERCIAL]" if r["non_commercial"] else "")
        print(f"{r['id']:40s} {r['hash_status']:16s} {r['source'][:22]:22s} {r['hub_mirror'][:28]:28s} {r['local'][:8]:8s} {lic}")
    order = ["published-pinned", "prefix-only", "unverified", "none", "bundled", "-"]
    print("\n" + ", ".join(f"{counts[k]} {k if k != '-' else 'without weights'}" for k in order if counts[k])
          + f" ({len(rows)} methods)", file=sys.stderr)
    return 0


def cmd_info(a: Any) -> int:
    from zoo.catalog import get_card
    from zoo.provenance import info_provenance
    from zoo.weights import is_available, local_path

    card = get_card(a.id)
    d = card.to_dict()
    d["available"] = all(is_available(r) for r in card.weights)
    d["local_files"] = [str(local_path(r)) if local_path(r) else None for r in card.weights]
    d.update(info_provenance(card))
    if a.json:
        print_json(d)
    else:
        for k, v in d.items():
            print(f"{k}: {v}")
    return 0


def cmd_plugins(a: Any) -> int:
    from zoo.plugins import plugin_report

    infos = plugin_report()
    if a.json:
        print_json([i.__dict__ for i in infos])
        return 0
    for i in infos:
        counts = ", ".join(f"{len(v)} {k}" for k, v in i.registered.items()) or "nothing registered"
        print(f"{i.name:14s} {i.version or '':8s} {i.module:28s} {'ERROR: ' + i.error if i.error else counts}")
        for w in i.warnings:
            print(f"{'':14s} warning: {w}")
    return 0


def register(sub: Any) -> None:
    """Add ``list``, ``info`` and ``plugins`` to the ``zoo`` parser."""
    s = sub.add_parser("list", help="list catalog methods")
    s.add_argument("--task")
    s.add_argument("--pattern", help="glob on the method id")
    s.add_argument("--available", action="store_true", help="only methods whose weights are local")
    s.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                   help="only methods that run with this value: an operating point, a fixed parameter or an allowed "
                        "option (repeatable: all must hold), e.g. --setting scale=4")
    s.add_argument("--provenance", action="store_true",
                   help="official source, licence, hash status (published-pinned / prefix-only / unverified / none), Hub mirror")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_list)

    s = sub.add_parser("info", help="show a method card")
    s.add_argument("id")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_info)

    s = sub.add_parser("plugins", help="loaded plugins, what they registered, their errors")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_plugins)
