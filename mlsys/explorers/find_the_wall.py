"""Lesson 01's "find the wall" explorer: one decode step against batch size."""

import html
import math

import numpy as np

from mlsys.explorers.frames import FrameExplorer
from mlsys.formatting import format_bytes, format_time
from mlsys.hardware import accelerator_names, get_accelerator
from mlsys.models import get_model, model_names
from mlsys.plotting import (
    OKABE_ITO,
    MarkerLayer,
    log2_batch_axis,
    log10_axis,
    new_figure,
    png_data_uri,
)
from mlsys.roofline import (
    BANDWIDTH_BOUND,
    DecodeStep,
    decode_step,
    ridge_batch,
    ridge_point,
)

BATCH_POSITIONS = (
    1,
    2,
    3,
    4,
    6,
    8,
    12,
    16,
    24,
    32,
    48,
    64,
    96,
    128,
    192,
    256,
    384,
    512,
    768,
    1024,
)
"""Slider positions: powers of two and the points between them (1.5 times each)."""

DEFAULT_GPU = "H100 SXM"
DEFAULT_MODEL = "Llama 3 8B"
DEFAULT_BATCH = 1
DTYPE = "bf16"

# Fixed axes margins, in figure fractions: a live redraw skips the layout pass.
_MARGINS = dict(left=0.085, right=0.985, bottom=0.15, top=0.9, wspace=0.32)
_CURVE_BATCHES = np.unique(np.geomspace(1, 1024, 80).round().astype(int))


class _WallFigure:
    """Throughput and latency against batch, redrawn for any GPU and model.

    One figure serves every choice: picking another GPU or model moves the
    curves, ridge and limits and redraws the background once, and each batch
    position only redraws the two markers on top of it.
    """

    def __init__(self) -> None:
        self.figure = new_figure(width=7.6, height=3.2, ncols=2, margins=_MARGINS)
        left, right = self.figure.axes
        self._spans, self._ridges = [], []
        for axis in (left, right):
            log2_batch_axis(axis, 1, 1024)
            axis.set_xlabel("Batch size (streams)")
            self._spans.append(
                axis.axvspan(1, 2, color=OKABE_ITO["sky"], alpha=0.12, lw=0)
            )
            self._ridges.append(
                axis.axvline(2, color=OKABE_ITO["vermillion"], ls="--", lw=1.5)
            )
        log10_axis(left, "y")
        (self._throughput,) = left.plot([], [], color=OKABE_ITO["blue"])
        left.set_ylabel("Tokens/s, all streams")
        left.set_title("Throughput")
        (self._latency,) = right.plot([], [], color=OKABE_ITO["orange"])
        right.set_ylabel("Latency per token (ms)")
        right.set_title("Latency")
        self._label = right.annotate(
            "",
            xy=(2, 0.95),
            xycoords=("data", "axes fraction"),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            va="top",
            color=OKABE_ITO["vermillion"],
            fontsize=10,
        )
        marker_style = dict(marker="o", color=OKABE_ITO["black"], ms=8, ls="none")
        (self._throughput_marker,) = left.plot([1], [1], **marker_style)
        (self._latency_marker,) = right.plot([1], [1], **marker_style)
        self._markers = MarkerLayer(
            self.figure, [self._throughput_marker, self._latency_marker]
        )
        self._showing: tuple[str, str] | None = None

    def show(self, gpu_name: str, model_name: str) -> None:
        """Draw the curves of one GPU and model, unless they are already drawn."""
        if self._showing == (gpu_name, model_name):
            return
        gpu, model = get_accelerator(gpu_name), get_model(model_name)
        steps = [decode_step(model, gpu, int(b), DTYPE) for b in _CURVE_BATCHES]
        throughput = np.array([s.tokens_per_second for s in steps])
        latency_ms = np.array([s.latency_per_token for s in steps]) * 1e3
        ridge = ridge_batch(model, gpu, DTYPE)
        self._throughput.set_data(_CURVE_BATCHES, throughput)
        self._latency.set_data(_CURVE_BATCHES, latency_ms)
        left, right = self.figure.axes
        left.set_ylim(throughput.min() * 0.7, throughput.max() * 1.6)
        right.set_ylim(0, latency_ms.max() * 1.08)
        for span, line in zip(self._spans, self._ridges, strict=True):
            span.set_width(ridge - 1)
            line.set_xdata([ridge, ridge])
        self._label.xy = (ridge, 0.95)
        self._label.set_text(f"ridge\nB ≈ {ridge:,.0f}")
        self._markers.redraw_background()
        self._showing = (gpu_name, model_name)

    def png(self, step: DecodeStep) -> bytes:
        """Render the figure with the markers at one decode step."""
        self._throughput_marker.set_data([step.batch], [step.tokens_per_second])
        self._latency_marker.set_data([step.batch], [step.latency_per_token * 1e3])
        return self._markers.png()


_FIGURE: _WallFigure | None = None


def _wall_figure(gpu_name: str, model_name: str) -> _WallFigure:
    """Return the shared figure, showing one GPU and model."""
    global _FIGURE
    if _FIGURE is None:
        _FIGURE = _WallFigure()
    _FIGURE.show(gpu_name, model_name)
    return _FIGURE


def _alt_text(gpu_name: str, model_name: str, batch: int, ridge: float) -> str:
    return (
        f"Two plots against batch size (log scale) for {model_name} on {gpu_name}. "
        "Throughput rises in proportion to batch until the ridge at batch "
        f"{ridge:,.0f}, "
        "then flattens. Latency per token stays flat until the ridge, then grows. "
        f"A dot marks batch {batch}."
    )


def render_frame(settings: dict, batch: int) -> str:
    """Render the readouts and figure for one batch size as HTML."""
    gpu_name, model_name = str(settings["GPU"]), str(settings["Model"])
    gpu, model = get_accelerator(gpu_name), get_model(model_name)
    step = decode_step(model, gpu, batch, DTYPE)
    if not step.fits:
        raise ValueError(
            f"{model_name} holds {format_bytes(step.weight_bytes)} of bf16 weights, "
            f"more than the {format_bytes(gpu.memory_bytes, binary=True)} of one "
            f"{gpu_name}, so it does not fit on one chip. Pick a smaller model or a "
            "chip with more memory; lesson 10 "
            "splits a model across chips."
        )
    ridge = ridge_point(gpu.peak_flops(DTYPE), gpu.memory_bandwidth)
    crossover = ridge_batch(model, gpu, DTYPE)
    regime_colour = (
        OKABE_ITO["blue"] if step.bound == BANDWIDTH_BOUND else OKABE_ITO["vermillion"]
    )
    readouts = [
        (
            "Arithmetic intensity",
            f"{step.intensity:,.0f} FLOP/byte (ridge {ridge:,.0f})",
        ),
        (
            "Regime",
            f'<span style="color:{regime_colour};font-weight:600">{step.bound}</span>',
        ),
        ("Latency per token", format_time(step.latency_per_token)),
        ("Tokens/s, all streams", f"{step.tokens_per_second:,.0f}"),
        ("Compute-bound from batch", f"{math.floor(crossover) + 1:,}"),
    ]
    rows = "".join(
        f'<tr><th scope="row" style="text-align:left;padding:2px 12px 2px 0;'
        f'font-weight:500">{label}</th><td style="padding:2px 0">{value}</td></tr>'
        for label, value in readouts
    )
    png = _wall_figure(gpu_name, model_name).png(step)
    alt = html.escape(_alt_text(gpu_name, model_name, batch, crossover), quote=True)
    return (
        '<div class="mlsys-frame" style="background:#fff;color:#111;padding:8px;'
        'border:1px solid #ddd;border-radius:4px;max-width:780px">'
        f'<div style="font-size:0.95em;margin-bottom:4px">{html.escape(model_name)} '
        f"on {html.escape(gpu_name)}, bf16, batch {batch}</div>"
        '<table class="mlsys-readouts" '
        'style="border-collapse:collapse;margin-bottom:6px;'
        f'color:#111">{rows}</table>'
        f'<img src="{png_data_uri(png)}" alt="{alt}" '
        'style="max-width:100%;height:auto">'
        "</div>"
    )


def find_the_wall(
    gpu: str = DEFAULT_GPU, model: str = DEFAULT_MODEL, batch: int = DEFAULT_BATCH
) -> FrameExplorer:
    """Build the explorer: GPU and model pickers and a batch slider from 1 to 1,024."""
    get_accelerator(gpu)
    get_model(model)
    if batch not in BATCH_POSITIONS:
        raise ValueError(f"batch must be one of {BATCH_POSITIONS}, got {batch!r}")
    return FrameExplorer(
        slider_label="Batch size",
        positions=BATCH_POSITIONS,
        initial_position=batch,
        pickers={
            "GPU": (accelerator_names(), gpu),
            "Model": (model_names(dense_only=True), model),
        },
        render=render_frame,
        static_note=(
            f"On this web page the batch slider works for {html.escape(model)} on "
            f"{html.escape(gpu)}. To change the GPU or the model, run the notebook: "
            '<a href="../book/orientation.html#three-ways-to-use-it">how to run it</a>.'
        ),
    )
