"""The panel's look: Siril's light or dark theme, check boxes that show a tick, tooltips.

Plain ttk on the ``clam`` theme, coloured to match Siril (sirilpy's ``tksiril``
helpers are deprecated since Siril 1.4.3); nothing here knows the panel's
content, so a port to another toolkit replaces this module alone.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

import sirilpy as s

__all__ = ["theme_colors", "apply_theme", "Tooltip", "ask"]

_CHECK_SIZE = 14
# The tick in a check box: (x, y) runs of its two strokes, in a 14x14 box.
_TICK = [(3, 7), (4, 8), (5, 9), (6, 10), (7, 9), (8, 8), (9, 7), (10, 6), (11, 5)]


_THEMES = {
    "dark": {
        "bg": "#2b2b2b", "fg": "#e6e6e6", "field": "#3b3b3b", "border": "#555555", "accent": "#4a8fd9",
        "muted": "#a0a0a0", "error": "#ff7070", "ok": "#80d080", "tip": "#454545", "invalid": "#6b2c2c",
    },
    "light": {
        "bg": "#f0f0f0", "fg": "#1c1c1c", "field": "#ffffff", "border": "#b0b0b0", "accent": "#2a6fc9",
        "muted": "#606060", "error": "#b3261e", "ok": "#2e7d32", "tip": "#ffffe0", "invalid": "#f6c9c6",
    },
}


def theme_colors(siril) -> dict[str, str]:
    """Colors for Siril's theme setting (0 dark, 1 light); dark, Siril's default, when it cannot be read."""
    try:
        light = int(siril.get_siril_config("gui", "theme")) == 1
    except (s.SirilError, TypeError, ValueError):
        light = False
    return _THEMES["light" if light else "dark"]


def apply_theme(root: tk.Tk, colors: dict[str, str]) -> None:
    style = ttk.Style(root)
    style.theme_use("clam")
    bg, fg, field = colors["bg"], colors["fg"], colors["field"]
    style.configure(
        ".", background=bg, foreground=fg, fieldbackground=field, bordercolor=colors["border"],
        lightcolor=bg, darkcolor=bg, insertcolor=fg, troughcolor=field, selectbackground=colors["accent"],
    )
    style.configure("TButton", background=field)
    style.map("TButton", background=[("active", colors["accent"]), ("disabled", bg)],
              foreground=[("disabled", colors["muted"])])
    for widget in ("TCombobox", "TSpinbox", "TEntry"):
        style.map(widget, fieldbackground=[("readonly", field), ("disabled", bg)],
                  foreground=[("disabled", colors["muted"])])
    for widget in ("TCheckbutton", "TRadiobutton"):
        style.map(widget, background=[("active", bg)],
                  indicatorcolor=[("selected", colors["accent"]), ("!selected", field)])
    style.configure("Invalid.TSpinbox", fieldbackground=colors["invalid"])
    style.configure("Invalid.TEntry", fieldbackground=colors["invalid"])
    style.configure("Muted.TLabel", foreground=colors["muted"])
    style.configure("Horizontal.TProgressbar", background=colors["accent"])
    unticked, ticked = _check_images(root, colors)
    root.check_images = (unticked, ticked)  # kept alive with the window
    style.element_create("Tick.indicator", "image", unticked, ("selected", ticked))
    style.layout("TCheckbutton", [("Checkbutton.padding", {"sticky": "nswe", "children": [
        ("Tick.indicator", {"side": "left", "sticky": ""}),
        ("Checkbutton.focus", {"side": "left", "sticky": "w", "children": [("Checkbutton.label", {"sticky": "nswe"})]}),
    ]})])
    style.configure("TCheckbutton", padding=(0, 1, 4, 1))
    root.configure(background=bg)
    root.option_add("*TCombobox*Listbox.background", field)
    root.option_add("*TCombobox*Listbox.foreground", fg)


class Tooltip:
    """The parameter's help text, shown while the pointer rests on its widget."""

    def __init__(self, widget: tk.Widget, text: str, colors: dict[str, str]) -> None:
        self.widget, self.text, self.colors = widget, text, colors
        self.window: tk.Toplevel | None = None
        self._job: str | None = None
        widget.bind("<Enter>", self._schedule, add="+")
        widget.bind("<Leave>", self._hide, add="+")

    def _schedule(self, _event: tk.Event) -> None:
        self._job = self.widget.after(500, self._show)

    def _show(self) -> None:
        x = self.widget.winfo_rootx() + 12
        y = self.widget.winfo_rooty() + self.widget.winfo_height() + 4
        self.window = tk.Toplevel(self.widget)
        self.window.wm_overrideredirect(True)
        self.window.wm_geometry(f"+{x}+{y}")
        tk.Label(self.window, text=self.text, justify="left", wraplength=360, background=self.colors["tip"],
                 foreground=self.colors["fg"], relief="solid", borderwidth=1, padx=6, pady=3).pack()

    def _hide(self, _event: tk.Event) -> None:
        if self._job is not None:
            self.widget.after_cancel(self._job)
            self._job = None
        if self.window is not None:
            self.window.destroy()
            self.window = None


def _check_images(root: tk.Tk, colors: dict[str, str]) -> tuple[tk.PhotoImage, tk.PhotoImage]:
    """An empty box and a box with a tick (clam's own indicator draws a cross)."""
    images = []
    for ticked in (False, True):
        image = tk.PhotoImage(master=root, width=_CHECK_SIZE, height=_CHECK_SIZE)
        image.put(colors["border"], to=(0, 0, _CHECK_SIZE, _CHECK_SIZE))
        image.put(colors["accent"] if ticked else colors["field"], to=(1, 1, _CHECK_SIZE - 1, _CHECK_SIZE - 1))
        if ticked:
            for x, y in _TICK:
                image.put("#ffffff", to=(x, y - 1, x + 1, y + 1))
        images.append(image)
    return images[0], images[1]


def ask(root: tk.Tk, colors: dict[str, str], title: str, question: str) -> bool:
    """A yes/no question in the panel's own theme and type (Tk's message box sets it large and bold)."""
    dialog = tk.Toplevel(root)
    dialog.title(title)
    dialog.transient(root)
    dialog.configure(background=colors["bg"])
    dialog.attributes("-topmost", True)
    answer = tk.BooleanVar(value=False)
    frame = ttk.Frame(dialog, padding=12)
    frame.pack(fill="both", expand=True)
    ttk.Label(frame, text=question, wraplength=360, justify="left").pack(anchor="w")
    buttons = ttk.Frame(frame)
    buttons.pack(anchor="e", pady=(12, 0))
    for text, value in (("Yes", True), ("No", False)):
        ttk.Button(buttons, text=text, command=lambda chosen=value: (answer.set(chosen), dialog.destroy())
                   ).pack(side="left", padx=3)
    dialog.bind("<Escape>", lambda _event: dialog.destroy())
    dialog.grab_set()
    root.wait_window(dialog)
    return answer.get()
