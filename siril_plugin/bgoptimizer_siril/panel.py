"""The parameter panel opened from Siril's Scripts menu (plain tkinter/ttk).

Every field comes from the parameter spec (group, range, help as tooltip).
Work runs in one worker thread that reports through a queue; only the Tk
thread touches widgets (it polls the queue with ``after``).
"""

from __future__ import annotations

import re
import tkinter as tk
import tkinter.font as tkfont
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from tkinter import ttk
from typing import Any

import numpy as np
import sirilpy as s

from bgoptimizer import (
    Cancelled,
    OutputError,
    OutputExists,
    ParameterError,
    Parameters,
    RunOptions,
    describe_device,
    parameter_specs,
    resolve_device,
)

from . import overlay
from .areas import AreaControls
from .form import SCREEN_MARGIN, WINDOW_KEY, Form
from .loaded_image import UNDO_NAME, check_model_path, describe_failure, log_warnings, warnings_pointer
from .options import SIRIL_DECIDES, OutputOptions
from .panel_work import compute_preview, compute_run, fingerprint, loaded_identity, loaded_pixels
from .preview_pane import PreviewPane
from .preview_view import AFTER, BEFORE, VIEWS
from .theme import apply_theme, ask, theme_colors
from .worker import Worker

__all__ = ["Panel", "open_panel", "VIEWS", "BEFORE", "AFTER"]

_NARROW_PREVIEW = (420, 240)  # the preview above the parameters, on a screen narrower than _WIDE_SCREEN
# Beside the parameters, the preview takes this share of the screen's width and height.
_WIDE_PREVIEW_SHARE = (0.27, 0.45)
# Screens at least this wide put the preview beside the parameters. A 1366x768 laptop does (issue 41, item 2):
# in a column the preview left room for 4-5 parameter rows; side by side every essential setting shows
# without scrolling, and the panel (about 1050 px wide, at the right) leaves Siril's image view (its left
# 300 px) free.
_WIDE_SCREEN = 1300
# The form's last Run, in Siril's config folder.
_MEMORY_FILE = "bgoptimizer-panel.json"
_POLL_MS = 50
_REFRESH_MS = 400
# Alt + letter for the buttons used most (underlined in their labels).
_SHORTCUTS = {"preview": "p", "run": "r", "draw_area": "d", "clear_areas": "l", "before_after": "b", "close": "o"}
_WATCH_MS = 1000  # how often the panel checks which image Siril has loaded


class Panel:
    """Widgets, their variables, and the worker that runs Preview and Run."""

    def __init__(self, root: tk.Tk, siril) -> None:
        self.root, self.siril = root, siril
        self.colors = theme_colors(siril)
        apply_theme(root, self.colors)
        root.title(f"{UNDO_NAME} for Siril")
        self.specs = [spec for spec in parameter_specs() if spec.panel and spec.name not in SIRIL_DECIDES]
        self.detected_device = describe_device(resolve_device("auto"))
        self.buttons: dict[str, ttk.Button] = {}
        self.worker = Worker()
        self.cancel_requested = self.worker.cancel_requested
        self._preview_source: np.ndarray | None = None
        self._refresh_job: str | None = None
        self._run_queued = False  # Run pressed during a preview: it starts once the preview has stopped
        self._closing = False
        self.status = tk.StringVar(value="Preview shows what the fit sees; Run fits and applies.")
        self.areas = AreaControls(root, siril, self.colors, self._say, self._schedule_refresh,
                                  lambda: self._closing)
        self.areas_text = self.areas.text
        self.progress = tk.DoubleVar(value=0.0)
        self._shown_image: tuple[Any, ...] | None = None  # which loaded image the preview shows
        self._corrected_image: tuple[Any, ...] | None = None  # the loaded image as our last Run left it
        self._logged_warnings: list[str] = []  # the preview's warnings last written to Siril's log
        self._build()
        self.form.restore()
        root.protocol("WM_DELETE_WINDOW", self.close)
        self._poll_job = root.after(_POLL_MS, self._poll)
        self._watch_job = root.after(_WATCH_MS, self._watch_loaded_image)

    # ----- layout

    def _build(self) -> None:
        """Parameters (scrolling when the screen is short) beside the preview on a screen at least
        ``_WIDE_SCREEN`` wide, below it on a narrower one (a column that leaves Siril's image view free);
        progress, status and the action buttons in a bar below both, always on screen."""
        narrow = self.root.winfo_screenwidth() < _WIDE_SCREEN
        self.layout = "narrow" if narrow else "wide"
        self.root.columnconfigure(0, weight=1)
        self.root.rowconfigure(0, weight=1)
        body = ttk.Frame(self.root, padding=(8, 8, 8, 0))
        body.grid(row=0, column=0, sticky="nsew")
        body.rowconfigure(1 if narrow else 0, weight=1)
        body.columnconfigure(0 if narrow else 1, weight=1)
        self.form = Form(body, 1 if narrow else 0, self.specs, self.colors, self.detected_device, self._memory(),
                         self._schedule_refresh, {"Sky": self.areas.build})
        self.fields, self.widgets, self.output = self.form.fields, self.form.widgets, self.form.output
        self.buttons.update(self.areas.buttons)
        self.parameter_frame, self.group_frames = self.form.frame, self.form.group_frames
        preview = ttk.LabelFrame(body, text="Preview (downscaled, display-stretched)", padding=6)
        if narrow:
            preview.grid(row=0, column=0, sticky="nsew", pady=(0, 6))
        else:
            preview.grid(row=0, column=1, sticky="nsew", padx=(8, 0))
        screen = (self.root.winfo_screenwidth(), self.root.winfo_screenheight())
        wide = tuple(int(side * share) for side, share in zip(screen, _WIDE_PREVIEW_SHARE))
        self.pane = PreviewPane(self.root, preview, _NARROW_PREVIEW if narrow else wide, self.colors)
        self.form.wheel_scrolls_unless_focused(self.pane.chooser, scrolls_form=False)
        self.view, self.preview_label = self.pane.view, self.pane.label
        self.widgets["view"] = self.pane.chooser
        self.buttons["before_after"] = self.pane.flip

        footer = ttk.Frame(self.root, padding=8)
        footer.grid(row=1, column=0, sticky="ew")
        footer.columnconfigure(0, weight=1)
        ttk.Progressbar(footer, variable=self.progress, maximum=1.0).grid(row=1, column=0, columnspan=2, sticky="ew",
                                                                            pady=4)
        self.status_label = ttk.Label(footer, textvariable=self.status, justify="left")
        self.status_label.grid(row=2, column=0, columnspan=2, sticky="new")
        # Room for a run's two-line summary from the start: it never takes it from the parameters.
        footer.rowconfigure(2, minsize=2 * tkfont.nametofont("TkDefaultFont").metrics("linespace"))
        footer.bind("<Configure>", lambda event: self.status_label.configure(wraplength=max(200, event.width - 20)))
        buttons = ttk.Frame(footer)
        buttons.grid(row=3, column=0, columnspan=2, sticky="e", pady=(6, 0))
        for name, text, command in (("reset", "Reset to defaults", self.reset), ("preview", "Preview", self.preview),
                                    ("run", "Run", self.run), ("cancel", "Cancel", self.cancel),
                                    ("close", "Close", self.close)):
            button = ttk.Button(buttons, text=text, command=command)
            button.pack(side="left", padx=3)
            self.buttons[name] = button
        self.buttons["cancel"].state(["disabled"])
        self._add_shortcuts()
        self._fit_to_screen()

    def _add_shortcuts(self) -> None:
        """Alt + the underlined letter presses a button (when it is enabled); Escape cancels a run."""
        for name, letter in _SHORTCUTS.items():
            button = self.buttons[name]
            button.configure(underline=str(button.cget("text")).lower().index(letter))
            self.root.bind(f"<Alt-{letter}>", lambda _event, pressed=button: pressed.invoke())
        self.root.bind("<Escape>", lambda _event: self.buttons["cancel"].invoke())

    def _fit_to_screen(self) -> None:
        """As large as the content asks, never beyond the screen (a 1366x768 laptop shows it whole), at the
        screen's right edge, where Siril's image view is not; above Siril while open. Where the user last
        left it, when that is on this screen."""
        self.root.update_idletasks()
        inner = self.parameter_frame
        self.form.canvas.configure(width=inner.winfo_reqwidth(), height=inner.winfo_reqheight())
        self.root.update_idletasks()
        screen_width, screen_height = self.root.winfo_screenwidth(), self.root.winfo_screenheight()
        width = min(self.root.winfo_reqwidth(), screen_width - 40)
        height = min(self.root.winfo_reqheight(), screen_height - SCREEN_MARGIN)
        self.root.geometry(f"{width}x{height}+{max(0, screen_width - width - 8)}+0")
        self.root.minsize(min(width, 480), min(height, 420))
        self.root.attributes("-topmost", True)
        saved = self.form.saved().get(WINDOW_KEY)
        # Only a place left in this layout (a narrow column's size would squeeze the wide layout's preview).
        if isinstance(saved, dict) and saved.get("layout") == self.layout and isinstance(saved.get("geometry"), str):
            match = re.fullmatch(r"(\d+)x(\d+)\+(-?\d+)\+(-?\d+)", saved["geometry"])
            if match:
                w, h, x, y = (int(v) for v in match.groups())
                if 0 <= x and 0 <= y and x + w <= screen_width and y + h <= screen_height:
                    self.root.geometry(saved["geometry"])

    def settings(self) -> tuple[Parameters, OutputOptions]:
        """The form's values, the drawn areas kept out when there are any."""
        return self.form.settings(self.areas.count > 0)

    def reveal(self, widget: tk.Widget) -> None:
        self.form.reveal(widget)

    def reset(self) -> None:
        self.form.reset()

    def _placement(self) -> dict[str, str]:
        """Where the window is, and in which layout (a saved place is used again in that layout only)."""
        return {"layout": self.layout, "geometry": self.root.geometry()}

    def _memory(self) -> Path | None:
        try:
            return Path(self.siril.get_siril_configdir()) / _MEMORY_FILE
        except (s.SirilError, AttributeError, TypeError):
            return None

    # ----- actions

    @property
    def busy(self) -> bool:
        return self.worker.busy

    @property
    def idle(self) -> bool:
        """No work running, queued or scheduled: what a caller waits for."""
        return not self.busy and self.worker.events.empty() and self._refresh_job is None and not self._run_queued

    def _watch_loaded_image(self) -> None:
        """The image in Siril changed: another one loaded, or its pixels changed (an undo, another step); the
        preview, the outlines, the status and the progress were of the old one, and go. A save under
        another name keeps the same pixels: the same image, nothing goes."""
        self._watch_job = None
        if self._closing:
            return
        current = loaded_identity(self.siril)
        settled = not self.busy and self.worker.events.empty()  # a run's own change is reported first
        if self._shown_image is not None and settled and current != self._shown_image:
            if current is not None and current[1:] == self._shown_image[1:]:  # saved under another name
                self._shown_image = current
            else:
                same_file = current is not None and current[:2] == self._shown_image[:2]
                self._forget_image("The image in Siril has changed (undone?)" if same_file else
                                   "Another image is loaded in Siril")
        self._watch_job = self.root.after(_WATCH_MS, self._watch_loaded_image)

    def _forget_image(self, what: str) -> None:
        """Drop what the panel showed of an image Siril no longer holds, and say ``what`` happened."""
        self._shown_image, self._preview_source = None, None
        self.pane.show({})
        try:
            overlay.clear_objects(self.siril)
        except s.SirilError:
            pass
        self.areas.refresh()
        self.progress.set(0.0)
        self.status.set(f"{what}: press Preview to see what the fit will do with it.")
        self.status_label.configure(foreground=self.colors["fg"])

    def preview(self) -> None:
        """Read the loaded image again and show what the fit will see."""
        self._preview_source = None
        self._start_preview()

    def _schedule_refresh(self) -> None:
        if self.preview_photo is None:
            return
        if self._refresh_job is not None:
            self.root.after_cancel(self._refresh_job)
        self._refresh_job = self.root.after(_REFRESH_MS, self._start_preview)

    def _start_preview(self) -> None:
        self._refresh_job = None
        if self.busy:
            return
        try:
            params, output = self.settings()
        except ParameterError as error:
            self._report("failed", error.rendered(self.form.label))
            return
        self._start(lambda: self._compute_preview(params, output.run), "Computing the preview…", "preview")

    def _compute_preview(self, params: Parameters, run: RunOptions) -> None:
        if self._preview_source is None:
            self._preview_source = loaded_pixels(self.siril)
            self._shown_image = loaded_identity(self.siril)
        compute_preview(self.siril, self._preview_source, params, run, self.cancel_requested.is_set,
                        self.worker.post)

    def run(self) -> None:
        """Fit and apply; during a preview, the preview is cancelled and Run follows it (never dropped)."""
        if self.busy:
            if self.worker.kind == "preview" and not self._run_queued:
                self._run_queued = True
                self.cancel_requested.set()
                self.status.set("Run starts as soon as the preview has stopped…")
            return
        try:
            params, output = self.settings()
            if not output.sequence and self._corrected_image is not None \
                    and fingerprint(self.siril) == self._corrected_image and not self._ask(
                        "Extract the background again?",
                        "The loaded image is the one this panel has just corrected. Extract the background from "
                        "it again? (To start over from the input, undo in Siril first.)"):
                self._report("failed", "not run: the loaded image is already corrected")
                return
            if not output.sequence:
                check_model_path(self.siril, output, replace_own=False)  # the panel asks, even for its own
        except OutputExists as exists:  # a model of an earlier run: ask, as a desktop program does
            names = ", ".join(path.name for path in exists.paths)
            if not self._ask("Replace the background model?",
                             f"{names} already exists (from an earlier run?). Replace it?"):
                self._report("failed", f"not run: {exists}")
                return
            output = replace(output, run=output.run.replace(overwrite=True))
        except (ParameterError, OutputError) as error:
            self._report("failed", error.rendered(self.form.label))
            return
        self.form.remember(self._placement())
        self._start(lambda: self._compute_run(params, output), "Fitting…", "run")

    def _ask(self, title: str, question: str) -> bool:
        return ask(self.root, self.colors, title, question)

    def _compute_run(self, params: Parameters, output: OutputOptions) -> None:
        corrected = compute_run(self.siril, params, output, self.cancel_requested.is_set, self.form.label,
                                self.worker.post)
        if corrected is not None:
            self._corrected_image = corrected

    def cancel(self) -> None:
        """Stop the preview or the fit running (and a Run waiting for a preview to stop)."""
        if self.busy:
            self._run_queued = False
            self.cancel_requested.set()
            self.status.set("Cancelling…")

    def close(self) -> None:
        """Close now, or as soon as a running fit has stopped (it is cancelled, nothing is applied)."""
        self._closing = True
        if self.busy:
            self.cancel()
            return
        self._destroy()

    def _destroy(self) -> None:
        self.form.remember(self._placement(), values=False)  # where the window was, for the next time
        try:  # our outlines leave with the panel; the user's areas stay for a later run
            overlay.clear_objects(self.siril)
        except s.SirilError:
            pass
        for job in (self._poll_job, self._refresh_job, self._watch_job):
            if job is not None:
                self.root.after_cancel(job)
        self.root.destroy()

    def _start(self, work: Callable[[], None], message: str, kind: str) -> None:
        """Run ``work`` in the worker thread; ``kind`` ("preview" or "run") says what Run may do meanwhile."""
        self.status.set(message)
        self.status_label.configure(foreground=self.colors["fg"])
        self.progress.set(0.0)
        # During a preview Run stays pressable (it cancels the preview and follows it); Cancel stops either.
        for name in ("preview", "run") if kind == "run" else ("preview",):
            self.buttons[name].state(["disabled"])
        self.buttons["cancel"].state(["!disabled"])
        self.worker.start(work, kind)

    # ----- the Tk side of the queue

    def _poll(self) -> None:
        for kind, payload in self.worker.reported():
            self._handle(kind, payload)
        if self._closing and not self.busy:
            self._poll_job = None
            self._destroy()
            return
        self._poll_job = self.root.after(_POLL_MS, self._poll)

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "progress":
            fraction, message = payload
            self.progress.set(fraction)
            self.status.set(message)
        elif kind == "preview":
            self._show_preview(payload)
        elif kind == "after":
            self._preview_source = None  # the loaded image changed: a later Preview reads it again
            self._shown_image = loaded_identity(self.siril)
            self.pane.show({**self.pane.views, **payload}, AFTER)
        elif kind == "error":
            if isinstance(payload, Cancelled) and self._run_queued:
                return  # the preview stopped for Run: nothing to report
            self._report("failed", describe_failure(payload, self.form.label))
            color = s.LogColor.DEFAULT if isinstance(payload, Cancelled) else s.LogColor.RED
            self.siril.log(f"{UNDO_NAME}: {describe_failure(payload, self.form.label)}", color)
        elif kind in ("done", "failed"):
            if kind == "done":  # the run changed the image: the outlines were of the one before it
                if self._shown_image is not None:
                    self._shown_image = loaded_identity(self.siril)
                try:
                    overlay.clear_objects(self.siril)
                except s.SirilError:
                    pass
            self._report(kind, payload)
        elif kind == "finished":
            for name in ("preview", "run"):
                self.buttons[name].state(["!disabled"])
            self.buttons["cancel"].state(["disabled"])
            if self._run_queued:
                self.worker.join()  # its last step was to post this event
                self._run_queued = False
                self.run()

    def _show_preview(self, payload: tuple[dict[str, np.ndarray], Any]) -> None:
        views, report = payload
        self.pane.show(views)
        height, width = self.pane.pixels.shape[:2]
        words = [warning.rendered(self.form.label) for warning in report.warnings]
        if words and words != self._logged_warnings:  # once, not at every refresh of the preview
            log_warnings(self.siril, report, "preview: ", self.form.label)
        self._logged_warnings = words
        self.status.set(f"Preview of {width}×{height} downscaled pixels: {report.objects:.0%} of the frame kept "
                        f"out as objects.{warnings_pointer(report)}")

    @property
    def preview_photo(self) -> tk.PhotoImage | None:
        return self.pane.photo

    @property
    def preview_pixels(self) -> np.ndarray | None:
        return self.pane.pixels

    def _say(self, message: str, kind: str | None) -> None:
        if kind is None:
            self.status.set(message)
            self.status_label.configure(foreground=self.colors["fg"])
        else:
            self._report(kind, message)

    def _report(self, kind: str, message: str) -> None:
        self.status.set(message)
        self.status_label.configure(foreground=self.colors["ok" if kind == "done" else "error"])
        if kind == "done":
            self.progress.set(1.0)


def open_panel(siril) -> None:
    root = tk.Tk()
    Panel(root, siril)
    root.mainloop()
