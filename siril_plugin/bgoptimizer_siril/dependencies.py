"""What the engine needs in Siril's Python environment, checked quietly and installed once.

The Siril script installs the engine (this package's distribution) without
its dependencies; they are read here from its metadata and installed when
missing.

``sirilpy.ensure_installed`` logs a line per package on every run, and a
plain ``pip install torch`` takes the CUDA build (gigabytes) on a Linux
machine without an NVIDIA GPU. So installed versions are read from the
package metadata (nothing is logged when all is there), and torch is
installed for the machine: sirilpy's ``TorchHelper`` detects the GPU
(NVIDIA, AMD ROCm, Intel, Apple) and names PyTorch's index for it; without
one, the CPU build's index on Linux, PyPI's torch elsewhere (CPU on Windows,
MPS on macOS). Nothing here imports numpy or torch.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["requirements", "missing", "torch_install_command", "ensure_dependencies"]

DISTRIBUTION = "siril-bgoptimizer"
TORCH = "torch"
_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def requirements(distribution: str = DISTRIBUTION) -> list[tuple[str, str]]:
    """``(name, specifier)`` pairs of what the installed ``distribution`` requires (its extras left out)."""
    pairs = []
    for text in metadata.requires(distribution) or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            pairs.append((requirement.name, str(requirement.specifier)))
    return pairs


def missing(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The requirements not installed in a version that satisfies them."""
    absent = []
    for name, specifier in pairs:
        try:
            installed = Version(metadata.version(name))
        except (metadata.PackageNotFoundError, InvalidVersion):
            absent.append((name, specifier))
            continue
        if installed not in SpecifierSet(specifier):
            absent.append((name, specifier))
    return absent


def torch_install_command(specifier: str, backend: dict[str, Any] | None, platform: str = sys.platform,
                          python: str = sys.executable) -> list[str]:
    """The pip command that installs torch for the machine ``backend`` describes (TorchHelper's
    recommendation; None when sirilpy has none): its index for a GPU, the CPU index on Linux."""
    command = [python, "-m", "pip", "install", f"{TORCH}{specifier}"]
    index = (backend or {}).get("extra_index_url")
    if index is None and (backend or {}).get("backend", "cpu") == "cpu" and platform.startswith("linux"):
        index = _CPU_INDEX
    return command + (["--index-url", index] if index else [])


def _recommended_backend(sirilpy: Any) -> dict[str, Any] | None:
    helper = getattr(sirilpy, "TorchHelper", None)
    if helper is None:
        return None
    try:
        return helper().get_recommended_backend()
    except Exception:  # noqa: BLE001 - detection is advice: without it the CPU build is safe
        return None


def ensure_dependencies(siril: Any, sirilpy: Any) -> None:
    """Install what the engine requires and is missing; raises `RuntimeError` naming what could not be
    installed."""
    absent = missing(requirements())
    others = [(name, specifier) for name, specifier in absent if name != TORCH]
    if others:
        siril.log(f"Background Optimizer: installing {', '.join(name for name, _ in others)} (once)")
        sirilpy.ensure_installed([name for name, _ in others],
                                 version_constraints=[specifier or None for _, specifier in others])
    for _, specifier in [pair for pair in absent if pair[0] == TORCH]:
        backend = _recommended_backend(sirilpy)
        kind = (backend or {}).get("backend", "cpu")
        siril.log(f"Background Optimizer: installing PyTorch, {kind} build (once; this takes a few minutes)")
        completed = subprocess.run(torch_install_command(specifier, backend), capture_output=True, text=True)
        if completed.returncode != 0:
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"installing PyTorch ({kind} build) failed: {tail[0]}")
