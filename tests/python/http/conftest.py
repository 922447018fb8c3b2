"""Test support for the HTTP listener's tests: the Python client's own (clients/python/tests/
conftest.py: Daemon, daemon_factory, deadline, until), loaded under a name of its own, and the
client library from clients/python/src."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

CLIENT_PYTHON = Path(__file__).resolve().parents[3] / "clients/python"
sys.path.insert(0, str(CLIENT_PYTHON / "src"))

_spec = importlib.util.spec_from_file_location(
    "paperboy_client_test_support", CLIENT_PYTHON / "tests/conftest.py"
)
assert _spec is not None and _spec.loader is not None
support = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = support
_spec.loader.exec_module(support)

# pytest finds fixtures among a conftest's attributes.
daemon_factory = support.daemon_factory
