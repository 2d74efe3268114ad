"""``zoo run``: apply a method to image files (output planning and writing: :mod:`zoo.apply`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from zoo.cli._common import EXIT_DRIFT, EXIT_OK, parse_device, parse_setting, parse_weights
from zoo.errors import ZooError


def cmd_run(a: Any) -> int:
    from zoo.apply import apply_to_file, plan_outputs
    from zoo.images import read_image
    from zoo.loading import load_method
    from zoo.taskspec import task_spec

    device = parse_device(a.device)
    setting = parse_setting(a.setting)
    if a.direction is not None:  # one meaning: the operating point's `direction` (it picks the weights too)
        if setting.get("direction", a.direction) != a.direction:
            raise ZooError(f"--direction {a.direction} and --setting direction={setting['direction']} disagree; "
                           f"give one of them")
        setting["direction"] = a.direction
    method = load_method(a.id, device=device, weights=parse_weights(a.weights), **setting)
    spec = task_spec(method.task)
    protected = [a.style] + [w.partition("=")[2] if "=" in w and not Path(w).exists() else w for w in a.weights or []]
    plans = plan_outputs(a.inputs, Path(a.output), protected, a.overwrite, bitstreams="bitstreams" in spec.provides,
                         warn=lambda message: print(f"warning: {message}", file=sys.stderr))
    extras = {"style": read_image(a.style)[None].to(device)} if a.style else {}
    status = EXIT_OK
    for inp, dest, bin_dest in plans:
        try:
            print(apply_to_file(method, spec, inp, dest, bin_dest, extras, device))
        except ZooError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = EXIT_DRIFT
    return status


def register(sub: Any) -> None:
    """Add ``run`` to the ``zoo`` parser."""
    s = sub.add_parser("run", help="apply a method to image files")
    s.add_argument("id")
    s.add_argument("inputs", nargs="+")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--setting", action="append", default=[], help="KEY=VALUE operating point")
    s.add_argument("--weights", action="append", help="local checkpoint for the entry's architecture; "
                   "PART=FILE for a part of a multi-part method (repeatable)")
    s.add_argument("--style", help="style image (style-transfer)")
    s.add_argument("--direction", help="the operating point's direction (two-way translators: AtoB, BtoA); the same as "
                   "--setting direction=D")
    s.add_argument("--device", default="cpu")
    s.add_argument("--overwrite", action="store_true", help="replace existing outputs (inputs are never overwritten)")
    s.set_defaults(fn=cmd_run)
