"""Exceptions. Every message names the thing, the cause and the fix."""

from __future__ import annotations


class ZooError(Exception):
    """Base class for every error imagezoo raises on purpose."""


class PluginError(ZooError):
    """A plugin could not be loaded or registered something invalid."""


class CatalogError(ZooError):
    """registry.yaml or a plugin's catalog entry is malformed."""


class UnknownNameError(ZooError, KeyError):
    """A method, metric or dataset name that nothing registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class WeightsError(ZooError):
    """Weights could not be found, downloaded, verified or loaded."""


class WeightsIntegrityError(WeightsError):
    """A weights file's sha256 differs from the catalog."""


class ContractError(ZooError):
    """A method broke its task contract (shape, dtype, range, NaN)."""


class ConformanceError(ZooError, AssertionError):
    """A conformance-kit check failed (:mod:`zoo.testing`): names the method or metric, the check and the fix.

    An ``AssertionError`` subclass, so test runners report it as a failed test.
    """

    def __init__(self, subject: str, check: str, problem: str, fix: str) -> None:
        self.subject, self.check, self.problem, self.fix = subject, check, problem, fix
        super().__init__(f"{subject}: conformance check '{check}' failed: {problem}. Fix: {fix}")


class ImageError(ZooError):
    """An image file could not be decoded or is not a valid image."""


class MetricError(ZooError, ValueError):
    """A metric received input it cannot measure."""


class MetricUnavailable(ZooError):
    """A metric cannot run here (missing weights); ``reason`` says why and how to fix it."""


class SuiteError(ZooError):
    """A suite file is malformed."""


class OptionsError(ZooError, ValueError):
    """A bad operating point: names the method, the option, the value and the allowed values."""

    def __init__(self, method: str, option: str, value: object, allowed: object) -> None:
        self.method, self.option, self.value, self.allowed = method, option, value, allowed
        if isinstance(allowed, (list, tuple, set, range)):
            allowed_txt = ", ".join(map(repr, allowed)) if allowed else "(none: this option cannot be set)"
        else:
            allowed_txt = str(allowed)
        super().__init__(f"{method}: option {option}={value!r} is not allowed; allowed: {allowed_txt}")


class ConfigError(ZooError):
    """An environment variable or setting outside a suite holds a value imagezoo cannot use."""


class LimitError(ZooError):
    """An input would exceed a documented resource limit (pixels, memory, archive size); names the knob that raises it."""


class RunFolderError(ZooError):
    """An output folder is not one imagezoo may write into (someone else's files, inputs, existing outputs)."""


class ImageTooLargeError(ImageError, LimitError):
    """An image over the pixel limit (``ZOO_MAX_PIXELS``): a decompression bomb guard."""
