"""Shared fixtures live in tests/support; this file only wires them in."""
