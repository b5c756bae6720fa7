"""workshopkit: turn lessons written as plain Python files into a tested, packaged workshop."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
