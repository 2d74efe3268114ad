"""Licence terms that matter to a user: which methods' weights are for non-commercial use only.

Catalog ``license:`` fields are free text (``"Nvidia Source Code License-NC (non-commercial use
only)"``, ``"CC BY-NC 4.0"``, ``"CelebA terms: non-commercial research and educational use"``);
:func:`is_non_commercial` reads the usual markers. StyleGAN (v1 and v2, so PULSE and anything
generated from FFHQ-trained NVIDIA models) and CelebA-derived weights are the cases in the zoo.
"""

from __future__ import annotations

import re

_NC = re.compile(r"non[- ]?commercial|(?:^|[-\s(])NC(?:[-\s)]|$)|research[- ](?:use )?only|academic use only", re.IGNORECASE)

#: values ``zoo bench --licence`` accepts
LICENCE_FILTERS = ("any", "commercial")


def is_non_commercial(licence: str | None) -> bool:
    """True when a licence text restricts use to non-commercial purposes."""
    return bool(licence) and bool(_NC.search(licence))


def licence_label(licence: str | None) -> str:
    """The licence as shown by ``zoo info`` and the reports, flagged when non-commercial."""
    if not licence:
        return "(no licence stated)"
    return f"{licence}  [NON-COMMERCIAL]" if is_non_commercial(licence) else licence
