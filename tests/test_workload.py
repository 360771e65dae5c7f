import numpy as np
import pytest

from mlsys.workload import (
    Request,
    example_trace,
    load_trace,
    lognormal_lengths,
    make_requests,
    poisson_arrivals,
    poisson_workload,
)


def test_same_seed_same_requests():
    assert poisson_workload(5.0, 50, seed=3) == poisson_workload(5.0, 50, seed=3)
    assert poisson_workload(5.0, 50, seed=3) != poisson_workload(5.0, 50, seed=4)


def test_poisson_mean_gap_matches_rate():
    arrivals = poisson_arrivals(rate=4.0, count=20_000, seed=1)
    assert np.all(np.diff(arrivals) >= 0)
    assert np.mean(np.diff(arrivals)) == pytest.approx(0.25, rel=0.03)


def test_lognormal_lengths_median_and_clipping():
    lengths = lognormal_lengths(200, 0.8, 20_000, seed=2, low=8, high=1000)
    assert np.median(lengths) == pytest.approx(200, rel=0.05)
    assert lengths.min() >= 8
    assert lengths.max() <= 1000
    assert np.all(lognormal_lengths(50, 0.0, 10, seed=0) == 50)


def test_make_requests_sorts_by_arrival():
    requests = make_requests([2.0, 1.0], [10, 20], [5, 6])
    assert [r.arrival for r in requests] == [1.0, 2.0]
    assert requests[0].prompt_tokens == 20


def test_example_trace_loads():
    trace = example_trace()
    assert len(trace) == 200
    assert all(a.arrival <= b.arrival for a, b in zip(trace, trace[1:], strict=False))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"arrival": -1.0}, "arrival must be a time >= 0 s"),
        ({"prompt_tokens": 0}, "prompt_tokens must be an integer >= 1"),
        ({"output_tokens": -3}, "output_tokens must be an integer >= 1"),
        ({"output_tokens": 2.5}, "output_tokens must be an integer >= 1"),
    ],
)
def test_request_rejects_bad_fields(changes, message):
    fields = {"id": 0, "arrival": 0.0, "prompt_tokens": 10, "output_tokens": 10}
    fields.update(changes)
    with pytest.raises(ValueError, match=message):
        Request(**fields)


def test_zero_arrival_rate_rejected():
    with pytest.raises(ValueError, match="arrival rate must be > 0"):
        poisson_arrivals(0.0, 10, seed=0)


def test_bad_counts_and_lengths_rejected():
    with pytest.raises(ValueError, match="request count must be an integer >= 1"):
        poisson_arrivals(1.0, 0, seed=0)
    with pytest.raises(ValueError, match="need median >= 1"):
        lognormal_lengths(0, 1.0, 5, seed=0)
    with pytest.raises(ValueError, match="same length"):
        make_requests([1.0], [1, 2], [1])


def test_trace_with_missing_column_rejected(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("arrival_s,prompt_tokens\n0.1,10\n")
    with pytest.raises(ValueError, match="missing column 'output_tokens'"):
        load_trace(path)
