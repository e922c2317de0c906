"""Connectome Workbench's ``wb_command`` for the CIFTI tests (installed from Debian when missing, as root).

Debian's ``connectome-workbench`` package (1.5.0 in bookworm; it pulls in Qt 5 and Mesa, not its
recommended ``caret``) runs headless: ``wb_command`` links Qt's GUI library but needs no display
for file commands.  :func:`env` still sets ``QT_QPA_PLATFORM=offscreen`` so
that a Qt that does look for a display (another build, a ``DISPLAY`` that points nowhere) neither
fails nor waits for an X server.  Every call is bounded by a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess

PACKAGE = "connectome-workbench"
BINARY = "wb_command"


class WorkbenchUnavailable(RuntimeError):
    """``wb_command`` is not installed and cannot be installed here (the tests skip with this reason)."""


def env() -> dict:
    """The environment to run ``wb_command`` in: this one, headless, with no display to look for."""
    out = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out.pop("DISPLAY", None)
    out.pop("WAYLAND_DISPLAY", None)
    return out


def _which() -> str | None:
    return shutil.which(BINARY) or shutil.which(BINARY, path="/usr/bin:/usr/local/bin:/bin")


def _works(path: str) -> str | None:
    """None when ``wb_command -version`` runs; else why not."""
    try:
        res = subprocess.run([path, "-version"], env=env(), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{path} -version failed: {err}"
    if res.returncode != 0 or "Workbench" not in res.stdout:
        return f"{path} -version exited {res.returncode}: {(res.stderr or res.stdout).strip()[-500:]}"
    return None


def _install(timeout: int) -> None:
    if os.geteuid() != 0:
        raise WorkbenchUnavailable(f"{BINARY} is not installed and installing {PACKAGE} with apt-get needs root")
    if not shutil.which("apt-get"):
        raise WorkbenchUnavailable(f"{BINARY} is not installed and there is no apt-get to install {PACKAGE}")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE]):
        try:
            res = subprocess.run(cmd, env=apt_env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise WorkbenchUnavailable(f"{' '.join(cmd)} did not finish within {timeout} s") from None
        if res.returncode != 0:
            raise WorkbenchUnavailable(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()[-500:]}")


def wb_command(timeout: int = 600) -> str:
    """The path of a working ``wb_command``, installing Debian's ``connectome-workbench`` when it is missing.

    Parameters
    ----------
    timeout : int, optional
        Seconds each ``apt-get`` step may take.

    Returns
    -------
    str
        The executable's path.

    Raises
    ------
    WorkbenchUnavailable
        With the reason, when it is missing and cannot be installed (not root, no apt-get, no
        network, no such package) or when it is installed but does not run.
    """
    path = _which()
    if path is None:
        _install(timeout)
        path = _which()
        if path is None:
            raise WorkbenchUnavailable(f"apt-get installed {PACKAGE} but {BINARY} is still not on the PATH")
    problem = _works(path)
    if problem:
        raise WorkbenchUnavailable(problem)
    return path
