"""Card -> factory -> weights -> Method."""

from __future__ import annotations

import inspect
from typing import Any

from zoo.catalog import MethodCard, get_card
from zoo.errors import OptionsError, WeightsError, ZooError
from zoo.plugins import registry
from zoo.tasks import Method
from zoo.weights import resolve


def weights_provenance(ref, path) -> dict[str, Any]:
    """What a loaded catalog file was and how it was checked (goes to meta.json and marks results)."""
    from zoo.sources import cached_source, hash_status

    got = cached_source(ref)
    from_source = got is not None and got[0] == path
    verification = ("bundled" if ref.bundled else (got[1].get("verification") if from_source else "sha256"))
    if from_source and ref.expected_source_sha256:
        verification = "sha256"
    origin = "source" if from_source else "bundled" if ref.bundled else "package" if ref.package else "hub"
    record = {"part": ref.part, "file": str(path), "sha256": (got[1].get("sha256") if from_source else ref.sha256),
              "hash_status": hash_status(ref), "verification": verification, "origin": origin}
    if ref.package:
        from importlib.metadata import version

        record.update(package=ref.package, package_version=version(ref.package), companions=dict(ref.companions))
    return record


def check_options(card: MethodCard, factory: Any, options: dict[str, Any], own_weights: bool = False) -> None:
    """Refuse an operating point the card does not allow, with one :class:`OptionsError`.

    A key of the card's ``params`` is fixed by the entry (an ×4 checkpoint cannot run at ×3)
    unless the card's ``options`` opens it or the caller brings its own checkpoint
    (``own_weights``: the entry's architecture, resized); a key the factory does not take is
    unknown; a value outside the card's declared ``options`` is refused with the allowed values.
    """
    declared = card.options
    allowed = card.allowed_options()
    try:
        params = inspect.signature(factory).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        accepted = {k for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    except (TypeError, ValueError):
        takes_any, accepted = True, set()
    for key, value in options.items():
        if key in card.params and key not in declared and not own_weights:
            raise OptionsError(card.id, key, value, [card.params[key]])
        if not takes_any and key not in accepted:
            raise OptionsError(card.id, key, value, f"no option {key!r}; options are "
                               f"{', '.join(sorted(accepted - set(card.params))) or '(none)'}")
        if key in declared and value not in declared[key]:
            raise OptionsError(card.id, key, value, declared[key])
    if card.weights and not own_weights and not card.weights_for(options):
        keys = sorted({k for r in card.weights for k in r.setting})
        key = next((k for k in keys if k in options), keys[0] if keys else "setting")
        raise OptionsError(card.id, key, options.get(key), allowed.get(key, [r.setting for r in card.weights]))


def build(card: MethodCard, own_weights: bool = False, **options: Any) -> Method:
    """Instantiate the card's factory with its params and an operating point (no weights)."""
    entry = registry().get("methods", card.factory)
    if entry.task != card.task:
        raise ZooError(f"{card.id}: catalog task {card.task!r} but factory {card.factory!r} is a {entry.task!r} method")
    check_options(card, entry.obj, options, own_weights)
    try:
        method = entry.obj(**{**card.params, **options})
    except OptionsError as exc:
        if exc.method == card.id:
            raise
        raise OptionsError(card.id, exc.option, exc.value, exc.allowed) from exc
    except TypeError as exc:
        raise ZooError(f"{card.id}: factory {card.factory!r} rejected options {options}: {exc}") from exc
    from zoo.taskspec import task_spec

    base = task_spec(card.task).method_class
    if not isinstance(method, base) or method.task != card.task:
        raise ZooError(f"{card.id}: factory {card.factory!r} (plugin {entry.plugin}) did not return a "
                       f"{card.task} method (a subclass of {base.__module__}.{base.__name__})")
    method.id, method.card = card.id, card
    return method


def load_local_weights(method: Method, path: str, part: str | None = None) -> None:
    """Load a user's checkpoint into ``method``; a file of another architecture is a :class:`WeightsError`.

    Raises:
        WeightsError: the file is not a checkpoint, the method takes no weights, or the
            checkpoint's tensors do not fit the method's architecture (names the file and the fix).
    """
    card = method.card
    if not card.weights and not card.parts and not method.state_dict():
        raise WeightsError(f"{card.id} has no weights (it is not a trained model); drop --weights / weights=")
    state = method.read_weights(path)
    try:
        if part is None:
            method.load_weights(state)
        else:
            method.load_weights(state, part=part)
    except WeightsError:
        raise
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError, ZooError) as exc:
        first = " ".join(str(exc).split()) or type(exc).__name__
        raise WeightsError(
            f"{path}: does not fit {card.id} (factory {card.factory!r}{f', part {part}' if part else ''}): {first[:300]}. "
            f"Pass a checkpoint of this architecture, or load the file with the entry it was trained for"
        ) from exc


def load_method(method_id: str, device: str = "cpu", weights: str | dict[str, str] | None = None, download: bool = True,
                **options: Any) -> Method:
    """Build ``method_id`` and load its verified weights.

    Args:
        weights: a local checkpoint for the entry's architecture instead of the catalog's
            file, or for a multi-part card a mapping ``{part: path}`` (parts not named come
            from the catalog).
    """
    card = get_card(method_id)
    local = weights if isinstance(weights, dict) else ({} if weights is None else {None: weights})
    method = build(card, own_weights=None in local or (bool(local) and set(local) >= set(card.parts)), **options)
    #: one record per catalog file loaded: part, sha256, hash status, how the local copy was verified
    method.weights_provenance = []
    if local and card.parts and None in local:
        raise ZooError(f"{method_id}: this method has weight parts {card.parts}; pass weights={{part: path}} "
                       f"(CLI: --weights PART=FILE)")
    unknown = set(local) - set(card.parts) - {None}
    if unknown and card.parts:
        raise ZooError(f"{method_id}: unknown weight part(s) {sorted(unknown)}; parts are {card.parts}")
    if None in local:
        load_local_weights(method, local[None])
        return method.to(device).eval()
    if local and not card.weights:  # parts given for an entry that lists none: the method routes them
        for part, path in local.items():
            load_local_weights(method, path, part=part)
        return method.to(device).eval()
    loaded = set()
    for ref in card.weights_for(options):
        if ref.part in local:
            load_local_weights(method, local[ref.part], part=ref.part)
            loaded.add(ref.part)
            continue
        try:
            path = resolve(ref, method_id, download=download)
            state = method.read_weights(path)
        except WeightsError:
            if ref.optional:
                method.missing_parts.add(ref.part or "weights")
                continue
            raise
        if ref.part is None:
            method.load_weights(state)
        else:
            method.load_weights(state, part=ref.part)
        method.weights_provenance.append(weights_provenance(ref, path))
    for part in set(local) - loaded:  # parts the operating point does not need, given anyway (a two-way pair's other direction)
        load_local_weights(method, local[part], part=part)
    return method.to(device).eval()
