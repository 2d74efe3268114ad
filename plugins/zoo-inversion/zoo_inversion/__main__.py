"""``zoo edit``: the manifold edits (registered as a ``zoo`` verb through ``register_commands``;
``python -m zoo_inversion`` runs the same).

    zoo edit interpolate a.png b.png -o strip.png [--gif path.gif] [--frames 8]
    zoo edit mix base.png donor.png -o mixed.png --group coarse
    zoo edit scribble photo.png --scribble s.png --mask m.png -o edited.png
    zoo edit inpaint photo.png --mask m.png -o filled.png

Common options: ``--method sg2-optim.lfw32`` (an inversion method id), ``--space``,
``--steps``, ``--weights`` (a local checkpoint). Masks are read as grey images (white = 1).
"""

from __future__ import annotations

import argparse
import sys

import torch


def _load(a):
    import zoo

    opts = {"space": a.space, "steps": a.steps}
    return zoo.load(a.method, weights=a.weights, **{k: v for k, v in opts.items() if v is not None})


def _img(path: str) -> torch.Tensor:
    from zoo.images import read_image

    return read_image(path).unsqueeze(0)


def _mask(path: str) -> torch.Tensor:
    return _img(path).mean(1, keepdim=True)


def main(argv: list[str] | None = None) -> int:
    from zoo.images import write_image
    from zoo_inversion import edits

    p = argparse.ArgumentParser(prog="zoo edit", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("verb", choices=["interpolate", "mix", "scribble", "inpaint"])
    p.add_argument("images", nargs="+")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--method", default="sg2-optim.lfw32")
    p.add_argument("--space", default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--weights", default=None)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--gif", default=None)
    p.add_argument("--group", default="fine")
    p.add_argument("--scribble", default=None)
    p.add_argument("--mask", default=None)
    p.add_argument("--lam", type=float, default=10.0)
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (inputs are never overwritten)")
    a = p.parse_args(argv)
    need = {"interpolate": 2, "mix": 2, "scribble": 1, "inpaint": 1}[a.verb]
    if len(a.images) != need:
        p.error(f"{a.verb} takes {need} image(s), got {len(a.images)}")
    if a.verb in ("scribble", "inpaint") and not a.mask:
        p.error(f"{a.verb} needs --mask")
    if a.verb == "scribble" and not a.scribble:
        p.error("scribble needs --scribble")
    from pathlib import Path

    from zoo.images import check_destinations

    inputs = [*a.images, a.scribble, a.mask, a.weights]
    check_destinations([Path(f) for f in (a.out, a.gif) if f], inputs, a.overwrite, where="-o / --gif file")
    m = _load(a)
    if a.verb == "interpolate":
        la, lb = m.invert(_img(a.images[0])), m.invert(_img(a.images[1]))
        frames = edits.interpolation_frames(m, la, lb, a.frames)
        edits.write_strip(a.out, frames)
        if a.gif:
            edits.write_gif(a.gif, frames)
    elif a.verb == "mix":
        mixed = edits.style_mix(m, m.invert(_img(a.images[0])), m.invert(_img(a.images[1])), a.group)
        write_image(a.out, edits.generate_any(m, mixed)[0])
    elif a.verb == "scribble":
        start = m.invert(_img(a.images[0]))
        edited = edits.scribble_edit(m, start, _img(a.scribble), _mask(a.mask), lam=a.lam)
        write_image(a.out, m.generate(edited)[0])
    else:
        out, _ = edits.inpaint(m, _img(a.images[0]), _mask(a.mask))
        write_image(a.out, out[0])
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
