import pytest

from derivbook.model import UserError
from derivbook.params import Param, resolve

N = Param("n", int, 3, "size", low=2, high=6)
EPS = Param("epsilon", float, 0.1, "smoothing", low=0.0, high=0.5)


def test_defaults_fill_in():
    assert resolve((N, EPS), {}, "x") == {"n": 3, "epsilon": 0.1}
    assert resolve((N, EPS), {"epsilon": 0}, "x") == {"n": 3, "epsilon": 0.0}


@pytest.mark.parametrize(
    "given, message",
    [
        ({"n": 9}, "n must be an integer from 2 to 6, got 9"),
        ({"n": "3"}, "n must be an integer from 2 to 6, got '3'"),
        ({"n": True}, "n must be an integer"),
        ({"n": 2.5}, "n must be an integer"),
        ({"m": 1}, "unknown parameter 'm' (allowed: n, epsilon)"),
        ({"epsilon": 0.7}, "epsilon must be a number from 0.0 to 0.5"),
    ],
)
def test_bad_values_name_the_parameter_and_what_is_allowed(given, message):
    with pytest.raises(UserError, match="^spec.toml: " + message.replace("(", r"\(").replace(")", r"\)")):
        resolve((N, EPS), given, "spec.toml")


def test_command_line_values_parse_with_the_declared_type():
    assert N.parse("4", "--set") == 4
    assert EPS.parse("0.25", "--set") == 0.25
    with pytest.raises(UserError, match="got 'four'"):
        N.parse("four", "--set")
