"""Metrics that read the output alone (no reference, no other input): the kit and the harness call them without one."""

from __future__ import annotations

import pytest
import torch

from zoo.errors import ConformanceError
from zoo.metrics import Metric
from zoo.testing import check_metric


class Brightness(Metric):
    name = "kit-brightness"
    needs_reference = False

    def _values(self, output, reference=None, **extras):
        if reference is not None:
            raise AssertionError("a no-reference metric was handed a reference")
        return output.mean((1, 2, 3)).double()


class BatchMean(Brightness):
    name = "kit-batch-mean"

    def _values(self, output, reference=None, **extras):
        return output.mean().double().repeat(output.shape[0])  # wrong: depends on the other items


def test_the_kit_calls_a_no_reference_metric_without_a_reference():
    m = check_metric(Brightness(), size=32, n=3)
    assert m.requirements() == set()


def test_the_kit_still_finds_a_broken_no_reference_metric():
    with pytest.raises(ConformanceError, match="batch independence"):
        check_metric(BatchMean(), size=32, n=3)


def test_a_no_reference_metric_needs_no_reference_tensor():
    v = Brightness()(torch.full((2, 3, 8, 8), 0.25))
    assert v.tolist() == [0.25, 0.25]
