"""The course's lesson plan: twenty lessons in five parts."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    """One lesson of the plan, and the notebook that contains it once written."""

    number: int
    title: str
    part: str
    notebook: str  # file name under notebooks/, without the .ipynb suffix

    def is_published(self, toc: str) -> bool:
        """Return whether the book's table of contents (the text of _toc.yml) lists it.

        A notebook still being written can sit in notebooks/ without a link
        from the course map, because the map follows the table of contents.
        """
        return f"file: notebooks/{self.notebook}" in toc


_PARTS = {
    "I": "Why ML systems are different",
    "II": "Memory is the product",
    "III": "Serving beyond one GPU",
    "IV": "Training at scale",
    "V": "Beyond the transformer forward pass",
}

_PLAN = [
    ("I", "What makes ML systems design different", "what_makes_ml_systems_different"),
    ("I", "Rooflines: compute-bound or memory-bound?", "rooflines"),
    ("I", "Metrics that matter: TTFT, TPOT, goodput", "metrics"),
    ("I", "Batching: from static to continuous", "batching"),
    ("I", "Prefill vs decode: chunked prefill and disaggregation", "prefill_vs_decode"),
    ("II", "The KV cache: sizing, paging, sharing", "kv_cache"),
    ("II", "Quantization: fewer bytes, faster decode", "quantization"),
    ("II", "Attention kernels and IO-awareness", "attention_kernels"),
    ("II", "Speculative decoding", "speculative_decoding"),
    ("III", "Splitting a model across GPUs for inference", "inference_parallelism"),
    ("III", "Mixture-of-experts serving", "moe_serving"),
    ("III", "Fleet serving: queues, routing, autoscaling, cost", "fleet_serving"),
    (
        "IV",
        "Training arithmetic: 6ND, MFU, compute-optimal scaling",
        "training_arithmetic",
    ),
    ("IV", "Training memory: where the bytes go", "training_memory"),
    ("IV", "Collectives and data parallelism", "collectives"),
    ("IV", "3D parallelism: laying out a training run", "parallelism_3d"),
    ("IV", "Failures at scale: checkpoints and goodput", "failures"),
    ("V", "Recommendation systems: embedding tables and sparse lookups", "recsys"),
    (
        "V",
        "Post-training and RL: when training is mostly inference",
        "rl_post_training",
    ),
    ("V", "Capstone: a design review", "capstone"),
]

LESSONS = tuple(
    Lesson(number, title, f"Part {part} · {_PARTS[part]}", f"{number:02d}_{stem}")
    for number, (part, title, stem) in enumerate(_PLAN, start=1)
)
"""All twenty lessons in order."""
