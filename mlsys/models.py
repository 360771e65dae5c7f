"""Model catalog: transformer architectures and the counts derived from them.

Parameter counts are computed from the architecture fields, not typed in, and
the tests compare them with the published counts. Head dimension is its own
field because it is not always ``hidden_size / n_heads``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mlsys.hardware import bytes_per_element
from mlsys.sources import Source

ATTENTION_KINDS = ("MHA", "GQA", "MLA")
"""Multi-head, grouped-query and multi-head latent attention."""


@dataclass(frozen=True)
class MixtureOfExperts:
    """The routed feed-forward layers of a mixture-of-experts model."""

    n_routed_experts: int
    experts_per_token: int  # top-k
    expert_ffn_size: int
    n_shared_experts: int = 0  # always active, beside the routed ones
    n_dense_layers: int = 0  # leading layers that keep a dense FFN
    router_bias: bool = False  # a learned per-expert bias in the router


@dataclass(frozen=True)
class LatentAttention:
    """Dimensions of multi-head latent attention (DeepSeek-V2 and V3).

    Keys and values are rebuilt from a shared compressed vector of
    ``kv_lora_rank`` elements; only that vector and a small rotary key of
    ``qk_rope_head_dim`` elements are cached per token and layer.
    """

    q_lora_rank: int
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True)
class TransformerSpec:
    """A decoder-only transformer's architecture, with its published size."""

    name: str
    n_layers: int
    hidden_size: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_size: int  # dense FFN width; for MoE models, the leading dense layers' width
    vocab_size: int
    attention: str  # one of ATTENTION_KINDS
    ffn_activation: str  # "swiglu" (three matrices) or "relu" (two matrices)
    norm: str  # "rmsnorm" (weight only) or "layernorm" (weight and bias)
    bias: bool  # biases on the linear layers
    tied_embeddings: bool  # output projection shares the input embedding
    learned_positions: int  # rows of a learned position table; 0 with RoPE
    published_params: float  # the size the source names the model by, e.g. 7e9
    source: Source
    moe: MixtureOfExperts | None = None
    mla: LatentAttention | None = None
    published_active_params: float | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_KINDS:
            raise ValueError(
                f"{self.name}: attention kind {self.attention!r} must be one of "
                f"{', '.join(ATTENTION_KINDS)}"
            )
        if (self.attention == "MLA") != (self.mla is not None):
            raise ValueError(
                f"{self.name}: MLA dimensions go with attention='MLA' only"
            )
        if self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"{self.name}: n_heads={self.n_heads} is not a multiple of "
                f"n_kv_heads={self.n_kv_heads}"
            )

    @property
    def is_moe(self) -> bool:
        """Whether the feed-forward layers are mixtures of experts."""
        return self.moe is not None


def _attention_params(spec: TransformerSpec) -> int:
    d = spec.hidden_size
    if spec.mla is not None:
        m = spec.mla
        qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        q = d * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * spec.n_heads * qk_head
        kv_down = d * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank
        kv_up = m.kv_lora_rank * spec.n_heads * (m.qk_nope_head_dim + m.v_head_dim)
        out = spec.n_heads * m.v_head_dim * d
        return q + kv_down + kv_up + out
    q_width = spec.n_heads * spec.head_dim
    kv_width = spec.n_kv_heads * spec.head_dim
    weights = d * q_width + 2 * d * kv_width + q_width * d
    biases = q_width + 2 * kv_width + d if spec.bias else 0
    return weights + biases


def _ffn_params(spec: TransformerSpec, width: int) -> int:
    d = spec.hidden_size
    if spec.ffn_activation == "swiglu":
        return 3 * d * width + ((2 * width + d) if spec.bias else 0)
    if spec.ffn_activation == "relu":
        return 2 * d * width + ((width + d) if spec.bias else 0)
    raise ValueError(f"{spec.name}: unknown FFN activation {spec.ffn_activation!r}")


def _norm_params(spec: TransformerSpec) -> int:
    return spec.hidden_size * (2 if spec.norm == "layernorm" else 1)


def _embedding_params(spec: TransformerSpec) -> int:
    d = spec.hidden_size
    tables = spec.vocab_size * d + spec.learned_positions * d
    output = 0 if spec.tied_embeddings else spec.vocab_size * d
    return tables + output


def _moe_layer_params(spec: TransformerSpec, experts: int) -> int:
    moe = spec.moe
    assert moe is not None
    router = spec.hidden_size * moe.n_routed_experts
    router += moe.n_routed_experts if moe.router_bias else 0
    return experts * _ffn_params(spec, moe.expert_ffn_size) + router


def _count(spec: TransformerSpec, active_only: bool) -> int:
    per_layer_fixed = _attention_params(spec) + 2 * _norm_params(spec)
    total = spec.n_layers * per_layer_fixed + _norm_params(spec)  # + final norm
    total += _embedding_params(spec)
    if spec.moe is None:
        return total + spec.n_layers * _ffn_params(spec, spec.ffn_size)
    moe = spec.moe
    routed = moe.experts_per_token if active_only else moe.n_routed_experts
    moe_layers = spec.n_layers - moe.n_dense_layers
    total += moe.n_dense_layers * _ffn_params(spec, spec.ffn_size)
    total += moe_layers * _moe_layer_params(spec, routed + moe.n_shared_experts)
    return total


def parameter_count(spec: TransformerSpec) -> int:
    """Count every parameter, embeddings and (for MoE) all experts included."""
    return _count(spec, active_only=False)


def active_parameter_count(spec: TransformerSpec) -> int:
    """Count the parameters one token passes through (top-k experts for MoE)."""
    return _count(spec, active_only=True)


def lookup_only_parameter_count(spec: TransformerSpec) -> int:
    """Count parameters that a token only looks up a row of, never multiplies by.

    These are the input embedding table (unless it is tied to the output head,
    which multiplies by all of it) and any learned position table.
    """
    positions = spec.learned_positions * spec.hidden_size
    if spec.tied_embeddings:
        return positions
    return spec.vocab_size * spec.hidden_size + positions


def output_head_parameter_count(spec: TransformerSpec) -> int:
    """Count the output projection to vocabulary logits (shared when tied)."""
    return spec.vocab_size * spec.hidden_size


def weight_bytes(spec: TransformerSpec, dtype: str = "bf16") -> float:
    """Return the bytes that all the weights take in ``dtype``."""
    return parameter_count(spec) * bytes_per_element(dtype)


def kv_cache_bytes_per_token(spec: TransformerSpec, dtype: str = "bf16") -> float:
    """Return the bytes of KV cache that one token adds across all layers.

    For MHA and GQA this is keys and values for every KV head of every layer:
    2 * layers * kv_heads * head_dim * bytes. For MLA it is the compressed
    latent plus the rotary key, per layer.
    """
    size = bytes_per_element(dtype)
    if spec.mla is not None:
        per_layer = spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim
        return spec.n_layers * per_layer * size
    return 2 * spec.n_layers * spec.n_kv_heads * spec.head_dim * size


META_LLAMA2_PAPER = Source(
    title="Llama 2: Open Foundation and Fine-Tuned Chat Models (Touvron et al.), "
    "with the released config.json files",
    publisher="Meta AI / arXiv:2307.09288",
    year=2023,
    url="https://arxiv.org/abs/2307.09288",
    bibkey="touvron2023llama2",
)
META_LLAMA3_PAPER = Source(
    title="The Llama 3 Herd of Models (Llama Team, Meta), Table 3, "
    "with the released config.json files",
    publisher="Meta AI / arXiv:2407.21783",
    year=2024,
    url="https://arxiv.org/abs/2407.21783",
    bibkey="llama2024herd",
)
MIXTRAL_PAPER = Source(
    title="Mixtral of Experts (Jiang et al.), with the released config.json",
    publisher="Mistral AI / arXiv:2401.04088",
    year=2024,
    url="https://arxiv.org/abs/2401.04088",
    bibkey="jiang2024mixtral",
)
DEEPSEEK_V3_REPORT = Source(
    title="DeepSeek-V3 Technical Report, with the released config.json",
    publisher="DeepSeek-AI / arXiv:2412.19437",
    year=2024,
    url="https://arxiv.org/abs/2412.19437",
    bibkey="deepseek2024v3",
)
OPT_PAPER = Source(
    title="OPT: Open Pre-trained Transformer Language Models (Zhang et al.), Table 1, "
    "with the released config.json",
    publisher="Meta AI / arXiv:2205.01068",
    year=2022,
    url="https://arxiv.org/abs/2205.01068",
    bibkey="zhang2022opt",
)

_LLAMA_STYLE = dict(
    ffn_activation="swiglu",
    norm="rmsnorm",
    bias=False,
    tied_embeddings=False,
    learned_positions=0,
)
_LLAMA3_VOCAB_NOTE = (
    "Vocabulary 128,256 from the released config (128,000 regular tokens plus "
    "256 reserved special tokens); the paper rounds it to 128K."
)

MODELS: Mapping[str, TransformerSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            TransformerSpec(
                name="Llama 2 7B",
                n_layers=32,
                hidden_size=4096,
                n_heads=32,
                n_kv_heads=32,
                head_dim=128,
                ffn_size=11008,
                vocab_size=32000,
                attention="MHA",
                published_params=7e9,
                source=META_LLAMA2_PAPER,
                **_LLAMA_STYLE,
            ),
            TransformerSpec(
                name="Llama 2 13B",
                n_layers=40,
                hidden_size=5120,
                n_heads=40,
                n_kv_heads=40,
                head_dim=128,
                ffn_size=13824,
                vocab_size=32000,
                attention="MHA",
                published_params=13.0e9,
                source=META_LLAMA2_PAPER,
                **_LLAMA_STYLE,
            ),
            TransformerSpec(
                name="Llama 2 70B",
                n_layers=80,
                hidden_size=8192,
                n_heads=64,
                n_kv_heads=8,
                head_dim=128,
                ffn_size=28672,
                vocab_size=32000,
                attention="GQA",
                published_params=70e9,
                source=META_LLAMA2_PAPER,
                **_LLAMA_STYLE,
            ),
            TransformerSpec(
                name="Llama 3 8B",
                n_layers=32,
                hidden_size=4096,
                n_heads=32,
                n_kv_heads=8,
                head_dim=128,
                ffn_size=14336,
                vocab_size=128256,
                attention="GQA",
                published_params=8e9,
                source=META_LLAMA3_PAPER,
                notes=_LLAMA3_VOCAB_NOTE,
                **_LLAMA_STYLE,
            ),
            TransformerSpec(
                name="Llama 3 70B",
                n_layers=80,
                hidden_size=8192,
                n_heads=64,
                n_kv_heads=8,
                head_dim=128,
                ffn_size=28672,
                vocab_size=128256,
                attention="GQA",
                published_params=70e9,
                source=META_LLAMA3_PAPER,
                notes=_LLAMA3_VOCAB_NOTE,
                **_LLAMA_STYLE,
            ),
            TransformerSpec(
                name="Llama 3 405B",
                n_layers=126,
                hidden_size=16384,
                n_heads=128,
                n_kv_heads=8,
                head_dim=128,
                ffn_size=53248,
                vocab_size=128256,
                attention="GQA",
                published_params=405e9,
                source=META_LLAMA3_PAPER,
                notes=_LLAMA3_VOCAB_NOTE + " Released as Llama 3.1 405B.",
                **_LLAMA_STYLE,
            ),
            TransformerSpec(
                name="Mixtral 8x7B",
                n_layers=32,
                hidden_size=4096,
                n_heads=32,
                n_kv_heads=8,
                head_dim=128,
                ffn_size=14336,
                vocab_size=32000,
                attention="GQA",
                moe=MixtureOfExperts(
                    n_routed_experts=8, experts_per_token=2, expert_ffn_size=14336
                ),
                published_params=47e9,
                published_active_params=13e9,
                source=MIXTRAL_PAPER,
                notes=(
                    "The paper gives 47B total and 13B active; Mistral's release "
                    "announcement gives 46.7B and 12.9B, which the count reproduces."
                ),
                **_LLAMA_STYLE,
            ),
            TransformerSpec(
                name="DeepSeek-V3",
                n_layers=61,
                hidden_size=7168,
                n_heads=128,
                n_kv_heads=128,
                head_dim=192,  # 128 non-rotary + 64 rotary query/key dimensions
                ffn_size=18432,
                vocab_size=129280,
                attention="MLA",
                mla=LatentAttention(
                    q_lora_rank=1536,
                    kv_lora_rank=512,
                    qk_nope_head_dim=128,
                    qk_rope_head_dim=64,
                    v_head_dim=128,
                ),
                moe=MixtureOfExperts(
                    n_routed_experts=256,
                    experts_per_token=8,
                    expert_ffn_size=2048,
                    n_shared_experts=1,
                    n_dense_layers=3,
                    router_bias=True,
                ),
                published_params=671e9,
                published_active_params=37e9,
                source=DEEPSEEK_V3_REPORT,
                notes=(
                    "Counts exclude the multi-token-prediction module, as the "
                    "report's 671B and 37B do. The active count here includes the "
                    "0.9B input embedding table; without it, it is 36.7B."
                ),
                **_LLAMA_STYLE,
            ),
            TransformerSpec(
                name="OPT-13B",
                n_layers=40,
                hidden_size=5120,
                n_heads=40,
                n_kv_heads=40,
                head_dim=128,
                ffn_size=20480,
                vocab_size=50272,
                attention="MHA",
                ffn_activation="relu",
                norm="layernorm",
                bias=True,
                tied_embeddings=True,
                learned_positions=2050,  # 2,048 positions plus an offset of 2
                published_params=13e9,
                source=OPT_PAPER,
            ),
        )
    }
)
"""Every model in the course, keyed by name."""


def model_names(dense_only: bool = False) -> tuple[str, ...]:
    """Return the catalog's model names, optionally without MoE models."""
    return tuple(
        name for name, spec in MODELS.items() if not (dense_only and spec.is_moe)
    )


def get_model(name: str) -> TransformerSpec:
    """Look up a model by name, ignoring case; list valid names if not found."""
    for key, spec in MODELS.items():
        if key.lower() == name.strip().lower():
            return spec
    valid = ", ".join(MODELS)
    raise ValueError(f"unknown model {name!r}; valid names: {valid}")
