"""Checks for lesson 01's exercises."""

from mlsys import costs
from mlsys.hardware import get_accelerator
from mlsys.models import get_model
from mlsys.notebook import check_answer
from mlsys.roofline import decode_step, prefill, ridge_point


def expected_decode_floor_ms() -> float:
    """Exercise 1: Llama 3 70B, bf16, batch 1, one H200 SXM; ms per token."""
    step = decode_step(get_model("Llama 3 70B"), get_accelerator("H200 SXM"), 1)
    return step.latency_per_token * 1e3


def expected_ridge_mi300x() -> float:
    """Exercise 2: ridge point of the MI300X in bf16, FLOP/byte."""
    gpu = get_accelerator("MI300X")
    return ridge_point(gpu.peak_flops("bf16"), gpu.memory_bandwidth)


def expected_fp8_speedup() -> float:
    """Exercise 3: decode speed-up of Llama 3 8B at batch 8 on H100 SXM, bf16 to fp8."""
    model, gpu = get_model("Llama 3 8B"), get_accelerator("H100 SXM")
    bf16 = decode_step(model, gpu, 8, "bf16")
    fp8 = decode_step(model, gpu, 8, "fp8")
    return bf16.time / fp8.time


def expected_idle_dollars() -> float:
    """Exercise 4: 512 GPUs at $2.50 per hour for 30 days, busy 70 % of the time."""
    return costs.idle_cost(512, 2.50, 30 * 24, idle_fraction=0.30)


def expected_prefill_crossover_tokens() -> float:
    """Exercise 5: prompt length at which Llama 2 7B prefill on A100 is compute-bound.

    Prefill does about 2 * N * P FLOPs on N * 2 bytes of weights, so its
    intensity is about P FLOP/byte, and it crosses the ridge at P = ridge.
    """
    gpu = get_accelerator("A100 SXM 80GB")
    return ridge_point(gpu.peak_flops("bf16"), gpu.memory_bandwidth)


def check_decode_floor(answer_ms: float | None) -> str:
    """Check exercise 1 (milliseconds per token, 2 % tolerance)."""
    return check_answer(answer_ms, expected_decode_floor_ms())


def check_ridge_mi300x(answer: float | None) -> str:
    """Check exercise 2 (FLOP/byte, 2 % tolerance)."""
    return check_answer(answer, expected_ridge_mi300x())


def check_fp8_speedup(answer: float | None) -> str:
    """Check exercise 3 (a ratio, 2 % tolerance)."""
    return check_answer(answer, expected_fp8_speedup())


def check_idle_dollars(answer: float | None) -> str:
    """Check exercise 4 (US dollars, 1 % tolerance)."""
    return check_answer(answer, expected_idle_dollars(), rel_tol=0.01)


def check_prefill_crossover(answer_tokens: float | None) -> str:
    """Check exercise 5 (tokens, 5 % tolerance: the attention term shifts it)."""
    return check_answer(
        answer_tokens, expected_prefill_crossover_tokens(), rel_tol=0.05
    )


def expected_prefill_stall_steps() -> float:
    """Exercise 6: decode steps a 2,000-token prefill stalls a batch of 32 streams.

    Llama 3 8B on H100 SXM, bf16. A batch of 32 is far below the ridge, so its
    step takes as long as a batch of 1.
    """
    model, gpu = get_model("Llama 3 8B"), get_accelerator("H100 SXM")
    return prefill(model, gpu, 2_000).time / decode_step(model, gpu, 32).time


def check_prefill_stall(answer_steps: float | None) -> str:
    """Check exercise 6 (decode steps, 3 % tolerance)."""
    return check_answer(answer_steps, expected_prefill_stall_steps(), rel_tol=0.03)
