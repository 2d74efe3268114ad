"""Conformance kits: check a method against its task contract, a metric against the metric contract.

```python
from zoo.testing import check_method, check_metric
def test_my_method():
    check_method("my-method.id")                 # every operating point the card declares
    check_method("my-method.id", setting={"quality": 50})
def test_my_metric():
    check_metric("my-metric")
```

A failed check raises :class:`zoo.errors.ConformanceError` (an ``AssertionError``, so pytest
reports a failed test) naming the method or metric, the check and the fix; an exception the
method or metric raised is chained to it.

Method checks: the card's every operating point loads and runs (a typo in a setting name
fails here); the output carries no autograd graph, even with gradients enabled; output type,
dtype, device, shape and range (the contract's own tolerance,
:data:`zoo.tasks.RANGE_TOLERANCE`) and the task's own check; the input is not modified
("input mutation"); a batch of N equals N single calls ("batch independence"); the same
output twice under a seed ("determinism"); the same output after ``.to(device)``; a clear
:class:`ContractError` naming the method on wrong input; and different operating points
give different outputs ("settings change the output"; pass ``settings_change_output=False``
for a card whose settings do not affect pixels). Methods that optimise (``needs_grad``) run
with gradients enabled, as the harness runs them.

Metric checks: ``name`` and a boolean ``higher_is_better``; a fingerprint that starts with the
name, is the same for two instances with the same options and does not change with use;
paired metrics return ``Tensor[N]`` (or a mapping of them) of float64; NaN only with a reason
in ``item_reasons``; determinism; batch independence; inputs not modified; identical images
score at least as well as distorted ones in the declared direction, and at the metric's
``ideal`` when it declares one. Distribution metrics return one finite value, the same when
fed one image at a time, and the same again from merged shard states when they are mergeable.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path
from typing import Any, Iterator

import torch

from zoo.errors import ConformanceError, ContractError
from zoo.images import sample_batch
from zoo.taskspec import Batch, task_spec
from zoo.tasks import RANGE_TOLERANCE, Method

__all__ = ["check_method", "check_metric", "isolated_caches", "lay_out_hub_cache", "sample_batch"]

SEE_CHAINED = "the exception above (chained to this one) says where; make the call succeed on the kit's input"


@contextlib.contextmanager
def _checking(subject: str, check: str, fix: str = SEE_CHAINED) -> Iterator[None]:
    """Any exception inside becomes a :class:`ConformanceError` naming the subject and the check."""
    try:
        yield
    except ConformanceError:
        raise
    except Exception as exc:
        raise ConformanceError(subject, check, f"raised {type(exc).__name__}: {exc}", fix) from exc


def _require(ok: bool, subject: str, check: str, problem: str, fix: str) -> None:
    if not ok:
        raise ConformanceError(subject, check, problem, fix)


# -- methods ------------------------------------------------------------------------------------
def _run(method: Method, x: torch.Tensor, grad: bool = False) -> torch.Tensor:
    """The method's output on ``x`` through its task's call; ``grad``: as a user's script calls it
    (autograd on, output as returned), else as the harness does."""
    spec = task_spec(method.task)
    batch = Batch([f"kit-{i}" for i in range(x.shape[0] if x.dim() == 4 else 1)], x, None, [{}], {})
    if x.dim() == 4:
        batch.extras = spec.kit_extras(method, x)
    if grad:
        with torch.enable_grad():
            return spec.run(method, batch, {}).images
    with torch.enable_grad() if method.needs_grad else torch.inference_mode():
        return spec.run(method, batch, {}).images.detach()


def _call(method: Method, x: torch.Tensor, subject: str, check: str, grad: bool = False) -> torch.Tensor:
    try:
        return _run(method, x, grad)
    except ContractError as exc:
        raise ConformanceError(subject, check, f"the task contract refused the output: {exc}",
                               "return a float32 N x 3 x H x W tensor in [0, 1] of the shape the task expects "
                               "(clamp the result; see the task's base class in zoo.tasks)") from exc
    except Exception as exc:
        raise ConformanceError(subject, check, f"raised {type(exc).__name__}: {exc}", SEE_CHAINED) from exc


def _check_instance(method: Method, device: str, size: int, atol: float) -> torch.Tensor:
    """Every check on one loaded method; returns its output on the kit's batch."""
    name = f"method {method.id}"
    spec = task_spec(method.task)
    _require(isinstance(method, spec.method_class), name, "type",
             f"{type(method).__name__} is not a {spec.method_class.__name__} (task {method.task!r})",
             f"subclass {spec.method_class.__module__}.{spec.method_class.__name__}")
    x = sample_batch(3, size)
    before = x.clone()

    torch.manual_seed(0)
    y = _call(method, x, name, "output", grad=True)  # as a user's script calls it: autograd on
    _require(torch.equal(x, before), name, "input mutation", "the method changed its input tensor in place",
             "work on a copy (x = x.clone()) or use out-of-place operations")
    _require(not (isinstance(y, torch.Tensor) and (y.requires_grad or y.grad_fn is not None)), name, "autograd graph",
             "the output carries an autograd graph when called with gradients enabled (zoo.load(...) users hold it "
             "and its activations in memory, and backpropagate into the method)",
             "return outputs through the task base class's public call (it runs the method without autograd and "
             "detaches the output); don't override upscale/translate/... themselves")
    _require(isinstance(y, torch.Tensor) and y.dtype == torch.float32, name, "output dtype",
             f"output dtype {getattr(y, 'dtype', type(y).__name__)}", "return float32 (y.float())")
    _require(y.device == method.device, name, "output device",
             f"output on {y.device}, the method is on {method.device}",
             "create tensors on the input's device (device=x.device) and register constants as buffers")
    lo, hi = float(y.min()), float(y.max())
    _require(lo >= -RANGE_TOLERANCE and hi <= 1 + RANGE_TOLERANCE, name, "output range",
             f"output range [{lo:.6g}, {hi:.6g}] exceeds [0, 1] by more than {RANGE_TOLERANCE:g}", "clamp the result to [0, 1]")
    problem = spec.check(method, x, y)
    _require(problem is None, name, f"{spec.name} contract", str(problem),
             f"see the {spec.name} task's contract ({type(spec).__name__} in docs/plugins.md)")

    torch.manual_seed(0)
    again = _call(method, x, name, "determinism")
    _require(torch.equal(y, again) or torch.allclose(y, again, atol=atol), name, "determinism",
             f"two calls under torch.manual_seed(0) differ by {(y - again).abs().max():.3g}",
             "draw randomness from torch's global generator (seeded by the harness) or a generator seeded per call")

    torch.manual_seed(0)
    singles = torch.cat([_call(method, x[i : i + 1], name, "batch independence") for i in range(x.shape[0])])
    _require(singles.shape == y.shape and torch.allclose(y, singles, atol=atol), name, "batch independence",
             f"a batch of 3 differs from 3 single calls by {(y - singles).abs().max():.3g}" if singles.shape == y.shape
             else f"a batch gives shape {tuple(y.shape)}, single calls {tuple(singles.shape)}",
             "process each image on its own (no statistics across the batch, e.g. BatchNorm in train mode)")

    moved = method.to(device)
    torch.manual_seed(0)
    y_dev = _call(moved, x.to(device), name, f".to({device!r})").cpu()
    _require(torch.allclose(y_dev, y.cpu(), atol=atol), name, f".to({device!r})", f"output differs after .to({device!r})",
             "keep every tensor the method uses in registered parameters or buffers so .to() moves them")

    for bad, why in [(x[:, :1], "1 channel"), (x * 2, "range [0, 2]"), (x.double(), "float64"), (x[0], "no batch dim")]:
        try:
            _run(method, bad)
        except ContractError as exc:
            _require(method.id in str(exc), name, "input errors", f"the error for {why} does not name the method: {exc}",
                     "raise errors through the task base class's checks (self._in / self._out)")
        except Exception as exc:
            raise ConformanceError(name, "input errors", f"invalid input ({why}) raised {type(exc).__name__}: {exc} "
                                   "instead of a ContractError", "call the task's public method, which checks the input "
                                   "(implement the underscored _call, not the public one)") from exc
        else:
            raise ConformanceError(name, "input errors", f"accepted invalid input ({why}) without a ContractError",
                                   "let the task base class check inputs (implement the underscored call)")
    return y


def _load(method_id: str, setting: dict, device: str, weights: str | dict | None) -> Method:
    from zoo.errors import OptionsError
    from zoo.loading import load_method

    try:
        return load_method(method_id, device=device, weights=weights, **setting)
    except OptionsError as exc:
        raise ConformanceError(f"method {method_id}", f"operating point {json.dumps(setting, sort_keys=True)}",
                               f"the card declares it, but it cannot be loaded: {exc}",
                               "correct the option name or value in the catalog entry's `settings:` (or `options:`), "
                               "or accept it in the factory") from exc
    except TypeError as exc:
        raise ConformanceError(f"method {method_id}", f"operating point {json.dumps(setting, sort_keys=True)}",
                               f"the factory rejected it: {exc}", "make the factory take every option the card's settings use") from exc


def check_method(method: str | Method, setting: dict[str, Any] | None = None, device: str = "cpu",
                 size: int = 48, atol: float = 1e-5, weights: str | dict | None = None,
                 settings_change_output: bool = True) -> Method:
    """Run every conformance check on ``method`` and return it.

    Args:
        method: a catalog id, or a method instance (checked as it is).
        setting: one operating point to check; default (for an id): every operating point the
            card declares, each loaded and run, the first one through every check.
        size: side of the kit's square test images, in pixels.
        atol: absolute tolerance for "equal" outputs (batch, determinism, device).
        weights: a local checkpoint (or ``{part: path}``) instead of the catalog's file.
        settings_change_output: require different operating points to give different outputs.

    Raises:
        ConformanceError: a check failed; its message names the method, the check and the fix.
    """
    if not isinstance(method, str):
        _check_instance(method, device, size, atol)
        return method
    from zoo.catalog import get_card

    points = [dict(setting)] if setting is not None else [dict(s) for s in get_card(method).settings]
    first = _load(method, points[0], device, weights)
    outputs = {json.dumps(points[0], sort_keys=True): _check_instance(first, device, size, atol)}
    x = sample_batch(3, size)
    for point in points[1:]:
        other = _load(method, point, device, weights)
        key = json.dumps(point, sort_keys=True)
        torch.manual_seed(0)
        y = _call(other, x, f"method {method}", f"operating point {key}")
        problem = task_spec(other.task).check(other, x, y)
        _require(problem is None, f"method {method}", f"operating point {key}", str(problem), "see the task's contract")
        outputs[key] = y
    if settings_change_output and len(outputs) > 1:
        keys = list(outputs)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if outputs[a].shape == outputs[b].shape and torch.equal(outputs[a], outputs[b]):
                    raise ConformanceError(
                        f"method {method}", "settings change the output",
                        f"operating points {a} and {b} give identical outputs",
                        "make the factory use the option (a misspelt keyword swallowed by **kwargs?), or pass "
                        "settings_change_output=False if the option does not affect the pixels")
    return first


# -- metrics ------------------------------------------------------------------------------------
def _kit_extras(metric: Any, x: torch.Tensor, given: dict[str, Any], subject: str) -> dict[str, Any]:
    n, _, h, w = x.shape
    makers = {
        "input": lambda: x.clone(),
        "items": lambda: [f"kit-{i}" for i in range(n)],
        "attributes": lambda: [{"group": "a" if i % 2 else "b"} for i in range(n)],
        "style": lambda: sample_batch(n, h, seed=7),
        "target": lambda: sample_batch(n, h, seed=8),
        "scribble": lambda: sample_batch(n, h, seed=9),
        "mask": lambda: torch.zeros(n, 1, h, w).index_fill_(3, torch.arange(w // 2), 1.0),
        "bitstreams": lambda: [bytes(64 * (i + 1)) for i in range(n)],
    }
    out = {}
    for need in sorted(metric.requirements() - {"reference"}):
        if need in given:
            out[need] = given[need]
        elif need in makers:
            out[need] = makers[need]()
        else:
            raise ConformanceError(subject, "inputs", f"it needs {need!r}, which the kit cannot make up",
                                   f"pass extras={{{need!r}: ...}} to check_metric (for {n} images)")
    return out


def _item(extras: dict[str, Any], i: int, n: int) -> dict[str, Any]:
    """The extras of item ``i`` alone (per-item tensors and lists sliced; anything else as is)."""
    out = {}
    for k, v in extras.items():
        if isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[0] == n:
            out[k] = v[i : i + 1]
        elif isinstance(v, (list, tuple)) and len(v) == n:
            out[k] = type(v)([v[i]])
        else:
            out[k] = v
    return out


def _named(values: Any) -> dict[str, Any]:
    return dict(values) if isinstance(values, dict) else {"": values}


def _close(a: torch.Tensor, b: torch.Tensor, atol: float) -> bool:
    a, b = a.double().cpu(), b.double().cpu()
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=atol, rtol=1e-6, equal_nan=True))


def _better_or_equal(a: float, b: float, higher: bool, tol: float = 1e-9) -> bool:
    if math.isnan(a) or math.isnan(b):
        return True
    return a >= b - tol * max(1.0, abs(b)) if higher else a <= b + tol * max(1.0, abs(b))


def _distort(x: torch.Tensor) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return (x + 0.08 * torch.randn(x.shape, generator=g)).clamp(0, 1)


def check_metric(metric: str | Any, options: dict[str, Any] | None = None, extras: dict[str, Any] | None = None,
                 size: int = 48, n: int = 4, atol: float = 1e-6, device: str = "cpu") -> Any:
    """Run every conformance check on a metric (a registered name built with ``options``, or an instance).

    Args:
        extras: inputs the metric ``needs`` that the kit cannot make up (``method``, ``latents``),
            one entry per image where per-item; the kit makes ``input``, ``items``, ``attributes``,
            ``style``, ``target``, ``scribble``, ``mask`` and ``bitstreams`` itself.
        size: side of the kit's images (ms-ssim needs at least 161).
        n: images per batch (distribution metrics need at least 2).

    Raises:
        ConformanceError: a check failed; its message names the metric, the check and the fix.
        zoo.errors.MetricUnavailable: the metric cannot run here (its weights are downloads).
    """
    from zoo.errors import MetricUnavailable
    from zoo.metrics import Metric, build_metric

    if isinstance(metric, str):
        name = metric
        try:
            m = build_metric(name, **(options or {}))
        except MetricUnavailable:
            raise
        except Exception as exc:
            raise ConformanceError(f"metric {name}", "build", f"the factory raised {type(exc).__name__}: {exc}",
                                   "make the registered factory accept these options (raise MetricUnavailable "
                                   "when the metric cannot run here)") from exc
        twin = build_metric(name, **(options or {}))
    else:
        m, twin, name = metric, None, getattr(metric, "name", type(metric).__name__)
    subject = f"metric {name}"
    _require(isinstance(m, Metric), subject, "type", f"the factory returned a {type(m).__name__}",
             "return an instance of a zoo.metrics.Metric subclass")
    _require(isinstance(m.name, str) and bool(m.name), subject, "name", f"name is {m.name!r}",
             "set the class attribute name = '<registered name>'")
    _require(isinstance(m.higher_is_better, bool), subject, "higher_is_better",
             f"higher_is_better is {m.higher_is_better!r}", "set higher_is_better = True or False on the class")
    m = m.to(device)
    fp = m.fingerprint
    _require(isinstance(fp, str) and fp.startswith(f"{m.name}("), subject, "fingerprint",
             f"fingerprint {fp!r} does not start with '{m.name}('",
             "keep the base class's fingerprint and return every value-changing choice from options()")
    if twin is not None:
        _require(twin.fingerprint == fp, subject, "fingerprint stability",
                 f"two instances with the same options have fingerprints {fp!r} and {twin.fingerprint!r}",
                 "derive options() from the constructor's arguments only (no ids, times or random values)")

    x = sample_batch(n, size).to(device)
    y = _distort(x).to(device)
    x0, y0 = x.clone(), y.clone()
    ex = _kit_extras(m, x, extras or {}, subject)
    if m.paired:
        _check_paired(m, subject, x, y, ex, atol)
    else:
        _check_distribution(m, subject, x, y, ex, atol)
    _require(torch.equal(x, x0) and torch.equal(y, y0), subject, "input mutation",
             "the metric changed an output or reference tensor in place", "work on copies or out-of-place operations")
    _require(m.fingerprint == fp, subject, "fingerprint stability", f"the fingerprint changed with use: {fp!r} -> {m.fingerprint!r}",
             "compute the fingerprint from the constructor's options only")
    return m


def _check_paired(m: Any, subject: str, x: torch.Tensor, y: torch.Tensor, ex: dict, atol: float) -> None:
    n = x.shape[0]
    # a no-reference metric (NIQE, BRISQUE) is called without one, as the harness does on unpaired tasks
    x_ref = x if "reference" in m.requirements() else None
    with _checking(subject, "call"):
        m.item_reasons = []
        v = m(y, x_ref, **ex)
    reasons = list(getattr(m, "item_reasons", None) or [])
    _require(isinstance(v, (torch.Tensor, dict)), subject, "output type", f"returned a {type(v).__name__}",
             "return a Tensor[N] (one value per image) or a mapping of named Tensor[N]")
    for key, t in _named(v).items():
        col = f" ({key})" if key else ""
        _require(isinstance(t, torch.Tensor) and t.dim() == 1 and t.shape[0] == n, subject, "shape [N]",
                 f"returned{col} {tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__} for {n} images",
                 "return one value per image, shape [N] (reduce every dimension but the batch: .flatten(1).mean(1))")
        _require(t.dtype == torch.float64, subject, "dtype", f"returned{col} dtype {t.dtype}; every metric returns float64",
                 "return values through the Metric base class's call (it casts them), or .double() them")
        for i in torch.nonzero(torch.isnan(t)).flatten().tolist():
            _require(i < len(reasons) and bool(reasons[i]), subject, "NaN without a reason",
                     f"item {i}{col} is NaN and item_reasons gives no reason",
                     "set self.item_reasons[i] to why the item cannot be measured, or return a value")
    with _checking(subject, "determinism"):
        again = m(y, x_ref, **ex)
    for key, t in _named(v).items():
        _require(_close(t, _named(again)[key], atol), subject, "determinism",
                 f"two calls on the same images differ{f' ({key})' if key else ''}",
                 "remove randomness, or seed it from the inputs")
    with _checking(subject, "batch independence"):
        singles = [m(y[i : i + 1], None if x_ref is None else x[i : i + 1], **_item(ex, i, n)) for i in range(n)]
    for key, t in _named(v).items():
        one = torch.cat([torch.as_tensor(_named(s)[key]).reshape(-1) for s in singles])
        _require(_close(t, one, max(atol, 1e-5)), subject, "batch independence",
                 f"values of a batch of {n} differ from {n} single calls{f' ({key})' if key else ''}: "
                 f"{t.double().cpu().tolist()} vs {one.double().cpu().tolist()}",
                 "compute each image's value from that image alone (no mean over the batch)")
    if isinstance(v, dict) or not m.requirements():
        # named figures have no single direction or ideal; a no-reference metric (it reads the output alone) has
        # no identical pair, and the kit's synthetic images are not natural enough to rank a clean and a noisy
        # copy of one (its own tests do that, on photographs)
        return
    with _checking(subject, "identical images"):
        ident = m(x, None if x_ref is None else x.clone(), **ex)
    ideal = getattr(m, "ideal", None)
    for i in range(n):
        a, b = float(ident[i]), float(v[i])
        _require(_better_or_equal(a, b, m.higher_is_better), subject, "higher_is_better",
                 f"identical images score {a:.6g}, a distorted pair {b:.6g}, but higher_is_better={m.higher_is_better}",
                 f"set higher_is_better = {not m.higher_is_better} on the class")
        if ideal is not None:
            _require(a == ideal or math.isclose(a, ideal, abs_tol=1e-4), subject, "ideal",
                     f"identical images score {a:.6g}, the metric declares ideal = {ideal}",
                     "fix the computation (or the declared ideal)")


def _distribution(m: Any, batches: list[tuple], ex_list: list[dict]) -> float:
    m.reset()
    for (out, ref), ex in zip(batches, ex_list):
        m.update(out, ref, **ex)
    return float(m.compute())


def _check_distribution(m: Any, subject: str, x: torch.Tensor, y: torch.Tensor, ex: dict, atol: float) -> None:
    n = x.shape[0]
    with _checking(subject, "call"):
        v = _distribution(m, [(y, x)], [ex])
    _require(math.isfinite(v), subject, "finite value", f"the value over {n} images is {v}",
             "return a finite number for a set of distinct images")
    with _checking(subject, "determinism"):
        again = _distribution(m, [(y, x)], [ex])
    _require(math.isclose(v, again, rel_tol=1e-6, abs_tol=atol), subject, "determinism",
             f"two computations on the same images give {v:.8g} and {again:.8g}", "remove randomness, or seed it")
    with _checking(subject, "batch independence"):
        ones = _distribution(m, [(y[i : i + 1], x[i : i + 1]) for i in range(n)], [_item(ex, i, n) for i in range(n)])
    _require(math.isclose(v, ones, rel_tol=1e-5, abs_tol=max(atol, 1e-6)), subject, "batch independence",
             f"one update of {n} images gives {v:.8g}, {n} updates of one image {ones:.8g}",
             "accumulate per-image features or sums in update(); compute the value only in compute()")
    if m.mergeable:
        with _checking(subject, "merge states"):
            h = n // 2
            states = []
            for sl in (slice(0, h), slice(h, n)):
                m.reset()
                m.update(y[sl], x[sl], **_item_range(ex, sl, n))
                states.append(m.state())
            m.reset()
            m.merge_states(states)
            merged = float(m.compute())
        _require(math.isclose(v, merged, rel_tol=1e-5, abs_tol=max(atol, 1e-6)), subject, "merge states",
                 f"merging two halves' states gives {merged:.8g}, the whole set {v:.8g}",
                 "make state() hold sufficient statistics and merge_states() combine them exactly")
    with _checking(subject, "identical images"):
        ident = _distribution(m, [(x, x.clone())], [ex])
    _require(_better_or_equal(ident, v, m.higher_is_better), subject, "higher_is_better",
             f"identical sets score {ident:.6g}, distorted {v:.6g}, but higher_is_better={m.higher_is_better}",
             f"set higher_is_better = {not m.higher_is_better} on the class")
    ideal = getattr(m, "ideal", None)
    if ideal is not None:  # an estimate over a few images (unbiased ones go below 0): twice as close as a distorted set
        _require(abs(ident - ideal) <= 0.5 * abs(v - ideal) + 1e-9, subject, "ideal",
                 f"identical sets score {ident:.6g}, a distorted set {v:.6g}, the declared ideal is {ideal}",
                 "fix the computation (or the declared ideal)")


def _item_range(extras: dict[str, Any], sl: slice, n: int) -> dict[str, Any]:
    out = {}
    for k, v in extras.items():
        out[k] = v[sl] if (isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[0] == n) or \
            (isinstance(v, (list, tuple)) and len(v) == n) else v
    return out


def lay_out_hub_cache(cache: Path, repo: str, rev: str, filename: str, data: bytes, repo_type: str = "model") -> Path:
    """Write ``data`` into a Hugging Face Hub cache exactly as huggingface_hub lays it out
    (``blobs/<sha256>``, ``snapshots/<rev>/<file>`` -> blob, ``refs/main``), so tests exercise the
    real download code offline (``HF_HUB_OFFLINE=1``, ``HF_HUB_CACHE=cache``)."""
    import hashlib

    folder = Path(cache) / f"{repo_type}s--{repo.replace('/', '--')}"
    blob = folder / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    snap = folder / "snapshots" / rev / filename
    snap.parent.mkdir(parents=True, exist_ok=True)
    if snap.exists() or snap.is_symlink():
        snap.unlink()
    snap.symlink_to(blob)
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(rev)
    return snap


@contextlib.contextmanager
def isolated_caches(root: Path):
    """A private zoo cache and Hub cache under ``root``, Hub offline, for the block; restores the environment."""
    keys = ("ZOO_CACHE", "HF_HUB_CACHE", "HF_HUB_OFFLINE")
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(ZOO_CACHE=str(Path(root) / "zoo"), HF_HUB_CACHE=str(Path(root) / "hub"), HF_HUB_OFFLINE="1")
    try:
        yield Path(root)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
