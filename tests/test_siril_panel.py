"""The Tk panel under a virtual X server, driven by generated events, against the sirilpy double."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import injected_gradient, load_into


def _pump(root, condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the panel did not get there in time")
        root.update()
        time.sleep(0.01)


def _click(root, widget) -> None:
    """A real left click: pointer enters, button down, button up."""
    for event in ("<Enter>", "<ButtonPress-1>", "<ButtonRelease-1>"):
        widget.event_generate(event, x=5, y=5)
    root.update()


def _long_fits(panel, monkeypatch) -> dict[str, bool]:
    """Fits that run until cancelled while ``switch["on"]``: the optimizer's iterations, which only the command
    line and batch scripts set (the panel has no field for them)."""
    switch = {"on": True}
    settings = panel.form.settings

    def long(*args, **kwargs):
        params, output = settings(*args, **kwargs)
        return (params.replace(epochs=100000, patience=100000) if switch["on"] else params), output

    monkeypatch.setattr(panel.form, "settings", long)
    return switch


def _all_in_view(panel) -> bool:
    """Every field the form shows, and the Advanced toggle below them, inside the form's visible area."""
    panel.root.update()
    canvas = panel.form.canvas
    bottom = canvas.winfo_rooty() + canvas.winfo_height()
    shown = [widget for widget in (*panel.widgets.values(), panel.widgets["advanced"])
             if widget.winfo_ismapped() and widget.winfo_toplevel() is panel.root and widget is not panel.widgets["view"]]
    return canvas.yview()[0] == 0.0 and all(widget.winfo_rooty() + widget.winfo_height() <= bottom for widget in shown)


def _type(panel, widget, text: str) -> None:
    """Scroll the field into view (as a user would), select its text and type over it, key by key."""
    root = panel.root
    panel.reveal(widget)
    root.update()
    widget.focus_force()
    widget.selection_range(0, "end")
    widget.event_generate("<Delete>")
    for char in text:
        widget.event_generate("<KeyPress>", keysym={".": "period"}.get(char, char))
    root.update()


@pytest.fixture
def panel(display, siril, sirilpy, m94, monkeypatch, tmp_path):
    monkeypatch.setenv("DISPLAY", display)
    import tkinter as tk

    from bgoptimizer_siril.panel import Panel

    siril.cli = False
    crop = np.ascontiguousarray(m94[:, :480, :720])
    sky = float(np.median(crop[crop > 0]))
    load_into(siril, tmp_path / "crop.fit", (crop + injected_gradient(480, 720, sky)).astype(np.float32))
    root = tk.Tk()
    view = Panel(root, sirilpy.SirilInterface())
    root.update()
    yield view
    if _alive(root):
        root.destroy()


def _alive(root) -> bool:
    try:
        root.winfo_exists()
    except Exception:  # noqa: BLE001 - a destroyed Tk raises TclError
        return False
    return True


def test_panel_preview_run_cancel_close(panel, siril, sirilpy, tmp_path, display, monkeypatch):
    import tkinter as tk
    from tkinter import ttk

    from PIL import ImageGrab

    from bgoptimizer_siril.form import SCREEN_MARGIN
    from bgoptimizer_siril.panel import VIEWS, Panel

    root = panel.root
    # Built from the spec, in plain words, the essentials first, with Siril's dark theme; each group's title once.
    def groups():
        root.update()
        return [frame.cget("text") for frame in panel.group_frames.values() if frame.winfo_ismapped()]

    assert groups() == ["Sky", "Smoothness", "Output"]
    assert _all_in_view(panel)  # at 1366x768 every essential setting shows without scrolling
    assert not panel.widgets["order"].winfo_ismapped()
    assert not {"epochs", "patience", "lr", "alpha", "loss"} & set(panel.fields)  # the optimizer's: not the panel's
    closed = root.winfo_height()
    _click(root, panel.widgets["advanced"])
    root.update()
    assert closed < root.winfo_height() <= 768 - SCREEN_MARGIN  # grown into the screen's room, not beyond
    assert groups() == ["Sky", "Smoothness", "Output", "Expert"]  # opened beside the toggle, in view
    root.update()
    assert panel.widgets["order"].winfo_ismapped()
    _type(panel, panel.widgets["seed"], "7")  # an advanced setting, remembered below
    _click(root, panel.widgets["advanced"])
    assert groups() == ["Sky", "Smoothness", "Output"]
    labels = {child.cget("text") for frame in panel.parameter_frame.winfo_children()
              if isinstance(frame, ttk.LabelFrame) for child in frame.winfo_children() if isinstance(child, ttk.Label)}
    assert {"Control points", "Smoothness (stiffness)", "Protect large faint objects", "Correction"} <= labels
    assert panel.colors["bg"] == "#2b2b2b"
    assert "format" not in panel.fields  # not a Siril option

    _click(root, panel.buttons["preview"])
    _pump(root, lambda: panel.preview_photo is not None and panel.idle)
    first, first_pixels = panel.preview_photo, panel.preview_pixels
    assert first_pixels.shape == (60, 90, 3)  # 720x480 downscaled by 8
    area = (panel.preview_label.winfo_width(), panel.preview_label.winfo_height())
    assert max(first.width() / area[0], first.height() / area[1]) > 0.95  # scaled to fill the preview area
    assert "of the frame kept out as objects" in panel.status.get()

    # The same Preview shows what the fit will do: objects and control points, the model, the corrected image.
    views = {}
    for view in VIEWS:
        panel.view.set(view)
        panel.widgets["view"].event_generate("<<ComboboxSelected>>")
        root.update()
        views[view] = panel.preview_pixels.astype(float)
        ImageGrab.grab(xdisplay=display).save(tmp_path / f"preview-{VIEWS.index(view)}.png")  # to look at
    marks = views[VIEWS[1]]
    yellow = (marks[..., 0] > 240) & (marks[..., 1] > 200) & (marks[..., 2] < 60)
    assert 24 <= yellow.sum() <= 64 * 5  # the control points, 5 pixels each (some at the border, some shared)
    model, corrected, seen = views[VIEWS[2]], views[VIEWS[3]], views[VIEWS[0]]
    rows, cols = model.shape[0] // 2, model.shape[1] // 2

    def quadrant_spread(pixels):
        return np.ptp([np.median(pixels[r : r + rows, c : c + cols, 1]) for r in (0, rows) for c in (0, cols)])

    assert quadrant_spread(model) > 20  # the injected gradient, in the model
    assert quadrant_spread(corrected) < 0.3 * quadrant_spread(seen)  # and gone from the corrected image
    panel.view.set(VIEWS[0])
    panel.widgets["view"].event_generate("<<ComboboxSelected>>")
    root.update()

    # Changing a masking parameter refreshes the shown preview by itself.
    _type(panel, panel.widgets["threshold_max"], "0.2")
    _pump(root, lambda: panel.preview_photo is not first and panel.idle)
    # Most of the sky is now above the threshold: dimmed to a quarter.
    assert panel.preview_pixels.mean() < 0.6 * first_pixels.mean()
    _type(panel, panel.widgets["threshold_max"], "1")
    _pump(root, lambda: panel.idle)

    # An out-of-range value is named and nothing runs.
    _type(panel, panel.widgets["points"], "2")
    _click(root, panel.buttons["run"])
    assert "points" in panel.status.get() and not panel.busy
    assert str(panel.widgets["points"].cget("style")) == "Invalid.TSpinbox"

    _type(panel, panel.widgets["points"], "24")
    _click(root, panel.buttons["run"])
    assert panel.busy
    _pump(root, lambda: panel.idle)
    root.update()
    assert "done in" in panel.status.get().lower(), panel.status.get()
    # What a user asks of a run (issue 41, item 1); the details go to the log.
    assert re.fullmatch(r"Done in \d+\.\d s: \d+% of the frame kept out as objects; sky (0\.\d{4} / ){2}0\.\d{4} → "
                        r"0\.\d{4}; the loaded image is corrected \(Siril's undo restores it\); model saved as "
                        r"crop_bgModel\.fit\.", panel.status.get()), panel.status.get()
    assert siril.pixels_set == 1 and siril.undo == ["Background Optimizer"]
    # After Run the preview shows the loaded image as Run left it; the button flips to the input and back.
    from bgoptimizer_siril.panel import AFTER, BEFORE

    assert panel.view.get() == AFTER
    after = panel.preview_pixels.astype(float)
    _click(root, panel.buttons["before_after"])
    assert panel.view.get() == BEFORE
    before = panel.preview_pixels.astype(float)
    assert quadrant_spread(before) > 20 and quadrant_spread(after) < 0.3 * quadrant_spread(before)
    ImageGrab.grab(xdisplay=display).save(tmp_path / "before.png")
    _click(root, panel.buttons["before_after"])
    assert panel.view.get() == AFTER
    assert (tmp_path / "crop_bgModel.fit").is_file()
    assert any("Fitting the background model" in message for message, _ in siril.progress)
    assert panel.progress.get() == 1.0
    shot = ImageGrab.grab(xdisplay=display)
    shot.save(tmp_path / "panel.png")
    left, top = root.winfo_rootx(), root.winfo_rooty()
    window = np.asarray(shot)[top : top + root.winfo_height(), left : left + root.winfo_width()]
    assert shot.size == (1366, 768) and window.std() > 20  # the panel is drawn, not a blank screen
    # At the screen's right edge, the preview beside the parameters: Siril's image view, its left 300 px, stays
    # free (issue 41, item 2).
    assert panel.layout == "wide" and left + root.winfo_width() >= 1366 - 16 and left >= 300
    assert _all_in_view(panel)  # the two lines of the run's status too
    for button in panel.buttons.values():  # on a 1366x768 laptop every action is on screen
        assert button.winfo_rootx() + button.winfo_width() <= 1366
        assert button.winfo_rooty() + button.winfo_height() <= 768

    # Run again on the image it has just corrected: the panel asks first; declining runs nothing.
    before = siril.image.copy()
    first_model = (tmp_path / "crop_bgModel.fit").read_bytes()
    questions = []
    answers = iter([False, True, False, True, True])
    monkeypatch.setattr(panel, "_ask", lambda title, message: questions.append(message) or next(answers))
    _click(root, panel.buttons["run"])
    assert questions[0].startswith("The loaded image is the one this panel has just corrected.")
    assert panel.status.get() == "not run: the loaded image is already corrected" and siril.pixels_set == 1
    # Yes to that: the model of the first run is in the way; declining runs nothing.
    _click(root, panel.buttons["run"])
    assert questions[2] == "crop_bgModel.fit already exists (from an earlier run?). Replace it?"
    assert panel.status.get().startswith("not run: ") and not panel.busy and siril.pixels_set == 1

    # Accepted: a long fit, cancelled: the image stays as it was.
    _long_fits(panel, monkeypatch)
    _click(root, panel.buttons["run"])
    assert len(questions) == 5
    _pump(root, lambda: "Fitting the background model" in panel.status.get())
    _click(root, panel.buttons["cancel"])
    _pump(root, lambda: panel.idle)
    root.update()
    assert "cancelled" in panel.status.get()
    assert siril.pixels_set == 1
    np.testing.assert_array_equal(siril.image, before)
    # The model was being written as it was computed: the first run's file is intact, no partial file left.
    assert (tmp_path / "crop_bgModel.fit").read_bytes() == first_model
    assert sorted(p.name for p in tmp_path.glob("*.fit")) == ["crop.fit", "crop_bgModel.fit"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    # What was run is remembered in Siril's config folder, for the next time the panel opens; showing the
    # model instead of the corrected image holds for this session only (issue 39, item 9).
    panel.form.output["show_model"].set(True)
    panel.form.remember(panel._placement())
    assert "show_model" not in panel.form.saved()
    _click(root, panel.buttons["close"])
    assert not _alive(root)
    again = Panel(tk.Tk(), sirilpy.SirilInterface())
    assert (again.fields["points"].get(), again.fields["seed"].get()) == ("24", "7")
    assert again.form.output["show_model"].get() is False
    _click(again.root, again.buttons["reset"])
    assert (again.fields["points"].get(), again.fields["seed"].get()) == ("64", "0")
    again.root.destroy()


def test_areas_drawn_in_siril_shape_the_preview_and_the_run(panel, siril, sirilpy, tmp_path):
    from bgoptimizer_siril.overlay import OBJECT_COLOR

    root = panel.root
    assert panel.areas_text.get() == "no area excluded" and siril.polygons == []
    _click(root, panel.buttons["preview"])
    _pump(root, lambda: panel.preview_photo is not None and panel.idle)
    plain = panel.preview_pixels.astype(float)
    outlines = [p for p in siril.polygons if p.color == OBJECT_COLOR]  # what protection keeps out, in Siril's view
    assert outlines and all(len(p.points) >= 3 for p in outlines)
    # The user draws a square over the top-left of Siril's view (display rows 0-160: FITS rows 320-480).
    siril.to_draw.append([(0, 0), (240, 0), (240, 160), (0, 160)])
    _click(root, panel.buttons["draw_area"])
    _pump(root, lambda: panel.areas_text.get() == "1 area drawn in Siril", timeout=120)
    _pump(root, lambda: panel._refresh_job is None and panel.idle)
    dimmed = panel.preview_pixels.astype(float)
    # The preview, shown as Siril shows the image, dims the area where it was drawn: the top 20 of 60
    # downscaled rows, the first 30 of 90 columns (the soft edge aside).
    inside = (slice(0, 18), slice(0, 28))
    assert dimmed[inside].mean() < 0.5 * plain[inside].mean()
    np.testing.assert_allclose(dimmed[30:, 40:].mean(), plain[30:, 40:].mean(), rtol=0.05)
    _click(root, panel.buttons["run"])
    _pump(root, lambda: panel.idle)
    root.update()
    assert "done in" in panel.status.get().lower(), panel.status.get()
    from astropy.io import fits

    assert "1 area drawn" in " ".join(fits.getheader(tmp_path / "crop_bgModel.fit")["HISTORY"])
    # The outlines were of the image before the run: they go with it (issue 41, item 7); the area stays.
    assert [p.color for p in siril.polygons] != [OBJECT_COLOR] * len(siril.polygons)
    assert not [p for p in siril.polygons if p.color == OBJECT_COLOR]
    _click(root, panel.buttons["clear_areas"])
    assert panel.areas_text.get() == "no area excluded" and siril.polygons == []
    _click(root, panel.buttons["preview"])  # outlines again, then closing the panel takes them away
    _pump(root, lambda: panel.preview_photo is not None and panel.idle)
    assert siril.polygons
    _click(root, panel.buttons["close"])
    _pump(root, lambda: not _alive(root), timeout=120)
    assert siril.polygons == []


def test_keyboard_shortcuts_press_the_buttons(panel, siril):
    root = panel.root
    assert panel.buttons["preview"].cget("underline") == 0 and panel.buttons["draw_area"].cget("underline") == 0
    panel.buttons["preview"].focus_force()
    root.event_generate("<Alt-p>")
    _pump(root, lambda: panel.preview_photo is not None and panel.idle)
    siril.to_draw.append([(0, 0), (100, 0), (100, 100)])
    root.event_generate("<Alt-d>")
    root.update()
    assert len(siril.polygons) > 0 and "Draw the area" in panel.status.get()


def test_run_pressed_during_a_preview_follows_it_and_a_preview_can_be_cancelled(panel, siril, monkeypatch):
    """However slow the machine, Run is never dropped: the preview stops and Run follows."""
    root = panel.root
    long_fits = _long_fits(panel, monkeypatch)
    _click(root, panel.buttons["preview"])
    assert panel.busy and "disabled" not in panel.buttons["cancel"].state()
    _click(root, panel.buttons["cancel"])
    _pump(root, lambda: panel.idle)
    assert "cancelled" in panel.status.get() and siril.pixels_set == 0

    _click(root, panel.buttons["preview"])
    assert panel.busy and "disabled" not in panel.buttons["run"].state()
    long_fits["on"] = False
    _click(root, panel.buttons["run"])  # while the preview computes
    assert "Run starts as soon as the preview has stopped" in panel.status.get()
    _pump(root, lambda: panel.idle)
    root.update()
    assert "done in" in panel.status.get().lower(), panel.status.get()
    assert siril.pixels_set == 1


def test_the_wheel_changes_no_field_it_passes_over(panel):
    root = panel.root
    panel.buttons["preview"].focus_force()  # the focus elsewhere, as when scrolling the form
    root.update()
    before = {name: panel.fields[name].get() for name in ("mode", "points")}
    for name in before:
        widget = panel.widgets[name]
        panel.reveal(widget)
        root.update()
        for _ in range(3):
            widget.event_generate("<Button-5>")
            widget.event_generate("<MouseWheel>", delta=-120)
        root.update()
    assert {name: panel.fields[name].get() for name in before} == before
    widget = panel.widgets["points"]  # clicked into, the field takes the wheel
    widget.focus_force()
    root.update()
    widget.event_generate("<Button-4>")
    root.update()
    assert panel.fields["points"].get() != before["points"]


def test_another_image_loaded_in_siril_clears_the_old_preview(panel, siril, m94, tmp_path):
    root = panel.root
    _click(root, panel.buttons["preview"])
    _pump(root, lambda: panel.preview_photo is not None and panel.idle)
    load_into(siril, tmp_path / "other.fit", np.ascontiguousarray(m94[:, :300, :400]))
    _pump(root, lambda: panel.status.get().startswith("Another image is loaded in Siril"), 10)
    assert panel.preview_photo is None and siril.polygons == []  # no view nor outline of the old image left
    _click(root, panel.buttons["preview"])
    _pump(root, lambda: panel.preview_photo is not None and panel.idle)
    assert panel.preview_pixels.shape[:2] == (38, 50)  # the new image, 400x300 downscaled by 8


def test_smoothness_is_a_slider_over_decades(panel):
    from tkinter import ttk

    (scale,) = [child for child in panel.widgets["smoothing"].winfo_children() if isinstance(child, ttk.Scale)]
    assert panel.fields["smoothing"].get() == "1e-05" and abs(scale.get() - 2 / 7) < 1e-6  # 1e-7 .. 1, log
    scale.set(5 / 7)
    panel.root.update()
    assert panel.fields["smoothing"].get() == "0.01"
    params, _ = panel.settings()
    assert params.smoothing == 0.01
    panel.reset()
    panel.root.update()
    assert panel.fields["smoothing"].get() == "1e-05" and abs(scale.get() - 2 / 7) < 1e-6  # the slider follows


@pytest.mark.parametrize("saved_layout", ["narrow", "wide"])
def test_a_saved_window_place_is_used_in_its_own_layout_only(display, siril, sirilpy, m94, monkeypatch, tmp_path,
                                                            saved_layout):
    """Issue 41, item 3: a narrow column's size saved on a laptop, reused on a wide screen, squeezed the wide
    layout's preview to a sliver; the saved place is used only in the layout it was left in."""
    monkeypatch.setenv("DISPLAY", display)
    import json
    import tkinter as tk

    import bgoptimizer_siril.panel as panel_module

    assert panel_module._WIDE_SCREEN <= 1366  # this 1366-pixel screen takes the wide layout
    siril.cli = False
    load_into(siril, tmp_path / "crop.fit", np.ascontiguousarray(m94[:, :480, :720]))
    memory = Path(sirilpy.SirilInterface().get_siril_configdir()) / "bgoptimizer-panel.json"
    memory.parent.mkdir(parents=True, exist_ok=True)
    memory.write_text(json.dumps({"_window": {"layout": saved_layout, "geometry": "641x600+700+0"}}))
    root = tk.Tk()
    view = panel_module.Panel(root, sirilpy.SirilInterface())
    root.update()
    try:
        assert view.layout == "wide"
        width = root.winfo_width()
        assert (width == 641) == (saved_layout == "wide"), width
        if saved_layout == "narrow":
            assert width > 900 and view.pane.label.winfo_height() > 200  # the wide layout's own size and preview
    finally:
        _click(root, view.buttons["close"])
        _pump(root, lambda: not _alive(root))


def test_a_save_keeps_the_preview_and_an_undo_clears_the_run_state(panel, siril, tmp_path):
    """Issue 41, item 7: Siril's save renames the image, not its pixels (the same image: the preview stays);
    Siril's undo changes the pixels back (the status and the full progress bar of the run go)."""
    root = panel.root
    _click(root, panel.buttons["run"])
    _pump(root, lambda: panel.idle)
    root.update()
    assert "done in" in panel.status.get().lower() and panel.progress.get() == 1.0
    siril.filename = str(tmp_path / "saved_as.fit")  # what Siril's save does to the loaded image
    panel._watch_loaded_image()  # what the panel does every second
    assert "done in" in panel.status.get().lower() and panel.preview_photo is not None
    siril.image = siril.image * 0.5  # what an undo does: other pixels, the same file
    panel._watch_loaded_image()
    assert panel.status.get().startswith("The image in Siril has changed (undone?)"), panel.status.get()
    assert panel.progress.get() == 0.0 and panel.preview_photo is None


def test_ctrl_a_selects_a_fields_whole_text(panel):
    root = panel.root
    widget = panel.widgets["points"]
    panel.reveal(widget)
    widget.focus_force()
    root.update()
    widget.icursor(1)
    widget.event_generate("<Control-a>")
    for char in "32":
        widget.event_generate("<KeyPress>", keysym=char)
    root.update()
    assert panel.fields["points"].get() == "32"


def test_warnings_are_one_line_in_the_panel_and_whole_in_sirils_log(display, siril, sirilpy, m94, monkeypatch,
                                                                     tmp_path):
    """Issue 41, item 2: a three-line warning squeezed the parameters; the panel says how many, Siril's log
    has the text (the preview's once, not at each refresh)."""
    monkeypatch.setenv("DISPLAY", display)
    import tkinter as tk

    from bgoptimizer_siril.panel import Panel

    siril.cli = False
    load_into(siril, tmp_path / "tiny.fit", np.ascontiguousarray(m94[:, :100, :120]))  # too few samples
    root = tk.Tk()
    panel = Panel(root, sirilpy.SirilInterface())
    root.update()
    try:
        for _ in range(2):
            _click(root, panel.buttons["preview"])
            _pump(root, lambda: panel.preview_photo is not None and panel.idle)
            assert panel.status.get().endswith(" 1 warning: see Siril's log."), panel.status.get()
        logged = siril.lines(sirilpy.LogColor.SALMON)
        assert len(logged) == 1 and "preview: only" in logged[0] and "too few to trust the model" in logged[0]
        _click(root, panel.buttons["run"])
        _pump(root, lambda: panel.idle)
        root.update()
        assert panel.status.get().startswith("Done in") and panel.status.get().endswith(" 1 warning: see Siril's log.")
        assert len(siril.lines(sirilpy.LogColor.SALMON)) == 2
    finally:
        _click(root, panel.buttons["close"])
        _pump(root, lambda: not _alive(root))


def test_the_remembered_state_survives_a_damaged_file_and_a_read_only_folder(tmp_path):
    """Remembering is a convenience: a file that is not a JSON object is read as nothing remembered, and a
    folder the panel cannot write into keeps what it had, without an error."""
    import os

    from bgoptimizer_siril.remembered import read_remembered, write_remembered

    path = tmp_path / "bgoptimizer-panel.json"
    assert read_remembered(path) == {} and read_remembered(None) == {}
    for damaged in ("{not json", "[1, 2]"):
        path.write_text(damaged)
        assert read_remembered(path) == {}
    write_remembered(path, {"points": "24", "_window": {"layout": "wide"}})
    assert read_remembered(path) == {"points": "24", "_window": {"layout": "wide"}}
    blocked = tmp_path / "blocked.json"  # a folder where the file would go: the write fails, quietly
    blocked.mkdir()
    write_remembered(blocked, {"points": "32"})
    assert blocked.is_dir() and not list(blocked.iterdir())
    if os.geteuid() != 0:  # root writes into read-only folders
        tmp_path.chmod(0o500)
        try:
            write_remembered(path, {"points": "32"})
        finally:
            tmp_path.chmod(0o700)
        assert read_remembered(path)["points"] == "24"
