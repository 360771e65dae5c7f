"""Lesson 05: the serving-mode helpers, the explorer and the exercise checks."""

import numpy as np
import pytest

from mlsys.exercises import lesson05
from mlsys.explorers import frames
from mlsys.explorers import prefill_decode_modes as modes
from mlsys.hardware import get_accelerator
from mlsys.models import get_model
from mlsys.serving_results import SLO
from mlsys.simulator import Replica, simulate_continuous

REPLICA = Replica(get_model("Llama 3 8B"), get_accelerator("H100 SXM"))


@pytest.fixture(scope="module")
def workload():
    return modes.explorer_workload(1024, 128, 16.0, count=200)


@pytest.fixture(scope="module")
def explorer():
    return modes.prefill_decode_modes()


def _p99(values):
    return np.nanpercentile(values, 99)


# Serving-mode helpers


def test_workload_is_seeded():
    first = modes.explorer_workload(1024, 128, 10.0, count=50)
    second = modes.explorer_workload(1024, 128, 10.0, count=50)
    assert first == second


def test_one_colocated_replica_matches_simulator(workload):
    ours = modes.simulate_colocated(workload, REPLICA, 1)
    direct = simulate_continuous(workload, REPLICA, modes.MAX_BATCH)
    assert np.array_equal(ours.finish, direct.finish)
    assert np.array_equal(ours.max_token_gap, direct.max_token_gap)


def test_colocated_replicas_take_turns(workload):
    result = modes.simulate_colocated(workload, REPLICA, 2)
    ordered = sorted(workload, key=lambda r: r.arrival)
    assert [t.name for t in result.replicas] == ["replica 0", "replica 1"]
    for k, timeline in enumerate(result.replicas):
        expected = sum(r.prompt_tokens for r in ordered[k::2])
        assert timeline.iterations[:, 3].sum() == expected


def test_merged_result_is_in_arrival_order(workload):
    result = modes.simulate_colocated(workload, REPLICA, 3)
    assert len(result.arrival) == len(workload)
    assert np.all(np.diff(result.arrival) >= 0)
    assert np.all(result.first_token > result.arrival)
    assert sorted(result.prompt_tokens) == sorted(r.prompt_tokens for r in workload)


def test_merge_rejects_no_results():
    with pytest.raises(ValueError, match="at least one result"):
        modes.merge_results([], "continuous")


def test_colocated_rejects_bad_replica_count(workload):
    with pytest.raises(ValueError, match="replicas must be an integer >= 1"):
        modes.simulate_colocated(workload, REPLICA, 0)


@pytest.mark.parametrize(
    ("mode", "scheduler"),
    [
        ("colocated", "continuous"),
        ("chunked", "chunked"),
        ("disaggregated", "disaggregated"),
    ],
)
def test_simulate_mode_runs_each_mode(workload, mode, scheduler):
    result = modes.simulate_mode(mode, workload, REPLICA, modes.PoolSizes(1, 1))
    assert result.scheduler == scheduler
    assert not np.any(np.isnan(result.finish))


def test_simulate_mode_rejects_unknown_mode(workload):
    with pytest.raises(ValueError, match="unknown mode 'split'"):
        modes.simulate_mode("split", workload, REPLICA, modes.PoolSizes(1, 1))


def test_chunking_lowers_worst_token_gap(workload):
    pools = modes.PoolSizes(1, 1)
    whole = modes.simulate_mode("colocated", workload, REPLICA, pools)
    chunked = modes.simulate_mode("chunked", workload, REPLICA, pools, 512)
    assert _p99(chunked.max_token_gap) < _p99(whole.max_token_gap) / 5
    assert _p99(chunked.tpot) < _p99(whole.tpot)


def test_disaggregation_wins_only_under_tight_tpot():
    pools = modes.PoolSizes(1, 1)
    busy = modes.explorer_workload(1024, 128, 12.0 * pools.total)
    colocated = modes.simulate_mode("colocated", busy, REPLICA, pools)
    split = modes.simulate_mode("disaggregated", busy, REPLICA, pools)
    assert split.slo_attainment(modes.DEFAULT_SLO) > colocated.slo_attainment(
        modes.DEFAULT_SLO
    )
    heavier = modes.explorer_workload(1024, 128, 20.0 * pools.total)
    loose = SLO(ttft=0.5, tpot=0.050)
    colocated = modes.simulate_mode("colocated", heavier, REPLICA, pools)
    split = modes.simulate_mode("disaggregated", heavier, REPLICA, pools)
    assert colocated.slo_attainment(loose) > split.slo_attainment(loose)


def test_goodput_interpolates_crossing():
    rates, shares = [1.0, 2.0, 3.0], [1.0, 0.95, 0.85]
    assert modes.goodput_per_gpu(rates, shares) == pytest.approx(2.5)


def test_goodput_edge_cases():
    assert modes.goodput_per_gpu([1.0, 2.0], [1.0, 0.99]) == 2.0
    assert modes.goodput_per_gpu([1.0, 2.0], [0.5, 0.2]) == 0.0
    assert modes.goodput_per_gpu([1.0, 2.0, 3.0], [0.95, 0.8, 0.99]) == pytest.approx(
        1.0 + 0.05 / 0.15
    )


def test_goodput_rejects_bad_input():
    with pytest.raises(ValueError, match="strictly increasing"):
        modes.goodput_per_gpu([2.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="equal length"):
        modes.goodput_per_gpu([1.0, 2.0], [1.0])


def test_pool_sizes():
    pools = modes.PoolSizes(1, 3)
    assert pools.total == 4
    assert pools.label() == "4 GPUs: 1 prefill + 3 decode"
    with pytest.raises(ValueError, match="prefill GPUs must be an integer >= 1"):
        modes.PoolSizes(0, 1)
    with pytest.raises(ValueError, match="decode GPUs must be an integer >= 1"):
        modes.PoolSizes(1, True)


# The explorer


def test_every_budget_has_a_small_rendered_frame(explorer):
    assert len(explorer.frames) == len(modes.BUDGET_POSITIONS)
    for frame in explorer.frames:
        assert "data:image/png;base64," in frame.value
        assert 'alt="Three plots of the share of requests' in frame.value
        assert len(frame.value) < 60_000  # bytes of HTML, the PNG included


def test_frames_differ_by_budget(explorer):
    values = [frame.value for frame in explorer.frames]
    assert len(set(values)) == len(values)


def test_slider_is_linked_to_stack_in_browser(explorer):
    assert explorer._link.source == (explorer.slider, "index")
    assert explorer._link.target == (explorer.stack, "selected_index")
    assert explorer.slider.value == modes.DEFAULT_BUDGET


def test_readouts_cover_every_mode(explorer):
    frame = explorer.frames[explorer.slider.index].value
    for mode in modes.MODES:
        assert f">{mode}</th>" in frame
    assert "TPOT p50 / p99" in frame
    assert "Requests meeting the SLO" in frame
    assert "chunked token budget 512" in frame


def test_show_picker_limits_modes():
    settings = {**modes.DEFAULTS, "Show": "colocated vs chunked"}
    frame = modes.render_frame(settings, 256)
    assert ">colocated</th>" in frame
    assert ">chunked</th>" in frame
    assert ">disaggregated</th>" not in frame


def test_model_too_big_shows_message():
    explorer = modes.prefill_decode_modes()
    explorer.pickers["Model"].value = "Llama 3 70B"
    current = explorer.frames[explorer.slider.index].value
    assert 'role="status"' in current
    assert "one GPU per replica" in current
    assert "Traceback" not in current


def test_picker_change_rerenders_and_marks_stale():
    explorer = modes.prefill_decode_modes()
    explorer.pickers["Output median"].value = "256"
    current = explorer.frames[explorer.slider.index].value
    assert "data:image/png;base64," in current
    assert "Updating" in explorer.frames[0].value
    explorer.slider.value = modes.BUDGET_POSITIONS[0]
    assert "data:image/png;base64," in explorer.frames[0].value


def test_unknown_picker_label_is_rejected():
    settings = {**modes.DEFAULTS, "GPUs": "5 GPUs"}
    with pytest.raises(ValueError, match="GPUs '5 GPUs' is not an option"):
        modes.render_frame(settings, 512)


def test_builder_rejects_bad_arguments():
    with pytest.raises(ValueError, match="token_budget must be one of"):
        modes.prefill_decode_modes(token_budget=500)
    with pytest.raises(ValueError, match="unknown picker 'Chip'"):
        modes.prefill_decode_modes(Chip="L4")
    with pytest.raises(ValueError, match="is not an option"):
        modes.prefill_decode_modes(**{"Load per GPU (req/s)": "3"})


def test_static_build_disables_pickers(monkeypatch):
    monkeypatch.setenv(frames.STATIC_BUILD_VARIABLE, "1")
    explorer = modes.prefill_decode_modes()
    assert all(picker.disabled for picker in explorer.pickers.values())
    assert "run the notebook" in explorer.widget.children[-1].value


# Exercise checks


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (lesson05.check_stall_iterations, lesson05.expected_stall_iterations),
        (lesson05.check_kv_megabytes, lesson05.expected_kv_megabytes),
        (lesson05.check_network_transfer, lesson05.expected_network_transfer_ms),
        (lesson05.check_nvlink_transfer, lesson05.expected_nvlink_transfer_ms),
        (lesson05.check_decode_per_prefill, lesson05.expected_decode_per_prefill_gpu),
        (lesson05.check_link_bandwidth, lesson05.expected_link_gbps),
    ],
)
def test_lesson05_checks_accept_expected_answer(check, expected):
    assert check(expected()).startswith("Correct")
    assert not check(expected() * 3).startswith("Correct")
    assert check(None).startswith("No answer yet")


def test_lesson05_expected_values():
    assert lesson05.expected_stall_iterations() == pytest.approx(10.43, abs=0.01)
    assert lesson05.expected_kv_megabytes() == pytest.approx(536.87, abs=0.01)
    assert lesson05.expected_network_transfer_ms() == pytest.approx(10.737, abs=1e-3)
    assert lesson05.expected_nvlink_transfer_ms() == pytest.approx(1.193, abs=1e-3)
    assert lesson05.expected_decode_per_prefill_gpu() == pytest.approx(5.77, abs=0.01)
    assert lesson05.expected_link_gbps() == pytest.approx(132.5, abs=0.1)


def test_chunk_budget_check():
    expected = lesson05.expected_chunk_budget()
    assert expected == 384
    assert lesson05.check_chunk_budget(384) == "Correct."
    assert lesson05.check_chunk_budget(512).startswith("Not yet")
    assert "384" not in lesson05.check_chunk_budget(512)
    assert lesson05.check_chunk_budget(500).startswith("Pick one of the slider's")
