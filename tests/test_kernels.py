import math

import pytest

from mlsys.hardware import get_accelerator
from mlsys.kernels import (
    ATTENTION,
    ELEMENTWISE,
    MAX_DIMENSION,
    PROJECTION,
    Operator,
    decode_layer_operators,
    elementwise_intensity,
    elementwise_operator,
    gemm_bytes,
    gemm_flops,
    gemm_intensity,
    gemm_operator,
    gemv_intensity,
    model_bandwidth_utilization,
    model_flops_utilization,
    prefill_layer_operators,
    projection_shapes,
    roof_fraction,
)
from mlsys.models import get_model, output_head_parameter_count, parameter_count
from mlsys.roofline import (
    BANDWIDTH_BOUND,
    COMPUTE_BOUND,
    binding_wall,
    prefill_flops,
    ridge_point,
)

H100 = get_accelerator("H100 SXM")
LLAMA3_8B = get_model("Llama 3 8B")


def _by_name(operators):
    return {operator.name: operator for operator in operators}


def test_gemm_flops_is_two_m_n_k():
    assert gemm_flops(2, 3, 4) == 48


def test_gemm_bytes_counts_each_operand_once():
    # A is 2x4, B is 4x3, C is 2x3: 8 + 12 + 6 elements.
    assert gemm_bytes(2, 3, 4, "bf16") == 52
    assert gemm_bytes(2, 3, 4, "fp8") == 26
    assert gemm_bytes(2, 3, 4, "fp32") == 104


def test_gemm_bytes_with_a_wider_output():
    # fp8 A (8 elements) and B (12), bf16 C (6 elements of 2 bytes).
    assert gemm_bytes(2, 3, 4, "fp8", out_dtype="bf16") == 8 + 12 + 12
    assert gemm_bytes(2, 3, 4, "bf16", out_dtype="bf16") == gemm_bytes(2, 3, 4)
    assert gemm_intensity(2, 3, 4, "fp8", "bf16") == pytest.approx(48 / 32)


def test_gemm_intensity_is_flops_over_bytes():
    assert gemm_intensity(2, 3, 4, "bf16") == pytest.approx(48 / 52)


def test_hand_count_square_gemm_4096_bf16():
    # 2 n^3 FLOPs over 3 n^2 elements of 2 bytes: n / 3 FLOP/byte.
    assert gemm_intensity(4096, 4096, 4096, "bf16") == pytest.approx(4096 / 3)


def test_hand_count_llama3_8b_ffn_up():
    m, k, n = 2048, 4096, 14336
    by_hand = 2 * m * n * k / (2 * (m * k + k * n + m * n))
    assert gemm_intensity(m, n, k, "bf16") == pytest.approx(by_hand)
    assert by_hand == pytest.approx(1246.6, abs=0.1)


def test_gemm_intensity_in_fp8_is_twice_bf16():
    assert gemm_intensity(64, 14336, 4096, "fp8") == pytest.approx(
        2 * gemm_intensity(64, 14336, 4096, "bf16")
    )


def test_small_m_intensity_about_m():
    for m in (1, 8, 32):
        assert gemm_intensity(m, 14336, 4096, "bf16") == pytest.approx(m, rel=0.01)


def test_gemv_intensity_just_under_two_over_bytes():
    assert gemv_intensity(14336, 4096, "bf16") < 1
    assert gemv_intensity(14336, 4096, "bf16") == pytest.approx(1, rel=1e-3)
    assert gemv_intensity(14336, 4096, "fp8") == pytest.approx(2, rel=1e-3)
    assert gemv_intensity(14336, 4096) == gemm_intensity(1, 14336, 4096)


def test_elementwise_add_is_one_sixth_in_bf16():
    assert elementwise_intensity(1, inputs=2, outputs=1, dtype="bf16") == (
        pytest.approx(1 / 6)
    )
    assert elementwise_intensity(1, inputs=2, dtype="fp32") == pytest.approx(1 / 12)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "8", None, MAX_DIMENSION + 1])
def test_gemm_functions_reject_bad_dimensions(bad):
    with pytest.raises(ValueError, match="m must be an integer from 1 to 10,000,000"):
        gemm_flops(bad, 1, 1)
    with pytest.raises(ValueError, match="n must be an integer from 1 to"):
        gemm_bytes(1, bad, 1)
    with pytest.raises(ValueError, match="k must be an integer from 1 to"):
        gemm_intensity(1, 1, bad)
    with pytest.raises(ValueError, match="n must be an integer from 1 to"):
        gemv_intensity(bad, 1)


def test_gemm_rejects_unknown_dtype():
    with pytest.raises(ValueError, match="unknown data type 'bf17'"):
        gemm_intensity(1, 1, 1, "bf17")


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, "1", True])
def test_elementwise_rejects_bad_flops(bad):
    with pytest.raises(ValueError, match="flops_per_element must be a finite number"):
        elementwise_intensity(bad)


def test_elementwise_rejects_bad_operand_counts():
    with pytest.raises(ValueError, match="inputs must be an integer from 1 to 16"):
        elementwise_intensity(1, inputs=0)
    with pytest.raises(ValueError, match="outputs must be an integer from 1 to 16"):
        elementwise_intensity(1, outputs=17)
    with pytest.raises(ValueError, match="elements must be an integer from 1 to"):
        elementwise_operator("x", 0, 1)
    with pytest.raises(ValueError, match="parameters must be an integer >= 0"):
        elementwise_operator("x", 10, 1, parameters=-1)
    with pytest.raises(ValueError, match="parameters must be an integer >= 0"):
        elementwise_operator("x", 10, 1, parameters=1.5)


def test_elementwise_operator_adds_parameter_reads():
    norm = elementwise_operator("norm", 4096, 4, dtype="bf16", parameters=4096)
    assert norm.bytes_moved == 2 * (4096 * 2 + 4096)
    assert norm.flops == 4 * 4096
    assert norm.kind == ELEMENTWISE


def test_operator_intensity_and_validation():
    operator = Operator("x", PROJECTION, flops=10.0, bytes_moved=4.0)
    assert operator.intensity == 2.5
    with pytest.raises(ValueError, match="kind 'matmul' must be one of"):
        Operator("x", "matmul", 1.0, 1.0)
    with pytest.raises(ValueError, match="x: flops must be a finite number > 0"):
        Operator("x", PROJECTION, 0.0, 1.0)
    with pytest.raises(ValueError, match="x: bytes_moved must be a finite number"):
        Operator("x", PROJECTION, 1.0, math.nan)


def test_gemm_operator_matches_gemm_functions():
    operator = gemm_operator("FFN up", 16, 14336, 4096, "fp8")
    assert operator.kind == PROJECTION
    assert operator.flops == gemm_flops(16, 14336, 4096)
    assert operator.bytes_moved == gemm_bytes(16, 14336, 4096, "fp8")


def test_llama3_8b_projection_shapes():
    shapes = projection_shapes(LLAMA3_8B)
    assert shapes == {
        "QKV projection": (4096, 4096 + 2 * 8 * 128),
        "Attention output projection": (4096, 4096),
        "FFN gate": (4096, 14336),
        "FFN up": (4096, 14336),
        "FFN down": (14336, 4096),
    }


def test_relu_model_has_no_gate_projection():
    shapes = projection_shapes(get_model("OPT-13B"))
    assert "FFN gate" not in shapes
    assert shapes["FFN up"] == (5120, 20480)


def test_projections_sum_to_parameter_count():
    per_layer = sum(k * n for k, n in projection_shapes(LLAMA3_8B).values())
    hidden, layers = LLAMA3_8B.hidden_size, LLAMA3_8B.n_layers
    norms = layers * 2 * hidden + hidden
    embeddings = 2 * LLAMA3_8B.vocab_size * hidden  # input table and output head
    assert layers * per_layer + norms + embeddings == parameter_count(LLAMA3_8B)


def test_prefill_operators_in_layer_order():
    names = [operator.name for operator in prefill_layer_operators(LLAMA3_8B, 16)]
    assert names == [
        "RMSNorm (attention input)",
        "QKV projection",
        "Attention scores (Q·Kᵀ)",
        "Softmax",
        "Attention values (P·V)",
        "Attention output projection",
        "Residual add (attention)",
        "RMSNorm (FFN input)",
        "FFN gate",
        "FFN up",
        "SwiGLU activation",
        "FFN down",
        "Residual add (FFN)",
    ]


def test_prefill_flops_match_lesson_01_count():
    # roofline.prefill_flops also counts the norms' weights as 2 FLOPs per
    # token each, and the output head for the last token only.
    tokens = 2048
    operators = prefill_layer_operators(LLAMA3_8B, tokens)
    counted = sum(o.flops for o in operators if o.kind != ELEMENTWISE)
    counted -= _by_name(operators)["Softmax"].flops
    hidden, layers = LLAMA3_8B.hidden_size, LLAMA3_8B.n_layers
    head = output_head_parameter_count(LLAMA3_8B)
    norms = 2 * tokens * (2 * layers * hidden + hidden)
    assert layers * counted == pytest.approx(
        prefill_flops(LLAMA3_8B, tokens) - 2 * head - norms
    )


def test_prefill_attention_counts_full_score_matrix():
    tokens = 2048
    scores = _by_name(prefill_layer_operators(LLAMA3_8B, tokens))[
        "Attention scores (Q·Kᵀ)"
    ]
    assert scores.kind == ATTENTION
    assert scores.flops == 2 * 32 * tokens * tokens * 128
    query, keys, matrix = tokens * 32 * 128, tokens * 8 * 128, 32 * tokens * tokens
    assert scores.bytes_moved == 2 * (query + keys + matrix)


def test_prefill_walls_on_h100():
    peak, bandwidth = H100.peak_flops("bf16"), H100.memory_bandwidth
    for operator in prefill_layer_operators(LLAMA3_8B, 2048):
        wall = binding_wall(operator.flops, operator.bytes_moved, peak, bandwidth)
        expected = COMPUTE_BOUND if operator.kind == PROJECTION else BANDWIDTH_BOUND
        assert wall == expected, operator.name


def test_unfused_score_product_intensity_near_head_dim():
    # With a long prompt the score matrix dominates the bytes, so the intensity
    # tends to 2 * head_dim / 2 bytes = head_dim FLOP/byte.
    scores = _by_name(prefill_layer_operators(LLAMA3_8B, 32768))[
        "Attention scores (Q·Kᵀ)"
    ]
    assert scores.intensity == pytest.approx(128, rel=0.01)


def test_decode_weight_gemms_read_the_weights_once():
    operators = _by_name(decode_layer_operators(LLAMA3_8B, 1, 2048))
    for name, (k, n) in projection_shapes(LLAMA3_8B).items():
        assert operators[name].bytes_moved == 2 * (k * n + k + n)


def test_decode_attention_intensity_ignores_batch():
    single = _by_name(decode_layer_operators(LLAMA3_8B, 1, 2048))
    batched = _by_name(decode_layer_operators(LLAMA3_8B, 64, 2048))
    name = "Attention scores (Q·Kᵀ)"
    assert batched[name].intensity == pytest.approx(single[name].intensity)
    assert batched[name].bytes_moved == pytest.approx(64 * single[name].bytes_moved)
    assert batched["FFN up"].intensity > 50 * single["FFN up"].intensity


def test_decode_attention_reads_the_kv_cache():
    batch, context = 4, 1000
    values = _by_name(decode_layer_operators(LLAMA3_8B, batch, context))[
        "Attention values (P·V)"
    ]
    cache = batch * context * 8 * 128
    scores = batch * 32 * context
    output = batch * 32 * 128
    assert values.bytes_moved == 2 * (cache + scores + output)


def test_decode_batch_64_bandwidth_bound():
    peak, bandwidth = H100.peak_flops("bf16"), H100.memory_bandwidth
    for operator in decode_layer_operators(LLAMA3_8B, 64, 2048):
        wall = binding_wall(operator.flops, operator.bytes_moved, peak, bandwidth)
        assert wall == BANDWIDTH_BOUND, operator.name


def test_opt_layer_uses_layernorm_and_relu():
    names = [o.name for o in decode_layer_operators(get_model("OPT-13B"), 1, 10)]
    assert "LayerNorm (attention input)" in names
    assert "ReLU activation" in names
    assert "FFN gate" not in names


@pytest.mark.parametrize("name", ["Mixtral 8x7B", "DeepSeek-V3"])
def test_layer_operators_reject_moe_and_mla(name):
    with pytest.raises(ValueError, match="dense models with MHA or GQA only"):
        prefill_layer_operators(get_model(name), 16)
    with pytest.raises(ValueError, match="dense models with MHA or GQA only"):
        projection_shapes(get_model(name))


@pytest.mark.parametrize("bad", [0, -3, 1.5, True])
def test_layer_operators_reject_bad_counts(bad):
    with pytest.raises(ValueError, match="tokens must be an integer from 1 to"):
        prefill_layer_operators(LLAMA3_8B, bad)
    with pytest.raises(ValueError, match="batch must be an integer from 1 to"):
        decode_layer_operators(LLAMA3_8B, bad, 16)
    with pytest.raises(ValueError, match="context must be an integer from 1 to"):
        decode_layer_operators(LLAMA3_8B, 1, bad)


def test_layer_operators_in_fp8_halve_the_bytes():
    bf16 = prefill_layer_operators(LLAMA3_8B, 128, "bf16")
    fp8 = prefill_layer_operators(LLAMA3_8B, 128, "fp8")
    for bf16_operator, fp8_operator in zip(bf16, fp8, strict=True):
        assert fp8_operator.bytes_moved == pytest.approx(bf16_operator.bytes_moved / 2)
        assert fp8_operator.flops == bf16_operator.flops


def test_utilizations_are_achieved_rate_over_peak():
    assert model_flops_utilization(50.0, 2.0, peak_flops=100.0) == 0.25
    assert model_bandwidth_utilization(30.0, 0.5, bandwidth=100.0) == 0.6


def test_roof_fraction_matches_binding_roof():
    peak, bandwidth = H100.peak_flops("bf16"), H100.memory_bandwidth
    flops, moved, seconds = 1e10, 1e10, 0.005  # intensity 1: bandwidth-bound
    assert roof_fraction(flops, moved, seconds, peak, bandwidth) == pytest.approx(
        model_bandwidth_utilization(moved, seconds, bandwidth)
    )
    flops = 1e15  # intensity 100,000: compute-bound
    assert roof_fraction(flops, moved, 2.0, peak, bandwidth) == pytest.approx(
        model_flops_utilization(flops, 2.0, peak)
    )


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, "0.1", None])
def test_utilizations_reject_bad_time(bad):
    with pytest.raises(ValueError, match="seconds must be a finite number > 0"):
        model_flops_utilization(1.0, bad, 1.0)
    with pytest.raises(ValueError, match="seconds must be a finite number > 0"):
        model_bandwidth_utilization(1.0, bad, 1.0)
    with pytest.raises(ValueError, match="seconds must be a finite number > 0"):
        roof_fraction(1.0, 1.0, bad, 1.0, 1.0)


def test_nvidia_h100_datasheet_fp8_keeps_gemm_side():
    # The datasheet's dense fp8 peak is twice the bf16 one at the same
    # bandwidth, and fp8 halves every operand, so both ratios double.
    bf16_ridge = ridge_point(H100.peak_flops("bf16"), H100.memory_bandwidth)
    fp8_ridge = ridge_point(H100.peak_flops("fp8"), H100.memory_bandwidth)
    assert fp8_ridge == pytest.approx(2 * bf16_ridge)
    for m in (1, 64, 325, 326, 4096):
        bf16_side = gemm_intensity(m, 14336, 4096, "bf16") >= bf16_ridge
        fp8_side = gemm_intensity(m, 14336, 4096, "fp8") >= fp8_ridge
        assert bf16_side == fp8_side, m


def test_fp8_gemm_with_bf16_output_crosses_later_on_h100():
    # A bf16 output keeps the M·N term at 2 bytes, so fp8 intensity is less
    # than twice bf16 and the FFN up GEMM crosses the fp8 ridge at a larger M.
    fp8_ridge = ridge_point(H100.peak_flops("fp8"), H100.memory_bandwidth)

    def first(**kwargs):
        return next(
            m
            for m in range(1, 10_000)
            if gemm_intensity(m, 14336, 4096, "fp8", **kwargs) >= fp8_ridge
        )

    assert first() == 326
    assert first(out_dtype="bf16") == 354
