"""Checks for lesson 05's exercises: prefill, decode and the link between them."""

import numpy as np

from mlsys.explorers import prefill_decode_modes as modes
from mlsys.hardware import get_accelerator
from mlsys.models import get_model
from mlsys.notebook import check_answer
from mlsys.roofline import causal_attention_pairs
from mlsys.simulator import Replica, kv_transfer_time

H100 = get_accelerator("H100 SXM")

# Exercise 1: a whole prompt admitted beside a running batch of decodes.
STALL_DECODES = 48
STALL_CONTEXT = 1_500  # tokens of KV cache per decoding stream
STALL_PROMPT = 6_000

# Exercise 2: one prompt's KV cache sent from a prefill GPU to a decode GPU.
TRANSFER_PROMPT = 4_096
NETWORK_BANDWIDTH = 50e9  # bytes/s: one 400 Gbit/s port, an assumption

# Exercise 3: the largest token budget that keeps p99 TPOT under a target.
CHUNK_TPOT_TARGET = 0.009  # seconds
CHUNK_LOAD_PER_GPU = 12.0  # requests/s per GPU, on the explorer's two GPUs

# Exercise 4: pool sizes from per-phase throughput.
RATIO_PROMPT_MEDIAN = 1_024
RATIO_OUTPUT_MEDIAN = 512
RATIO_TPOT_TARGET = 0.010  # seconds

# Exercise 5: the link that moves a prompt's KV cache within one decode iteration.
LINK_MODEL = "Llama 2 7B"
LINK_PROMPT = 4_096
LINK_BATCH = 32
LINK_CONTEXT = 2_048


def _replica(model_name: str = "Llama 3 8B") -> Replica:
    return Replica(get_model(model_name), H100)


def decode_iteration_time(replica: Replica, batch: int, context: float) -> float:
    """Return the seconds of one decode-only iteration of ``batch`` streams.

    Each stream has ``context`` tokens of KV cache, which its attention reads.
    """
    pairs = batch * context
    return replica.iteration_time(batch, batch, pairs, pairs)


def expected_stall_iterations() -> float:
    """Exercise 1: how many decode-only iterations the mixed iteration lasts."""
    replica = _replica()
    pairs = STALL_DECODES * STALL_CONTEXT
    mixed = replica.iteration_time(
        STALL_DECODES + STALL_PROMPT,
        STALL_DECODES + 1,
        pairs + causal_attention_pairs(STALL_PROMPT),
        pairs,
    )
    return mixed / decode_iteration_time(replica, STALL_DECODES, STALL_CONTEXT)


def expected_kv_megabytes() -> float:
    """Exercise 2a: KV cache of a 4,096-token Llama 3 8B prompt in bf16, in MB."""
    return TRANSFER_PROMPT * _replica().kv_bytes_per_token / 1e6


def expected_network_transfer_ms() -> float:
    """Exercise 2b: its transfer time over a 50 GB/s link, in milliseconds."""
    return kv_transfer_time(_replica(), TRANSFER_PROMPT, NETWORK_BANDWIDTH) * 1e3


def expected_nvlink_transfer_ms() -> float:
    """Exercise 2c: its transfer time over the H100's NVLink, one direction, in ms."""
    link = H100.interconnect.bandwidth_per_direction
    return kv_transfer_time(_replica(), TRANSFER_PROMPT, link) * 1e3


def p99_tpot_by_budget(
    load_per_gpu: float = CHUNK_LOAD_PER_GPU,
) -> dict[int, float]:
    """Return p99 TPOT (s) for each slider budget, on the explorer's default setup."""
    pools = modes.PoolSizes(1, 1)
    requests = modes.explorer_workload(1024, 128, load_per_gpu * pools.total)
    replica = _replica()
    return {
        budget: float(
            np.nanpercentile(
                modes.simulate_mode("chunked", requests, replica, pools, budget).tpot,
                99,
            )
        )
        for budget in modes.BUDGET_POSITIONS
    }


def expected_chunk_budget() -> float:
    """Exercise 3: the largest slider budget whose p99 TPOT meets the target."""
    meeting = [
        budget
        for budget, tpot in p99_tpot_by_budget().items()
        if tpot <= CHUNK_TPOT_TARGET
    ]
    return float(max(meeting))


def per_phase_throughput() -> dict[str, float]:
    """Exercise 4: the workload's mean lengths and each phase's tokens/s per GPU.

    Prefill: one iteration of the prefill pool's 8,192-token budget, filled with
    prompts of the mean length (attention pairs counted causally, averaged over
    the prompts).
    Decode: the largest batch whose iteration, at the mean context (prompt plus
    half the output), fits the TPOT target.
    """
    requests = modes.explorer_workload(RATIO_PROMPT_MEDIAN, RATIO_OUTPUT_MEDIAN, 1.0)
    prompts = np.array([r.prompt_tokens for r in requests], dtype=float)
    outputs = np.array([r.output_tokens for r in requests], dtype=float)
    replica = _replica()
    budget = 8192
    per_iteration = budget / prompts.mean()
    prefill_time = replica.iteration_time(
        budget,
        per_iteration,
        per_iteration * float(np.mean(prompts * (prompts + 1) / 2)),
        0.0,
    )
    context = prompts.mean() + outputs.mean() / 2
    batch = 1
    while decode_iteration_time(replica, batch + 1, context) <= RATIO_TPOT_TARGET:
        batch += 1
    decode_time = decode_iteration_time(replica, batch, context)
    return {
        "mean_prompt_tokens": float(prompts.mean()),
        "mean_output_tokens": float(outputs.mean()),
        "prefill_tokens_per_second": float(budget / prefill_time),
        "decode_batch": float(batch),
        "decode_tokens_per_second": float(batch / decode_time),
    }


def expected_decode_per_prefill_gpu() -> float:
    """Exercise 4: decode GPUs needed per prefill GPU (decode makes outputs - 1)."""
    phase = per_phase_throughput()
    prefill_gpus = phase["mean_prompt_tokens"] / phase["prefill_tokens_per_second"]
    decode_gpus = (phase["mean_output_tokens"] - 1) / phase["decode_tokens_per_second"]
    return decode_gpus / prefill_gpus


def expected_link_gbps() -> float:
    """Exercise 5: GB/s at which the KV transfer lasts one decode iteration."""
    replica = _replica(LINK_MODEL)
    kv_bytes = LINK_PROMPT * replica.kv_bytes_per_token
    return kv_bytes / decode_iteration_time(replica, LINK_BATCH, LINK_CONTEXT) / 1e9


def check_stall_iterations(answer: float | None) -> str:
    """Check exercise 1 (decode iterations, 3 % tolerance)."""
    return check_answer(answer, expected_stall_iterations(), rel_tol=0.03)


def check_kv_megabytes(answer_mb: float | None) -> str:
    """Check exercise 2a (decimal megabytes, 2 % tolerance)."""
    return check_answer(answer_mb, expected_kv_megabytes())


def check_network_transfer(answer_ms: float | None) -> str:
    """Check exercise 2b (milliseconds over 50 GB/s, 2 % tolerance)."""
    return check_answer(answer_ms, expected_network_transfer_ms())


def check_nvlink_transfer(answer_ms: float | None) -> str:
    """Check exercise 2c (milliseconds over NVLink per direction, 2 % tolerance)."""
    return check_answer(answer_ms, expected_nvlink_transfer_ms())


def check_chunk_budget(answer_tokens: float | None) -> str:
    """Check exercise 3 (a token budget from the slider's positions, exact)."""
    if answer_tokens is not None and answer_tokens not in modes.BUDGET_POSITIONS:
        positions = ", ".join(f"{b:,}" for b in modes.BUDGET_POSITIONS)
        return f"Pick one of the slider's budgets: {positions}."
    expected = expected_chunk_budget()
    if answer_tokens == expected:
        return "Correct."
    return check_answer(answer_tokens, expected, rel_tol=1e-9)


def check_decode_per_prefill(answer: float | None) -> str:
    """Check exercise 4 (decode GPUs per prefill GPU, 5 % tolerance)."""
    return check_answer(answer, expected_decode_per_prefill_gpu(), rel_tol=0.05)


def check_link_bandwidth(answer_gbps: float | None) -> str:
    """Check exercise 5 (GB/s, 3 % tolerance)."""
    return check_answer(answer_gbps, expected_link_gbps(), rel_tol=0.03)
