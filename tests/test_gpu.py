"""The CUDA path end to end: the command line and the plugin (with the sirilpy double) on the GPU.

Skipped where torch sees no CUDA device, as in CI; ``bench/gpu_check.sh`` runs
these on a GPU machine with the benchmark.
"""

import json

import pytest
import torch
from astropy.io import fits

from bgoptimizer import Parameters, RunControl, extract_background
from bgoptimizer.command_line.main import main
from bgoptimizer.io import read_image, write_image
from bgoptimizer.synthetic import gradient_error, make_scene

from .conftest import load_into, run_script

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device")


def test_command_line_on_the_gpu_recovers_the_gradient_as_on_the_cpu(tmp_path):
    scene = make_scene(3000, 2000, 3, gradient_kind="mixed", nebula=True, seed=11)
    source = write_image(tmp_path / "sky.fits", scene.image)
    errors = {}
    for device in ("cpu", "cuda"):
        report = tmp_path / f"{device}.json"
        assert main([str(source), "-o", str(tmp_path / device), "--device", device, "--report", str(report)]) == 0
        (outcome,) = json.loads(report.read_text())["files"]
        assert outcome["device"] == (f"CUDA: {torch.cuda.get_device_name()}" if device == "cuda"
                                     else f"CPU ({torch.get_num_threads()} threads)")
        errors[device] = gradient_error(read_image(tmp_path / device / "sky_bgModel.fits").data, scene.background)[0]
    assert errors["cuda"] < 0.5  # % RMS of the gradient; the CPU leaves 0.29 on this scene (docs/benchmarks.md)
    assert abs(errors["cuda"] - errors["cpu"]) < 0.1


def test_plugin_on_the_gpu_gives_the_cpu_result(siril, sirilpy, monkeypatch, tmp_path):
    # A generated scene: the data beside the project do not travel to a GPU machine.
    scene = make_scene(1920, 1080, 3, gradient_kind="dome", nebula=False, seed=5)
    load_into(siril, tmp_path / "sky.fit", scene.image, fits.Header())

    run_script(monkeypatch, "--device", "cuda")

    assert siril.lines(sirilpy.LogColor.RED) == []
    (summary,) = [line for line in siril.lines(sirilpy.LogColor.GREEN) if "done in" in line]
    assert f"on CUDA: {torch.cuda.get_device_name()}" in summary
    model = read_image(tmp_path / "sky_bgModel.fit").data
    on_cpu = extract_background(scene.image, Parameters(), control=RunControl(device="cpu")).background
    assert gradient_error(model, scene.background)[0] < 0.5  # % RMS of the gradient
    assert gradient_error(model, on_cpu)[0] < 0.1  # the CPU's model, up to float rounding in 500 steps
