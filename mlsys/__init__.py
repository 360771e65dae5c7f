"""Calculation library for the ML Systems Design course.

Each number in the lessons is computed here once: the hardware and model
catalogs with their sources, the roofline model, costs and formatting.
Everything is in SI base units (FLOP/s, bytes, bytes/s, seconds).
"""

from mlsys.hardware import ACCELERATORS, Accelerator, accelerator_names, get_accelerator
from mlsys.models import (
    MODELS,
    TransformerSpec,
    active_parameter_count,
    get_model,
    kv_cache_bytes_per_token,
    model_names,
    parameter_count,
    weight_bytes,
)

__all__ = [
    "ACCELERATORS",
    "MODELS",
    "Accelerator",
    "TransformerSpec",
    "accelerator_names",
    "active_parameter_count",
    "get_accelerator",
    "get_model",
    "kv_cache_bytes_per_token",
    "model_names",
    "parameter_count",
    "weight_bytes",
]
