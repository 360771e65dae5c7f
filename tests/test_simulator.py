import math

import numpy as np
import pytest

from mlsys.hardware import get_accelerator
from mlsys.models import get_model
from mlsys.roofline import causal_attention_pairs, prefill
from mlsys.serving_results import SLO
from mlsys.simulator import (
    Replica,
    kv_transfer_time,
    simulate_continuous,
    simulate_disaggregated,
    simulate_static,
)
from mlsys.workload import Request, make_requests, poisson_workload

H100 = get_accelerator("H100 SXM")
LLAMA3_8B = get_model("Llama 3 8B")
REPLICA = Replica(LLAMA3_8B, H100)


@pytest.fixture(scope="module")
def busy_workload():
    return poisson_workload(rate=10.0, count=1500, seed=11)


def _all_schedulers(requests):
    return {
        "static": simulate_static(requests, REPLICA, batch_size=16),
        "dynamic": simulate_static(requests, REPLICA, batch_size=16, timeout=0.2),
        "continuous": simulate_continuous(requests, REPLICA, max_batch=64),
        "chunked": simulate_continuous(requests, REPLICA, 64, token_budget=512),
        "disaggregated": simulate_disaggregated(requests, REPLICA, 1, 1, 50e9),
    }


def test_same_seed_gives_same_results():
    first = simulate_continuous(poisson_workload(5.0, 200, seed=1), REPLICA)
    second = simulate_continuous(poisson_workload(5.0, 200, seed=1), REPLICA)
    assert np.array_equal(first.finish, second.finish)
    assert np.array_equal(first.first_token, second.first_token)


@pytest.mark.parametrize(
    "scheduler", ["static", "dynamic", "continuous", "chunked", "disaggregated"]
)
def test_causality_for_every_scheduler(scheduler):
    result = _all_schedulers(poisson_workload(4.0, 150, seed=5))[scheduler]
    assert np.all(result.first_token > result.arrival)
    assert np.all(result.last_token >= result.first_token)
    assert np.all(result.finish >= result.last_token)
    assert not np.any(np.isnan(result.finish))


@pytest.mark.parametrize("scheduler", ["continuous", "chunked", "disaggregated"])
def test_every_output_token_is_accounted_for(scheduler):
    requests = poisson_workload(4.0, 150, seed=6)
    result = _all_schedulers(requests)[scheduler]
    decode_tokens = sum(r.iterations[:, 2].sum() for r in result.replicas)
    first_tokens = len(requests)  # each request's first token comes from prefill
    assert decode_tokens + first_tokens == sum(r.output_tokens for r in requests)
    prefill_tokens = sum(r.iterations[:, 3].sum() for r in result.replicas)
    assert prefill_tokens == sum(r.prompt_tokens for r in requests)


def test_littles_law_holds_at_steady_state():
    requests = poisson_workload(rate=6.0, count=3000, seed=21)
    result = simulate_continuous(requests, REPLICA, max_batch=128)
    start, end = result.arrival[500], result.arrival[2500]  # skip warm-up and drain
    times = np.linspace(start, end, 20_000)
    in_system = result.requests_in_system(times).mean()
    window = (result.arrival >= start) & (result.arrival < end)
    arrival_rate = window.sum() / (end - start)
    time_in_system = result.e2e[window].mean()
    assert in_system == pytest.approx(arrival_rate * time_in_system, rel=0.05)


def test_low_load_ttft_is_prefill_time():
    requests = make_requests([0.0, 100.0, 200.0], [1000, 2000, 500], [10, 10, 10])
    result = simulate_continuous(requests, REPLICA)
    for request, ttft in zip(requests, result.ttft, strict=True):
        alone = prefill(LLAMA3_8B, H100, request.prompt_tokens, causal=True).time
        assert ttft == pytest.approx(alone + REPLICA.iteration_overhead, rel=0.02)


def test_continuous_beats_static_throughput(busy_workload):
    static = simulate_static(busy_workload, REPLICA, batch_size=32)
    continuous = simulate_continuous(busy_workload, REPLICA, max_batch=32)
    assert continuous.output_tokens_per_second >= static.output_tokens_per_second


def test_chunked_prefill_lowers_worst_token_gap(busy_workload):
    whole = simulate_continuous(busy_workload, REPLICA, max_batch=64)
    chunked = simulate_continuous(busy_workload, REPLICA, 64, token_budget=512)
    assert np.percentile(chunked.max_token_gap, 99) < np.percentile(
        whole.max_token_gap, 99
    )


def test_static_requests_return_with_their_batch():
    requests = make_requests([0.0, 0.0], [100, 100], [5, 50])
    result = simulate_static(requests, REPLICA, batch_size=2)
    assert result.finish[0] == result.finish[1]
    assert result.last_token[0] < result.last_token[1]


def test_dynamic_batching_starts_on_timeout():
    requests = make_requests([0.0, 10.0], [100, 100], [5, 5])
    result = simulate_static(requests, REPLICA, batch_size=8, timeout=0.5)
    assert result.first_token[0] < 1.0  # did not wait for a full batch
    static = simulate_static(requests, REPLICA, batch_size=2)
    assert static.first_token[0] > 10.0


def test_disaggregated_adds_kv_transfer_before_second_token():
    requests = make_requests([0.0], [4000], [3])
    slow_link = simulate_disaggregated(requests, REPLICA, 1, 1, link_bandwidth=1e9)
    transfer = kv_transfer_time(REPLICA, 4000, 1e9)
    assert transfer == pytest.approx(4000 * 131_072 / 1e9)
    assert slow_link.max_token_gap[0] >= transfer


def test_prompt_costs_the_same_whole_or_chunked():
    whole = REPLICA.iteration_time(4096, 1, causal_attention_pairs(4096), 0.0)
    chunks = sum(
        REPLICA.iteration_time(512, 1, causal_attention_pairs(512, done), done)
        for done in range(0, 4096, 512)
    )
    overheads = 7 * REPLICA.iteration_overhead
    # Chunks re-read the cached prefix, so they cost slightly more, never less.
    assert whole <= chunks - overheads <= whole * 1.02


def test_kv_transfers_queue_on_a_busy_link():
    requests = make_requests([0.0, 0.0], [4000, 4000], [3, 3])
    result = simulate_disaggregated(requests, REPLICA, 1, 1, link_bandwidth=1e9)
    transfer = kv_transfer_time(REPLICA, 4000, 1e9)
    second_token_wait = result.max_token_gap.max()
    assert second_token_wait >= 2 * transfer * 0.99


def test_goodput_and_attainment():
    result = simulate_continuous(poisson_workload(4.0, 200, seed=8), REPLICA)
    loose, strict = SLO(ttft=10.0, tpot=1.0), SLO(ttft=1e-6, tpot=1e-6)
    assert result.slo_attainment(loose) == 1.0
    assert result.slo_attainment(strict) == 0.0
    assert result.goodput(loose) == pytest.approx(result.requests_per_second)
    assert 0 < result.busy_fraction()["replica 0"] <= 1


def test_one_token_answers_have_no_tpot():
    result = simulate_continuous(make_requests([0.0], [100], [1]), REPLICA)
    assert math.isnan(result.tpot[0])
    assert result.meets(SLO(ttft=10.0, tpot=1e-9))[0]


def test_kv_capacity_limits_concurrency():
    small = Replica(LLAMA3_8B, get_accelerator("L4"))
    requests = make_requests([0.0] * 40, [4000] * 40, [2000] * 40)
    result = simulate_continuous(requests, small, max_batch=64)
    running = max(r.iterations[:, 4].max() for r in result.replicas)
    assert running <= small.kv_capacity_tokens // 6000


def test_request_larger_than_kv_capacity_rejected():
    small = Replica(LLAMA3_8B, get_accelerator("L4"))
    huge = [Request(0, 0.0, small.kv_capacity_tokens, 10)]
    with pytest.raises(ValueError, match="needs .* tokens of KV cache, more than"):
        simulate_continuous(huge, small)


def test_model_that_leaves_no_kv_memory_rejected():
    with pytest.raises(ValueError, match="leaves no memory for the KV cache"):
        Replica(get_model("Llama 2 70B"), H100)
    assert Replica(get_model("Llama 2 70B"), H100, tensor_parallel=2).kv_capacity_tokens


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: simulate_continuous([], REPLICA), "at least one request"),
        (lambda r: simulate_continuous(r, REPLICA, max_batch=0), "max_batch must be"),
        (
            lambda r: simulate_continuous(r, REPLICA, 64, token_budget=32),
            "token_budget",
        ),
        (lambda r: simulate_static(r, REPLICA, 8, timeout=-1.0), "timeout must be"),
        (lambda r: simulate_disaggregated(r, REPLICA, 0, 1, 1e9), "prefill_replicas"),
        (lambda r: simulate_disaggregated(r, REPLICA, 1, 1, 0.0), "link bandwidth"),
    ],
)
def test_impossible_configurations_raise(call, message):
    requests = make_requests([0.0], [10], [10])
    with pytest.raises(ValueError, match=message):
        call(requests)


def test_replica_rejects_bad_settings():
    with pytest.raises(ValueError, match="tensor_parallel must be an integer >= 1"):
        Replica(LLAMA3_8B, H100, tensor_parallel=0)
    with pytest.raises(ValueError, match="mixture-of-experts"):
        Replica(get_model("Mixtral 8x7B"), H100)
    with pytest.raises(ValueError, match="no tensor-core peak for 'fp8'"):
        Replica(LLAMA3_8B, get_accelerator("A100 SXM 80GB"), dtype="fp8")
