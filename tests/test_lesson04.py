import numpy as np
import pytest

from mlsys.exercises import lesson04
from mlsys.explorers import batching_policies as policies
from mlsys.explorers import frames
from mlsys.hardware import get_accelerator
from mlsys.models import get_model
from mlsys.simulator import Replica, simulate_continuous, simulate_static
from mlsys.workload import make_requests

REPLICA = Replica(get_model("Llama 3 8B"), get_accelerator("H100 SXM"))


@pytest.fixture(scope="module")
def explorer():
    return policies.batching_policies()


@pytest.fixture(scope="module")
def burst():
    """Sixteen requests that arrive together, with outputs of mixed lengths."""
    answers = [400, 60, 150, 20, 200, 80, 40, 100, 30, 250, 90, 120, 50, 300, 70, 10]
    return make_requests([0.0] * 16, [512] * 16, answers)


# The explorer.


def test_every_rate_has_a_rendered_frame(explorer):
    assert len(explorer.frames) == len(policies.RATE_POSITIONS)
    for frame in explorer.frames:
        assert "data:image/png;base64," in frame.value
        assert 'alt="Two plots for Llama 3 8B on H100 SXM' in frame.value


def test_frames_compare_all_three_policies(explorer):
    frame = explorer.frames[0].value
    for policy in policies.POLICIES:
        assert f">{policy}" in frame
    assert "(picked)" in frame


def test_slider_is_linked_to_stack_in_browser(explorer):
    link = explorer._link
    assert link.source == (explorer.slider, "index")
    assert link.target == (explorer.stack, "selected_index")


def test_frames_differ_by_rate(explorer):
    values = [frame.value for frame in explorer.frames]
    assert len(set(values)) == len(values)


def test_frames_stay_small(explorer):
    for frame in explorer.frames:
        assert len(frame.value) < 60_000


def test_picker_change_rerenders_current_frame():
    explorer = policies.batching_policies(rate=8.0)
    explorer.pickers["Max batch"].value = "64"
    assert "max batch 64" in explorer.frames[explorer.slider.index].value
    assert "Updating" in explorer.frames[0].value
    explorer.slider.value = 0.5
    assert "max batch 64" in explorer.frames[0].value


def test_policy_picker_moves_the_highlight():
    explorer = policies.batching_policies(policy="static")
    explorer.pickers["Policy"].value = "continuous"
    frame = explorer.frames[explorer.slider.index].value
    assert "continuous (picked)" in frame
    assert "static (picked)" not in frame


def test_static_build_disables_pickers(monkeypatch):
    monkeypatch.setenv(frames.STATIC_BUILD_VARIABLE, "1")
    explorer = policies.batching_policies()
    assert all(picker.disabled for picker in explorer.pickers.values())
    assert "run the notebook" in explorer.widget.children[-1].value


def test_model_without_room_shows_message():
    explorer = policies.batching_policies(gpu="L4", model="Llama 2 13B")
    frame = explorer.frames[explorer.slider.index].value
    assert 'role="status"' in frame
    assert "Cannot simulate Llama 2 13B on L4" in frame
    assert "Traceback" not in frame


def test_kv_cache_below_one_request_shows_message():
    # OPT-13B's weights leave room for a few dozen tokens of cache on an L4.
    explorer = policies.batching_policies(gpu="L4", model="OPT-13B")
    frame = explorer.frames[explorer.slider.index].value
    assert 'role="status"' in frame
    assert "fewer than the longest request" in frame


def test_bad_arguments_raise_readable_errors():
    with pytest.raises(ValueError, match="rate must be one of"):
        policies.batching_policies(rate=5.0)
    with pytest.raises(ValueError, match="max_batch must be one of"):
        policies.batching_policies(max_batch=33)
    with pytest.raises(ValueError, match="policy must be one of"):
        policies.batching_policies(policy="greedy")
    with pytest.raises(ValueError, match="unknown accelerator"):
        policies.batching_policies(gpu="Z100")


# Measures of a run.


def test_static_batch_padding_matches_formula(burst):
    result = simulate_static(burst[:8], REPLICA, batch_size=8)
    outputs = np.array([r.output_tokens for r in burst[:8]])
    expected = 1 - (outputs - 1).sum() / (8 * (outputs.max() - 1))
    assert policies.padding_share(result) == pytest.approx(expected)


def test_continuous_batch_has_no_padding(burst):
    result = simulate_continuous(burst, REPLICA, max_batch=8)
    assert policies.padding_share(result) == 0.0


def test_tokens_in_flight_counts_every_output_token(burst):
    for result in (
        simulate_static(burst, REPLICA, batch_size=8),
        simulate_continuous(burst, REPLICA, max_batch=8),
    ):
        counted = policies.tokens_in_flight(result).sum()
        assert counted == sum(r.output_tokens for r in burst)


def test_continuous_tokens_in_flight_equals_running(burst):
    result = simulate_continuous(burst, REPLICA, max_batch=8)
    running = result.replicas[0].iterations[:, 4]
    assert np.array_equal(policies.tokens_in_flight(result), running)


def test_reserved_kv_stays_within_capacity():
    replica = Replica(get_model("Llama 3 8B"), get_accelerator("L4"))
    result = simulate_continuous(policies.explorer_workload(8.0), replica, 256)
    _, reserved = policies.reserved_kv_tokens(result)
    assert reserved.max() <= replica.kv_capacity_tokens
    assert reserved.max() > 0.9 * replica.kv_capacity_tokens


def test_reserved_kv_of_one_static_batch(burst):
    result = simulate_static(burst[:8], REPLICA, batch_size=8)
    _, reserved = policies.reserved_kv_tokens(result)
    expected = sum(r.prompt_tokens + r.output_tokens for r in burst[:8])
    assert np.all(reserved == expected)


def test_binned_average_is_time_weighted():
    starts = np.array([0.0, 2.0])
    ends = np.array([1.0, 4.0])
    values = np.array([4.0, 1.0])
    edges = np.array([0.0, 2.0, 4.0])
    averages = policies._binned_average(starts, ends, values, edges)
    assert averages == pytest.approx([2.0, 1.0])


def test_steady_throughput_below_capacity_matches_offered_load():
    result = simulate_continuous(policies.explorer_workload(4.0), REPLICA, 32)
    offered = 4.0 * result.output_tokens.mean()
    assert policies.steady_throughput(result) == pytest.approx(offered, rel=0.15)


def test_continuous_sustains_more_load_than_dynamic():
    sweep = policies.load_sweep()
    bound = policies.TTFT_BOUND
    dynamic = sweep.rates_within("dynamic", 32, bound)
    continuous = sweep.rates_within("continuous", 32, bound)
    assert max(continuous) > 2 * max(dynamic)


# Sharing runs between max batches.


@pytest.mark.parametrize("policy", ["dynamic", "continuous"])
def test_shared_run_equals_direct_simulation(policy):
    sweep = policies.LoadSweep(REPLICA)
    first = sweep.summary(policy, 32, 1.0)
    assert first.peak_batch < 32
    count = sweep.simulations
    shared = sweep.summary(policy, 64, 1.0)
    assert sweep.simulations == count
    direct = policies.summarize_run(
        policies.simulate_policy(sweep.requests(1.0), REPLICA, policy, 64),
        policy,
        64,
        1.0,
    )
    assert shared.max_batch == 64
    assert shared.ttft == direct.ttft
    assert shared.tpot == direct.tpot
    assert shared.e2e == direct.e2e


def test_static_runs_are_not_shared():
    sweep = policies.LoadSweep(REPLICA)
    sweep.summary("static", 32, 8.0)
    count = sweep.simulations
    sweep.summary("static", 64, 8.0)
    assert sweep.simulations == count + 1


def test_full_batch_is_not_shared():
    sweep = policies.LoadSweep(REPLICA)
    full = sweep.summary("continuous", 16, 24.0)
    assert full.peak_batch == 16
    count = sweep.simulations
    sweep.summary("continuous", 32, 24.0)
    assert sweep.simulations == count + 1


def test_unknown_policy_is_rejected(burst):
    with pytest.raises(ValueError, match="unknown policy"):
        policies.simulate_policy(burst, REPLICA, "greedy", 8)


# Exercise checks.


CHECKS = [
    (lesson04.check_padding_share, lesson04.expected_padding_share),
    (lesson04.check_kv_max_batch, lesson04.expected_kv_max_batch),
    (lesson04.check_l4_compute_bound_batch, lesson04.expected_l4_compute_bound_batch),
    (lesson04.check_tpot_batch, lesson04.expected_tpot_batch),
    (lesson04.check_throughput_gain, lesson04.expected_throughput_gain),
]


@pytest.mark.parametrize("check, expected", CHECKS)
def test_check_accepts_expected_value(check, expected):
    assert check(expected()).startswith("Correct")


@pytest.mark.parametrize("check, expected", CHECKS)
def test_check_rejects_wrong_value(check, expected):
    verdict = check(expected() * 1.5)
    assert verdict.startswith("Not yet")
    assert f"{expected()}" not in verdict


@pytest.mark.parametrize("check, expected", CHECKS)
def test_check_asks_for_missing_answer(check, expected):
    assert check(None).startswith("No answer yet")


def test_padding_share_of_exercise_batch():
    outputs = lesson04.STATIC_BATCH_OUTPUTS
    iterations = max(outputs) - 1
    useful = sum(n - 1 for n in outputs)
    assert lesson04.expected_padding_share() == pytest.approx(
        1 - useful / (len(outputs) * iterations)
    )


def test_kv_max_batch_of_llama2_7b():
    replica = Replica(get_model("Llama 2 7B"), get_accelerator("H100 SXM"))
    batch = lesson04.expected_kv_max_batch()
    assert batch * 4_096 <= replica.kv_capacity_tokens
    assert (batch + 1) * 4_096 > replica.kv_capacity_tokens


def test_l4_decode_turns_compute_bound_past_ridge():
    from mlsys.roofline import decode_step

    batch = lesson04.expected_l4_compute_bound_batch()
    model, l4 = get_model("Llama 3 8B"), get_accelerator("L4")
    assert decode_step(model, l4, batch).bound == "compute-bound"
    assert decode_step(model, l4, batch - 1).bound == "bandwidth-bound"


def test_tpot_batch_is_the_largest_within_target():
    batch = lesson04.expected_tpot_batch()
    context = lesson04.TPOT_CONTEXT_TOKENS
    target = lesson04.TPOT_TARGET
    assert lesson04.decode_iteration_time(REPLICA, batch, context) <= target
    assert lesson04.decode_iteration_time(REPLICA, batch + 1, context) > target


def test_throughput_gain_favours_continuous():
    assert lesson04.expected_throughput_gain() > 1.5


def test_throughput_gain_uses_the_steady_window():
    requests = policies.explorer_workload(lesson04.SATURATING_RATE)
    static = simulate_static(requests, REPLICA, lesson04.SATURATING_MAX_BATCH)
    continuous = simulate_continuous(requests, REPLICA, lesson04.SATURATING_MAX_BATCH)
    steady = policies.steady_throughput(continuous) / policies.steady_throughput(static)
    whole = continuous.output_tokens_per_second / static.output_tokens_per_second
    assert lesson04.expected_throughput_gain() == pytest.approx(steady)
    assert not lesson04.check_throughput_gain(whole).startswith("Correct")
