"""Shared fixtures come from parcelfsm's own pytest plugin (`clock`, `orders`, `scenario`).

The plugin is registered through the `pytest11` entry point; listing it here as well
keeps the suite working from a checkout that was not installed.
"""

from __future__ import annotations

import importlib.metadata

_registered = any(
    ep.value == "parcelfsm.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11")
)
pytest_plugins = [] if _registered else ["parcelfsm.pytest_plugin"]
