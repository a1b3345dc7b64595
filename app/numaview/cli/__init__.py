"""The ``numaview`` command line (``numaview.cli:main`` is the console script)."""

from numaview.cli.parser import build_parser, main

__all__ = ["build_parser", "main"]
