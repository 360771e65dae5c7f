"""Requests for the serving simulator: arrivals and prompt and output lengths.

Everything random takes a seed, so the same call returns the same requests.
Times are in seconds from the start of the run; lengths are in tokens.
"""

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlsys.validation import is_finite_number, is_integer

EXAMPLE_TRACE = Path(__file__).parent / "data" / "example_trace.csv"
"""A small synthetic chat-like trace shipped with the library; see ``example_trace``."""


@dataclass(frozen=True)
class Request:
    """One inference request: its arrival and the tokens it reads and writes."""

    id: int
    arrival: float  # seconds
    prompt_tokens: int
    output_tokens: int  # the first is produced by prefill, the rest by decode

    def __post_init__(self) -> None:
        if not (math.isfinite(self.arrival) and self.arrival >= 0):
            raise ValueError(
                f"request {self.id}: arrival must be a time >= 0 s, got {self.arrival}"
            )
        for name in ("prompt_tokens", "output_tokens"):
            value = getattr(self, name)
            if not is_integer(value) or value < 1:
                raise ValueError(
                    f"request {self.id}: {name} must be an integer >= 1, got {value!r}"
                )


def poisson_arrivals(rate: float, count: int, seed: int) -> np.ndarray:
    """Return ``count`` arrival times (s) of a Poisson process, ``rate`` per second."""
    if not (is_finite_number(rate) and rate > 0):
        raise ValueError(f"arrival rate must be > 0 requests/s, got {rate!r}")
    _require_count(count)
    gaps = np.random.default_rng(seed).exponential(1.0 / rate, size=count)
    return np.cumsum(gaps)


def lognormal_lengths(
    median: float, sigma: float, count: int, seed: int, low: int = 1, high: int = 32_768
) -> np.ndarray:
    """Return ``count`` lognormal token lengths, rounded and clipped to [low, high].

    ``median`` is the distribution's median in tokens; ``sigma`` is the standard
    deviation of the log, so 0 gives every request the median.
    """
    if not (median >= 1 and sigma >= 0 and 1 <= low <= high):
        raise ValueError(
            f"need median >= 1, sigma >= 0 and 1 <= low <= high; got median={median}, "
            f"sigma={sigma}, low={low}, high={high}"
        )
    _require_count(count)
    draws = np.random.default_rng(seed).lognormal(math.log(median), sigma, size=count)
    return np.clip(np.rint(draws), low, high).astype(int)


def _require_count(count: int) -> None:
    if not is_integer(count) or count < 1:
        raise ValueError(f"request count must be an integer >= 1, got {count!r}")


def make_requests(
    arrivals: Sequence[float],
    prompt_tokens: Sequence[int],
    output_tokens: Sequence[int],
) -> list[Request]:
    """Zip arrival times and lengths into requests, sorted by arrival."""
    if not len(arrivals) == len(prompt_tokens) == len(output_tokens):
        raise ValueError(
            "arrivals, prompt_tokens and output_tokens must have the same length, got "
            f"{len(arrivals)}, {len(prompt_tokens)} and {len(output_tokens)}"
        )
    order = np.argsort(np.asarray(arrivals, dtype=float), kind="stable")
    return [
        Request(
            id=index,
            arrival=float(arrivals[i]),
            prompt_tokens=int(prompt_tokens[i]),
            output_tokens=int(output_tokens[i]),
        )
        for index, i in enumerate(order)
    ]


def poisson_workload(
    rate: float,
    count: int,
    seed: int,
    prompt_median: float = 512,
    prompt_sigma: float = 0.8,
    output_median: float = 200,
    output_sigma: float = 0.8,
) -> list[Request]:
    """Build ``count`` requests with Poisson arrivals and lognormal lengths.

    The default lengths are an assumption meant to resemble chat traffic
    (prompts of a few hundred tokens, answers of a few hundred), not a
    measurement. Prompts are clipped to 16-8,192 tokens and outputs to 8-2,048.
    """
    arrivals = poisson_arrivals(rate, count, seed)
    prompts = lognormal_lengths(prompt_median, prompt_sigma, count, seed + 1, 16, 8192)
    outputs = lognormal_lengths(output_median, output_sigma, count, seed + 2, 8, 2048)
    return make_requests(arrivals, prompts, outputs)


def load_trace(path: Path | str) -> list[Request]:
    """Read requests from a CSV with columns arrival_s, prompt_tokens, output_tokens."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    if not rows:
        raise ValueError(f"trace {path} has no requests")
    try:
        return make_requests(
            [float(row["arrival_s"]) for row in rows],
            [int(row["prompt_tokens"]) for row in rows],
            [int(row["output_tokens"]) for row in rows],
        )
    except KeyError as error:
        raise ValueError(
            f"trace {path} is missing column {error}; expected arrival_s, "
            "prompt_tokens, output_tokens"
        ) from None


def example_trace() -> list[Request]:
    """Return the shipped example: 200 synthetic chat-like requests over two minutes.

    It was generated once by ``poisson_workload(rate=2.0, count=200, seed=2026)``
    and saved, so that lessons can replay a fixed list. Its shape is the
    assumption stated there, not a recording of real users.
    """
    return load_trace(EXAMPLE_TRACE)
