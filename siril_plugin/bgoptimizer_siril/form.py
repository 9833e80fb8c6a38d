"""The panel's form: one field per setting, generated from the settings' spec (label, range, choices,
help as tooltip), grouped as the spec groups them; reading it (each bad value named and its field marked),
resetting it, and remembering it between sessions. Knows nothing of Siril or of the work the panel runs."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import filedialog, ttk
from typing import Any

import numpy as np

from bgoptimizer import GROUPS, ParameterError, Parameters, ParameterSpec, settings_from, specs_of

from .options import OutputOptions, output_spec
from .remembered import read_remembered, write_remembered
from .theme import Tooltip
from .widgets import log_slider

__all__ = ["Form", "WINDOW_KEY", "SCREEN_MARGIN", "shown"]

WINDOW_KEY = "_window"  # the remembered window geometry, beside the values
# The output options the panel shows (the others are batch arguments, or follow from these).
_PANEL_OUTPUTS = ("replace", "save_model", "show_model", "sequence", "normalize", "prefix")
# Their checkboxes two to a line (line, column): at 1366x768 every essential setting then shows without
# scrolling beside the preview, the status of a run included (issue 41, item 2).
_CHECK_PLACES = {"replace": (0, 0), "save_model": (0, 1), "sequence": (1, 0), "show_model": (1, 1),
                 "normalize": (2, 0)}
# Choices that hold for one run only: a session starts without them (a model shown instead of the corrected
# image, remembered, would surprise the next session's first Run).
_NOT_REMEMBERED = ("show_model",)
_WHEEL = ("<MouseWheel>", "<Button-4>", "<Button-5>")
_LABEL_WIDTH = 230  # the labels' column, the same in every group and its advanced part
SCREEN_MARGIN = 80  # what the window leaves free at the screen's bottom (a taskbar), as the panel's first size


class Form:
    """The fields in a scrolling column of ``parent``; ``extras`` add a group's own widgets (from a row,
    returning the next), ``on_preview_change`` is called when a setting the preview shows changes."""

    def __init__(self, parent: ttk.Frame, row: int, specs: list[ParameterSpec], colors: dict[str, str],
                 detected_device: str, memory: Path | None, on_preview_change: Callable[[], None],
                 extras: dict[str, Callable[[ttk.LabelFrame, int], int]]) -> None:
        root = parent.winfo_toplevel()
        self.root, self.specs, self.colors = root, specs, colors
        self.detected_device, self.memory = detected_device, memory
        self.on_preview_change, self.extras = on_preview_change, extras
        self.fields: dict[str, tk.Variable] = {}
        self.widgets: dict[str, ttk.Widget] = {}
        self.output = {name: (tk.BooleanVar if output_spec(name).type is bool else tk.StringVar)(
            value=output_spec(name).default) for name in _PANEL_OUTPUTS}
        self.frame = self._scrolling_column(parent, row)
        for text_field in ("TEntry", "TSpinbox"):  # as in every other program, not Tk's "start of line"
            root.bind_class(text_field, "<Control-a>", _select_all)
        self.advanced_shown = tk.BooleanVar(value=False)
        self._add_groups(self.frame)
        toggle = ttk.Checkbutton(self.frame, text="Advanced parameters", variable=self.advanced_shown,
                                 command=self._toggle_advanced)
        toggle.grid(row=len(GROUPS), column=0, sticky="w", pady=(2, 6))
        self.widgets["advanced"] = toggle
        self._toggle_advanced()

    def _add_groups(self, parent: ttk.Frame) -> None:
        """One titled frame per group, in the spec's order: its essential fields, then its advanced ones in a
        part shown with *Advanced parameters* (a group without essentials shows only then), so each title
        appears once. The Sky group also holds the drawn areas, the Output group Siril's output options; a
        group the panel has no field for (the optimizer's) is left out."""
        self.group_frames: dict[str, ttk.LabelFrame] = {}
        self.advanced_parts: list[ttk.Frame] = []
        for number, group in enumerate(GROUPS):
            members = [spec for spec in self.specs if spec.group == group]
            if not members and group not in self.extras and group != "Output":
                continue
            essential = [spec for spec in members if spec.essential]
            frame = ttk.LabelFrame(parent, text=group, padding=6)
            frame.grid(row=number, column=0, sticky="ew", pady=(0, 6))
            frame.columnconfigure(0, minsize=_LABEL_WIDTH)
            for row, spec in enumerate(essential):
                self._add_field(frame, row, spec)
            row = len(essential)
            if group in self.extras:
                row = self.extras[group](frame, row)
            if group == "Output":
                row = self._add_output_options(frame, row)
            advanced = ttk.Frame(frame)
            advanced.columnconfigure(0, minsize=_LABEL_WIDTH)
            for index, spec in enumerate([spec for spec in members if not spec.essential]):
                self._add_field(advanced, index, spec)
            advanced.grid(row=row, column=0, columnspan=3, sticky="ew")
            self.advanced_parts.append(advanced)
            self.group_frames[group] = frame

    def _toggle_advanced(self) -> None:
        shown = self.advanced_shown.get()
        for part in self.advanced_parts:
            part.grid() if shown else part.grid_remove()
        opened = None
        for frame in self.group_frames.values():  # a group of advanced fields only shows with them
            has_essentials = any(isinstance(child, ttk.Label) for child in frame.grid_slaves(column=0))
            frame.grid() if shown or has_essentials else frame.grid_remove()
            opened = frame if shown and not has_essentials else opened
        if opened is not None:  # the expert group opens beside the toggle: keep it in view
            self._grow_to_show()
            self.reveal(opened)

    def _grow_to_show(self) -> None:
        """Where the screen has room below the window (a 1920x1080 screen), the window grows until the form
        shows whole: the opened group then needs no scrolling either."""
        self.root.update_idletasks()
        hidden = self.frame.winfo_reqheight() - self.canvas.winfo_height()
        room = self.root.winfo_screenheight() - SCREEN_MARGIN - self.root.winfo_rooty() - self.root.winfo_height()
        grow = max(0, min(hidden, room))
        if grow:
            self.canvas.configure(height=self.canvas.winfo_height() + grow)
            self.root.geometry(f"{self.root.winfo_width()}x{self.root.winfo_height() + grow}")

    def _scrolling_column(self, parent: ttk.Frame, row: int) -> ttk.Frame:
        """A frame in a canvas with a vertical scrollbar: the parameters scroll where the screen is short."""
        holder = ttk.Frame(parent)
        holder.grid(row=row, column=0, sticky="nsw")
        holder.rowconfigure(0, weight=1)
        canvas = tk.Canvas(holder, highlightthickness=0, background=self.colors["bg"])
        bar = ttk.Scrollbar(holder, orient="vertical", command=canvas.yview)
        inner = ttk.Frame(canvas)
        canvas.create_window((0, 0), window=inner, anchor="nw")
        canvas.configure(yscrollcommand=bar.set)
        canvas.grid(row=0, column=0, sticky="ns")
        bar.grid(row=0, column=1, sticky="ns")

        def resized(_event: tk.Event) -> None:
            canvas.configure(scrollregion=canvas.bbox("all"), width=inner.winfo_reqwidth())

        inner.bind("<Configure>", resized)
        for sequence in _WHEEL:
            holder.bind_all(sequence, self._scroll_form, add="+")
        self.canvas = canvas
        return inner

    def reveal(self, widget: tk.Widget) -> None:
        """Scroll the form so that ``widget`` is in view (a field the user must fix, say)."""
        self.root.update_idletasks()
        inner = self.frame
        top, parent = 0, widget
        while parent is not inner and parent is not None:  # its place in the form, shown or not
            top += parent.winfo_y()
            parent = parent.master
        visible = self.canvas.winfo_height()
        first, last = self.canvas.yview()
        shown_top, shown_bottom = first * inner.winfo_height(), last * inner.winfo_height()
        if top < shown_top or top + widget.winfo_height() > shown_bottom:
            self.canvas.yview_moveto(max(0.0, (top - visible / 3) / max(inner.winfo_height(), 1)))

    def _scroll_form(self, event: tk.Event) -> None:
        step = -1 if getattr(event, "num", 0) == 4 or getattr(event, "delta", 0) > 0 else 1
        self.canvas.yview_scroll(step, "units")

    def wheel_scrolls_unless_focused(self, widget: tk.Widget, scrolls_form: bool = True) -> None:
        """A spinbox or list changes with the wheel only while it has the focus (a click in it); otherwise
        the wheel scrolls the form, as the user scrolling past it meant."""
        def wheel(event: tk.Event) -> str | None:
            if widget.focus_get() is widget:
                return None
            if scrolls_form:
                self._scroll_form(event)
            return "break"

        for sequence in _WHEEL:
            widget.bind(sequence, wheel)

    def _add_field(self, frame: ttk.LabelFrame, row: int, spec: ParameterSpec) -> None:
        label = ttk.Label(frame, text=spec.label)
        label.grid(row=row, column=0, sticky="w", padx=(0, 8), pady=1)
        if spec.type is bool:
            variable: tk.Variable = tk.BooleanVar(value=shown(spec, spec.default))
            widget: ttk.Widget = ttk.Checkbutton(frame, variable=variable)
        elif spec.choices is not None:
            variable = tk.StringVar(value=shown(spec, spec.default))
            widget = ttk.Combobox(frame, textvariable=variable, state="readonly", width=12,
                                  values=[str(choice) for choice in spec.choices if choice is not None])
            self.wheel_scrolls_unless_focused(widget)
        elif spec.slider is not None:
            variable = tk.StringVar(value=shown(spec, spec.default))
            widget = log_slider(frame, spec.slider, variable)
        elif spec.type is str:  # a file: the mask
            variable = tk.StringVar(value=shown(spec, spec.default))
            widget = ttk.Frame(frame)
            ttk.Entry(widget, textvariable=variable, width=18).pack(side="left", fill="x", expand=True)
            ttk.Button(widget, text="Browse…", command=lambda: self._choose_file(variable)).pack(side="left", padx=2)
        else:
            variable = tk.StringVar(value=shown(spec, spec.default))
            step = 1 if spec.type is int else _float_step(spec)
            widget = ttk.Spinbox(frame, textvariable=variable, width=10, increment=step,
                                 from_=spec.low if spec.low is not None else -1e9,
                                 to=spec.high if spec.high is not None else 1e9)
            self.wheel_scrolls_unless_focused(widget)
        widget.grid(row=row, column=1, sticky="ew" if spec.type is str else "w", pady=1)  # only a file path is wide
        if spec.name == "device":
            ttk.Label(frame, text=self.detected_device, style="Muted.TLabel").grid(
                row=row, column=2, sticky="w", padx=4)
        bounded = spec.low is not None and spec.high is not None
        span = f" Range {spec.show(spec.low)} to {spec.show(spec.high)}." if bounded else ""
        default = "" if spec.default is None else f" Default {spec.default}."
        for target in (label, widget):
            Tooltip(target, f"{spec.panel_help}{span}{default} ({spec.flag} in batch scripts)", self.colors)
        self.fields[spec.name] = variable
        self.widgets[spec.name] = widget
        if spec.preview:
            variable.trace_add("write", lambda *_: self.on_preview_change())

    def _add_output_options(self, frame: ttk.LabelFrame, row: int) -> int:
        """Siril's output options from ``row`` on; the row after them."""
        checks = [output_spec(name) for name in _PANEL_OUTPUTS if output_spec(name).type is bool]
        for spec in checks:
            line, column = _CHECK_PLACES[spec.name]
            box = ttk.Checkbutton(frame, text=spec.label, variable=self.output[spec.name])
            box.grid(row=row + line, column=column, columnspan=3 - column, sticky="w")
            Tooltip(box, spec.panel_help, self.colors)
            self.widgets[spec.name] = box
        lines = 1 + max(line for line, _ in _CHECK_PLACES.values())
        self.output["replace"].trace_add("write", lambda *_: self._exclusive("replace", "show_model"))
        self.output["show_model"].trace_add("write", lambda *_: self._exclusive("show_model", "replace"))
        label = ttk.Label(frame, text=output_spec("prefix").label)
        prefix = ttk.Entry(frame, textvariable=self.output["prefix"], width=10)
        Tooltip(prefix, output_spec("prefix").panel_help, self.colors)
        self.widgets["prefix"] = prefix

        def sequence_chosen(*_: Any) -> None:  # normalizing and the prefix matter, and show, only for a sequence
            for widget, column in ((label, 0), (prefix, 1)):
                if self.output["sequence"].get():
                    widget.grid(row=row + lines, column=column, sticky="w")
                else:
                    widget.grid_remove()
            if self.output["sequence"].get():
                self.widgets["normalize"].grid()
            else:
                self.widgets["normalize"].grid_remove()

        self.output["sequence"].trace_add("write", sequence_chosen)
        sequence_chosen()
        return row + lines + 1

    def _exclusive(self, changed: str, other: str) -> None:
        """The loaded image can become the corrected image or the model, not both."""
        if self.output[changed].get() and self.output[other].get():
            self.output[other].set(False)

    def _choose_file(self, variable: tk.StringVar) -> None:
        path = filedialog.askopenfilename(parent=self.root, title="Mask image (1 = background, 0 = ignore)",
                                          filetypes=[("FITS or XISF", "*.fit *.fits *.fts *.xisf"), ("All", "*")])
        if path:
            variable.set(path)

    # ----- reading the form

    def settings(self, exclude_polygons: bool = False) -> tuple[Parameters, OutputOptions]:
        """The form's values (with the drawn areas kept out when ``exclude_polygons``); a `ParameterError`
        names the first bad field, which is highlighted."""
        values: dict[str, Any] = {}
        for spec in self.specs:
            raw = self.fields[spec.name].get()
            try:
                values[spec.name] = raw if spec.type is bool else self._parse(spec, str(raw).strip())
                spec.validate(values[spec.name])
            except ParameterError as error:
                self.mark(spec.name, invalid=True)
                message = error.rendered(self.label)
                raise ParameterError(message if spec.label in message else f"{spec.label}: {message}") from None
            self.mark(spec.name, invalid=False)
        try:
            params, run = settings_from(values)
        except ParameterError as error:  # settings that contradict each other: each field turns red
            for name in error.parameters:
                self.mark(name, invalid=True)
            raise ParameterError(error.rendered(self.label)) from None
        chosen = {name: variable.get() for name, variable in self.output.items()}
        self.mark("prefix", invalid=False)
        try:
            output = OutputOptions(run=run, exclude_polygons=exclude_polygons, save_models=chosen["save_model"],
                                   **chosen)  # one model checkbox, for the image or each frame
        except ParameterError as error:
            for name in error.parameters:
                self.mark(name, invalid=True)
            raise ParameterError(error.rendered(self.label)) from None
        return params, output

    def label(self, name: str) -> str:
        """A setting as the panel names it in messages: its field's label."""
        return next((f"“{spec.label}”" for spec in (*self.specs, *specs_of(OutputOptions)) if spec.name == name), name)

    @staticmethod
    def _parse(spec: ParameterSpec, text: str) -> Any:
        if not text and not spec.optional:
            raise ParameterError("a value is needed")
        if spec.type is int and text.endswith(".0"):
            text = text[:-2]  # Spinbox arrows write floats
        return spec.parse(text)

    def mark(self, name: str, invalid: bool) -> None:
        widget = self.widgets[name]
        if invalid:
            self.reveal(widget)
        if isinstance(widget, (ttk.Spinbox, ttk.Entry)):
            base = "TSpinbox" if isinstance(widget, ttk.Spinbox) else "TEntry"
            widget.configure(style=f"Invalid.{base}" if invalid else base)

    def reset(self) -> None:
        """Every field back to its default (what is remembered changes at the next Run)."""
        for spec in self.specs:
            self.fields[spec.name].set(shown(spec, spec.default))
            self.mark(spec.name, invalid=False)
        defaults = OutputOptions()
        for name, variable in self.output.items():
            variable.set(getattr(defaults, name))

    def saved(self) -> dict[str, Any]:
        """What the last session remembered (see :mod:`.remembered`)."""
        return read_remembered(self.memory)

    def remember(self, placement: dict[str, str], values: bool = True) -> None:
        """The form as it is (with ``values``) and the window's ``placement``, for the next session (Siril's
        config folder, not the repository)."""
        saved = self.saved()
        if values:
            saved = {name: variable.get() for name, variable in {**self.fields, **self.output}.items()
                     if name not in _NOT_REMEMBERED}
        write_remembered(self.memory, {**saved, WINDOW_KEY: placement})

    def restore(self) -> None:
        """The values of the last Run, each one checked (an invalid or unknown one keeps its default)."""
        specs = {spec.name: spec for spec in self.specs}
        for name, value in self.saved().items():
            if name in specs:
                try:
                    parsed = value if specs[name].type is bool else self._parse(specs[name], str(value))
                    specs[name].validate(parsed)
                except ParameterError:
                    continue
                self.fields[name].set(shown(specs[name], parsed))
            elif name in self.output and name not in _NOT_REMEMBERED:
                try:
                    OutputOptions(**{name: value})
                except (ParameterError, TypeError):
                    continue
                self.output[name].set(value)


def _select_all(event: tk.Event) -> str:
    """Ctrl+A in a text or number field: its whole text selected, to type over."""
    event.widget.selection_range(0, "end")
    event.widget.icursor("end")
    return "break"


def shown(spec: ParameterSpec, value: Any) -> Any:
    """A value as its field shows it."""
    if spec.type is bool:
        return bool(value)
    if value is None:
        return ""
    return f"{value:g}" if spec.type is float else str(value)


def _float_step(spec: ParameterSpec) -> float:
    span = (spec.high - spec.low) if spec.low is not None and spec.high is not None else 1.0
    return float(10 ** np.floor(np.log10(span / 100))) if span > 0 else 0.01
