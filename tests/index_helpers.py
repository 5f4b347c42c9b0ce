"""Small helpers for writing model-index sources in tests."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


MODEL_YAML = """
Collections:
- Name: Mix
  Paper:
    Title: MixConv
    URL: https://example.org/paper
Models:
- Name: m1
  In Collection: Mix
  Metadata:
    FLOPs: 1000
    Parameters: 2000
    Crop Pct: '0.9'
    Image Size: '256'
    Interpolation: bilinear
  Results:
  - Task: Image Classification
    Dataset: ImageNet
    Metrics:
      Top 1 Accuracy: 70.5%
      Top 5 Accuracy: 90.25%
"""
