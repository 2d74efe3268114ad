"""What every ``zoo`` verb shares: exit codes, JSON output, and parsing of repeated options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.errors import ZooError

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_WEIGHTS, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def parse_setting(items: list[str]) -> dict:
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
        except ValueError as exc:  # a number past Python's digit limit for int()
            raise ZooError(f"--setting {k}=<{len(v)} characters>: not a usable value ({str(exc)[:120]}); "
                           f"e.g. quality=75") from None
    return out


def parse_weights(items: list[str] | None) -> str | dict[str, str] | None:
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
