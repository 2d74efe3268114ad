"""``zoo convert``: an official checkpoint -> a safetensors file and the catalog fields to pin it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.cli._common import parse_setting, print_json


def cmd_convert(a: Any) -> int:
    from zoo.catalog import get_card
    from zoo.loading import build, load_local_weights
    from zoo.weights import save_state_dict

    card = get_card(a.id)
    method = build(card, own_weights=True, **parse_setting(a.setting))
    load_local_weights(method, a.checkpoint)  # strict: proves the converted layout is complete
    out = Path(a.output)
    digest = save_state_dict(method.weights_state_dict(), out)
    source = a.source or "<official URL of the checkpoint>"
    bundled = a.bundled or _bundled_guess(card, out.name)
    fields = {"file": out.name, "sha256": digest, "source": source, "bundled": bundled}
    if a.json:
        print_json(fields)
        return 0
    print(f"# catalog fields for {card.id}, either on the Hugging Face Hub (upload {out.name} to a model repo;\n"
          f"# `zoo fetch --pin {card.id}` then prints the revision to pin):\nweights:\n  hub: <owner/repo>\n"
          f"  file: {out.name}\n  revision: <40-hex commit of the upload>\n  sha256: {digest}\n  source: {source}")
    print(f"# or shipped inside your plugin package (copy {out.name} to the path after the colon):\nweights:\n"
          f"  bundled: {bundled}\n  sha256: {digest}\n  source: {source}")
    return 0


def _bundled_guess(card: Any, filename: str) -> str:
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


def register(sub: Any) -> None:
    """Add ``convert`` to the ``zoo`` parser."""
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
