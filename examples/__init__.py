"""Runnable examples of workflows that ask a person through signoff (``SignoffRequest``).

Each example is a small Temporal application of its own, in the style of temporalio/samples-python.
Product code never imports them (an import-linter contract in pyproject.toml).
"""
