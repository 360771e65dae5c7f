"""Checks for lesson 02's exercises."""

import math

from mlsys.hardware import bytes_per_element, get_accelerator
from mlsys.kernels import gemm_intensity, model_flops_utilization, projection_shapes
from mlsys.models import get_model
from mlsys.notebook import check_answer
from mlsys.roofline import prefill_flops, ridge_point

HYPOTHETICAL_PREFILL_SECONDS = 0.055
"""Exercise 4's made-up measurement of a 2,048-token Llama 3 8B prefill on an
H100 SXM. It is an input for practice, not a benchmark result."""


def expected_ffn_down_intensity() -> float:
    """Exercise 1: Llama 3 70B FFN down GEMM at M = 256 tokens in bf16, FLOP/byte."""
    k, n = projection_shapes(get_model("Llama 3 70B"))["FFN down"]
    return gemm_intensity(256, n, k, "bf16")


def expected_crossover_tokens() -> int:
    """Exercise 2: smallest M at which Llama 3 8B's FFN up is compute-bound.

    On an H100 SXM in bf16. Setting 2·M·N·K / (b·(M·K + K·N + M·N)) equal to
    the ridge R and solving for M gives M = R·b·K·N / (2·K·N − R·b·(K + N)).
    """
    k, n = projection_shapes(get_model("Llama 3 8B"))["FFN up"]
    gpu = get_accelerator("H100 SXM")
    ridge = ridge_point(gpu.peak_flops("bf16"), gpu.memory_bandwidth)
    scaled = ridge * bytes_per_element("bf16")
    return math.ceil(scaled * k * n / (2 * k * n - scaled * (k + n)))


def expected_elementwise_flops() -> float:
    """Exercise 3: FLOPs per element that put a bf16 one-in, one-out op at the ridge.

    Such an op moves 4 bytes per element, so it needs ridge × 4 FLOPs per
    element on an H100 SXM.
    """
    gpu = get_accelerator("H100 SXM")
    ridge = ridge_point(gpu.peak_flops("bf16"), gpu.memory_bandwidth)
    return ridge * 2 * bytes_per_element("bf16")


def expected_prefill_mfu_percent() -> float:
    """Exercise 4: MFU of the prefill timed at HYPOTHETICAL_PREFILL_SECONDS, in %."""
    flops = prefill_flops(get_model("Llama 3 8B"), 2_048)
    peak = get_accelerator("H100 SXM").peak_flops("bf16")
    return 100 * model_flops_utilization(flops, HYPOTHETICAL_PREFILL_SECONDS, peak)


def expected_kv_context_tokens() -> float:
    """Exercise 5: context at which one layer's K and V reads equal its weights.

    Llama 3 8B in bf16, decode at batch 64. Per layer the step reads every
    weight matrix once, and each stream's keys and values: 2 · kv_heads ·
    head_dim elements per token of context.
    """
    model = get_model("Llama 3 8B")
    weights = sum(k * n for k, n in projection_shapes(model).values())
    per_token = 64 * 2 * model.n_kv_heads * model.head_dim
    return weights / per_token


def check_ffn_down_intensity(answer: float | None) -> str:
    """Check exercise 1 (FLOP/byte, 2 % tolerance)."""
    return check_answer(answer, expected_ffn_down_intensity())


def check_crossover_tokens(answer: float | None) -> str:
    """Check exercise 2 (tokens): the smallest such M, so only the exact M passes."""
    return check_answer(answer, expected_crossover_tokens(), rel_tol=1e-9)


def check_elementwise_flops(answer: float | None) -> str:
    """Check exercise 3 (FLOPs per element, 2 % tolerance)."""
    return check_answer(answer, expected_elementwise_flops())


def check_prefill_mfu(answer_percent: float | None) -> str:
    """Check exercise 4 (percent, 2 % relative tolerance)."""
    return check_answer(answer_percent, expected_prefill_mfu_percent())


def check_kv_context(answer_tokens: float | None) -> str:
    """Check exercise 5 (tokens of context, 2 % tolerance)."""
    return check_answer(answer_tokens, expected_kv_context_tokens())
