import pytest

from mlsys.models import (
    MODELS,
    LatentAttention,
    TransformerSpec,
    active_parameter_count,
    get_model,
    kv_cache_bytes_per_token,
    lookup_only_parameter_count,
    model_names,
    output_head_parameter_count,
    parameter_count,
    weight_bytes,
)
from mlsys.sources import Source

SOURCE = Source("t", "p", 2024, "https://example.invalid", "key")


def _spec(**changes):
    fields = dict(
        name="Tiny",
        n_layers=2,
        hidden_size=8,
        n_heads=2,
        n_kv_heads=1,
        head_dim=4,
        ffn_size=16,
        vocab_size=10,
        attention="GQA",
        ffn_activation="swiglu",
        norm="rmsnorm",
        bias=False,
        tied_embeddings=False,
        learned_positions=0,
        published_params=1.0,
        source=SOURCE,
    )
    fields.update(changes)
    return TransformerSpec(**fields)


def test_catalog_has_required_models():
    required = {"Llama 2 7B", "Llama 2 13B", "Llama 2 70B", "Llama 3 8B"}
    required |= {
        "Llama 3 70B",
        "Llama 3 405B",
        "Mixtral 8x7B",
        "DeepSeek-V3",
        "OPT-13B",
    }
    assert required <= set(model_names())


@pytest.mark.parametrize("spec", MODELS.values(), ids=lambda s: s.name)
def test_computed_count_matches_model_name(spec):
    # Sources name models by rounded sizes: Llama 2 "7B" has 6.74 billion.
    assert parameter_count(spec) == pytest.approx(spec.published_params, rel=0.04)


@pytest.mark.parametrize(
    "spec", [s for s in MODELS.values() if s.is_moe], ids=lambda s: s.name
)
def test_active_count_matches_published(spec):
    assert active_parameter_count(spec) == pytest.approx(
        spec.published_active_params, rel=0.03
    )


def test_tiny_model_count_by_hand():
    # Embeddings 10*8 twice; attention 8*8 + 2*8*4 + 8*8; FFN 3*8*16;
    # two norms of 8 per layer, and a final norm.
    per_layer = (64 + 64 + 64) + 384 + 16
    assert parameter_count(_spec()) == 2 * 80 + 2 * per_layer + 8


def test_head_dim_is_its_own_field():
    deepseek = get_model("DeepSeek-V3")
    assert deepseek.head_dim != deepseek.hidden_size // deepseek.n_heads


def test_dense_model_active_equals_total():
    llama = get_model("Llama 3 8B")
    assert active_parameter_count(llama) == parameter_count(llama)


def test_llama3_uses_config_vocabulary():
    assert get_model("Llama 3 8B").vocab_size == 128_256
    assert "128,256" in get_model("Llama 3 8B").notes


def test_kv_cache_gqa_and_mha():
    assert kv_cache_bytes_per_token(get_model("Llama 2 7B")) == 2 * 32 * 32 * 128 * 2
    assert kv_cache_bytes_per_token(get_model("Llama 3 8B")) == 2 * 32 * 8 * 128 * 2
    assert kv_cache_bytes_per_token(get_model("Llama 3 8B"), "fp8") == 2 * 32 * 8 * 128


def test_kv_cache_mla_caches_latent_and_rope_key():
    assert kv_cache_bytes_per_token(get_model("DeepSeek-V3")) == 61 * (512 + 64) * 2


def test_lookup_only_tables():
    llama, opt = get_model("Llama 3 8B"), get_model("OPT-13B")
    assert lookup_only_parameter_count(llama) == 128_256 * 4096
    # OPT ties its embeddings to the output head, so only positions are lookup-only.
    assert lookup_only_parameter_count(opt) == 2050 * 5120
    assert output_head_parameter_count(opt) == 50_272 * 5120


def test_weight_bytes_scale_with_dtype():
    llama = get_model("Llama 2 7B")
    assert weight_bytes(llama, "bf16") == 2 * weight_bytes(llama, "fp8")


def test_dense_only_filter_drops_moe():
    names = model_names(dense_only=True)
    assert "Mixtral 8x7B" not in names
    assert "DeepSeek-V3" not in names
    assert "Llama 2 7B" in names


def test_unknown_model_lists_valid_names():
    with pytest.raises(ValueError, match="unknown model 'GPT-5'.*Llama 2 7B"):
        get_model("GPT-5")


def test_spec_rejects_bad_attention_kind():
    with pytest.raises(ValueError, match="attention kind 'XYZ' must be one of"):
        _spec(attention="XYZ")


def test_spec_rejects_mla_dims_without_mla():
    with pytest.raises(ValueError, match="MLA dimensions go with attention='MLA'"):
        _spec(mla=LatentAttention(1, 1, 1, 1, 1))


def test_spec_rejects_heads_not_multiple_of_kv_heads():
    with pytest.raises(ValueError, match="n_heads=3 is not a multiple of n_kv_heads=2"):
        _spec(n_heads=3, n_kv_heads=2)


def test_unknown_activation_rejected_when_counting():
    with pytest.raises(ValueError, match="unknown FFN activation 'gelu3'"):
        parameter_count(_spec(ffn_activation="gelu3"))
