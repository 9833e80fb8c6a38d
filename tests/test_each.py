"""The one per-frame loop (bgoptimizer.runs.each), which the command line's files and Siril's sequences share."""

import pytest

from bgoptimizer import Cancelled, InputImageError, each_in_turn


def _run(items, raising, cancel=None, acting=(InputImageError,)):
    done, failed = [], []

    def work(item):
        if item in raising:
            raise raising[item]
        return item * 10

    def failure(item, error):
        failed.append((item, str(error)))
        return isinstance(error, acting)

    cancelled = each_in_turn(items, work, lambda item, result: done.append(result), failure, cancel)
    return cancelled, done, failed


def test_a_failing_item_is_recorded_and_the_others_go_on():
    assert _run([1, 2, 3], {2: InputImageError("bad frame")}) == (False, [10, 30], [(2, "bad frame")])


def test_an_error_no_user_can_act_on_passes_on_after_what_finished():
    with pytest.raises(ZeroDivisionError):
        _run([1, 2, 3], {2: ZeroDivisionError("bug")})


def test_cancelling_stops_and_keeps_what_finished():
    assert _run([1, 2, 3], {2: Cancelled("stop")}) == (True, [10], [])
    asked = iter([False, True])
    assert _run([1, 2, 3], {}, cancel=lambda: next(asked)) == (True, [10], [])


def test_what_the_success_step_raises_is_not_the_item_s_failure():
    failed = []
    with pytest.raises(OSError):
        each_in_turn([1], lambda item: item, lambda item, result: (_ for _ in ()).throw(OSError("closed pipe")),
                     lambda item, error: failed.append(item) or True)
    assert failed == []
