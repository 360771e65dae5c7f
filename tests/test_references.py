"""Published figures the library must reproduce, each test named after its source."""

import pytest

from mlsys.hardware import get_accelerator
from mlsys.models import (
    active_parameter_count,
    get_model,
    kv_cache_bytes_per_token,
    parameter_count,
)
from mlsys.roofline import ridge_point

H100 = get_accelerator("H100 SXM")


def test_nvidia_h100_datasheet_ridge_about_295_flop_per_byte():
    ridge = ridge_point(H100.peak_flops("bf16"), H100.memory_bandwidth)
    assert ridge == pytest.approx(295, abs=1)


def test_touvron2023_llama2_7b_has_6_74_billion_parameters():
    assert parameter_count(get_model("Llama 2 7B")) / 1e9 == pytest.approx(
        6.74, abs=0.005
    )


def test_touvron2023_llama2_70b_has_about_69_billion_parameters():
    assert parameter_count(get_model("Llama 2 70B")) / 1e9 == pytest.approx(
        69.0, abs=0.1
    )


def test_llama3_herd_8b_70b_405b_counts():
    assert parameter_count(get_model("Llama 3 8B")) / 1e9 == pytest.approx(
        8.03, abs=0.01
    )
    assert parameter_count(get_model("Llama 3 70B")) / 1e9 == pytest.approx(
        70.6, abs=0.1
    )
    assert parameter_count(get_model("Llama 3 405B")) / 1e9 == pytest.approx(
        405, rel=0.01
    )


def test_mistral_announcement_mixtral_46_7b_total_12_9b_active():
    mixtral = get_model("Mixtral 8x7B")
    assert parameter_count(mixtral) / 1e9 == pytest.approx(46.7, abs=0.05)
    assert active_parameter_count(mixtral) / 1e9 == pytest.approx(12.9, abs=0.05)


def test_deepseek_v3_report_671b_total_37b_active():
    deepseek = get_model("DeepSeek-V3")
    assert parameter_count(deepseek) / 1e9 == pytest.approx(671, abs=0.5)
    assert active_parameter_count(deepseek) / 1e9 == pytest.approx(37, rel=0.02)


def test_kwon2023_vllm_opt13b_kv_cache_800kb_per_token():
    # The vLLM paper (Kwon et al., SOSP 2023), section 3, computes 2 (key and
    # value) x 5120 (hidden) x 40 (layers) x 2 bytes and writes it as 800 KB,
    # with KB meaning 1,024 bytes.
    assert kv_cache_bytes_per_token(get_model("OPT-13B"), "fp16") == 800 * 1024


def test_70b_fp16_on_h100_sxm_decodes_no_faster_than_42_ms():
    weights = 70e9 * 2  # 140 GB
    floor = weights / H100.memory_bandwidth
    assert floor == pytest.approx(0.042, abs=0.0005)
