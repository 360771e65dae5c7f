import math

import numpy as np
import pytest

from mlsys.hardware import get_accelerator
from mlsys.metrics_math import (
    chance_any_in_tail,
    end_to_end_latency,
    highest_rate_meeting,
    littles_law_in_system,
    mean_requests_in_system,
    measure_load_window,
    per_gpu_goodput,
    time_per_output_token,
)
from mlsys.models import get_model
from mlsys.serving_results import SLO, ReplicaTimeline, SimulationResult
from mlsys.simulator import Replica, simulate_continuous
from mlsys.workload import poisson_workload

REPLICA = Replica(get_model("Llama 3 8B"), get_accelerator("H100 SXM"))


@pytest.fixture(scope="module")
def steady_run():
    return simulate_continuous(poisson_workload(20.0, 600, seed=4), REPLICA)


def _hand_made_result() -> SimulationResult:
    """Two requests on one replica whose every token time is known.

    Request 0 arrives at 0 s and gets tokens at 1, 2 and 3 s; request 1
    arrives at 10 s and gets tokens at 11 and 12 s.
    """
    timeline = np.array(
        [
            # start, end, decode_tokens, prefill_tokens, running
            [0.0, 1.0, 0, 100, 1],
            [1.0, 2.0, 1, 0, 1],
            [2.0, 3.0, 1, 0, 1],
            [10.0, 11.0, 0, 50, 1],
            [11.0, 12.0, 1, 0, 1],
        ]
    )
    return SimulationResult(
        scheduler="continuous",
        arrival=np.array([0.0, 10.0]),
        first_token=np.array([1.0, 11.0]),
        last_token=np.array([3.0, 12.0]),
        finish=np.array([3.0, 12.0]),
        prompt_tokens=np.array([100, 50]),
        output_tokens=np.array([3, 2]),
        max_token_gap=np.array([1.0, 1.0]),
        replicas=[ReplicaTimeline("replica 0", timeline)],
    )


def test_tpot_from_timestamps():
    assert time_per_output_token(12.180, 15.165, 200) == pytest.approx(0.015)


def test_tpot_rejects_single_output_token():
    with pytest.raises(ValueError, match="undefined for a request with one output"):
        time_per_output_token(1.0, 1.0, 1)


def test_tpot_rejects_reversed_times():
    with pytest.raises(ValueError, match="comes before the first"):
        time_per_output_token(2.0, 1.0, 10)


def test_end_to_end_latency_formula():
    assert end_to_end_latency(0.3, 0.025, 400) == pytest.approx(0.3 + 399 * 0.025)
    assert end_to_end_latency(0.3, 0.025, 1) == 0.3


def test_end_to_end_rejects_bad_inputs():
    with pytest.raises(ValueError, match="output_tokens must be an integer >= 1"):
        end_to_end_latency(0.1, 0.01, 0)
    with pytest.raises(ValueError, match="times >= 0 s"):
        end_to_end_latency(-0.1, 0.01, 5)


def test_end_to_end_identity_on_simulated_requests(steady_run):
    n = steady_run.output_tokens
    rebuilt = steady_run.ttft + (n - 1) * np.nan_to_num(steady_run.tpot)
    assert np.allclose(rebuilt, steady_run.e2e, rtol=0, atol=1e-9)


def test_littles_law_formula():
    assert littles_law_in_system(40.0, 5.5) == pytest.approx(220.0)
    with pytest.raises(ValueError, match="arrival_rate must be a finite number > 0"):
        littles_law_in_system(0.0, 1.0)


def test_littles_law_holds_on_whole_run(steady_run):
    start = float(steady_run.arrival.min())
    end = float(steady_run.finish.max())
    measured = mean_requests_in_system(steady_run, start, end)
    rate = len(steady_run.arrival) / (end - start)
    predicted = littles_law_in_system(rate, float(steady_run.e2e.mean()))
    assert measured == pytest.approx(predicted, rel=0.002)


def test_mean_requests_in_system_rejects_empty_interval(steady_run):
    with pytest.raises(ValueError, match="end must be after start"):
        mean_requests_in_system(steady_run, 5.0, 5.0)


def test_chance_any_in_tail():
    assert chance_any_in_tail(0.01, 1) == pytest.approx(0.01)
    assert chance_any_in_tail(0.01, 20) == pytest.approx(1 - 0.99**20)
    assert chance_any_in_tail(0.0, 50) == 0.0


def test_chance_any_in_tail_rejects_bad_inputs():
    with pytest.raises(ValueError, match="tail_share must be from 0 to 1"):
        chance_any_in_tail(1.5, 3)
    with pytest.raises(ValueError, match="requests must be an integer >= 1"):
        chance_any_in_tail(0.01, 0)


@pytest.mark.parametrize(
    ("rates", "attainments", "expected"),
    [
        ([10, 20, 30], [1.0, 0.95, 0.5], 20),
        ([10, 20, 30], [1.0, 1.0, 1.0], 30),
        ([10, 20, 30], [0.8, 0.95, 1.0], None),
        ([30, 10, 20], [0.5, 1.0, 0.95], 20),  # unsorted input
        ([10, 20, 30, 40], [1.0, 0.5, 0.95, 0.2], 10),  # stops at the first miss
        ([10, 20], [0.9, 0.89], 10),  # the target itself counts as met
    ],
)
def test_highest_rate_meeting(rates, attainments, expected):
    assert highest_rate_meeting(rates, attainments, 0.9) == expected


def test_highest_rate_meeting_rejects_mismatch():
    with pytest.raises(ValueError, match="same length"):
        highest_rate_meeting([1, 2], [1.0])
    with pytest.raises(ValueError, match="target must be a share"):
        highest_rate_meeting([1], [1.0], target=0)


def test_per_gpu_goodput():
    assert per_gpu_goodput(12.0, 3) == 4.0
    with pytest.raises(ValueError, match="gpus must be an integer >= 1"):
        per_gpu_goodput(12.0, 0)


def test_window_counts_hand_made_tokens():
    result = _hand_made_result()
    measures = measure_load_window(result, SLO(ttft=1.5, tpot=1.5))
    assert measures.start == 0.0
    assert measures.end == 10.0
    assert measures.duration == 10.0
    # Only request 0 finishes inside [0, 10] s, with its 3 tokens.
    assert measures.requests_per_second == pytest.approx(0.1)
    assert measures.output_tokens_per_second == pytest.approx(0.3)
    # Both requests arrive inside the window and meet the SLO; goodput counts
    # the same requests as attainment, though request 1 finishes after the end.
    assert measures.goodput == pytest.approx(0.2)
    assert measures.slo_attainment == 1.0


def test_window_warm_up_moves_start():
    result = _hand_made_result()
    measures = measure_load_window(result, SLO(ttft=0.5), warm_up=2.5)
    assert measures.start == 2.5
    # Request 0 finishes at 3 s, inside the window, but the iteration that made
    # its last token started at 2 s, before the window, so no token counts.
    assert measures.output_tokens_per_second == pytest.approx(0.0)
    assert measures.requests_per_second == pytest.approx(1 / 7.5)
    assert list(measures.measured) == [False, True]
    assert measures.slo_attainment == 0.0  # request 1 waits 1 s for its token
    # Request 0 meets the SLO but arrived during the warm-up: no goodput.
    assert measures.goodput == 0.0


def test_goodput_and_attainment_share_their_requests():
    run = simulate_continuous(poisson_workload(60.0, 1800, seed=3), REPLICA)
    measures = measure_load_window(run, SLO(0.5, 0.05), warm_up=15.0)
    arrivals = np.count_nonzero(measures.measured) / measures.duration
    assert measures.goodput == pytest.approx(measures.slo_attainment * arrivals)


def test_window_rejects_warm_up_past_last_arrival():
    with pytest.raises(ValueError, match="leaves no window"):
        measure_load_window(_hand_made_result(), SLO(), warm_up=20.0)


def test_window_matches_offered_rate_below_capacity():
    run = simulate_continuous(poisson_workload(20.0, 1200, seed=3), REPLICA)
    measures = measure_load_window(run, SLO(0.5, 0.05), warm_up=15.0)
    assert measures.requests_per_second == pytest.approx(20.0, rel=0.05)
    assert measures.goodput == pytest.approx(20.0, rel=0.05)
    # Tokens/s is the request rate times the mean answer length.
    mean_tokens = float(run.output_tokens.mean())
    assert measures.output_tokens_per_second == pytest.approx(
        20.0 * mean_tokens, rel=0.08
    )


def test_window_beats_whole_run_average_on_short_run():
    run = simulate_continuous(poisson_workload(40.0, 800, seed=3), REPLICA)
    window = measure_load_window(run, SLO(), warm_up=5.0)
    assert run.requests_per_second < 0.8 * window.requests_per_second
    assert math.isclose(window.slo_attainment, 1.0)
