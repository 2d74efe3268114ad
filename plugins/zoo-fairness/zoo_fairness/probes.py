"""The fairness probes, as metrics: per-item sub-values, then a summary over a unit's items.

Each probe's ``_values`` returns a ``dict[str, Tensor[N]]`` of per-item sub-values (NaN
where an item cannot be measured, with the reason in ``item_reasons``), and
:meth:`Probe.aggregate` turns all of a unit's per-item values, with the items' group
labels, into summary figures (``dict[str, float]``): one result row per key. Per-group
keys read ``stat[key=value]``.

- ``skin-tone-shift``: ITA of reference and output over one skin mask (Chardon et al.
  1991; Del Bino et al. 2006), the PULSE "whitening" failure measured without a classifier.
- ``group-quality-gap``: any paired metric per group, the best-worst gap and a permutation
  p-value (worst-group reporting; Laszkiewicz et al., "Benchmarking the Fairness of Image
  Upsampling Methods", FAccT 2024, arXiv:2401.13555).
- ``representation``: predicted-group distribution vs a target, fairness discrepancy
  (Choi et al., ICML 2020, arXiv:1910.12008), KL to uniform (Tan et al., arXiv:2012.04842).
- ``attribute-preservation``: per-group rate at which the output keeps the source's
  attribute (Jalal et al.'s representation demographic parity, ICML 2021, arXiv:2106.12182).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch

from zoo.errors import MetricError
from zoo.images import rgb_to_lab
from zoo.metrics import Metric

from zoo_fairness import stats
from zoo_fairness.ita import DEL_BINO_CLASSES, STATISTICS, skin_tone
from zoo_fairness.skin import REGIONS, Box, skin_region

NAN = math.nan
SMALL_GROUP = 30  # below this many items a group's figures are flagged in ``notes``


def group_labels(attributes: list[dict] | None, key: str, n: int) -> list[str | None]:
    """The ``key`` label of each of ``n`` items as a string (None where absent)."""
    if attributes is None:
        return [None] * n
    if len(attributes) != n:
        raise MetricError(f"got {len(attributes)} attribute dicts for {n} items")
    return [None if not a or a.get(key) is None else str(a.get(key)) for a in attributes]


def unit_labels(attributes: list[dict] | None, unit: str | None, n: int) -> tuple[np.ndarray, str]:
    """Each item's independent unit and the units' name for the report.

    With ``unit`` (an attribute key such as ``person``) present on the items, the unit is its
    value and the name is ``people`` for ``person`` (else ``<unit>s``); items lacking it count as
    their own unit. Without it, every item is its own unit (``items``).
    """
    labels = group_labels(attributes, unit, n) if unit else [None] * n
    if not any(lab is not None for lab in labels):
        return np.array([f"#item{i}" for i in range(n)], dtype=object), "items"
    name = "people" if unit == "person" else f"{unit}s"
    return np.array([lab if lab is not None else f"#item{i}" for i, lab in enumerate(labels)], dtype=object), name


def unit_means(values: np.ndarray, units: np.ndarray) -> np.ndarray:
    """The mean of ``values`` per distinct unit (one number per unit)."""
    v, u = np.asarray(values, np.float64), np.asarray(units).astype(str)
    return np.array([v[u == name].mean() for name in sorted(set(u.tolist()))], dtype=np.float64)


def _natural(label: str) -> tuple:
    """Sort key: numbers by value (``2`` before ``10``), then text."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def group_keys(attributes: list[dict] | None) -> list[str]:
    """Attribute keys whose values are plain labels (str, int, bool) on at least one item."""
    keys: set[str] = set()
    for a in attributes or []:
        for k, v in (a or {}).items():
            if isinstance(v, (str, int, bool)) and not isinstance(v, float):
                keys.add(k)
    return sorted(keys)


class Probe(Metric):
    """A metric whose per-item result is a dict of sub-values, summarised by :meth:`aggregate`."""

    paired: ClassVar[bool] = True
    needs: ClassVar[tuple[str, ...]] = ()

    def reset(self) -> None:
        #: summary key -> why it is NaN (``insufficient n (2 of 6 people)``), read by the harness
        self.aggregate_reasons: dict[str, str] = {}
        self._per_item: list[dict[str, torch.Tensor]] = []  # type: ignore[assignment]
        self.item_reasons: list[str | None] = []
        self.all_reasons: list[str | None] = []
        self.notes: list[str] = []

    def update(self, output: torch.Tensor, reference: torch.Tensor | None = None, **extras: Any) -> None:
        vals = self(output, reference, **extras)
        self._per_item.append({k: v.detach().cpu() for k, v in vals.items()})
        self.all_reasons.extend(self.item_reasons)

    def compute(self) -> dict[str, torch.Tensor]:  # type: ignore[override]
        """Per-item sub-values of every batch seen so far."""
        if not self._per_item:
            return {}
        return {k: torch.cat([b[k] for b in self._per_item]) for k in self._per_item[0]}

    def aggregate(self, values: dict[str, list[float]], attributes: list[dict] | None = None) -> dict[str, float]:
        raise NotImplementedError

    def summary(self, attributes: list[dict] | None = None) -> dict[str, float]:
        """:meth:`aggregate` over everything :meth:`update` has seen."""
        return self.aggregate({k: v.tolist() for k, v in self.compute().items()}, attributes)

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _ci(self, data: np.ndarray, fn=np.mean) -> tuple[float, float]:
        return stats.bootstrap_ci(data, fn, n_boot=self.n_boot, seed=self.seed)


def _arr(values: dict[str, list[float]], key: str) -> np.ndarray:
    if key not in values:
        raise MetricError(f"aggregate: per-item values lack {key!r} (got {sorted(values)})")
    return np.asarray(values[key], dtype=np.float64)


# -- skin-tone-shift -----------------------------------------------------------------------------


class SkinToneShift(Probe):
    """Individual Typology Angle of reference and output over one skin mask, and their difference.

    The mask is computed on the reference (face from the LBP cascade, an ellipse, relative
    outlier rejection; see :mod:`zoo_fairness.skin`) and applied to both images, so ΔITA
    measures what the method did to those pixels. Positive ΔITA = lighter output.

    Per item: ``delta_ita``, ``ita_ref``, ``ita_out``, ``delta_L``, ``delta_b``,
    ``category_ref`` / ``category_out`` (index into the Del Bino classes, 0 = very_light),
    ``category_flip`` (1/0) and ``skin_fraction`` (mask share of the image).

    Args:
        region: ``face`` or ``whole`` (the whole reference, for skin crops and patches).
        statistic, trim: robust L* and b* (:func:`zoo_fairness.ita.robust_center`).
        b_min: |b*| below which ITA is not reported (the reason is).
        threshold: |ΔITA| in degrees that counts as lightening / darkening (default 5).
        group: attribute key for per-group figures (default: every label key present).
        against: ``reference`` (super-resolution, restoration: the ground truth) or ``input``
            (translators and stylizers: the face the method was given; same size as the output).
        unit: the attribute naming each item's independent unit (default ``person``: the
            re-toned versions of one face are one unit). Intervals resample units, p-values
            permute within or flip whole units, and a statistic over fewer than ``min_units``
            units is NaN with the reason ``insufficient n (k of K people)``. Items without the
            attribute are their own units.
        min_units: fewest units behind a reported mean, rate, interval or p-value (default 6:
            see :data:`zoo_fairness.stats.MIN_UNITS`).
        tone, split: the ordinal tone attribute (Monk number) and the split of the paired
            contrast ``dark_minus_light_delta_ita`` (tone > split is dark; default 5).

    An item whose attributes carry ``face_box`` ([top, left, height, width] in pixels, as the
    counterfactual set records the source face's box) uses that box instead of detection.
    """

    name = "skin-tone-shift"
    needs: ClassVar[tuple[str, ...]] = ("reference", "attributes")
    higher_is_better = False  # the ideal is 0: no shift (a signed value; see the probe docs)
    unit = "deg"

    def __init__(self, region: str = "face", statistic: str = "trimmed", trim: float = 0.1, b_min: float = 1.0,
                 min_pixels: int = 64, k: float = 2.5, threshold: float = 5.0, group: str | None = None,
                 n_boot: int = 2000, n_perm: int = 5000, seed: int = 0, against: str = "reference",
                 unit: str | None = "person", min_units: int = stats.MIN_UNITS, tone: str | None = "mst",
                 split: float = 5) -> None:
        if against not in ("reference", "input"):
            raise MetricError(f"skin-tone-shift: against must be 'reference' or 'input', got {against!r}")
        if not isinstance(min_units, int) or isinstance(min_units, bool) or min_units < 2:
            raise MetricError(f"skin-tone-shift: min_units must be an integer >= 2, got {min_units!r}")
        self.against, self.unit_key, self.min_units, self.tone, self.split = against, unit, min_units, tone, float(split)
        if against == "input":
            self.needs, self.needs_reference = ("input", "attributes"), False  # type: ignore[misc]
        if region not in REGIONS:
            raise MetricError(f"skin-tone-shift: region must be one of {REGIONS}, got {region!r}")
        if statistic not in STATISTICS:
            raise MetricError(f"skin-tone-shift: statistic must be one of {STATISTICS}, got {statistic!r}")
        if not threshold > 0:
            raise MetricError(f"skin-tone-shift: threshold must be a positive angle in degrees, got {threshold!r}")
        self.region, self.statistic, self.trim, self.b_min = region, statistic, float(trim), float(b_min)
        self.min_pixels, self.k, self.threshold, self.group = int(min_pixels), float(k), float(threshold), group
        self.n_boot, self.n_perm, self.seed = int(n_boot), int(n_perm), int(seed)
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"region": self.region, "stat": self.statistic, "trim": self.trim, "b_min": self.b_min,
                "k": self.k, "min_px": self.min_pixels, "tau": self.threshold, "lab": "D65", "against": self.against,
                "unit": self.unit_key, "min_units": self.min_units}

    def _values(self, output: torch.Tensor, reference: torch.Tensor | None = None, *, input: torch.Tensor | None = None,
                attributes: list[dict] | None = None, **extras: Any) -> dict[str, torch.Tensor]:
        if self.against == "input":
            if input is None:
                raise MetricError("skin-tone-shift: against='input' needs the method's input batch (input=...)")
            self._check_one(input, "input")
            if input.shape != output.shape:
                raise MetricError(f"skin-tone-shift: against='input' needs outputs the size of the inputs, got "
                                  f"{tuple(output.shape)} vs {tuple(input.shape)}; use against='reference' for super-resolution")
            reference = input
        n = output.shape[0]
        keys = ("delta_ita", "ita_ref", "ita_out", "delta_L", "delta_b", "category_ref", "category_out",
                "category_flip", "skin_fraction")
        out = {k: torch.full((n,), NAN, dtype=torch.float64) for k in keys}
        self.item_reasons = [None] * n
        for i in range(n):
            ref, y = reference[i].detach().cpu().to(torch.float64), output[i].detach().cpu().to(torch.float64)
            lab_ref = rgb_to_lab(ref)
            box = (attributes[i] or {}).get("face_box") if attributes and i < len(attributes) else None
            reg = skin_region(ref, self.region, self.k, self.min_pixels, lab=lab_ref,
                              box=Box(*(int(v) for v in box)) if box and self.region == "face" else None)
            out["skin_fraction"][i] = reg.fraction
            if reg.mask is None:
                self.item_reasons[i] = f"reference: {reg.reason}"
                continue
            kw = dict(statistic=self.statistic, trim=self.trim, b_min=self.b_min)
            a = skin_tone(ref, reg.mask, lab=lab_ref, **kw)
            b = skin_tone(y, reg.mask, **kw)
            out["delta_L"][i], out["delta_b"][i] = b.lightness - a.lightness, b.b - a.b
            out["ita_ref"][i], out["ita_out"][i] = a.ita, b.ita
            reasons = [f"reference: {a.reason}" if a.reason else None, f"output: {b.reason}" if b.reason else None]
            if any(reasons):
                self.item_reasons[i] = "; ".join(r for r in reasons if r)
            if a.reason is None:
                out["category_ref"][i] = DEL_BINO_CLASSES.index(a.category)
            if b.reason is None:
                out["category_out"][i] = DEL_BINO_CLASSES.index(b.category)
            if a.reason is None and b.reason is None:
                out["delta_ita"][i] = b.ita - a.ita
                out["category_flip"][i] = float(a.category != b.category)
        return out

    def aggregate(self, values: dict[str, list[float]], attributes: list[dict] | None = None) -> dict[str, float]:
        self.aggregate_reasons = {}
        d = _arr(values, "delta_ita")
        ok = np.isfinite(d)
        units, uname = unit_labels(attributes, self.unit_key, d.size)
        res: dict[str, float] = {"n": float(d.size), "n_measured": float(ok.sum()), "n_unmeasured": float((~ok).sum())}
        um = units[ok]
        res[f"n_{uname}"] = float(len(set(um.tolist())))
        dm = d[ok]
        tau = self.threshold
        if dm.size == 0:
            self._note("no item could be measured (see the per-item reasons)")
            for k in ("mean_delta_ita", "mean_delta_ita_lo", "mean_delta_ita_hi", "median_delta_ita",
                      "mean_abs_delta_ita", "lightening_rate", "darkening_rate", "category_flip_rate"):
                res[k] = NAN
            return res
        need = self.min_units

        def unit_stat(key: str, v: np.ndarray, u: np.ndarray, ci: bool = True) -> None:
            """Mean over units of each unit's mean (a unit weighs the same however many items it has),
            with a bootstrap interval over units; NaN and the reason below ``min_units`` units."""
            means = unit_means(v, u)
            if means.size < need:
                self.aggregate_reasons[key] = stats.insufficient(means.size, need, uname)
                res[key] = NAN
                return
            res[key] = float(means.mean())
            if ci:
                lo_key = key.replace("[", "_lo[", 1) if "[" in key else key + "_lo"
                hi_key = key.replace("[", "_hi[", 1) if "[" in key else key + "_hi"
                res[lo_key], res[hi_key] = self._ci(means)

        unit_stat("mean_delta_ita", dm, um)
        light, dark = (dm > tau).astype(float), (dm < -tau).astype(float)
        unit_stat("lightening_rate", light, um)
        unit_stat("darkening_rate", dark, um)
        # descriptive figures of the measured images themselves (no claim beyond them)
        res["median_delta_ita"] = float(np.median(dm))
        res["mean_abs_delta_ita"] = float(np.abs(dm).mean())
        res["category_flip_rate"] = float(_arr(values, "category_flip")[ok].mean())
        for key in ("delta_L", "delta_b"):
            if key in values:
                v = _arr(values, key)
                res[f"mean_{key}"] = float(np.nanmean(v)) if np.isfinite(v).any() else NAN
        tones = self._tones(attributes, d.size)
        if tones is not None:
            self._contrast(res, dm, um, tones[ok], uname)
        keys = [self.group] if self.group else [k for k in group_keys(attributes) if k not in (self.unit_key, 'face_box')]
        for key in keys:
            labels = np.asarray(group_labels(attributes, key, d.size), dtype=object)[ok]
            have = np.array([lab is not None for lab in labels], dtype=bool)
            if not have.any():
                self._note(f"no measured item carries the group key {key!r}")
                continue
            g, v, u = labels[have].astype(str), dm[have], um[have]
            names = sorted(set(g.tolist()), key=_natural)
            for name in names:
                sel = g == name
                tag = f"[{key}={name}]"
                res[f"n{tag}"] = float(sel.sum())
                res[f"n_{uname}{tag}"] = float(len(set(u[sel].tolist())))
                unit_stat(f"mean_delta_ita{tag}", v[sel], u[sel])
                unit_stat(f"lightening_rate{tag}", (v[sel] > tau).astype(float), u[sel], ci=False)
                unit_stat(f"darkening_rate{tag}", (v[sel] < -tau).astype(float), u[sel], ci=False)
            if len(names) >= 2:
                per_group = [len(set(u[g == name].tolist())) for name in names]
                gap_key, p_key = f"group_gap_delta_ita[{key}]", f"group_gap_p[{key}]"
                if min(per_group) < need:
                    why = stats.insufficient(min(per_group), need, uname) + " in the smallest group"
                    res[gap_key] = res[p_key] = NAN
                    self.aggregate_reasons[gap_key] = self.aggregate_reasons[p_key] = why
                    continue
                repeated = len(set(u.tolist())) < u.size  # several items of one unit: permute within units
                gap, p = stats.permutation_test(v, g, n_perm=self.n_perm, seed=self.seed, strata=u if repeated else None)
                res[gap_key], res[p_key] = gap, p
        return res

    def _tones(self, attributes: list[dict] | None, n: int) -> np.ndarray | None:
        """Each item's ordinal tone (the ``tone`` attribute, e.g. the Monk number), or None when absent."""
        if not self.tone:
            return None
        raw = group_labels(attributes, self.tone, n)
        if not any(x is not None for x in raw):
            return None
        try:
            return np.array([NAN if x is None else float(x) for x in raw])
        except ValueError:
            raise MetricError(f"skin-tone-shift: tone={self.tone!r} must name a numeric attribute (a Monk number 1..10), "
                              f"got values {sorted({x for x in raw if x is not None})[:5]}") from None

    def _contrast(self, res: dict[str, float], d: np.ndarray, u: np.ndarray, tones: np.ndarray, uname: str) -> None:
        """The paired question: per unit, mean ΔITA of its dark versions minus its light versions.

        Dark = tone > ``split`` (Monk 6-10 by default), light = tone <= ``split``. A unit counts
        only when it has both; the interval resamples units and the p-value flips the sign of
        whole units (:func:`zoo_fairness.stats.sign_flip_test`), never items of one unit.
        """
        diffs = []
        for name in sorted(set(u.tolist())):
            sel = (u == name) & np.isfinite(tones)
            dark, light = d[sel & (tones > self.split)], d[sel & (tones <= self.split)]
            if dark.size and light.size:
                diffs.append(float(dark.mean() - light.mean()))
        key = "dark_minus_light_delta_ita"
        res[f"n_{uname}_paired"] = float(len(diffs))
        if len(diffs) < self.min_units:
            res[key] = res[f"{key}_p"] = NAN
            self.aggregate_reasons[key] = self.aggregate_reasons[f"{key}_p"] = stats.insufficient(len(diffs), self.min_units, uname)
            return
        arr = np.asarray(diffs)
        res[key] = float(arr.mean())
        res[f"{key}_lo"], res[f"{key}_hi"] = self._ci(arr)
        res[f"{key}_p"] = stats.sign_flip_test(arr, n_perm=self.n_perm, seed=self.seed)


# -- group-quality-gap ---------------------------------------------------------------------------


class GroupQualityGap(Probe):
    """Any paired metric per group: means with CIs, best-worst gap, permutation p-value.

    Args:
        metric: name of a registered paired metric (``psnr``, ``ssim``, ``lpips`` ...).
        group: the attribute key that names each item's group.
        cap: values above it are set to it before averaging (PSNR of identical images is
            +inf; default 100 dB for ``psnr``, none otherwise). Recorded in the fingerprint.
        unit, min_units: the independent unit (attribute key, default ``person``; items without
            it are their own units) and the fewest units behind a group mean, interval, gap or
            p-value; below it the figure is NaN with ``insufficient n (k of K people)``.
        **options: passed to the base metric (``channel``, ``crop_border`` ...).
    """

    name = "group-quality-gap"

    def __init__(self, metric: str = "psnr", group: str = "skin_tone", cap: float | None = None,
                 n_boot: int = 2000, n_perm: int = 5000, seed: int = 0, unit: str | None = "person",
                 min_units: int = stats.MIN_UNITS, **options: Any) -> None:
        from zoo.metrics import build_metric

        if not isinstance(min_units, int) or isinstance(min_units, bool) or min_units < 2:
            raise MetricError(f"group-quality-gap: min_units must be an integer >= 2, got {min_units!r}")
        self.unit_key, self.min_units = unit, min_units

        if not isinstance(metric, str):
            raise MetricError(f"group-quality-gap: metric must be a metric name, got {metric!r}")
        self.base = build_metric(metric, **options)
        if not self.base.paired:
            raise MetricError(f"group-quality-gap: {metric!r} is a distribution metric; it needs a per-item (paired) metric")
        self.metric_name, self.group = metric, str(group)
        self.cap = float(cap) if cap is not None else (100.0 if metric == "psnr" else None)
        self.n_boot, self.n_perm, self.seed = int(n_boot), int(n_perm), int(seed)
        self.higher_is_better = self.base.higher_is_better  # type: ignore[misc]
        self.needs_reference = self.base.needs_reference  # type: ignore[misc]
        self.needs = tuple(getattr(self.base, "needs", ("reference",) if self.base.needs_reference else ()))  # type: ignore[misc]
        self.unit = self.base.unit  # type: ignore[misc]
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"base": self.base.fingerprint, "group": self.group, "cap": self.cap, "unit": self.unit_key,
                "min_units": self.min_units}

    def to(self, device):
        self.base.to(device)
        return super().to(device)

    def _values(self, output: torch.Tensor, reference: torch.Tensor | None = None, **extras: Any) -> dict[str, torch.Tensor]:
        v = self.base(output, reference, **extras).detach().to(torch.float64).cpu()
        if self.cap is not None:
            v = v.clamp(max=self.cap)
        self.item_reasons = [None if math.isfinite(float(x)) else f"{self.metric_name} is not finite" for x in v]
        return {"value": v}

    def aggregate(self, values: dict[str, list[float]], attributes: list[dict] | None = None) -> dict[str, float]:
        self.aggregate_reasons = {}
        v = _arr(values, "value")
        labels = group_labels(attributes, self.group, v.size)
        units, uname = unit_labels(attributes, self.unit_key, v.size)
        ok = np.isfinite(v) & np.array([lab is not None for lab in labels], dtype=bool)
        fin = np.isfinite(v)
        res: dict[str, float] = {"n": float(v.size), "n_grouped": float(ok.sum()),
                                 f"n_{uname}": float(len(set(units[fin].tolist())))}
        need = self.min_units
        um = unit_means(v[fin], units[fin]) if fin.any() else np.array([])
        if um.size < need:
            res["mean"] = NAN
            self.aggregate_reasons["mean"] = stats.insufficient(um.size, need, uname)
        else:
            res["mean"] = float(um.mean())
            res["mean_lo"], res["mean_hi"] = self._ci(um)
        if not ok.any():
            self._note(f"no item carries the group key {self.group!r}; per-group figures need it in the dataset's attributes")
            return res
        g = np.asarray(labels, dtype=object)[ok].astype(str)
        vg, ug = v[ok], units[ok]
        means, counts = {}, {}
        for name in sorted(set(g.tolist()), key=_natural):
            sel = g == name
            tag = f"[{self.group}={name}]"
            gm = unit_means(vg[sel], ug[sel])
            counts[name] = gm.size
            res[f"n{tag}"] = float(sel.sum())
            res[f"n_{uname}{tag}"] = float(gm.size)
            if gm.size < need:
                res[f"mean{tag}"] = NAN
                self.aggregate_reasons[f"mean{tag}"] = stats.insufficient(gm.size, need, uname)
                continue
            means[name] = float(gm.mean())
            res[f"mean{tag}"] = means[name]
            res[f"mean_lo{tag}"], res[f"mean_hi{tag}"] = self._ci(gm)
        if len(counts) < 2:
            self._note(f"only one group ({next(iter(counts))}) under {self.group!r}: no gap to measure")
            return res
        if min(counts.values()) < need:
            why = stats.insufficient(min(counts.values()), need, uname) + " in the smallest group"
            for key in ("best_group_mean", "worst_group_mean", "gap", "ratio", "p_value"):
                res[key] = NAN
                self.aggregate_reasons[key] = why
            return res
        best = max(means.values()) if self.higher_is_better else min(means.values())
        worst = min(means.values()) if self.higher_is_better else max(means.values())
        res["best_group_mean"], res["worst_group_mean"] = best, worst
        res["gap"] = abs(best - worst)
        res["ratio"] = worst / best if best != 0 else NAN
        repeated = len(set(ug.tolist())) < ug.size
        if not repeated:  # one item per unit: the stratified bootstrap over items is one over units
            res["gap_lo"], res["gap_hi"] = self._gap_ci(vg, g)
        _, res["p_value"] = stats.permutation_test(vg, g, n_perm=self.n_perm, seed=self.seed,
                                                   strata=ug if repeated else None)
        return res

    def _gap_ci(self, v: np.ndarray, g: np.ndarray) -> tuple[float, float]:
        """Bootstrap interval of the range of group means, resampling within each group (stratified)."""
        names = sorted(set(g.tolist()))
        groups = [v[g == n] for n in names]
        if any(x.size < 2 for x in groups):
            return NAN, NAN
        rng = np.random.default_rng(self.seed)
        gaps = np.empty(self.n_boot)
        for b in range(self.n_boot):
            m = [x[rng.integers(0, x.size, x.size)].mean() for x in groups]
            gaps[b] = max(m) - min(m)
        lo, hi = np.quantile(gaps, [0.025, 0.975])
        return float(lo), float(hi)


# -- classifier probes ---------------------------------------------------------------------------


class _ClassifierProbe(Probe):
    def _set_classifier(self, classifier: Any, classifier_weights: str | None, classifier_options: dict) -> None:
        from zoo_fairness.classifiers import classifier_for_probe

        self.classifier = classifier_for_probe(classifier, self.name, weights=classifier_weights, **classifier_options)
        self.classes = tuple(self.classifier.classes)

    def to(self, device):
        self.classifier.to(device)
        return super().to(device)

    def _classify(self, x: torch.Tensor, what: str) -> tuple[torch.Tensor, list[str | None]]:
        with torch.no_grad():
            p = self.classifier.classify(x.float().clamp(0, 1))
        reasons = [f"{what}: {r}" if r else None for r in self.classifier.item_reasons]
        return p, reasons

    @staticmethod
    def _argmax(p: torch.Tensor) -> torch.Tensor:
        pred = torch.full((p.shape[0],), NAN, dtype=torch.float64)
        ok = ~torch.isnan(p).any(1)
        pred[ok] = p[ok].argmax(1).to(torch.float64)
        return pred


class Representation(_ClassifierProbe):
    """Distribution of predicted groups over a method's outputs, against a target.

    Per item: ``pred`` (class index, NaN if unlabelled) and ``p[class]`` probabilities.
    Summary: ``proportion[class]`` (bincount over all K classes: a class never predicted
    counts as 0), ``fd_l2`` (Choi et al. 2020, not divided by K), ``fd_l1``, ``kl`` (nats),
    ``chi2``, ``norm_entropy``, bootstrap CIs of ``fd_l2`` and ``kl``, a chi-square
    goodness-of-fit p-value, and with ``confusion`` the corrected figures (``*_corrected``).

    Args:
        classifier: a classifier name (:data:`zoo_fairness.classifiers.CLASSIFIERS`) or instance.
        target: ``uniform``, ``input`` (the classifier's distribution over the method's
            inputs), or a mapping class -> probability.
        confusion: K x K, ``confusion[i][j]`` = Pr[classifier says j | true class i],
            measured on labelled data, for the correction.
        classifier_weights: a local checkpoint for the classifier's architecture.
        classifier_options: passed to the classifier (e.g. ``{region: whole}``).
    """

    name = "representation"
    needs_reference = False
    higher_is_better = False
    needs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, classifier: Any = "ita-bins", target: Any = "uniform", confusion: list | None = None,
                 n_boot: int = 1000, seed: int = 0, classifier_weights: str | None = None,
                 classifier_options: dict | None = None) -> None:
        self._set_classifier(classifier, classifier_weights, dict(classifier_options or {}))
        k = len(self.classes)
        if isinstance(target, str):
            if target not in ("uniform", "input"):
                raise MetricError(f"representation: target must be 'uniform', 'input' or a mapping class -> probability, got {target!r}")
            self.target = target
        elif isinstance(target, dict):
            unknown = set(target) - set(self.classes)
            if unknown:
                raise MetricError(f"representation: target names unknown classes {sorted(unknown)}; the classifier's classes are {self.classes}")
            t = np.array([float(target.get(c, 0.0)) for c in self.classes])
            stats._check_distribution(t, "representation target")
            self.target = t
        else:
            raise MetricError(f"representation: target must be 'uniform', 'input' or a mapping, got {type(target).__name__}")
        if confusion is not None:
            m = np.asarray(confusion, dtype=np.float64)
            if m.shape != (k, k):
                raise MetricError(f"representation: confusion must be {k} x {k} for classes {self.classes}, got shape {m.shape}")
            stats.correct_proportions(np.full(k, 1.0 / k), m)  # validates (row-stochastic, invertible)
        self.confusion = confusion
        if isinstance(self.target, str) and self.target == "input":
            self.needs = ("input",)  # type: ignore[misc]
        self.n_boot, self.seed = int(n_boot), int(seed)
        super().__init__()

    def options(self) -> dict[str, Any]:
        t = self.target if isinstance(self.target, str) else [round(float(x), 6) for x in self.target]
        return {"classifier": self.classifier.fingerprint, "target": t, "corrected": self.confusion is not None}

    def _values(self, output: torch.Tensor, reference: torch.Tensor | None = None, *, input: torch.Tensor | None = None,
                **extras: Any) -> dict[str, torch.Tensor]:
        p, reasons = self._classify(output, "output")
        out = {"pred": self._argmax(p), **{f"p[{c}]": p[:, j] for j, c in enumerate(self.classes)}}
        if isinstance(self.target, str) and self.target == "input":
            if input is None:
                raise MetricError("representation: target='input' needs the method's input batch (input=...)")
            pi, ri = self._classify(input, "input")
            out["pred_input"] = self._argmax(pi)
            reasons = ["; ".join(r for r in pair if r) or None for pair in zip(reasons, ri)]
        self.item_reasons = reasons
        return out

    def aggregate(self, values: dict[str, list[float]], attributes: list[dict] | None = None) -> dict[str, float]:
        pred = _arr(values, "pred")
        ok = np.isfinite(pred)
        k = len(self.classes)
        res: dict[str, float] = {"n": float(pred.size), "n_labelled": float(ok.sum()), "n_unlabelled": float((~ok).sum())}
        if not ok.any():
            self._note("the classifier labelled no output (see the per-item reasons)")
            return res
        labels = pred[ok].astype(np.int64)
        if isinstance(self.target, str) and self.target == "input":
            pin = _arr(values, "pred_input")
            pin = pin[np.isfinite(pin)].astype(np.int64)
            if pin.size == 0:
                self._note("the classifier labelled no input, so there is no input distribution to compare with")
                return res
            target = stats.proportions(pin, k)
        elif isinstance(self.target, str):
            target = np.full(k, 1.0 / k)
        else:
            target = self.target
        counts = np.bincount(labels, minlength=k)
        p = counts / counts.sum()
        for j, c in enumerate(self.classes):
            res[f"count[{c}]"] = float(counts[j])
            res[f"proportion[{c}]"] = float(p[j])
            res[f"target[{c}]"] = float(target[j])
        res.update(stats.discrepancy(p, target))
        onehot = np.eye(k)[labels]
        res["fd_l2_lo"], res["fd_l2_hi"] = self._ci(onehot, lambda x: float(np.linalg.norm(x.mean(0) - target)))
        res["kl_lo"], res["kl_hi"] = self._ci(onehot, lambda x: stats.kl_divergence(x.mean(0), target))
        if np.all(target > 0):
            from scipy.stats import chisquare

            res["gof_p"] = float(chisquare(counts, f_exp=target * counts.sum()).pvalue)
        if self.confusion is not None:
            pc = stats.correct_proportions(p, self.confusion)
            for j, c in enumerate(self.classes):
                res[f"proportion_corrected[{c}]"] = float(pc[j])
            for key, val in stats.discrepancy(pc, target).items():
                res[f"{key}_corrected"] = val
        if labels.size < SMALL_GROUP:
            self._note(f"{labels.size} labelled outputs (< {SMALL_GROUP}): proportions are coarse")
        return res


class AttributePreservation(_ClassifierProbe):
    """Per group, how often a method's output keeps the attribute of its source.

    The source's class comes from the classifier on the method's ``input`` (or on the
    ``reference`` with ``source="reference"``, better for super-resolution, whose input is
    tiny), or from a dataset label with ``label=KEY`` (attribute values must be class
    names). Per item: ``pred_source``, ``pred_output`` and ``kept`` (1/0).

    Summary: ``keep_rate`` (with CI) and ``flip_rate``; per source group ``keep_rate[g]``,
    ``n[g]``; ``worst_group_keep_rate``; ``keep_rate_spread`` (max - min over groups);
    ``rdp_kl`` (KL to uniform of per-group keep rates normalised to sum 1: Jalal et al.'s
    RDP; always read it with the raw rates, which it hides); ``rate[a->b]`` for every
    source -> output pair (the confusion matrix); a chi-square homogeneity ``p_value``.
    """

    name = "attribute-preservation"
    needs_reference = False
    higher_is_better = True
    needs: ClassVar[tuple[str, ...]] = ("input",)

    def __init__(self, classifier: Any = None, source: str = "input", label: str | None = None,
                 n_boot: int = 1000, seed: int = 0, classifier_weights: str | None = None,
                 classifier_options: dict | None = None) -> None:
        if source not in ("input", "reference"):
            raise MetricError(f"attribute-preservation: source must be 'input' or 'reference', got {source!r}")
        self._set_classifier(classifier, classifier_weights, dict(classifier_options or {}))
        self.source, self.label = source, label
        if label is not None:
            self.needs = ()  # type: ignore[misc]  # the labels come to aggregate() with the attributes
        elif source == "reference":
            self.needs, self.needs_reference = ("reference",), True  # type: ignore[misc]
        self.n_boot, self.seed = int(n_boot), int(seed)
        super().__init__()

    def options(self) -> dict[str, Any]:
        return {"classifier": self.classifier.fingerprint, "source": f"label:{self.label}" if self.label else self.source}

    def _values(self, output: torch.Tensor, reference: torch.Tensor | None = None, *, input: torch.Tensor | None = None,
                **extras: Any) -> dict[str, torch.Tensor]:
        po, reasons = self._classify(output, "output")
        out = {"pred_output": self._argmax(po)}
        if self.label is None:
            src = input if self.source == "input" else reference
            if src is None:
                raise MetricError(f"attribute-preservation: source={self.source!r} needs the {self.source} batch")
            ps, rs = self._classify(src, self.source)
            out["pred_source"] = self._argmax(ps)
            kept = (out["pred_source"] == out["pred_output"]).to(torch.float64)
            kept[torch.isnan(out["pred_source"]) | torch.isnan(out["pred_output"])] = NAN
            out["kept"] = kept
            reasons = ["; ".join(r for r in pair if r) or None for pair in zip(reasons, rs)]
        self.item_reasons = reasons
        return out

    def _source_labels(self, values: dict[str, list[float]], attributes: list[dict] | None, n: int) -> np.ndarray:
        if self.label is None:
            return _arr(values, "pred_source")
        names = group_labels(attributes, self.label, n)
        idx = {c: j for j, c in enumerate(self.classes)}
        unknown = sorted({x for x in names if x is not None and x not in idx})
        if unknown:
            raise MetricError(f"attribute-preservation: labels {unknown} under {self.label!r} are not classes of "
                              f"{self.classifier.id} {self.classes}; map the dataset's labels to these names")
        return np.array([NAN if x is None else float(idx[x]) for x in names])

    def aggregate(self, values: dict[str, list[float]], attributes: list[dict] | None = None) -> dict[str, float]:
        out = _arr(values, "pred_output")
        src = self._source_labels(values, attributes, out.size)
        ok = np.isfinite(out) & np.isfinite(src)
        res: dict[str, float] = {"n": float(out.size), "n_measured": float(ok.sum())}
        if not ok.any():
            self._note("no item has both a source and an output label (see the per-item reasons)")
            return res
        s, o = src[ok].astype(np.int64), out[ok].astype(np.int64)
        kept = (s == o).astype(float)
        res["keep_rate"] = float(kept.mean())
        res["keep_rate_lo"], res["keep_rate_hi"] = self._ci(kept)
        res["flip_rate"] = 1.0 - res["keep_rate"]
        rates = {}
        for j in sorted(set(s.tolist())):
            c = self.classes[j]
            sel = s == j
            rates[c] = float(kept[sel].mean())
            res[f"n[{c}]"] = float(sel.sum())
            res[f"keep_rate[{c}]"] = rates[c]
            res[f"flip_rate[{c}]"] = 1.0 - rates[c]
            for jj, cc in enumerate(self.classes):
                res[f"rate[{c}->{cc}]"] = float((o[sel] == jj).mean())
            if sel.sum() < SMALL_GROUP:
                self._note(f"source group {c} has {int(sel.sum())} items (< {SMALL_GROUP}): wide intervals")
        r = np.array(list(rates.values()))
        res["worst_group_keep_rate"] = float(r.min())
        res["keep_rate_spread"] = float(r.max() - r.min())
        if r.size >= 2:
            if r.sum() > 0:
                res["rdp_kl"] = stats.kl_divergence(r / r.sum(), np.full(r.size, 1.0 / r.size))
            table = np.array([[kept[s == j].sum(), (1 - kept[s == j]).sum()] for j in sorted(set(s.tolist()))])
            if np.all(table.sum(0) > 0):
                from scipy.stats import chi2_contingency

                res["p_value"] = float(chi2_contingency(table).pvalue)
            else:
                res["p_value"] = 1.0  # every group kept (or flipped) everything: no difference to test
        return res
