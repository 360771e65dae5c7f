"""Results of a serving simulation: per-request latencies and fleet measures.

Definitions used throughout the course:

- TTFT (time to first token) = first token - arrival.
- TPOT (time per output token) = (last token - first token) / (output tokens
  - 1), the mean gap between a request's tokens after the first; undefined
  (NaN) for a one-token answer.
- End-to-end latency = finish - arrival. A request finishes with its last
  token, except under static and dynamic batching, where it returns with the
  rest of its batch.
- Goodput = requests per second that meet every latency target of an SLO,
  counted over the run; SLO attainment = the share of requests that do.
"""

import math
from dataclasses import dataclass

import numpy as np

TIMELINE_COLUMNS = ("start", "end", "decode_tokens", "prefill_tokens", "running")
"""Columns of a replica's timeline: one row per iteration."""


@dataclass(frozen=True)
class SLO:
    """Latency targets, in seconds. A request meets the SLO if it meets both."""

    ttft: float = math.inf
    tpot: float = math.inf

    def __post_init__(self) -> None:
        for name in ("ttft", "tpot"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"SLO {name} must be a time > 0 s, got {value!r}")


@dataclass(frozen=True)
class ReplicaTimeline:
    """Per-iteration record of one replica's work (see TIMELINE_COLUMNS)."""

    name: str
    iterations: np.ndarray  # shape (iterations, 5)

    @property
    def busy_time(self) -> float:
        """Seconds spent running iterations."""
        if not len(self.iterations):
            return 0.0
        return float((self.iterations[:, 1] - self.iterations[:, 0]).sum())


@dataclass(frozen=True)
class SimulationResult:
    """Per-request times and per-replica timelines of one simulated run."""

    scheduler: str
    arrival: np.ndarray
    first_token: np.ndarray
    last_token: np.ndarray
    finish: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    max_token_gap: np.ndarray  # maximum wait between two tokens of each request
    replicas: list[ReplicaTimeline]

    @property
    def ttft(self) -> np.ndarray:
        """Time to first token of each request, seconds."""
        return self.first_token - self.arrival

    @property
    def tpot(self) -> np.ndarray:
        """Mean time per output token after the first, seconds (NaN for one token)."""
        steps = self.output_tokens - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = self.last_token - self.first_token
            return np.where(steps > 0, spread / steps, np.nan)

    @property
    def e2e(self) -> np.ndarray:
        """End-to-end latency of each request, seconds."""
        return self.finish - self.arrival

    @property
    def makespan(self) -> float:
        """Seconds from the first arrival to the last finish."""
        return float(self.finish.max() - self.arrival.min())

    @property
    def output_tokens_per_second(self) -> float:
        """Generated tokens per second over the run."""
        return float(self.output_tokens.sum()) / self.makespan

    @property
    def requests_per_second(self) -> float:
        """Completed requests per second over the run."""
        return len(self.arrival) / self.makespan

    def meets(self, slo: SLO) -> np.ndarray:
        """Whether each request meets the SLO (a one-token answer has no TPOT)."""
        tpot_ok = np.isnan(self.tpot) | (self.tpot <= slo.tpot)
        return (self.ttft <= slo.ttft) & tpot_ok

    def slo_attainment(self, slo: SLO) -> float:
        """Share of requests that meet the SLO, from 0 to 1."""
        return float(self.meets(slo).mean())

    def goodput(self, slo: SLO) -> float:
        """Requests per second that meet the SLO, over the run."""
        return float(self.meets(slo).sum()) / self.makespan

    def busy_fraction(self) -> dict[str, float]:
        """Share of the run each replica spent running iterations."""
        return {r.name: r.busy_time / self.makespan for r in self.replicas}

    def percentiles(self, values: np.ndarray, points=(50, 90, 99)) -> dict[int, float]:
        """Percentiles of a per-request measure, ignoring NaN."""
        return {p: float(np.nanpercentile(values, p)) for p in points}

    def requests_in_system(self, times: np.ndarray) -> np.ndarray:
        """Number of requests that have arrived and not finished at each time."""
        arrived = np.searchsorted(np.sort(self.arrival), times, side="right")
        finished = np.searchsorted(np.sort(self.finish), times, side="right")
        return arrived - finished
