"""Shared helpers for tests/test_reliability_*.py: run the CLI, hash folders, make images."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

from zoo.cli import main


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``zoo ARGV`` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (or of ``root`` itself), by relative path."""
    root = Path(root)
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def png(path: Path, h: int = 16, w: int = 20, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


def write_suite(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body).lstrip("\n"))
    return path


#: The smallest real suite: two classical upscalers on two 32-px crops, PSNR only (each unit well under a second).
TINY = """
name: tiny
benchmarks:
  - name: sr
    task: super-resolution
    dataset: {name: samples, split: heldout, crop: 32, limit: 2}
    degradation: {bicubic: 4}
    methods:
      - {id: bicubic.classical, settings: [{scale: 4}]}
      - {id: nearest.classical, settings: [{scale: 4}]}
    metrics: [psnr]
"""
