"""Choice of the torch device the fit runs on."""

from __future__ import annotations

import torch

from ...errors import ParameterError

__all__ = ["resolve_device", "describe_device"]


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` prefers CUDA, then Apple MPS, then the CPU; other names must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(f"{{device}} {name!r}: this torch build sees no CUDA GPU", "device")
    if name == "mps" and not _mps_available():
        raise ParameterError("{device} 'mps': Apple Metal is not available", "device")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ParameterError(f"{{device}} {name!r} is not a torch device name", "device") from None


def describe_device(device: torch.device) -> str:
    """Short human-readable name, e.g. ``CUDA: NVIDIA H100`` or ``CPU (2 threads)``."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
