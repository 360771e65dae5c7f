"""Catalog tables as MyST Markdown, for the book's reference pages.

The pages render these at build time, so the tables cannot drift from the
catalogs that the lessons compute with.
"""

from mlsys.formatting import format_bandwidth, format_bytes, format_count
from mlsys.hardware import ACCELERATORS, TERA
from mlsys.models import (
    MODELS,
    active_parameter_count,
    kv_cache_bytes_per_token,
    parameter_count,
)
from mlsys.roofline import ridge_point

PEAK_COLUMNS = ("bf16", "fp8", "int8", "tf32")


def _peak_cell(value: float | None) -> str:
    return "—" if value is None else f"{value / TERA:,.1f}".removesuffix(".0")


def hardware_table() -> str:
    """Return the accelerator catalog as a Markdown table with a source per row."""
    header = (
        "| Chip | Memory | Bandwidth | "
        + " | ".join(f"{dtype} dense (T/s)" for dtype in PEAK_COLUMNS)
        + " | Ridge, bf16 (FLOP/B) | Scale-up link, per direction | Source |"
    )
    rule = "|" + "---|" * (len(PEAK_COLUMNS) + 7)
    rows = [header, rule]
    for chip in ACCELERATORS.values():
        peaks = " | ".join(
            _peak_cell(chip.dense_peak.get(dtype)) for dtype in PEAK_COLUMNS
        )
        ridge = ridge_point(chip.peak_flops("bf16"), chip.memory_bandwidth)
        link = chip.interconnect
        rows.append(
            f"| {chip.name} | {format_bytes(chip.memory_bytes, binary=True)} "
            f"{chip.memory_type} "
            f"| {format_bandwidth(chip.memory_bandwidth)} | {peaks} | {ridge:,.0f} "
            f"| {link.name}: {format_bandwidth(link.bandwidth_per_direction)} "
            f"| {{cite:p}}`{chip.source.bibkey}` |"
        )
    return "\n".join(rows)


def hardware_notes() -> str:
    """Return each accelerator's caveats as a Markdown list."""
    lines = []
    for chip in ACCELERATORS.values():
        link = chip.interconnect.describe()
        note = f" {chip.notes}" if chip.notes else ""
        lines.append(f"- **{chip.name}.** {link}.{note}")
    return "\n".join(lines)


def model_table() -> str:
    """Return the model catalog as a Markdown table with computed counts."""
    header = (
        "| Model | Layers | Hidden | Heads (KV) | Head dim | FFN | Vocabulary "
        "| Attention | Experts (top-k) | Parameters | Active | Published "
        "| KV cache / token, bf16 | Source |"
    )
    rows = [header, "|" + "---|" * 14]
    for spec in MODELS.values():
        moe = spec.moe
        experts = "—"
        if moe is not None:
            shared = f" + {moe.n_shared_experts} shared" if moe.n_shared_experts else ""
            experts = f"{moe.n_routed_experts}{shared} ({moe.experts_per_token})"
        published = format_count(spec.published_params)
        if spec.published_active_params:
            published += f", {format_count(spec.published_active_params)} active"
        ffn = (
            f"{spec.ffn_size:,}"
            if moe is None
            else f"{moe.expert_ffn_size:,} per expert"
        )
        rows.append(
            f"| {spec.name} | {spec.n_layers} | {spec.hidden_size:,} "
            f"| {spec.n_heads} ({spec.n_kv_heads}) | {spec.head_dim} | {ffn} "
            f"| {spec.vocab_size:,} | {spec.attention} | {experts} "
            f"| {format_count(parameter_count(spec))} "
            f"| {format_count(active_parameter_count(spec))} | {published} "
            f"| {format_bytes(kv_cache_bytes_per_token(spec))} "
            f"| {{cite:p}}`{spec.source.bibkey}` |"
        )
    return "\n".join(rows)


def model_notes() -> str:
    """Return each model's caveats as a Markdown list."""
    return "\n".join(
        f"- **{spec.name}.** {spec.notes}" for spec in MODELS.values() if spec.notes
    )
