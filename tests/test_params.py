"""The one definition of every parameter: defaults, ranges, validation messages, the HISTORY summary."""

import pytest

from bgoptimizer import ParameterError, Parameters, RunOptions, parameter_specs
from bgoptimizer.params import GROUPS, settings_from


def test_every_parameter_has_help_a_group_and_a_valid_default():
    for spec in parameter_specs():
        assert spec.help.endswith(".") and spec.group in GROUPS
        spec.validate(spec.default)
        if spec.low is not None:
            assert spec.low <= (spec.default if spec.default is not None else spec.low) <= spec.high


def test_settings_split_into_the_method_and_the_run():
    params, run = settings_from({"points": 48, "device": "cpu", "compress": True, "format": "fits",
                                 "overwrite": True, "mask": "m.fits"})
    assert params == Parameters(points=48)
    assert run == RunOptions(device="cpu", compress=True, format="fits", overwrite=True, mask="m.fits")
    summary = params.summary()  # the HISTORY line: every method parameter, nothing of the run
    assert summary.startswith("downscale=8 ") and "points=48" in summary
    assert summary.endswith("mode=subtract neutral=True")
    for option in ("device", "compress", "format", "overwrite", "mask"):
        assert f"{option}=" not in summary
    with pytest.raises(ParameterError, match="unknown parameter.*pointz"):
        settings_from({"pointz": 3})
    with pytest.raises(ParameterError, match="device must be one of auto, cpu, cuda, mps; got 'tpu'"):
        RunOptions(device="tpu")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"downscale": 0}, "downscale must be at least 1; got 0"),
        ({"quantile": 1.5}, "quantile must be at most 1; got 1.5"),
        ({"order": 6}, "order must be one of 1, 2, 3, 4, 5; got 6"),
        ({"points": 2.5}, "points must be a whole number, got 2.5"),
        ({"threshold_min": 0.5, "threshold_max": 0.4}, r"threshold_min \(0.5\) must be below threshold_max \(0.4\)"),
        ({"points": 6}, r"points \(6\) must exceed the 6 terms of a degree-2 polynomial part"),
        ({"order": 4, "poly_degree": 1}, "order 4 needs poly_degree 2 or 3; got poly_degree 1"),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(changes, message):
    with pytest.raises(ParameterError, match=message) as refused:
        Parameters(**changes)
    assert set(refused.value.parameters) & set(changes)  # named for a front end to render
    cli = refused.value.rendered(lambda name: "--" + name.replace("_", "-"))
    assert all("--" + name.replace("_", "-") in cli for name in refused.value.parameters), cli
    assert "_" not in cli.split(";")[0], cli  # no Python name left for a user to read


def test_replace_validates_and_names_unknown_parameters():
    assert Parameters().replace(points=32).points == 32
    with pytest.raises(ParameterError, match="unknown parameter"):
        Parameters().replace(pointz=32)
    with pytest.raises(ParameterError, match="points must be at least 4"):
        Parameters().replace(points=2)


def test_option_text_is_parsed_as_its_type():
    specs = {spec.name: spec for spec in parameter_specs()}
    assert specs["protect_objects"].parse("off") is False and specs["compress"].parse("yes") is True
    assert specs["format"].parse("none") is None and specs["smoothing"].parse("1e-4") == 1e-4
    with pytest.raises(ParameterError, match="points: 'many' is not a whole number"):
        specs["points"].parse("many")
    assert specs["seed"].show(2**31 - 1) == "2147483647" and specs["lr"].show(1e-6) == "1e-06"
