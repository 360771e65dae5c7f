"""Checks for lesson 04's exercises."""

import math

from mlsys.explorers.batching_policies import explorer_workload, steady_throughput
from mlsys.hardware import get_accelerator
from mlsys.models import get_model
from mlsys.notebook import check_answer
from mlsys.roofline import ridge_batch
from mlsys.simulator import Replica, simulate_continuous, simulate_static

STATIC_BATCH_OUTPUTS = (12, 35, 60, 80, 110, 150, 240, 500)
"""Exercise 1: output lengths, in tokens, of the eight requests in one static batch."""

KV_CONTEXT_TOKENS = 4_096
"""Exercise 2: prompt and output tokens that each request reserves."""

TPOT_TARGET = 0.020
TPOT_CONTEXT_TOKENS = 1_024
"""Exercise 4: the TPOT target (seconds) and every stream's context (tokens)."""

SATURATING_RATE = 48.0
SATURATING_MAX_BATCH = 32
"""Exercise 5: an arrival rate (requests/s) above every policy's capacity."""


def expected_padding_share() -> float:
    """Exercise 1: share of a static batch's decode slots spent on finished streams.

    The first token of each request comes from prefill, so the batch runs
    (longest - 1) decode iterations over all eight streams, and a request
    of n tokens uses n - 1 of its slots.
    """
    outputs = STATIC_BATCH_OUTPUTS
    slots = len(outputs) * (max(outputs) - 1)
    useful = sum(n - 1 for n in outputs)
    return 1 - useful / slots


def expected_kv_max_batch() -> int:
    """Exercise 2: requests of 4,096 tokens in Llama 2 7B's KV cache on one H100 SXM."""
    replica = Replica(get_model("Llama 2 7B"), get_accelerator("H100 SXM"))
    return replica.kv_capacity_tokens // KV_CONTEXT_TOKENS


def expected_l4_compute_bound_batch() -> int:
    """Exercise 3: first batch at which Llama 3 8B decode is compute-bound on an L4.

    In lesson 01's weights-only model the step reaches the ridge at batch
    ``ridge_batch``, and it is compute-bound from the next whole batch on.
    """
    crossover = ridge_batch(get_model("Llama 3 8B"), get_accelerator("L4"))
    return math.floor(crossover) + 1


def decode_iteration_time(replica: Replica, batch: int, context: int) -> float:
    """Return the simulator's time (s) for one decode iteration of ``batch`` streams.

    Each stream has ``context`` tokens in its KV cache. The iteration reads all
    of them, and each stream's one new token attends to them.
    """
    pairs = float(batch * context)
    return replica.iteration_time(batch, batch, pairs, pairs)


def expected_tpot_batch() -> int:
    """Exercise 4: the largest decode batch with TPOT within 20 ms.

    Llama 3 8B on one H100 SXM in bf16, every stream at 1,024 tokens of
    context, in the simulator's cost model (2 ms overhead per iteration).
    """
    replica = Replica(get_model("Llama 3 8B"), get_accelerator("H100 SXM"))
    batch = 1
    while decode_iteration_time(replica, batch + 1, TPOT_CONTEXT_TOKENS) <= TPOT_TARGET:
        batch += 1
    return batch


def expected_throughput_gain() -> float:
    """Exercise 5: continuous over static steady output tokens/s, at max batch 32.

    The explorer's 300 requests arrive at 48 requests/s, above what either
    policy keeps up with, so each run measures its policy's capacity. Tokens/s
    are measured over the steady window of ``steady_throughput`` (from the
    arrival of a tenth of the requests to the last arrival), as lesson 03
    advises: the whole-run figure also counts the drain at the end.
    """
    replica = Replica(get_model("Llama 3 8B"), get_accelerator("H100 SXM"))
    requests = explorer_workload(SATURATING_RATE)
    static = simulate_static(requests, replica, SATURATING_MAX_BATCH)
    continuous = simulate_continuous(requests, replica, SATURATING_MAX_BATCH)
    return steady_throughput(continuous) / steady_throughput(static)


def check_padding_share(answer: float | None) -> str:
    """Check exercise 1 (a fraction from 0 to 1, 2 % tolerance)."""
    return check_answer(answer, expected_padding_share())


def check_kv_max_batch(answer: float | None) -> str:
    """Check exercise 2 (requests; a whole number, so the tolerance is under one)."""
    return check_answer(answer, expected_kv_max_batch(), rel_tol=0.01)


def check_l4_compute_bound_batch(answer: float | None) -> str:
    """Check exercise 3 (a batch size, 2 % tolerance: the ridge itself is accepted)."""
    return check_answer(answer, expected_l4_compute_bound_batch())


def check_tpot_batch(answer: float | None) -> str:
    """Check exercise 4 (a batch size): the largest such batch, so only it passes."""
    return check_answer(answer, expected_tpot_batch(), rel_tol=1e-9)


def check_throughput_gain(answer: float | None) -> str:
    """Check exercise 5 (a ratio, 0.5 % tolerance).

    The whole-run ratio of ``output_tokens_per_second`` falls outside it, also
    when rounded to 2.3, so the check rejects that answer.
    """
    return check_answer(answer, expected_throughput_gain(), rel_tol=0.005)
