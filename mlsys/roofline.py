"""The roofline model, and decode and prefill estimates built on it.

An operation that does ``flops`` of arithmetic and moves ``bytes_moved`` between
memory and the chip takes at least ``max(flops / peak, bytes_moved / bandwidth)``
seconds. Whichever term is larger is the wall that binds. Every estimate here is
that lower bound: real kernels reach some fraction of it, which later lessons
measure as MFU and MBU.
"""

from dataclasses import dataclass

from mlsys.hardware import Accelerator, bytes_per_element
from mlsys.models import (
    TransformerSpec,
    lookup_only_parameter_count,
    output_head_parameter_count,
    parameter_count,
)
from mlsys.validation import is_finite_number, is_integer

COMPUTE_BOUND = "compute-bound"
BANDWIDTH_BOUND = "bandwidth-bound"


def _require_positive(name: str, value: float) -> None:
    if not (is_finite_number(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _require_count(name: str, value: int, maximum: int) -> None:
    if not is_integer(value) or not 1 <= value <= maximum:
        raise ValueError(
            f"{name} must be an integer from 1 to {maximum:,}, got {value!r}"
        )


def ridge_point(peak_flops: float, bandwidth: float) -> float:
    """Return the arithmetic intensity (FLOP/byte) where the two roofs meet.

    Below it an operation is bandwidth-bound; above it, compute-bound.
    """
    _require_positive("peak_flops", peak_flops)
    _require_positive("bandwidth", bandwidth)
    return peak_flops / bandwidth


def attainable_flops(intensity: float, peak_flops: float, bandwidth: float) -> float:
    """Return the FLOP/s an operation of ``intensity`` FLOP/byte can reach."""
    _require_positive("intensity", intensity)
    _require_positive("peak_flops", peak_flops)
    _require_positive("bandwidth", bandwidth)
    return min(peak_flops, intensity * bandwidth)


def operation_time(
    flops: float, bytes_moved: float, peak_flops: float, bandwidth: float
) -> float:
    """Return the roofline lower bound on an operation's time, in seconds."""
    _require_positive("flops", flops)
    _require_positive("bytes_moved", bytes_moved)
    _require_positive("peak_flops", peak_flops)
    _require_positive("bandwidth", bandwidth)
    return max(flops / peak_flops, bytes_moved / bandwidth)


def binding_wall(
    flops: float, bytes_moved: float, peak_flops: float, bandwidth: float
) -> str:
    """Return COMPUTE_BOUND or BANDWIDTH_BOUND for an operation on a chip.

    A tie (intensity exactly at the ridge) counts as compute-bound.
    """
    compute_time = flops / peak_flops
    memory_time = bytes_moved / bandwidth
    return COMPUTE_BOUND if compute_time >= memory_time else BANDWIDTH_BOUND


@dataclass(frozen=True)
class StepEstimate:
    """Roofline estimate of one forward pass over a batch of tokens."""

    flops: float
    bytes_moved: float
    time: float  # seconds
    bound: str  # COMPUTE_BOUND or BANDWIDTH_BOUND
    tokens: int  # tokens processed by the step

    @property
    def intensity(self) -> float:
        """Arithmetic intensity in FLOP/byte."""
        return self.flops / self.bytes_moved

    @property
    def tokens_per_second(self) -> float:
        """Tokens processed per second over the whole batch."""
        return self.tokens / self.time


@dataclass(frozen=True)
class DecodeStep(StepEstimate):
    """One decode step: every stream in the batch emits one token."""

    batch: int = 1
    weight_bytes: float = 0.0  # all the weights, which must sit in memory
    fits: bool = True  # whether all the weights fit in the chip's memory

    @property
    def latency_per_token(self) -> float:
        """Seconds between two tokens of one stream: the whole step."""
        return self.time


MAX_BATCH = 1_000_000
MAX_TOKENS = 10_000_000


def _dense_model(model: TransformerSpec) -> None:
    if model.is_moe:
        raise ValueError(
            f"{model.name} is a mixture-of-experts model; this estimate covers dense "
            "models only, because a MoE step reads only the experts its tokens use"
        )


def multiplied_parameter_count(model: TransformerSpec) -> int:
    """Count the parameters a forward pass multiplies each token by.

    That is every parameter except the lookup-only tables (input embeddings
    and learned positions), of which a token reads one row.
    """
    return parameter_count(model) - lookup_only_parameter_count(model)


def decode_step(
    model: TransformerSpec, gpu: Accelerator, batch: int, dtype: str = "bf16"
) -> DecodeStep:
    """Estimate one decode step of a dense model on one chip.

    Assumptions: with M the parameters each token is multiplied by (all but
    the embedding lookup tables), the step does 2 * M * batch FLOPs (one
    multiply-add per parameter per token) and reads those M weights once, at
    ``dtype`` size each; the embedding rows it looks up are negligible.
    KV-cache reads and attention FLOPs are left out, which is close for short
    contexts and optimistic for long ones. Weights that do not fit in memory
    still get an estimate, with ``fits`` set to False.
    """
    _dense_model(model)
    _require_count("batch", batch, MAX_BATCH)
    size = bytes_per_element(dtype)
    multiplied = multiplied_parameter_count(model)
    read = multiplied * size
    flops = 2.0 * multiplied * batch
    peak = gpu.peak_flops(dtype)
    all_weights = parameter_count(model) * size
    return DecodeStep(
        flops=flops,
        bytes_moved=read,
        time=operation_time(flops, read, peak, gpu.memory_bandwidth),
        bound=binding_wall(flops, read, peak, gpu.memory_bandwidth),
        tokens=batch,
        batch=batch,
        weight_bytes=all_weights,
        fits=all_weights <= gpu.memory_bytes,
    )


def ridge_batch(model: TransformerSpec, gpu: Accelerator, dtype: str = "bf16") -> float:
    """Return the decode batch at which a dense model's step reaches the ridge.

    With 2 * M * B FLOPs over M * bytes_per_param bytes, intensity is
    2 * B / bytes_per_param, so the ridge batch is ridge * bytes_per_param / 2.
    """
    _dense_model(model)
    ridge = ridge_point(gpu.peak_flops(dtype), gpu.memory_bandwidth)
    return ridge * bytes_per_element(dtype) / 2


def causal_attention_pairs(new_tokens: int, cached_tokens: int = 0) -> float:
    """Count the query-key pairs of ``new_tokens`` queries under a causal mask.

    Each new token attends to the ``cached_tokens`` before it, to the new
    tokens before it, and to itself: new * cached + new * (new + 1) / 2 pairs.
    """
    return new_tokens * cached_tokens + new_tokens * (new_tokens + 1) / 2


def prefill_flops(
    model: TransformerSpec, prompt_tokens: int, causal: bool = False
) -> float:
    """Return the forward-pass FLOPs of a prompt of ``prompt_tokens`` tokens.

    Every token is multiplied by the transformer's weights (2 FLOPs per
    weight), but only the last one by the output head, because serving needs
    logits only for the next token. Attention's score and value products add
    4 * layers * (heads * head_dim) FLOPs per query-key pair. By default every
    pair of the prompt counts, prompt_tokens**2 of them, the forward share of
    the PaLM paper's 12 * L * H * Q * T per token (appendix B): an upper count
    that ignores the causal mask. With ``causal`` only the pairs a causal
    kernel computes count, about half (``causal_attention_pairs``).
    """
    _dense_model(model)
    _require_count("prompt_tokens", prompt_tokens, MAX_TOKENS)
    head = output_head_parameter_count(model)
    body = multiplied_parameter_count(model) - head
    weights_flops = 2.0 * body * prompt_tokens + 2.0 * head
    attention_width = model.n_heads * model.head_dim
    if causal:
        pairs = causal_attention_pairs(prompt_tokens)
    else:
        pairs = float(prompt_tokens) ** 2
    attention_flops = 4.0 * model.n_layers * attention_width * pairs
    return weights_flops + attention_flops


def prefill(
    model: TransformerSpec,
    gpu: Accelerator,
    prompt_tokens: int,
    dtype: str = "bf16",
    causal: bool = False,
) -> StepEstimate:
    """Estimate the prefill of one prompt on one chip (the time to first token).

    Bytes moved are the multiplied weights read once; activations are assumed
    to stay on chip, which holds for the large matrix multiplications that
    dominate.
    """
    flops = prefill_flops(model, prompt_tokens, causal)
    weights = multiplied_parameter_count(model) * bytes_per_element(dtype)
    peak = gpu.peak_flops(dtype)
    return StepEstimate(
        flops=flops,
        bytes_moved=weights,
        time=operation_time(flops, weights, peak, gpu.memory_bandwidth),
        bound=binding_wall(flops, weights, peak, gpu.memory_bandwidth),
        tokens=prompt_tokens,
    )
