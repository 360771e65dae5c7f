import math

import pytest

from mlsys.hardware import get_accelerator
from mlsys.models import get_model, parameter_count
from mlsys.roofline import (
    BANDWIDTH_BOUND,
    COMPUTE_BOUND,
    MAX_BATCH,
    attainable_flops,
    binding_wall,
    causal_attention_pairs,
    decode_step,
    multiplied_parameter_count,
    operation_time,
    prefill,
    prefill_flops,
    ridge_batch,
    ridge_point,
)

H100 = get_accelerator("H100 SXM")
LLAMA3_8B = get_model("Llama 3 8B")


def test_ridge_point_is_peak_over_bandwidth():
    assert ridge_point(100.0, 4.0) == 25.0


def test_attainable_flops_takes_lower_roof():
    assert attainable_flops(10.0, peak_flops=100.0, bandwidth=4.0) == 40.0
    assert attainable_flops(50.0, peak_flops=100.0, bandwidth=4.0) == 100.0


def test_operation_time_takes_slower_wall():
    assert operation_time(100.0, 10.0, peak_flops=10.0, bandwidth=10.0) == 10.0
    assert operation_time(10.0, 100.0, peak_flops=10.0, bandwidth=10.0) == 10.0


def test_binding_wall_names_slower_side():
    assert binding_wall(100.0, 1.0, 10.0, 10.0) == COMPUTE_BOUND
    assert binding_wall(1.0, 100.0, 10.0, 10.0) == BANDWIDTH_BOUND
    assert binding_wall(10.0, 10.0, 10.0, 10.0) == COMPUTE_BOUND


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, "3", None])
def test_roofline_functions_reject_bad_numbers(bad):
    with pytest.raises(ValueError, match="must be a finite number > 0"):
        ridge_point(bad, 1.0)
    with pytest.raises(ValueError, match="intensity must be a finite number > 0"):
        attainable_flops(bad, 1.0, 1.0)
    with pytest.raises(ValueError, match="bytes_moved must be a finite number > 0"):
        operation_time(1.0, bad, 1.0, 1.0)


def test_decode_intensity_equals_batch_in_16_bit():
    for batch in (1, 8, 300):
        assert decode_step(LLAMA3_8B, H100, batch).intensity == pytest.approx(batch)


def test_decode_reads_all_but_lookup_tables():
    step = decode_step(LLAMA3_8B, H100, 1)
    embedding = 128_256 * 4096
    assert (
        multiplied_parameter_count(LLAMA3_8B) == parameter_count(LLAMA3_8B) - embedding
    )
    assert step.bytes_moved == 2 * multiplied_parameter_count(LLAMA3_8B)
    assert step.weight_bytes == 2 * parameter_count(LLAMA3_8B)


def test_decode_batch_one_is_weights_over_bandwidth():
    step = decode_step(LLAMA3_8B, H100, 1)
    expected = multiplied_parameter_count(LLAMA3_8B) * 2 / H100.memory_bandwidth
    assert step.latency_per_token == pytest.approx(expected)
    assert step.bound == BANDWIDTH_BOUND
    assert step.tokens_per_second == pytest.approx(1 / expected)


def test_decode_throughput_grows_until_ridge_then_flattens():
    small, mid = decode_step(LLAMA3_8B, H100, 64), decode_step(LLAMA3_8B, H100, 128)
    assert mid.tokens_per_second == pytest.approx(2 * small.tokens_per_second)
    big, bigger = decode_step(LLAMA3_8B, H100, 512), decode_step(LLAMA3_8B, H100, 1024)
    assert big.bound == COMPUTE_BOUND
    assert bigger.tokens_per_second == pytest.approx(big.tokens_per_second)


def test_ridge_batch_is_where_regime_switches():
    ridge = ridge_batch(LLAMA3_8B, H100)
    below = decode_step(LLAMA3_8B, H100, math.floor(ridge))
    above = decode_step(LLAMA3_8B, H100, math.ceil(ridge))
    assert below.bound == BANDWIDTH_BOUND
    assert above.bound == COMPUTE_BOUND


def test_ridge_batch_in_fp8_uses_fp8_peak_and_bytes():
    # fp8 halves the bytes and doubles the peak: the ridge batch is unchanged.
    assert ridge_batch(LLAMA3_8B, H100, "fp8") == pytest.approx(
        ridge_batch(LLAMA3_8B, H100, "bf16")
    )


def test_decode_reports_whether_weights_fit():
    assert decode_step(LLAMA3_8B, H100, 1).fits
    assert not decode_step(get_model("Llama 3 405B"), H100, 1).fits


@pytest.mark.parametrize("batch", [0, -4, 2.5, True, "8", MAX_BATCH + 1])
def test_decode_rejects_bad_batch(batch):
    with pytest.raises(ValueError, match="batch must be an integer from 1 to"):
        decode_step(LLAMA3_8B, H100, batch)


def test_decode_rejects_moe_models():
    with pytest.raises(ValueError, match="Mixtral 8x7B is a mixture-of-experts"):
        decode_step(get_model("Mixtral 8x7B"), H100, 1)


def test_decode_rejects_dtype_chip_lacks():
    with pytest.raises(ValueError, match="no tensor-core peak for 'fp8'"):
        decode_step(LLAMA3_8B, get_accelerator("A100 SXM 80GB"), 1, "fp8")


def test_prefill_flops_weights_plus_attention():
    tokens = 1000
    head = 128_256 * 4096  # output head: last token only
    body = multiplied_parameter_count(LLAMA3_8B) - head
    weights = 2 * body * tokens + 2 * head
    attention = 4 * 32 * tokens**2 * (32 * 128)
    assert prefill_flops(LLAMA3_8B, tokens) == weights + attention


def test_causal_prefill_counts_half_the_pairs():
    tokens = 1000
    full = prefill_flops(LLAMA3_8B, tokens)
    causal = prefill_flops(LLAMA3_8B, tokens, causal=True)
    per_pair = 4 * 32 * 32 * 128
    assert full - causal == pytest.approx(per_pair * (tokens**2 - tokens * 1001 / 2))
    assert causal_attention_pairs(3, cached_tokens=2) == 3 * 2 + 6


def test_long_prefill_is_compute_bound_short_is_not():
    assert prefill(LLAMA3_8B, H100, 2000).bound == COMPUTE_BOUND
    assert prefill(LLAMA3_8B, H100, 16).bound == BANDWIDTH_BOUND


@pytest.mark.parametrize("tokens", [0, -1, 1.5])
def test_prefill_rejects_bad_prompt_length(tokens):
    with pytest.raises(ValueError, match="prompt_tokens must be an integer from 1 to"):
        prefill(LLAMA3_8B, H100, tokens)
