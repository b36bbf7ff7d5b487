"""Where user state lives. OPENPICK_HOME overrides both the data and config dirs
(tests always point it at a temporary folder)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "openpick"


def _home() -> Path | None:
    home = os.environ.get("OPENPICK_HOME")
    return Path(home).expanduser() if home else None


def data_dir() -> Path:
    home = _home()
    path = home / "data" if home else Path(platformdirs.user_data_dir(APP))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    home = _home()
    path = home / "config" if home else Path(platformdirs.user_config_dir(APP))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    home = _home()
    path = home / "cache" if home else Path(platformdirs.user_cache_dir(APP))
    path.mkdir(parents=True, exist_ok=True)
    return path
