"""Lesson 03's "latency under load" explorer: one replica as the arrival rate grows.

Every slider position is one simulated run: ``LOAD_SECONDS`` of Poisson
arrivals at that rate, with the chat-like lengths of
``mlsys.workload.poisson_workload``, under continuous batching on one GPU.
Measures cover the window from ``WARM_UP_SECONDS`` to the last arrival
(``mlsys.metrics_math.measure_load_window``). Every run uses the same seed,
so a faster run's requests begin with the slower run's lengths and gaps,
scaled in time. A run depends on the GPU and the model only, because the SLO
and the price change how it is scored, not how it runs. So the runs of one
GPU and model are simulated once and cached: changing the SLO or the price
only rescores, and returning to a GPU or model already shown costs no
simulation. The first visit to a GPU or model simulates all of its rates,
because the figure's background draws every one of them.
"""

import html
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib.lines import Line2D

from mlsys.costs import H100_RENTAL, cost_per_million_tokens
from mlsys.explorers.frames import FrameExplorer
from mlsys.formatting import format_bytes, format_time, format_usd
from mlsys.hardware import accelerator_names, get_accelerator
from mlsys.metrics_math import WindowMeasures, highest_rate_meeting, measure_load_window
from mlsys.models import get_model, weight_bytes
from mlsys.plotting import (
    OKABE_ITO,
    MarkerLayer,
    log10_axis,
    new_figure,
    palette_png,
    png_data_uri,
)
from mlsys.serving_results import SLO, SimulationResult
from mlsys.simulator import Replica, simulate_continuous
from mlsys.workload import poisson_workload

RATE_POSITIONS = (5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 70)
"""Slider positions, requests/s: from light load to overload for Llama 3 8B on
one H100 SXM."""

LOAD_SECONDS = 60.0
"""Seconds of load in each run, so a run at rate r has about 60 r requests."""

WARM_UP_SECONDS = 15.0
"""Start of the measurement window. Each run starts with an empty server, and
its batch takes several seconds to reach a steady size."""

SEED = 3
MAX_BATCH = 256  # max requests in the running batch, an assumption of this lesson
ATTAINMENT_TARGET = 0.9  # share of requests that must meet the SLO (DistServe)
DTYPE = "bf16"

MODEL_CHOICES = ("Llama 3 8B", "Llama 3 70B", "Llama 3 405B")
TTFT_CHOICES = {"200 ms": 0.2, "500 ms": 0.5, "1 s": 1.0, "2 s": 2.0}
TPOT_CHOICES = {"15 ms": 0.015, "20 ms": 0.02, "30 ms": 0.03, "50 ms": 0.05}
PRICE_CHOICES = {
    f"{format_usd(price)} ({level})": price
    for level, price in (
        ("low", H100_RENTAL.low),
        ("typical", H100_RENTAL.typical),
        ("high", H100_RENTAL.high),
    )
}
"""Prices per GPU-hour from the H100 rental assumption in ``mlsys.costs``.

NOTE: the explorer applies them to every GPU in its picker, because the library
has a rental assumption for the H100 only.
"""

DEFAULT_GPU = "H100 SXM"
DEFAULT_MODEL = "Llama 3 8B"
DEFAULT_RATE = 30
DEFAULT_TTFT = "500 ms"
DEFAULT_TPOT = "50 ms"
DEFAULT_PRICE = next(label for label in PRICE_CHOICES if "typical" in label)

PERCENTILES = (50, 90, 99)
_PERCENTILE_MARKERS = {50: "o", 90: "s", 99: "^"}
FIGURE_DPI = 80  # keeps each pre-rendered frame small on the static page
_MARGINS = dict(left=0.07, right=0.99, bottom=0.19, top=0.88, wspace=0.34)


def build_replica(gpu_name: str, model_name: str) -> Replica:
    """Return the replica of one model on one GPU, or raise a readable ValueError."""
    gpu, model = get_accelerator(gpu_name), get_model(model_name)
    weights = weight_bytes(model, DTYPE)
    if weights >= gpu.memory_bytes:
        raise ValueError(
            f"{model_name} needs {format_bytes(weights)} for its {DTYPE} weights, "
            f"more than the {format_bytes(gpu.memory_bytes, binary=True)} of one "
            f"{gpu_name}, so it does not fit on one chip. Pick a smaller model or a "
            "chip with more memory; lesson 10 splits a model across chips."
        )
    return Replica(model, gpu, dtype=DTYPE)


@dataclass(frozen=True)
class Sweep:
    """The simulated runs of one GPU and model, one per slider position."""

    gpu: str
    model: str
    rates: tuple[float, ...]
    runs: tuple[SimulationResult, ...]

    def measures(self, slo: SLO) -> list[WindowMeasures]:
        """Return each run's measures over its window, scored against ``slo``."""
        return [measure_load_window(run, slo, WARM_UP_SECONDS) for run in self.runs]

    def goodput_rate(self, measures: list[WindowMeasures]) -> float | None:
        """Return DistServe's goodput on this grid: the highest rate at 90 %."""
        attainments = [m.slo_attainment for m in measures]
        return highest_rate_meeting(self.rates, attainments, ATTAINMENT_TARGET)


@lru_cache(maxsize=8)
def run_sweep(gpu_name: str, model_name: str) -> Sweep:
    """Simulate every slider position for one GPU and model (cached)."""
    replica = build_replica(gpu_name, model_name)
    runs = []
    for rate in RATE_POSITIONS:
        requests = poisson_workload(rate, round(rate * LOAD_SECONDS), seed=SEED)
        longest = max(r.prompt_tokens + r.output_tokens for r in requests)
        if longest > replica.kv_capacity_tokens:
            raise ValueError(
                f"{model_name} in {DTYPE} leaves room for "
                f"{replica.kv_capacity_tokens:,} tokens of KV cache on one "
                f"{gpu_name}, less than the longest request of this workload "
                f"needs ({longest:,} tokens). Pick a chip with more memory or a "
                "smaller model."
            )
        runs.append(simulate_continuous(requests, replica, max_batch=MAX_BATCH))
    rates = tuple(float(rate) for rate in RATE_POSITIONS)
    return Sweep(gpu_name, model_name, rates, tuple(runs))


def _empirical_cdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    finite = np.sort(values[np.isfinite(values)])
    return finite, np.arange(1, len(finite) + 1) / len(finite)


def _log_limits(low: float, high: float) -> tuple[float, float]:
    return 10 ** np.floor(np.log10(low)), 10 ** np.ceil(np.log10(high))


class _LoadFigure:
    """TTFT and TPOT distributions, and goodput against offered load.

    The runs at every rate are drawn once in grey, with the SLO lines and the
    goodput curves, as the fixed background. Moving the slider redraws only
    the current run's curves and markers on top of it.
    """

    def __init__(self) -> None:
        self.figure = new_figure(width=8.6, height=2.9, ncols=3, margins=_MARGINS)
        self.figure.set_dpi(FIGURE_DPI)
        ttft_axis, tpot_axis, rate_axis = self.figure.axes
        self._axes = {"ttft": ttft_axis, "tpot": tpot_axis}
        for axis, title in ((ttft_axis, "TTFT"), (tpot_axis, "TPOT")):
            log10_axis(axis, "x")
            axis.set_ylim(0, 1.02)
            axis.set_title(f"{title} distribution")
        ttft_axis.set_xlabel("Time to first token (ms)")
        tpot_axis.set_xlabel("Time per output token (ms)")
        ttft_axis.set_ylabel("Share of requests")
        rate_axis.set_xlabel("Offered load (requests/s)")
        rate_axis.set_ylabel("Requests/s")
        rate_axis.set_title("Throughput and goodput")

        slo_style = dict(color=OKABE_ITO["vermillion"], ls="--", lw=1.5)
        self._grey: dict[str, list] = {"ttft": [], "tpot": []}
        self._slo_lines = {
            name: axis.axvline(1, **slo_style) for name, axis in self._axes.items()
        }
        (self._offered,) = rate_axis.plot([], [], color="#888888", ls=":", lw=1.5)
        (self._throughput,) = rate_axis.plot([], [], color=OKABE_ITO["black"], lw=1.8)
        (self._goodput,) = rate_axis.plot([], [], color=OKABE_ITO["green"], lw=2.2)
        self._goodput_line = rate_axis.axvline(
            1, color=OKABE_ITO["green"], ls="--", lw=1.2
        )
        rate_axis.legend(
            [self._offered, self._throughput, self._goodput],
            ["offered", "completed", "goodput"],
            loc="upper left",
            fontsize=9,
            handlelength=1.6,
        )
        ttft_axis.legend(
            [
                Line2D([], [], color=OKABE_ITO["black"], marker=m, ls="none", ms=6)
                for m in _PERCENTILE_MARKERS.values()
            ]
            + [Line2D([], [], **slo_style)],
            [f"p{p}" for p in _PERCENTILE_MARKERS] + ["SLO"],
            loc="lower right",
            fontsize=9,
            handlelength=1.2,
        )

        self._curves = {
            "ttft": ttft_axis.plot([], [], color=OKABE_ITO["blue"], lw=2)[0],
            "tpot": tpot_axis.plot([], [], color=OKABE_ITO["orange"], lw=2)[0],
        }
        mark_style = dict(color=OKABE_ITO["black"], ms=6, ls="none")
        self._percentile_marks = {
            name: [
                axis.plot([], [], marker=marker, **mark_style)[0]
                for marker in _PERCENTILE_MARKERS.values()
            ]
            for name, axis in self._axes.items()
        }
        point_style = dict(marker="o", ms=7, ls="none", mec="white", mew=1)
        (self._throughput_point,) = rate_axis.plot(
            [], [], color=OKABE_ITO["black"], **point_style
        )
        (self._goodput_point,) = rate_axis.plot(
            [], [], color=OKABE_ITO["green"], **point_style
        )
        moving = [
            *self._curves.values(),
            self._throughput_point,
            self._goodput_point,
            *self._percentile_marks["ttft"],
            *self._percentile_marks["tpot"],
        ]
        self._layer = MarkerLayer(self.figure, moving)
        self._showing: tuple | None = None

    def show(self, sweep: Sweep, slo: SLO, measures: list[WindowMeasures]) -> None:
        """Draw the background of one sweep and SLO, unless it is already drawn."""
        key = (sweep.gpu, sweep.model, slo)
        if self._showing == key:
            return
        for name, axis in self._axes.items():
            for line in self._grey[name]:
                line.remove()
            samples = [
                getattr(run, name)[m.measured] * 1e3
                for run, m in zip(sweep.runs, measures, strict=True)
            ]
            self._grey[name] = [
                axis.plot(*_empirical_cdf(v), color="#bbbbbb", lw=0.9, zorder=1)[0]
                for v in samples
            ]
            target = getattr(slo, name) * 1e3
            low = min(np.nanmin(v) for v in samples)
            high = max(np.nanmax(v) for v in samples)
            axis.set_xlim(*_log_limits(min(low, target), max(high, target)))
            self._slo_lines[name].set_xdata([target, target])

        rate_axis = self.figure.axes[2]
        rates = np.asarray(sweep.rates)
        self._offered.set_data(rates, rates)
        self._throughput.set_data(rates, [m.requests_per_second for m in measures])
        self._goodput.set_data(rates, [m.goodput for m in measures])
        goodput_rate = sweep.goodput_rate(measures)
        self._goodput_line.set_visible(goodput_rate is not None)
        if goodput_rate is not None:
            self._goodput_line.set_xdata([goodput_rate, goodput_rate])
        rate_axis.set_xlim(0, rates.max() * 1.03)
        rate_axis.set_ylim(0, rates.max() * 1.05)
        self._layer.redraw_background()
        self._showing = key

    def png(
        self, run: SimulationResult, rate: float, measures: WindowMeasures
    ) -> bytes:
        """Render the figure with one run's curves and markers on top."""
        for name, curve in self._curves.items():
            values = getattr(run, name)[measures.measured] * 1e3
            curve.set_data(*_empirical_cdf(values))
            points = run.percentiles(values, PERCENTILES)
            for mark, p in zip(self._percentile_marks[name], PERCENTILES, strict=True):
                mark.set_data([points[p]], [p / 100])
        self._throughput_point.set_data([rate], [measures.requests_per_second])
        self._goodput_point.set_data([rate], [measures.goodput])
        return palette_png(self._layer.png(), 64, dither=False)


_FIGURE: _LoadFigure | None = None


def _load_figure() -> _LoadFigure:
    global _FIGURE
    if _FIGURE is None:
        _FIGURE = _LoadFigure()
    return _FIGURE


def slo_from_settings(settings: dict) -> SLO:
    """Return the SLO that the pickers describe."""
    return SLO(
        ttft=TTFT_CHOICES[str(settings["TTFT SLO"])],
        tpot=TPOT_CHOICES[str(settings["TPOT SLO"])],
    )


def format_price(amount: float) -> str:
    """Format dollars to three decimals below $10 ('$0.085'), else as format_usd."""
    return f"${amount:.3f}" if abs(amount) < 10 else format_usd(amount)


def _format_target(seconds: float) -> str:
    return f"{seconds * 1e3:g} ms" if seconds < 1 else f"{seconds:g} s"


def _percentile_text(values: np.ndarray) -> str:
    points = np.nanpercentile(values, PERCENTILES)
    spread = " / ".join(format_time(float(point)) for point in points)
    return f"{spread} (mean {format_time(float(np.nanmean(values)))})"


def _goodput_text(sweep: Sweep, goodput_rate: float | None) -> str:
    if goodput_rate is None:
        return f"below {sweep.rates[0]:g} requests/s, the lowest rate swept"
    if goodput_rate == sweep.rates[-1]:
        return f"at least {goodput_rate:g} requests/s, the highest rate swept"
    above = sweep.rates[sweep.rates.index(goodput_rate) + 1]
    return f"{goodput_rate:g} requests/s ({above:g} misses the target)"


def _readout_rows(
    run: SimulationResult,
    measures: WindowMeasures,
    slo: SLO,
    goodput_text: str,
    price: float,
) -> list[tuple[str, str]]:
    measured = measures.measured
    completed = measures.requests_per_second
    cost = cost_per_million_tokens(price, measures.output_tokens_per_second)
    tokens = run.output_tokens[measured]
    met_share = float(tokens[run.meets(slo)[measured]].sum() / tokens.sum())
    met_cost = format_price(cost / met_share) if met_share > 0 else "none met it"
    slo_text = f"TTFT ≤ {_format_target(slo.ttft)}, TPOT ≤ {_format_target(slo.tpot)}"
    return [
        ("TTFT p50 / p90 / p99", _percentile_text(run.ttft[measured])),
        ("TPOT p50 / p90 / p99", _percentile_text(run.tpot[measured])),
        (f"SLO attainment ({slo_text})", f"{measures.slo_attainment:.1%}"),
        ("Completed (finished in the window)", f"{completed:.1f} requests/s"),
        (
            "Goodput (arrived in the window, met the SLO)",
            f"{measures.goodput:.1f} requests/s",
        ),
        ("Output tokens/s", f"{measures.output_tokens_per_second:,.0f}"),
        (f"Goodput per GPU ({ATTAINMENT_TARGET:.0%} attainment)", goodput_text),
        (
            f"$ per million output tokens at {format_usd(price)}/GPU-hour "
            "(a lower bound: roofline speed)",
            f"{format_price(cost)}; counting only requests within the SLO: {met_cost}",
        ),
    ]


def _alt_text(
    sweep: Sweep,
    rate: float,
    run: SimulationResult,
    measures: WindowMeasures,
    slo: SLO,
    goodput_text: str,
) -> str:
    values = {}
    for name in ("ttft", "tpot"):
        points = np.nanpercentile(getattr(run, name)[measures.measured], (50, 99))
        values[name] = [format_time(float(point)) for point in points]
    return (
        f"Three plots for {sweep.model} on {sweep.gpu} at {rate:g} requests/s. "
        "Left: the cumulative distribution of time to first token, p50 "
        f"{values['ttft'][0]} and p99 {values['ttft'][1]}, with a dashed SLO line at "
        f"{_format_target(slo.ttft)}. Middle: time per output token, p50 "
        f"{values['tpot'][0]} and p99 {values['tpot'][1]}, SLO at "
        f"{_format_target(slo.tpot)}. Right: completed requests per second, and "
        "goodput (the window's arrivals that met the SLO) against offered load; "
        f"goodput per GPU is {goodput_text}. Grey curves are the other rates."
    )


def render_frame(settings: dict, rate: float) -> str:
    """Render the readouts and figure for one arrival rate as HTML."""
    gpu_name, model_name = str(settings["GPU"]), str(settings["Model"])
    slo = slo_from_settings(settings)
    price = PRICE_CHOICES[str(settings["Price"])]
    sweep = run_sweep(gpu_name, model_name)
    measures = sweep.measures(slo)
    index = sweep.rates.index(float(rate))
    run, current = sweep.runs[index], measures[index]
    goodput_text = _goodput_text(sweep, sweep.goodput_rate(measures))
    figure = _load_figure()
    figure.show(sweep, slo, measures)
    png = figure.png(run, float(rate), current)

    rows = "".join(
        f'<tr><th scope="row" style="text-align:left;padding:2px 12px 2px 0;'
        f'font-weight:500">{html.escape(label)}</th>'
        f'<td style="padding:2px 0">{html.escape(value)}</td></tr>'
        for label, value in _readout_rows(run, current, slo, goodput_text, price)
    )
    alt = _alt_text(sweep, float(rate), run, current, slo, goodput_text)
    heading = (
        f"{model_name} on one {gpu_name}, {DTYPE}, continuous batching (at most "
        f"{MAX_BATCH} requests running). {LOAD_SECONDS:g} s of Poisson arrivals at "
        f"{rate:g} requests/s ({len(run.arrival):,} requests), measured from "
        f"{WARM_UP_SECONDS:g} s to the last arrival."
    )
    return (
        '<div class="mlsys-frame" style="background:#fff;color:#111;padding:8px;'
        'border:1px solid #ddd;border-radius:4px;max-width:800px">'
        f'<div style="font-size:0.95em;margin-bottom:4px">{html.escape(heading)}</div>'
        '<table class="mlsys-readouts" style="border-collapse:collapse;'
        f'margin-bottom:6px;color:#111">{rows}</table>'
        f'<img src="{png_data_uri(png)}" alt="{html.escape(alt, quote=True)}" '
        'style="max-width:100%;height:auto">'
        "</div>"
    )


def latency_under_load(
    gpu: str = DEFAULT_GPU,
    model: str = DEFAULT_MODEL,
    rate: float = DEFAULT_RATE,
    ttft: str = DEFAULT_TTFT,
    tpot: str = DEFAULT_TPOT,
    price: str = DEFAULT_PRICE,
) -> FrameExplorer:
    """Build the explorer: a rate slider with GPU, model, SLO and price pickers."""
    get_accelerator(gpu)
    if model not in MODEL_CHOICES:
        raise ValueError(f"model must be one of {MODEL_CHOICES}, got {model!r}")
    if rate not in RATE_POSITIONS:
        raise ValueError(f"rate must be one of {RATE_POSITIONS}, got {rate!r}")
    for name, value, choices in (
        ("ttft", ttft, TTFT_CHOICES),
        ("tpot", tpot, TPOT_CHOICES),
        ("price", price, PRICE_CHOICES),
    ):
        if value not in choices:
            raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return FrameExplorer(
        slider_label="Arrival rate (requests/s)",
        positions=RATE_POSITIONS,
        initial_position=rate,
        pickers={
            "GPU": (accelerator_names(), gpu),
            "Model": (MODEL_CHOICES, model),
            "TTFT SLO": (tuple(TTFT_CHOICES), ttft),
            "TPOT SLO": (tuple(TPOT_CHOICES), tpot),
            "Price": (tuple(PRICE_CHOICES), price),
        },
        render=render_frame,
        static_note=(
            f"On this web page the slider works for {html.escape(model)} on "
            f"{html.escape(gpu)} with TTFT ≤ {html.escape(ttft)} and TPOT ≤ "
            f"{html.escape(tpot)}, priced at {html.escape(price)} per GPU-hour. To "
            "change the GPU, the model, the SLO or the price, run the notebook: "
            '<a href="../book/orientation.html#three-ways-to-use-it">how to run it</a>.'
        ),
        format_position=lambda value: f"{value:g}",
    )
