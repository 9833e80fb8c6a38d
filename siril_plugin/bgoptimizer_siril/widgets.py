"""Widgets the panel needs beyond ttk's own."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any

import numpy as np

__all__ = ["log_slider"]


def log_slider(frame: ttk.Frame, span: tuple[float, float], variable: tk.StringVar) -> ttk.Frame:
    """A 0-1 slider over a range of decades (as Siril's and GraXpert's smoothing), its value beside it;
    the field's value is the number shown."""
    low, high = (np.log10(bound) for bound in span)
    holder = ttk.Frame(frame)
    position = tk.DoubleVar()

    def follow_value(*_: Any) -> None:
        try:
            value = float(variable.get())
        except ValueError:
            return
        place = (np.log10(max(value, span[0])) - low) / (high - low)
        if abs(position.get() - place) > 1e-6:
            position.set(min(max(place, 0.0), 1.0))

    def moved(_: str) -> None:
        variable.set(f"{10 ** (low + position.get() * (high - low)):.2g}")

    ttk.Scale(holder, from_=0.0, to=1.0, variable=position, length=150, command=moved).pack(side="left")
    ttk.Label(holder, textvariable=variable, width=8).pack(side="left", padx=(6, 0))
    variable.trace_add("write", follow_value)
    follow_value()
    return holder
