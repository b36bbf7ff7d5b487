"""Every test runs with OPENPICK_HOME in a temporary folder: no user state, no network."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def openpick_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("openpick-home")
    monkeypatch.setenv("OPENPICK_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    return home
