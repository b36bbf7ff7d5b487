"""Numbered store migrations: `mNNNN_name.py` modules, each with an `SQL` string."""
