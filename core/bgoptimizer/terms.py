"""The spline's polynomial part counted: how many monomials a degree has. Torch-free, so that the settings
(which check the control points against it) load without the engine."""

from __future__ import annotations

__all__ = ["term_count", "polynomial_degree"]


def term_count(degree: int) -> int:
    """Number of monomials of degree at most ``degree`` in two variables."""
    return (degree + 1) * (degree + 2) // 2


def polynomial_degree(terms: int) -> int:
    """The degree whose monomials number ``terms`` (the inverse of :func:`term_count`)."""
    degree = 0
    while term_count(degree) < terms:
        degree += 1
    if term_count(degree) != terms:
        raise ValueError(f"{terms} is not the number of monomials of any degree")
    return degree
