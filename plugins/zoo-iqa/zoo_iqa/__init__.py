"""imagezoo image-quality plugin: NIQE and BRISQUE (no reference), FSIM / FSIMc, VIF, GMSD and DISTS.

Each metric equals its original implementation (the authors' MATLAB or PyTorch release) on
the same inputs; the parity tests and the differences from other implementations are in
docs/iqa.md. NIQE's and BRISQUE's trained models are the MATLAB releases' own numbers,
shipped in ``zoo_iqa/models`` (provenance in ``models/PROVENANCE.md``).
"""

from __future__ import annotations

from pathlib import Path

import zoo

ZOO_HOOK_API = 1


@zoo.hookimpl
def register_metrics(register):
    register("niqe", "zoo_iqa.nr:NIQE")
    register("brisque", "zoo_iqa.nr:BRISQUE")
    register("fsim", "zoo_iqa.fr:FSIM")
    register("fsimc", "zoo_iqa.fr:FSIMc")
    register("vif", "zoo_iqa.fr:VIFp")
    register("gmsd", "zoo_iqa.fr:GMSD")
    register("dists", "zoo_iqa.dists:DISTS")


@zoo.hookimpl
def register_suites(register):
    register("iqa", str(Path(__file__).parent / "suites" / "iqa.yaml"))
