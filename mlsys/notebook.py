"""Helpers for the lesson notebooks: glue values into prose, check answers.

``glue`` uses myst-nb's glue when it is installed (the book build, a local
install) and does nothing otherwise, so a notebook also runs on Colab or in
the browser, where the prose simply shows the glue role.
"""

import math

try:
    from myst_nb import glue as _myst_glue
except ImportError:  # Colab, Binder without the book tools, Pyodide
    _myst_glue = None


def glue(name: str, value: object) -> None:
    """Store ``value`` under ``name`` for the prose's ``{glue:text}`` roles.

    Pass numbers already formatted as strings ('41.8 ms', '2,131'): myst-nb
    strips a string's quotes, but would read a bare 2,131 as a tuple.
    Nothing is displayed in the notebook.
    """
    if _myst_glue is None:
        return
    _myst_glue(name, value, display=False)


def check_answer(answer: float | None, expected: float, rel_tol: float = 0.02) -> str:
    """Compare a reader's numeric answer with the expected value; return a verdict.

    The verdict never prints the expected value, so a check does not give the
    answer away; the hidden solution does that.
    """
    if answer is None:
        return "No answer yet: replace None with your number and run the cell again."
    if not isinstance(answer, int | float) or not math.isfinite(answer):
        return f"Not a number: {answer!r}. Enter a plain number in the unit asked for."
    if math.isclose(answer, expected, rel_tol=rel_tol):
        if rel_tol < 0.001:
            return "Correct."
        return f"Correct (within {rel_tol * 100:g} %)."
    ratio = answer / expected if expected else float("inf")
    if 0.9 < ratio < 1.1:
        return "Close, but outside the tolerance: check your rounding and units."
    if any(
        math.isclose(ratio, scale, rel_tol=0.05) for scale in (1e3, 1e-3, 1e6, 1e-6)
    ):
        return "Off by a power of 1,000: check the unit (ms vs s, GB vs bytes)."
    direction = "high" if ratio > 1 else "low"
    factor = max(ratio, 1 / ratio)
    return f"Not yet: your answer is too {direction} by a factor of {factor:.2g}."
