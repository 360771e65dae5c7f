"""Checks for lesson 03's exercises."""

from mlsys.costs import H100_RENTAL, cost_per_million_tokens
from mlsys.explorers.latency_under_load import run_sweep
from mlsys.metrics_math import chance_any_in_tail, time_per_output_token
from mlsys.notebook import check_answer
from mlsys.serving_results import SLO

EXERCISE_SLO = SLO(ttft=0.5, tpot=0.05)
"""The lesson's default SLO: TTFT at most 500 ms, TPOT at most 50 ms."""

COST_EXERCISE_RATE = 40.0  # requests/s, one of the explorer's slider positions


def expected_tpot_ms() -> float:
    """Exercise 1: TPOT of 200 output tokens, first at 12.180 s, last at 15.165 s."""
    return time_per_output_token(12.180, 15.165, 200) * 1e3


def expected_time_in_system() -> float:
    """Exercise 2: mean seconds in system at 40 requests/s with 220 in the system."""
    return 220 / 40


def expected_sessions_hit_percent() -> float:
    """Exercise 3: percent of 20-request sessions with at least one wait past p99."""
    return chance_any_in_tail(0.01, 20) * 100


def cost_exercise_tokens_per_second() -> float:
    """Exercise 4's input: output tokens/s of Llama 3 8B on an H100 at 40 requests/s."""
    sweep = run_sweep("H100 SXM", "Llama 3 8B")
    index = sweep.rates.index(COST_EXERCISE_RATE)
    return sweep.measures(EXERCISE_SLO)[index].output_tokens_per_second


def expected_cost_per_million() -> float:
    """Exercise 4: dollars per million output tokens at the low H100 price."""
    return cost_per_million_tokens(H100_RENTAL.low, cost_exercise_tokens_per_second())


CAPACITY_EXERCISE_RATE = 70.0  # requests/s, the explorer's highest position


def expected_h200_capacity() -> float:
    """Exercise 5: requests/s that one H200 SXM completes in overload.

    Completions per second of Llama 3 8B over the measurement window of the
    run at 70 requests/s, where the batch is full on both chips. It is the
    capacity, read far from the SLO cliff, so it does not hinge on whether one
    swept rate lands a hair above or below the 90 % goal.
    """
    sweep = run_sweep("H200 SXM", "Llama 3 8B")
    index = sweep.rates.index(CAPACITY_EXERCISE_RATE)
    return sweep.measures(EXERCISE_SLO)[index].requests_per_second


def check_tpot(answer_ms: float | None) -> str:
    """Check exercise 1 (milliseconds per token, 0.2 % tolerance).

    Tight enough to reject dividing by n instead of n - 1, the point of the exercise.
    """
    return check_answer(answer_ms, expected_tpot_ms(), rel_tol=0.002)


def check_time_in_system(answer_s: float | None) -> str:
    """Check exercise 2 (seconds, 1 % tolerance)."""
    return check_answer(answer_s, expected_time_in_system(), rel_tol=0.01)


def check_sessions_hit(answer_percent: float | None) -> str:
    """Check exercise 3 (percent of sessions, 2 % tolerance)."""
    return check_answer(answer_percent, expected_sessions_hit_percent())


def check_cost_per_million(answer_usd: float | None) -> str:
    """Check exercise 4 (US dollars per million tokens, 2 % tolerance)."""
    return check_answer(answer_usd, expected_cost_per_million())


def check_h200_capacity(answer_rate: float | None) -> str:
    """Check exercise 5 (completed requests/s, 2 % tolerance)."""
    return check_answer(answer_rate, expected_h200_capacity())
