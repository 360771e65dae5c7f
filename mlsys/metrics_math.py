"""Serving metrics: closed-form relations, and measures over a run's load window.

The per-request arrays (TTFT, TPOT, end-to-end latency) live in
:mod:`mlsys.serving_results`. This module adds what lesson 03 builds on them:

- end-to-end latency = TTFT + (n - 1) * TPOT for a request of n output tokens;
- Little's law, mean requests in system = arrival rate * mean time in system;
- the chance that at least one of k requests lands in a tail of share p;
- per-GPU goodput as DistServe defines it (Zhong et al., OSDI 2024): the
  highest request rate at which a target share of requests meets the SLO,
  divided by the GPUs used;
- measures over a window of a run's load, after a warm-up and before the
  drain, so that a finite run reports its steady state.

Times are in seconds, rates per second.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mlsys.serving_results import SLO, SimulationResult


def _require_positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _require_output_tokens(output_tokens: int) -> None:
    if (
        isinstance(output_tokens, bool)
        or not isinstance(output_tokens, int)
        or output_tokens < 1
    ):
        raise ValueError(
            f"output_tokens must be an integer >= 1, got {output_tokens!r}"
        )


def time_per_output_token(
    first_token: float, last_token: float, output_tokens: int
) -> float:
    """Return a request's TPOT: the mean gap between its tokens after the first.

    Raises ``ValueError`` for a request with one output token, which has no gap.
    """
    _require_output_tokens(output_tokens)
    if output_tokens == 1:
        raise ValueError(
            "TPOT is undefined for a request with one output token: it has no gap"
        )
    if last_token < first_token:
        raise ValueError(
            f"last token ({last_token} s) comes before the first ({first_token} s)"
        )
    return (last_token - first_token) / (output_tokens - 1)


def end_to_end_latency(ttft: float, tpot: float, output_tokens: int) -> float:
    """Return TTFT + (n - 1) * TPOT: when a streamed response's last token arrives."""
    _require_output_tokens(output_tokens)
    if not (ttft >= 0 and tpot >= 0):
        raise ValueError(f"ttft and tpot must be times >= 0 s, got {ttft}, {tpot}")
    return ttft + (output_tokens - 1) * tpot


def littles_law_in_system(arrival_rate: float, mean_time_in_system: float) -> float:
    """Return the mean number of requests in the system, L = lambda * W.

    It holds for any stable system over a long run, whatever the arrival
    process, the service times or the scheduler.
    """
    _require_positive("arrival_rate", arrival_rate)
    _require_positive("mean_time_in_system", mean_time_in_system)
    return arrival_rate * mean_time_in_system


def chance_any_in_tail(tail_share: float, requests: int) -> float:
    """Return the chance that at least one of ``requests`` falls in a tail.

    ``tail_share`` is the share of requests in the tail: 0.01 beyond the p99.
    Requests are assumed independent.
    """
    if not 0 <= tail_share <= 1:
        raise ValueError(f"tail_share must be from 0 to 1, got {tail_share!r}")
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
        raise ValueError(f"requests must be an integer >= 1, got {requests!r}")
    return 1 - (1 - tail_share) ** requests


def highest_rate_meeting(
    rates: Sequence[float], attainments: Sequence[float], target: float = 0.9
) -> float | None:
    """Return the highest swept rate up to which every rate meets the target.

    ``attainments[i]`` is the share of requests meeting the SLO at
    ``rates[i]``. The returned rate is a lower bound on DistServe's goodput,
    because the true highest rate lies between it and the next swept rate.
    Returns None when even the lowest rate misses the target.
    """
    if len(rates) != len(attainments) or not rates:
        raise ValueError(
            "rates and attainments must be non-empty and of the same length, got "
            f"{len(rates)} and {len(attainments)}"
        )
    if not 0 < target <= 1:
        raise ValueError(f"target must be a share in (0, 1], got {target!r}")
    best = None
    for rate, attainment in sorted(zip(rates, attainments, strict=True)):
        if attainment < target:
            break
        best = rate
    return best


def per_gpu_goodput(goodput_rate: float, gpus: int) -> float:
    """Return goodput per GPU: a replica's goodput divided by the GPUs it uses."""
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise ValueError(f"gpus must be an integer >= 1, got {gpus!r}")
    return goodput_rate / gpus


@dataclass(frozen=True)
class WindowMeasures:
    """Measures of one run over a measurement window of its load.

    The window runs from ``start`` (after a warm-up) to ``end`` (the last
    arrival). Throughput (requests and tokens per second) counts the work the
    server finished inside it, whichever request the work belonged to.
    Percentiles, SLO attainment and goodput cover one set of requests, those
    that arrived inside it (``measured``), so goodput is always attainment
    times the measured arrival rate.
    """

    start: float  # seconds
    end: float  # seconds
    requests_per_second: float  # requests that finished inside the window
    goodput: float  # measured requests that met the SLO, per second of window
    output_tokens_per_second: float  # tokens generated inside the window
    slo_attainment: float  # share of the measured requests that met the SLO
    measured: np.ndarray = field(repr=False, compare=False)  # arrived in the window

    @property
    def duration(self) -> float:
        """Length of the window, seconds."""
        return self.end - self.start


def measure_load_window(
    result: SimulationResult, slo: SLO, warm_up: float = 0.0
) -> WindowMeasures:
    """Measure throughput, goodput and attainment while load is offered.

    A finite run starts with an empty server and ends with a drain: after the
    last arrival the longest answers finish one token per iteration on a
    nearly idle GPU. ``SimulationResult.requests_per_second`` divides by the
    whole run, drain included. This window skips the first ``warm_up``
    seconds after the first arrival and ends at the last arrival, so that it
    sees the server in its steady state. Tokens are counted per iteration
    from the replicas' timelines: every decoding request gains one token per
    iteration, and each finished prefill adds a first token.

    Goodput and SLO attainment are scored over the same requests, those that
    arrived inside the window, wherever they finish. Counting the SLO-meeting
    completions inside the window instead would, in overload, credit requests
    that arrived during the warm-up, before the queue built up.
    """
    if not warm_up >= 0:
        raise ValueError(f"warm_up must be a time >= 0 s, got {warm_up!r}")
    start = float(result.arrival.min()) + warm_up
    end = float(result.arrival.max())
    if not end > start:
        raise ValueError(
            f"the warm-up of {warm_up} s leaves no window: the arrivals span only "
            f"{end - float(result.arrival.min()):.3g} s"
        )
    duration = end - start
    met = result.meets(slo)
    finished = (result.finish > start) & (result.finish <= end)
    decode_tokens = 0.0
    for replica in result.replicas:
        iterations = replica.iterations
        if len(iterations):
            inside = (iterations[:, 0] >= start) & (iterations[:, 1] <= end)
            decode_tokens += float(iterations[inside, 2].sum())
    first_tokens = np.count_nonzero(
        (result.first_token > start) & (result.first_token <= end)
    )
    measured = result.arrival >= start
    return WindowMeasures(
        start=start,
        end=end,
        requests_per_second=float(np.count_nonzero(finished)) / duration,
        goodput=float(np.count_nonzero(measured & met)) / duration,
        output_tokens_per_second=float(decode_tokens + first_tokens) / duration,
        slo_attainment=float(met[measured].mean()),
        measured=measured,
    )


def mean_requests_in_system(
    result: SimulationResult, start: float, end: float, samples: int = 100_000
) -> float:
    """Return the time average of requests in the system over [start, end].

    It samples ``SimulationResult.requests_in_system`` at ``samples`` evenly
    spaced times, so it is exact up to the sampling step.
    """
    if not end > start:
        raise ValueError(f"end must be after start, got {start} and {end}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
    step = (end - start) / samples
    times = start + step * (np.arange(samples) + 0.5)
    return float(result.requests_in_system(times).mean())
