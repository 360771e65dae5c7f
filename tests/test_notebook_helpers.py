import pytest

from mlsys import notebook
from mlsys.exercises import lesson01
from mlsys.notebook import check_answer


def test_check_answer_verdicts():
    assert check_answer(None, 10.0).startswith("No answer yet")
    assert check_answer(10.1, 10.0).startswith("Correct")
    assert check_answer(10.5, 10.0).startswith("Close")
    assert "power of 1,000" in check_answer(10_000.0, 10.0)
    assert "too low by a factor of 2" in check_answer(5.0, 10.0)
    assert check_answer("ten", 10.0).startswith("Not a number")


def test_check_answer_never_prints_expected_value():
    for answer in (None, 1.0, 41.0, 1e6):
        assert "41.2" not in check_answer(answer, 41.2)


def test_glue_without_myst_nb_is_a_no_op(monkeypatch):
    monkeypatch.setattr(notebook, "_myst_glue", None)
    assert notebook.glue("name", "41.8 ms") is None


def test_glue_passes_value_hidden(monkeypatch):
    stored = {}

    def fake_glue(name, value, display):
        stored[name] = (value, display)

    monkeypatch.setattr(notebook, "_myst_glue", fake_glue)
    notebook.glue("latency", "41.8 ms")
    assert stored["latency"] == ("41.8 ms", False)


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (lesson01.check_decode_floor, lesson01.expected_decode_floor_ms),
        (lesson01.check_ridge_mi300x, lesson01.expected_ridge_mi300x),
        (lesson01.check_fp8_speedup, lesson01.expected_fp8_speedup),
        (lesson01.check_idle_dollars, lesson01.expected_idle_dollars),
        (lesson01.check_prefill_crossover, lesson01.expected_prefill_crossover_tokens),
        (lesson01.check_prefill_stall, lesson01.expected_prefill_stall_steps),
    ],
)
def test_lesson01_checks_accept_expected_answer(check, expected):
    assert check(expected()).startswith("Correct")
    assert not check(expected() * 3).startswith("Correct")


def test_lesson01_expected_values():
    assert lesson01.expected_decode_floor_ms() == pytest.approx(28.96, abs=0.01)
    assert lesson01.expected_ridge_mi300x() == pytest.approx(246.7, abs=0.1)
    assert lesson01.expected_fp8_speedup() == pytest.approx(2.0)
    assert lesson01.expected_idle_dollars() == pytest.approx(276_480)
    assert lesson01.expected_prefill_crossover_tokens() == pytest.approx(153, abs=0.5)
    assert lesson01.expected_prefill_stall_steps() == pytest.approx(6.77, abs=0.01)


def test_glued_formatted_number_renders_as_written():
    # myst-nb literal-evaluates glued text, so 2,131 unquoted would become (2, 131).
    from IPython.core.formatters import format_display_data
    from myst_nb.core.variables import format_plain_text

    bundle, _ = format_display_data("2,131")
    assert format_plain_text(bundle["text/plain"], "s") == "2,131"
