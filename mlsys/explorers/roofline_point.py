"""Lesson 02's explorer: one GEMM as a point on a chip's log-log roofline."""

import html

import numpy as np

from mlsys.explorers.frames import FrameExplorer
from mlsys.formatting import (
    format_bandwidth,
    format_bytes,
    format_count,
    format_flops,
    format_time,
)
from mlsys.hardware import Accelerator, accelerator_names, get_accelerator
from mlsys.kernels import gemm_bytes, gemm_flops, gemm_intensity, projection_shapes
from mlsys.models import get_model
from mlsys.plotting import OKABE_ITO, MarkerLayer, log10_axis, new_figure, png_data_uri
from mlsys.roofline import (
    BANDWIDTH_BOUND,
    attainable_flops,
    binding_wall,
    operation_time,
    ridge_point,
)

M_POSITIONS = (
    1,
    2,
    4,
    8,
    16,
    32,
    64,
    96,
    128,
    192,
    256,
    288,
    320,
    336,
    384,
    512,
    768,
    1024,
    1536,
    2048,
    3072,
    4096,
    8192,
)
"""Slider positions for M: powers of two, with points 1.5 times each added from 64
to 3,072, where the GEMMs cross the ridges of the catalog's chips, and 288, 320
and 336 around M = 326, where Llama 3 8B's FFN up GEMM crosses the H100 SXM's
bf16 ridge, so that the crossing can be found on the static page."""

DTYPES = ("bf16", "fp8")
"""Data types offered; a chip without fp8 tensor cores shows a message for fp8."""

_SHAPE_CHOICES = (
    ("Llama 3 8B", "QKV projection", "8B QKV"),
    ("Llama 3 8B", "Attention output projection", "8B attention out"),
    ("Llama 3 8B", "FFN up", "8B FFN up"),
    ("Llama 3 8B", "FFN down", "8B FFN down"),
    ("Llama 3 70B", "FFN up", "70B FFN up"),
    ("Llama 3 405B", "FFN up", "405B FFN up"),
)


def layer_shapes() -> dict[str, tuple[str, int, int]]:
    """Return the picker's layer shapes: label -> (description, K, N).

    K and N come from the model catalog through :func:`projection_shapes`.
    """
    shapes = {}
    for model_name, operator, label in _SHAPE_CHOICES:
        k, n = projection_shapes(get_model(model_name))[operator]
        shapes[label] = (f"{model_name} {operator}", k, n)
    return shapes


SHAPES = layer_shapes()
DEFAULT_CHIP = "H100 SXM"
DEFAULT_DTYPE = "bf16"
DEFAULT_SHAPE = "8B FFN up"
DEFAULT_M = 1

# Fixed axes wide enough for every chip, data type and shape offered, so that
# switching chips moves the roof, not the axes. TFLOP/s on the y axis.
_X_LIMITS = (0.5, 20_000.0)
_Y_LIMITS = (0.1, 10_000.0)
_MARGINS = dict(left=0.11, right=0.97, bottom=0.15, top=0.92)
_ROOF_X = np.geomspace(*_X_LIMITS, 200)
# Text colours with at least 4.5:1 contrast on the white card. The Okabe-Ito
# vermillion reaches only 3.9:1, so it colours lines and markers, not text.
_BANDWIDTH_TEXT = "#0072B2"
_COMPUTE_TEXT = "#A34400"


def _peak(chip: Accelerator, dtype: str) -> float:
    """Return the chip's dense peak, or raise a readable ValueError without one."""
    if dtype in chip.dense_peak:
        return chip.peak_flops(dtype)
    with_dtype = [
        name for name in accelerator_names() if dtype in get_accelerator(name).dtypes
    ]
    raise ValueError(
        f"The {chip.name} has no {dtype} tensor cores in the catalog (its data "
        f"types: {', '.join(chip.dtypes)}). Pick another data type, or a chip "
        f"with {dtype}: {', '.join(with_dtype)}."
    )


class _RooflineFigure:
    """A log-log roofline, redrawn for any chip, data type and GEMM shape.

    One figure serves every choice: a new choice moves the roof, the ridge and
    the GEMM's path and redraws the background once, and each slider position
    only redraws the marker on top of it.
    """

    def __init__(self) -> None:
        self.figure = new_figure(width=7.0, height=3.6, margins=_MARGINS)
        axis = self.figure.axes[0]
        log10_axis(axis, "x")
        log10_axis(axis, "y")
        axis.set_xlim(*_X_LIMITS)
        axis.set_ylim(*_Y_LIMITS)
        axis.set_xlabel("Arithmetic intensity (FLOP/byte)")
        axis.set_ylabel("Attainable TFLOP/s")
        self._span = axis.axvspan(
            _X_LIMITS[0], 1, color=OKABE_ITO["sky"], alpha=0.12, lw=0
        )
        (self._roof,) = axis.plot([], [], color=OKABE_ITO["black"], lw=2.2)
        self._ridge = axis.axvline(1, color=OKABE_ITO["vermillion"], ls="--", lw=1.5)
        # The slider's other positions, as open circles on the roof.
        (self._path,) = axis.plot(
            [], [], ls="none", marker="o", ms=5, mfc="white", mec="#777777", zorder=3
        )
        text_style = dict(transform=axis.transAxes, va="top", fontsize=10)
        axis.text(0.02, 0.96, "bandwidth-bound", color=_BANDWIDTH_TEXT, **text_style)
        axis.text(
            0.98, 0.96, "compute-bound", color=_COMPUTE_TEXT, ha="right", **text_style
        )
        self._ridge_label = axis.annotate(
            "",
            xy=(1, 0.04),
            xycoords=("data", "axes fraction"),
            xytext=(4, 0),
            textcoords="offset points",
            color=OKABE_ITO["vermillion"],
            fontsize=10,
        )
        self._title = axis.set_title("")
        (self._marker,) = axis.plot(
            [1], [1], marker="o", color=OKABE_ITO["black"], ms=9, ls="none", zorder=5
        )
        self._markers = MarkerLayer(self.figure, [self._marker])
        self._showing: tuple[str, str, str] | None = None

    def show(self, chip: Accelerator, dtype: str, shape: str) -> None:
        """Draw the roof of one chip and data type and the path of one shape."""
        if self._showing == (chip.name, dtype, shape):
            return
        peak, bandwidth = _peak(chip, dtype), chip.memory_bandwidth
        ridge = ridge_point(peak, bandwidth)
        roof = np.minimum(peak, _ROOF_X * bandwidth) / 1e12
        self._roof.set_data(_ROOF_X, roof)
        _, k, n = SHAPES[shape]
        intensities = [gemm_intensity(m, n, k, dtype) for m in M_POSITIONS]
        reached = [attainable_flops(i, peak, bandwidth) / 1e12 for i in intensities]
        self._path.set_data(intensities, reached)
        self._ridge.set_xdata([ridge, ridge])
        self._span.set_width(ridge - _X_LIMITS[0])
        self._ridge_label.xy = (ridge, 0.04)
        self._ridge_label.set_text(f"ridge {ridge:,.0f}")
        self._title.set_text(
            f"{chip.name}, {dtype}: peak {format_flops(peak, digits=4)}, "
            f"{format_bandwidth(bandwidth)}"
        )
        self._markers.redraw_background()
        self._showing = (chip.name, dtype, shape)

    def png(self, intensity: float, attainable: float) -> bytes:
        """Render the figure with the marker at one GEMM."""
        self._marker.set_data([intensity], [attainable / 1e12])
        return self._markers.png()


_FIGURE: _RooflineFigure | None = None


def _roofline_figure(chip: Accelerator, dtype: str, shape: str) -> _RooflineFigure:
    """Return the shared figure, showing one chip, data type and shape."""
    global _FIGURE
    if _FIGURE is None:
        _FIGURE = _RooflineFigure()
    _FIGURE.show(chip, dtype, shape)
    return _FIGURE


def _format_intensity(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _format_fraction(value: float) -> str:
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def _alt_text(
    chip: Accelerator, dtype: str, description: str, m: int, intensity: float
) -> str:
    ridge = ridge_point(_peak(chip, dtype), chip.memory_bandwidth)
    return (
        f"Log-log roofline of the {chip.name} in {dtype}. Attainable TFLOP/s rises "
        "in proportion to arithmetic intensity up to the ridge at "
        f"{ridge:,.0f} FLOP/byte, then stays flat at the peak. Open circles show the "
        f"{description} GEMM for M from 1 to 8,192, and a dot marks M = {m:,} at "
        f"{_format_intensity(intensity)} FLOP/byte."
    )


def render_frame(settings: dict, m: int) -> str:
    """Render the readouts and the roofline for one GEMM as HTML."""
    chip = get_accelerator(str(settings["Chip"]))
    dtype, shape = str(settings["Data type"]), str(settings["Layer"])
    peak, bandwidth = _peak(chip, dtype), chip.memory_bandwidth
    description, k, n = SHAPES[shape]
    flops, moved = gemm_flops(m, n, k), gemm_bytes(m, n, k, dtype)
    intensity = flops / moved
    attainable = attainable_flops(intensity, peak, bandwidth)
    bound = binding_wall(flops, moved, peak, bandwidth)
    colour = _BANDWIDTH_TEXT if bound == BANDWIDTH_BOUND else _COMPUTE_TEXT
    ridge = ridge_point(peak, bandwidth)
    readouts = [
        ("GEMM", f"({m:,} × {k:,}) by ({k:,} × {n:,})"),
        (
            "Chip roofs",
            f"{format_flops(peak, digits=4)} peak, {format_bandwidth(bandwidth)}",
        ),
        ("FLOPs, bytes moved", f"{format_count(flops)}, {format_bytes(moved)}"),
        (
            "Arithmetic intensity",
            f"{_format_intensity(intensity)} FLOP/byte (ridge {ridge:,.0f})",
        ),
        (
            "Attainable",
            f"{format_flops(attainable)}, "
            f"{_format_fraction(attainable / peak)} of peak",
        ),
        ("Bound", f'<span style="color:{colour};font-weight:600">{bound}</span>'),
        (
            "Time, roofline lower bound",
            format_time(operation_time(flops, moved, peak, bandwidth)),
        ),
    ]
    rows = "".join(
        f'<tr><th scope="row" style="text-align:left;padding:2px 12px 2px 0;'
        f'font-weight:500">{label}</th><td style="padding:2px 0">{value}</td></tr>'
        for label, value in readouts
    )
    png = _roofline_figure(chip, dtype, shape).png(intensity, attainable)
    alt = html.escape(_alt_text(chip, dtype, description, m, intensity), quote=True)
    return (
        '<div class="mlsys-frame" style="background:#fff;color:#111;padding:8px;'
        'border:1px solid #ddd;border-radius:4px;max-width:720px">'
        f'<div style="font-size:0.95em;margin-bottom:4px">'
        f"{html.escape(description)} on the {html.escape(chip.name)}, {dtype}, "
        f"M = {m:,} tokens</div>"
        '<table class="mlsys-readouts" '
        'style="border-collapse:collapse;margin-bottom:6px;'
        f'color:#111">{rows}</table>'
        f'<img src="{png_data_uri(png)}" alt="{alt}" '
        'style="max-width:100%;height:auto">'
        "</div>"
    )


def roofline_point(
    chip: str = DEFAULT_CHIP,
    dtype: str = DEFAULT_DTYPE,
    shape: str = DEFAULT_SHAPE,
    m: int = DEFAULT_M,
) -> FrameExplorer:
    """Build the explorer: chip, data type and layer pickers, and a slider over M."""
    spec = get_accelerator(chip)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {tuple(SHAPES)}, got {shape!r}")
    if m not in M_POSITIONS:
        raise ValueError(f"m must be one of {M_POSITIONS}, got {m!r}")
    return FrameExplorer(
        slider_label="Tokens in the batch, M",
        positions=M_POSITIONS,
        initial_position=m,
        pickers={
            "Chip": (accelerator_names(), spec.name),
            "Data type": (DTYPES, dtype),
            "Layer": (tuple(SHAPES), shape),
        },
        render=render_frame,
        format_position=lambda position: f"{position:,}",
        static_note=(
            f"On this web page the slider works for the {html.escape(shape)} GEMM "
            f"on the {html.escape(spec.name)} in {dtype}. To change the chip, the "
            "data type or the layer, run the notebook: "
            '<a href="../book/orientation.html#three-ways-to-use-it">how to run it</a>.'
        ),
    )
