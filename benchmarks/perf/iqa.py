"""zoo-iqa speed: each metric against the fastest installable peer, same process, same inputs.

Peers: piq 0.8 (BRISQUE, FSIM/FSIMc, VIF-p, GMSD; on float32 inputs as users call it, and on float64, the
precision ours computes in, as MATLAB does), sewar (VIF-p, per image in numpy),
DISTS_pytorch (DISTS; both sides on the same seeded random VGG-16, as the trunk is a
download). NIQE has no installable peer (pyiqa pulls transformers, datasets, bitsandbytes;
scikit-video's NIQE uses another model): its time is printed alone, beside SSIM's.

Inputs: ``--batch`` held-out sample photographs cropped to ``--size`` px, and a noisy copy
(sigma 0.05) as the output. Each case alternates ours and the peer for ``--rounds`` rounds and
keeps each side's fastest (the least disturbed on a shared machine); ratio = peer / ours
(> 1: ours is faster). Load averages are printed: ratios hold under load, absolute times don't.

    uv run python benchmarks/perf/iqa.py [--rounds 3] [--threads 2] [--batch 4] [--size 256]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import torch
from _race import race


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import numpy as np
    import piq
    import sewar

    import zoo
    from zoo_iqa.dists import random_vgg16_features
    from zoo_iqa.fr import yiq255
    from zoo_iqa.models import load_brisque_model

    ds = zoo.dataset("samples", split="heldout")
    s = args.size
    ref = torch.cat([ds[i % len(ds)].image[None, :, :s, :s] for i in range(args.batch)])
    g = torch.Generator().manual_seed(0)
    out = torch.round((ref + 0.05 * torch.randn(ref.shape, generator=g)).clamp(0, 1) * 255) / 255

    hub = tempfile.mkdtemp()  # piq's BRISQUE model file, laid out from the shipped LIVE model
    (Path(hub) / "checkpoints").mkdir()
    bm = load_brisque_model()
    torch.save((torch.from_numpy(bm.coef).float(), torch.from_numpy(bm.sv).float().contiguous()), Path(hub) / "checkpoints" / "brisque_svm_weights.pt")
    torch.hub.set_dir(hub)

    import DISTS_pytorch.DISTS_pt as dists_release

    with mock.patch.object(dists_release.models, "vgg16", lambda pretrained=True: SimpleNamespace(features=random_vgg16_features(0))):
        dists_peer = dists_release.DISTS().eval()

    out64, ref64 = out.double(), ref.double()  # piq at the precision ours computes in (MATLAB's double)

    def sewar_vif():
        return torch.tensor([sewar.vifp(yiq255(r[None])[0, 0].numpy(), yiq255(o[None])[0, 0].numpy(), sigma_nsq=2) for r, o in zip(ref, out)])

    m = {n: zoo.metric(n) for n in ("niqe", "brisque", "fsim", "fsimc", "vif", "gmsd", "ssim")}
    m["dists"] = zoo.metric("dists", random_trunk=True, seed=0)
    cases = [
        ("niqe", "(no installable peer)", lambda: m["niqe"](out), None),
        ("niqe", "imagezoo ssim, for scale", lambda: m["niqe"](out), lambda: m["ssim"](out, ref)),
        ("brisque", "piq", lambda: m["brisque"](out), lambda: piq.brisque(out, data_range=1.0, reduction="none")),
        ("fsim", "piq", lambda: m["fsim"](out, ref), lambda: piq.fsim(out, ref, data_range=1.0, chromatic=False, reduction="none")),
        ("fsimc", "piq", lambda: m["fsimc"](out, ref), lambda: piq.fsim(out, ref, data_range=1.0, chromatic=True, reduction="none")),
        ("vif", "piq", lambda: m["vif"](out, ref), lambda: piq.vif_p(out, ref, data_range=1.0, reduction="none")),
        ("fsim", "piq float64", lambda: m["fsim"](out, ref), lambda: piq.fsim(out64, ref64, data_range=1.0, chromatic=False, reduction="none")),
        ("fsimc", "piq float64", lambda: m["fsimc"](out, ref), lambda: piq.fsim(out64, ref64, data_range=1.0, chromatic=True, reduction="none")),
        ("vif", "piq float64", lambda: m["vif"](out, ref), lambda: piq.vif_p(out64, ref64, data_range=1.0, reduction="none")),
        ("vif", "sewar", lambda: m["vif"](out, ref), sewar_vif),
        ("gmsd", "piq", lambda: m["gmsd"](out, ref), lambda: piq.gmsd(out, ref, data_range=1.0, reduction="none")),
        ("gmsd", "piq float64", lambda: m["gmsd"](out, ref), lambda: piq.gmsd(out64, ref64, data_range=1.0, reduction="none")),
        ("dists", "DISTS_pytorch", lambda: m["dists"](out, ref), lambda: dists_peer(ref, out, batch_average=False)),
    ]
    print(f"torch {torch.__version__}, numpy {np.__version__}, piq {piq.__version__}, {args.threads} threads, "
          f"{args.batch} x 3 x {s} x {s}, load {os.getloadavg()[0]:.1f}")
    print(f"{'metric':8} {'peer':26} {'ours ms':>9} {'peer ms':>9} {'ratio':>6} {'max |diff|':>11}")
    for name, peer, f_ours, f_peer in cases:
        if args.only and name not in args.only:
            continue
        with torch.no_grad():
            t_o, t_p, v_o, v_p = race(f_ours, f_peer, args.rounds)
        if f_peer is None:
            print(f"{name:8} {peer:26} {t_o * 1e3:9.0f} {'':>9} {'':>6} {'':>11}")
            continue
        diff = "" if "scale" in peer else f"{(v_o.double().flatten() - torch.as_tensor(v_p).double().flatten()).abs().max():.2e}"
        print(f"{name:8} {peer:26} {t_o * 1e3:9.0f} {t_p * 1e3:9.0f} {t_p / t_o:6.2f} {diff:>11}")
    print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
