"""Applying a method to image files (``zoo run``): output names, destinations checked before
anything is computed, atomic writes, and the memory a file would need.

The command line prints; everything here returns or raises (:mod:`zoo.errors`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from zoo.errors import RunFolderError, ZooError
from zoo.images import check_destinations, check_memory, check_pixels, image_size

__all__ = ["output_stem", "output_names", "plan_outputs", "write_atomic", "check_input_memory", "apply_to_file"]


def output_stem(text: str, limit: int = 120) -> str:
    """A file-name-safe stem that keeps letters and digits of every script (``Café`` stays ``Café``,
    ``東京`` stays ``東京``): anything else but ``.``, ``_`` and ``-`` becomes ``_`` (separators, spaces,
    control and shell characters); NFC-normalised, no leading dots."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFC", str(text))
    s = re.sub(r"_+", "_", "".join(c if c.isalnum() or c in "._-" else "_" for c in text)).strip("._") or "_"
    return s[:limit]


def output_names(inputs: list[Path]) -> list[str]:
    """Unique output stems for ``zoo run``'s inputs (no extension).

    Each file keeps its stem (``photo.png`` -> ``photo``) unless two inputs share it; then
    the input folders are mirrored (``a/x.png``, ``b/x.png`` -> ``a/x``, ``b/x``), and where
    that is still ambiguous the extension is kept too (``x.png``, ``x.jpg`` -> ``x-png``, ``x-jpg``).
    """
    real = [p.resolve() for p in inputs]
    common = Path(os.path.commonpath([str(r.parent) for r in real]))

    def mirrored(r: Path, ext: bool) -> str:
        rel = r.relative_to(common)
        stem = output_stem(rel.stem + (f"-{rel.suffix.lstrip('.')}" if ext and rel.suffix else ""))
        return "/".join([output_stem(part) for part in rel.parent.parts] + [stem])

    for name in (lambda r: output_stem(r.stem), lambda r: mirrored(r, False), lambda r: mirrored(r, True)):
        names = [name(r) for r in real]
        if len(set(names)) == len(names):
            return names
    return [f"{n}-{i}" for i, n in enumerate(names)]  # unreachable for distinct files; kept as a last resort


def plan_outputs(inputs: list[str], out: Path, protected: list[str], overwrite: bool, bitstreams: bool,
                 warn: Callable[[str], None] = lambda message: None) -> list[tuple[Path, Path, Path | None]]:
    """(input, image destination, bitstream destination) per input, checked before anything is computed.

    ``warn`` receives a message for each input given more than once (it is processed once).

    Raises:
        RunFolderError: ``-o`` is a file or not writable, a destination is one of the inputs
            (or the style or weights files), or a destination exists and ``overwrite`` is off.
    """
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"-o {out}: is a file, not a folder; name a folder (created if missing)")
    paths, seen = [], set()
    for i in inputs:
        p = Path(i)
        if not p.is_file():
            raise ZooError(f"{p}: no such file" if not p.exists() else f"{p}: is not a file; give image files")
        if p.resolve() in seen:
            warn(f"{p} is given more than once; it is processed once")
            continue
        seen.add(p.resolve())
        paths.append(p)
    plans = [(p, out / f"{n}.png", out / f"{n}.bin" if bitstreams else None) for p, n in zip(paths, output_names(paths))]
    check_destinations([d for _, *dests in plans for d in dests if d], [*(str(p) for p in paths), *protected], overwrite)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(f"-o {out}: cannot create the folder ({exc.strerror}); choose another -o folder") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise RunFolderError(f"-o {out}: the folder is not writable; choose another -o folder")
    return plans


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def write_atomic(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` through a temporary file, so a failure never leaves half a file.

    The file gets the permissions any new file of the user gets (0666 less the umask), not the
    temporary file's private 0600.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), 0o666 & ~_umask())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_input_memory(path: Path, method: Any) -> None:
    """Refuse an input whose pixels (and output pixels, x scale^2) would exceed the memory limit."""
    h, w = image_size(path)
    check_pixels(h, w, str(path))
    scale = getattr(method, "scale", 1)
    scale = scale if isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0 else 1
    # float32 RGB input and output, and a working copy of each: 2 x 12 bytes x (1 + scale^2) per input pixel
    check_memory(int(24 * h * w * (1 + scale * scale)), str(path),
                 f"{w}x{h} pixels" + (f" at x{scale}" if scale != 1 else ""))


def apply_to_file(method: Any, spec: Any, inp: Path, dest: Path, bitstream_dest: Path | None,
                  extras: dict[str, Any], device: str = "cpu") -> Path:
    """Run ``method`` (its task's ``spec``) on one image file and write the output image (and its
    bitstream, for a codec) atomically; returns the image written.

    Raises:
        ZooError: the file is unreadable or too large, or the method refused it.
    """
    import torch

    from zoo.images import encode, read_image

    check_input_memory(inp, method)
    x = read_image(inp)[None].to(device)
    with torch.enable_grad() if method.needs_grad else torch.inference_mode():
        outcome = spec.run_file(method, x, {}, extras)
    write_atomic(dest, encode(outcome.images[0].detach().cpu(), "PNG"))
    if "bitstreams" in outcome.outputs:
        write_atomic(bitstream_dest or dest.with_suffix(".bin"), outcome.outputs["bitstreams"][0])
    return dest
