"""The version this process runs, from the installed package's metadata (pyproject.toml)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    try:
        return version("botsettings")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


VERSION = package_version()
