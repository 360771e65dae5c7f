"""FLOPs, bytes and arithmetic intensity of the kernels in a transformer layer.

FLOPs count a multiply-add as 2. Bytes are the minimum traffic between memory
and the chip: every input read once and every output written once, which a
kernel reaches only if it never fetches an element twice. Real kernels move at
least that much, so an intensity here is an upper bound on the real one and a
time built on it is a lower bound. All operands of a kernel share one data type.

The module also turns a measured time into MFU and MBU, the fractions of the
two roofs that a kernel or a whole step reaches.
"""

import math
from dataclasses import dataclass

from mlsys.hardware import bytes_per_element
from mlsys.models import TransformerSpec
from mlsys.roofline import MAX_BATCH, MAX_TOKENS, operation_time

MAX_DIMENSION = 10_000_000
"""Largest matrix dimension accepted, far above any layer's."""
MAX_ELEMENTS = 10**15
"""Largest element count accepted, more than any accelerator's memory can store."""

PROJECTION = "projection"
"""Kind of operator: a GEMM of activations with a weight matrix."""
ATTENTION = "attention"
"""Kind of operator: attention's score or value product, or its softmax."""
ELEMENTWISE = "element-wise"
"""Kind of operator: a norm, an activation function or a residual add."""
OPERATOR_KINDS = (PROJECTION, ATTENTION, ELEMENTWISE)

# FLOPs per element of the element-wise steps. Counting conventions differ, and
# here an exponential is one FLOP. Common counts all keep these steps near
# 1 FLOP/byte.
RMSNORM_FLOPS = 4  # square, add to the sum, scale by 1/rms, multiply by the weight
LAYERNORM_FLOPS = 7  # RMSNorm's four, plus subtracting the mean and adding a bias
SWIGLU_FLOPS = 5  # sigmoid (exp, add, divide), times the gate, times the up output
RELU_FLOPS = 1  # one comparison
ADD_FLOPS = 1  # residual add
SOFTMAX_FLOPS = 5  # row max, subtract it, exp, add to the row sum, divide


def _require_count(name: str, value: int, maximum: int = MAX_DIMENSION) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= maximum
    ):
        raise ValueError(
            f"{name} must be an integer from 1 to {maximum:,}, got {value!r}"
        )


def _require_positive(name: str, value: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def gemm_flops(m: int, n: int, k: int) -> float:
    """Return the FLOPs of C = A·B with A of M×K and B of K×N: 2·M·N·K."""
    for name, value in (("m", m), ("n", n), ("k", k)):
        _require_count(name, value)
    return 2.0 * m * n * k


def gemm_bytes(
    m: int, n: int, k: int, dtype: str = "bf16", out_dtype: str | None = None
) -> float:
    """Return the minimum bytes a GEMM moves: A and B read once, C written once.

    That is bytes_per_element · (M·K + K·N + M·N), with every operand in ``dtype``.
    ``out_dtype``, when given, is the type of the output C instead: an fp8 GEMM
    that writes a bf16 output moves 1 · (M·K + K·N) + 2 · M·N bytes.
    """
    for name, value in (("m", m), ("n", n), ("k", k)):
        _require_count(name, value)
    inputs = bytes_per_element(dtype) * (m * k + k * n)
    output = bytes_per_element(out_dtype or dtype) * (m * n)
    return inputs + output


def gemm_intensity(
    m: int, n: int, k: int, dtype: str = "bf16", out_dtype: str | None = None
) -> float:
    """Return a GEMM's arithmetic intensity in FLOP/byte.

    2·M·N·K / (bytes_per_element · (M·K + K·N + M·N)). When M is much smaller
    than K and N, as in decode, this is about 2·M / bytes_per_element.
    ``out_dtype`` sets the output's type, as in :func:`gemm_bytes`.
    """
    return gemm_flops(m, n, k) / gemm_bytes(m, n, k, dtype, out_dtype)


def gemv_intensity(n: int, k: int, dtype: str = "bf16") -> float:
    """Return the intensity of y = W·x with W of N×K: a GEMM with M = 1.

    Each weight is read once and used for one multiply-add, so the intensity is
    just under 2 / bytes_per_element: 1 FLOP/byte in 16-bit types.
    """
    return gemm_intensity(1, n, k, dtype)


def elementwise_intensity(
    flops_per_element: float,
    inputs: int = 1,
    outputs: int = 1,
    dtype: str = "bf16",
) -> float:
    """Return the intensity of an element-wise operation on large tensors.

    Each output element costs ``flops_per_element`` FLOPs and needs one element
    from each of ``inputs`` tensors, and ``outputs`` tensors are written. A bf16 add
    (1 FLOP, 2 inputs, 1 output) is 1 / 6 FLOP/byte.
    """
    _require_positive("flops_per_element", flops_per_element)
    _require_count("inputs", inputs, maximum=16)
    _require_count("outputs", outputs, maximum=16)
    return flops_per_element / (bytes_per_element(dtype) * (inputs + outputs))


@dataclass(frozen=True)
class Operator:
    """One kernel of a layer: what it computes and the traffic it needs."""

    name: str
    kind: str  # one of OPERATOR_KINDS
    flops: float
    bytes_moved: float  # minimum bytes between memory and the chip

    def __post_init__(self) -> None:
        if self.kind not in OPERATOR_KINDS:
            raise ValueError(
                f"{self.name}: kind {self.kind!r} must be one of "
                f"{', '.join(OPERATOR_KINDS)}"
            )
        _require_positive(f"{self.name}: flops", self.flops)
        _require_positive(f"{self.name}: bytes_moved", self.bytes_moved)

    @property
    def intensity(self) -> float:
        """Arithmetic intensity in FLOP/byte."""
        return self.flops / self.bytes_moved


def gemm_operator(name: str, m: int, n: int, k: int, dtype: str = "bf16") -> Operator:
    """Build the operator of an M×K by K×N weight GEMM."""
    return Operator(name, PROJECTION, gemm_flops(m, n, k), gemm_bytes(m, n, k, dtype))


def elementwise_operator(
    name: str,
    elements: int,
    flops_per_element: float,
    inputs: int = 1,
    outputs: int = 1,
    dtype: str = "bf16",
    parameters: int = 0,
) -> Operator:
    """Build an element-wise operator over ``elements`` output elements.

    ``parameters`` counts extra elements read once, such as a norm's weight
    vector; it matters only when ``elements`` is small, as in decode.
    """
    _require_count("elements", elements, MAX_ELEMENTS)
    _require_count("inputs", inputs, maximum=16)
    _require_count("outputs", outputs, maximum=16)
    _require_positive("flops_per_element", flops_per_element)
    if (
        isinstance(parameters, bool)
        or not isinstance(parameters, int)
        or parameters < 0
    ):
        raise ValueError(f"parameters must be an integer >= 0, got {parameters!r}")
    moved = bytes_per_element(dtype) * (elements * (inputs + outputs) + parameters)
    return Operator(name, ELEMENTWISE, flops_per_element * elements, moved)


def _require_supported(model: TransformerSpec) -> None:
    if model.is_moe or model.mla is not None:
        raise ValueError(
            f"{model.name} uses mixture-of-experts layers or latent attention; "
            "layer operators are listed for dense models with MHA or GQA only"
        )


def projection_shapes(model: TransformerSpec) -> dict[str, tuple[int, int]]:
    """Return (K, N) of each weight matrix in one layer, keyed by operator name.

    The query, key and value matrices are fused into one QKV projection, as
    serving engines usually run them. Biases are left out. A SwiGLU FFN has
    gate, up and down matrices, and a ReLU FFN has up and down.
    """
    _require_supported(model)
    hidden = model.hidden_size
    query_width = model.n_heads * model.head_dim
    kv_width = model.n_kv_heads * model.head_dim
    shapes = {
        "QKV projection": (hidden, query_width + 2 * kv_width),
        "Attention output projection": (query_width, hidden),
    }
    if model.ffn_activation == "swiglu":
        shapes["FFN gate"] = (hidden, model.ffn_size)
    shapes["FFN up"] = (hidden, model.ffn_size)
    shapes["FFN down"] = (model.ffn_size, hidden)
    return shapes


def _attention_operators(
    model: TransformerSpec, sequences: int, queries: int, keys: int, dtype: str
) -> list[Operator]:
    """Score product, softmax and value product, unfused, over all heads.

    Each sequence has ``queries`` query tokens that attend to ``keys`` tokens.
    The score matrix is written to memory by the first product, read and
    written by the softmax, and read by the second product. Every score is
    counted: a causal mask, which halves the useful ones in prefill, is ignored.
    """
    size = bytes_per_element(dtype)
    heads, kv_heads, head_dim = model.n_heads, model.n_kv_heads, model.head_dim
    scores = sequences * heads * queries * keys
    product_flops = 2.0 * scores * head_dim
    query_bytes = size * sequences * queries * heads * head_dim
    cache_bytes = size * sequences * keys * kv_heads * head_dim  # K or V
    score_bytes = size * scores
    return [
        Operator(
            "Attention scores (Q·Kᵀ)",
            ATTENTION,
            product_flops,
            query_bytes + cache_bytes + score_bytes,
        ),
        Operator("Softmax", ATTENTION, SOFTMAX_FLOPS * float(scores), 2 * score_bytes),
        Operator(
            "Attention values (P·V)",
            ATTENTION,
            product_flops,
            score_bytes + cache_bytes + query_bytes,  # output is as wide as Q
        ),
    ]


def _layer_operators(
    model: TransformerSpec,
    rows: int,
    attention: list[Operator],
    dtype: str,
) -> tuple[Operator, ...]:
    hidden = model.hidden_size
    shapes = projection_shapes(model)
    if model.norm == "rmsnorm":
        norm_name, norm_flops, norm_parameters = "RMSNorm", RMSNORM_FLOPS, hidden
    else:
        norm_name, norm_flops, norm_parameters = (
            "LayerNorm",
            LAYERNORM_FLOPS,
            2 * hidden,
        )
    swiglu = model.ffn_activation == "swiglu"

    def norm(label: str) -> Operator:
        return elementwise_operator(
            f"{norm_name} ({label})",
            rows * hidden,
            norm_flops,
            dtype=dtype,
            parameters=norm_parameters,
        )

    def projection(name: str) -> Operator:
        k, n = shapes[name]
        return gemm_operator(name, rows, n, k, dtype)

    def residual(label: str) -> Operator:
        return elementwise_operator(
            f"Residual add ({label})", rows * hidden, ADD_FLOPS, inputs=2, dtype=dtype
        )

    ffn_in = (
        [projection("FFN gate"), projection("FFN up")]
        if swiglu
        else [projection("FFN up")]
    )
    activation = elementwise_operator(
        "SwiGLU activation" if swiglu else "ReLU activation",
        rows * model.ffn_size,
        SWIGLU_FLOPS if swiglu else RELU_FLOPS,
        inputs=2 if swiglu else 1,
        dtype=dtype,
    )
    return (
        norm("attention input"),
        projection("QKV projection"),
        *attention,
        projection("Attention output projection"),
        residual("attention"),
        norm("FFN input"),
        *ffn_in,
        activation,
        projection("FFN down"),
        residual("FFN"),
    )


def prefill_layer_operators(
    model: TransformerSpec, tokens: int, dtype: str = "bf16"
) -> tuple[Operator, ...]:
    """List the operators of one layer during the prefill of a ``tokens``-long prompt.

    The weight GEMMs have M = ``tokens``. Attention is modelled unfused: the
    score and value products are batched GEMMs per head, with the
    tokens × tokens score matrix written to memory and read back around the
    softmax, and every score counted (the causal mask is ignored). Lesson 08
    replaces this with a fused kernel. Rotary embeddings and biases are left
    out. Dense models with MHA or GQA only.
    """
    _require_supported(model)
    _require_count("tokens", tokens, MAX_TOKENS)
    attention = _attention_operators(model, 1, tokens, tokens, dtype)
    return _layer_operators(model, tokens, attention, dtype)


def decode_layer_operators(
    model: TransformerSpec, batch: int, context: int, dtype: str = "bf16"
) -> tuple[Operator, ...]:
    """List the operators of one layer in a decode step of ``batch`` streams.

    Each stream adds one token that attends to ``context`` tokens, so the
    weight GEMMs have M = ``batch`` while the attention products read each
    stream's own ``context`` cached keys and values (stored in ``dtype``).
    Attention is unfused, as in :func:`prefill_layer_operators`.
    """
    _require_supported(model)
    _require_count("batch", batch, MAX_BATCH)
    _require_count("context", context, MAX_TOKENS)
    attention = _attention_operators(model, batch, 1, context, dtype)
    return _layer_operators(model, batch, attention, dtype)


def model_flops_utilization(flops: float, seconds: float, peak_flops: float) -> float:
    """Return MFU: the FLOP/s the model's arithmetic achieved over the chip's peak.

    ``flops`` counts the model's own arithmetic, not recomputation. A value
    above 1 means the FLOP count, the time (in seconds) or the peak is wrong.
    """
    _require_positive("flops", flops)
    _require_positive("seconds", seconds)
    _require_positive("peak_flops", peak_flops)
    return flops / seconds / peak_flops


def model_bandwidth_utilization(
    bytes_moved: float, seconds: float, bandwidth: float
) -> float:
    """Return MBU: the bytes/s that the required traffic achieved over peak bandwidth.

    ``bytes_moved`` is the traffic the work needs (weights and KV cache for a
    decode step), not what a profiler counted. A value above 1 means data came
    from on-chip cache, or the time is not in seconds.
    """
    _require_positive("bytes_moved", bytes_moved)
    _require_positive("seconds", seconds)
    _require_positive("bandwidth", bandwidth)
    return bytes_moved / seconds / bandwidth


def roof_fraction(
    flops: float,
    bytes_moved: float,
    seconds: float,
    peak_flops: float,
    bandwidth: float,
) -> float:
    """Return the roofline lower bound on the time over the measured ``seconds``.

    This equals MBU for a bandwidth-bound operation and MFU for a
    compute-bound one: how close the operation came to the roof that binds it.
    """
    _require_positive("seconds", seconds)
    return operation_time(flops, bytes_moved, peak_flops, bandwidth) / seconds
