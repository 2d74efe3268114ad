"""Card -> factory -> weights -> Method."""

from __future__ import annotations

from typing import Any

from zoo.catalog import MethodCard, get_card
from zoo.errors import ZooError
from zoo.plugins import registry
from zoo.tasks import Method
from zoo.weights import load_state_dict, resolve


def build(card: MethodCard, **options: Any) -> Method:
    """Instantiate the card's factory with its params and an operating point (no weights)."""
    entry = registry().get("methods", card.factory)
    if entry.task != card.task:
        raise ZooError(f"{card.id}: catalog task {card.task!r} but factory {card.factory!r} is a {entry.task!r} method")
    try:
        method = entry.obj(**{**card.params, **options})
    except TypeError as exc:
        raise ZooError(f"{card.id}: factory {card.factory!r} rejected options {options}: {exc}") from exc
    if not isinstance(method, Method) or method.task != card.task:
        raise ZooError(f"{card.id}: factory {card.factory!r} (plugin {entry.plugin}) did not return a {card.task} Method")
    method.id, method.card = card.id, card
    return method


def load_method(method_id: str, device: str = "cpu", weights: str | None = None, download: bool = True, **options: Any) -> Method:
    """Build ``method_id`` and load its verified weights (or a local checkpoint ``weights``)."""
    card = get_card(method_id)
    method = build(card, **options)
    if weights is not None:
        method.load_weights(load_state_dict(weights))
    else:
        refs = card.weights_for(options)
        if card.weights and not refs:
            choices = [r.setting for r in card.weights]
            raise ZooError(f"{method_id}: no weights for setting {options}; the catalog has weights for {choices}")
        for ref in refs:
            method.load_weights(load_state_dict(resolve(ref, method_id, download=download)))
    return method.to(device).eval()
