"""Lesson 05's explorer: colocated, chunked and disaggregated serving side by side.

Three ways to serve one workload on the same number of GPUs:

- colocated: every GPU is a replica that runs whole prompts beside its running
  decodes (continuous batching, as in Orca);
- chunked: the same replicas, with a per-iteration token budget that splits
  prompts into chunks (chunked prefill, as in Sarathi-Serve);
- disaggregated: a pool of prefill GPUs and a pool of decode GPUs, with each
  prompt's KV cache sent between them (as in DistServe and Splitwise).

Requests go round-robin, in arrival order, to the colocated replicas, as they do
to the prefill pool in :func:`mlsys.simulator.simulate_disaggregated`. The
simulator's assumptions (roofline iteration times, a 2 ms overhead per
iteration, KV capacity reserved up front, KV transfers queued on each prefill
GPU's own link with no bandwidth shared between links) apply here too.
"""

import dataclasses
import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import NullLocator

from mlsys.explorers.frames import FrameExplorer
from mlsys.formatting import format_bytes, format_time
from mlsys.hardware import get_accelerator
from mlsys.models import get_model, weight_bytes
from mlsys.plotting import OKABE_ITO, MarkerLayer, log10_axis, new_figure, png_data_uri
from mlsys.serving_results import SLO, ReplicaTimeline, SimulationResult
from mlsys.simulator import Replica, simulate_continuous, simulate_disaggregated
from mlsys.workload import Request, poisson_workload

MODES = ("colocated", "chunked", "disaggregated")
"""The three serving modes, in the order the explorer draws them."""

MODE_COLOURS = {
    "colocated": OKABE_ITO["vermillion"],
    "chunked": OKABE_ITO["blue"],
    "disaggregated": OKABE_ITO["green"],
}

GPU_NAME = "H100 SXM"
DTYPE = "bf16"
MAX_BATCH = 128
"""Maximum number of requests a replica runs at once. A token budget must exceed it."""

BUDGET_POSITIONS = (192, 256, 384, 512, 768, 1024, 1536, 2048, 4096, 8192)
"""Slider positions: tokens per iteration (decodes plus prompt chunks)."""

DEFAULT_BUDGET = 512
REQUEST_COUNT = 480
WORKLOAD_SEED = 2405
PROMPT_SIGMA = 1.0  # wide enough that a few prompts reach the 8,192-token clip
OUTPUT_SIGMA = 0.8

LINK_BANDWIDTH = 50e9
"""Bytes/s of the KV link between pools: an assumption, one 400 Gbit/s network
port (400e9 / 8 bytes/s), the case where the two pools sit in different servers."""

DEFAULT_SLO = SLO(ttft=0.5, tpot=0.010)
"""The explorer's latency targets: an assumption of a tight interactive SLO."""

ATTAINMENT_TARGET = 0.9
"""Share of requests that must meet the SLO for a rate to count as served."""

SHOW_OPTIONS = {
    "all three": MODES,
    "colocated vs chunked": ("colocated", "chunked"),
    "chunked vs disaggregated": ("chunked", "disaggregated"),
    "colocated vs disaggregated": ("colocated", "disaggregated"),
}
MODEL_OPTIONS = ("Llama 3 8B", "Llama 2 7B", "Llama 3 70B")
PROMPT_OPTIONS = {"512": 512, "1,024": 1024, "2,048": 2048}
OUTPUT_OPTIONS = {"64": 64, "128": 128, "256": 256, "512": 512}
LOAD_OPTIONS = {"4": 4.0, "8": 8.0, "12": 12.0, "16": 16.0}


@dataclass(frozen=True)
class PoolSizes:
    """GPUs given to the prefill and decode pools of a disaggregated deployment.

    Colocated and chunked serving use the same total as identical replicas.
    """

    prefill: int
    decode: int

    def __post_init__(self) -> None:
        for name in ("prefill", "decode"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} GPUs must be an integer >= 1, got {value!r}")

    @property
    def total(self) -> int:
        """GPUs in the deployment."""
        return self.prefill + self.decode

    def label(self) -> str:
        """Format as '<total> GPUs: <p> prefill + <d> decode'."""
        return f"{self.total} GPUs: {self.prefill} prefill + {self.decode} decode"


POOL_OPTIONS = {
    pools.label(): pools
    for pools in (
        PoolSizes(1, 1),
        PoolSizes(1, 2),
        PoolSizes(2, 1),
        PoolSizes(1, 3),
        PoolSizes(2, 2),
        PoolSizes(3, 1),
    )
}

DEFAULTS = {
    "Show": "all three",
    "Model": "Llama 3 8B",
    "Prompt median": "1,024",
    "Output median": "128",
    "GPUs": PoolSizes(1, 1).label(),
    "Load per GPU (req/s)": "8",
}


def merge_results(
    results: Sequence[SimulationResult], scheduler: str
) -> SimulationResult:
    """Join the results of replicas that served disjoint requests into one result.

    Requests are put back in arrival order, and the replica timelines are kept.
    """
    if not results:
        raise ValueError("need at least one result to merge")
    fields = (
        "arrival",
        "first_token",
        "last_token",
        "finish",
        "prompt_tokens",
        "output_tokens",
        "max_token_gap",
    )
    joined = {
        name: np.concatenate([getattr(r, name) for r in results]) for name in fields
    }
    order = np.argsort(joined["arrival"], kind="stable")
    return SimulationResult(
        scheduler=scheduler,
        **{name: values[order] for name, values in joined.items()},
        replicas=[timeline for r in results for timeline in r.replicas],
    )


def simulate_colocated(
    requests: Sequence[Request],
    replica: Replica,
    replicas: int,
    max_batch: int = MAX_BATCH,
    token_budget: int | None = None,
) -> SimulationResult:
    """Serve requests on identical replicas, each running both phases.

    Requests go round-robin in arrival order. With ``token_budget`` None each
    replica runs whole prompts (continuous batching). With a budget it runs
    chunked prefill.
    """
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ValueError(f"replicas must be an integer >= 1, got {replicas!r}")
    ordered = sorted(requests, key=lambda r: r.arrival)
    parts = [ordered[k::replicas] for k in range(replicas)]
    results = [
        simulate_continuous(part, replica, max_batch, token_budget)
        for part in parts
        if part
    ]
    merged = merge_results(results, "continuous" if token_budget is None else "chunked")
    renamed = [
        ReplicaTimeline(f"replica {k}", timeline.iterations)
        for k, timeline in enumerate(merged.replicas)
    ]
    return dataclasses.replace(merged, replicas=renamed)


def simulate_mode(
    mode: str,
    requests: Sequence[Request],
    replica: Replica,
    pools: PoolSizes,
    token_budget: int = DEFAULT_BUDGET,
    link_bandwidth: float = LINK_BANDWIDTH,
    max_batch: int = MAX_BATCH,
) -> SimulationResult:
    """Simulate one serving mode on ``pools.total`` GPUs.

    ``token_budget`` applies to the chunked mode only. The disaggregated
    prefill pool keeps the simulator's default budget of 8,192 prompt tokens
    per iteration: it batches prompts up to that budget and splits a prompt
    that does not fit in what is left of it across iterations.
    """
    if mode == "colocated":
        return simulate_colocated(requests, replica, pools.total, max_batch)
    if mode == "chunked":
        return simulate_colocated(
            requests, replica, pools.total, max_batch, token_budget
        )
    if mode == "disaggregated":
        return simulate_disaggregated(
            requests,
            replica,
            pools.prefill,
            pools.decode,
            link_bandwidth,
            max_batch=max_batch,
        )
    raise ValueError(f"unknown mode {mode!r}; expected one of: {', '.join(MODES)}")


def goodput_per_gpu(
    rates_per_gpu: Sequence[float],
    attainment: Sequence[float],
    target: float = ATTAINMENT_TARGET,
) -> float:
    """Return the highest load per GPU at which SLO attainment stays >= ``target``.

    This is goodput as DistServe defines it. ``rates_per_gpu`` must increase.
    Between the last load that meets the target and the first that misses it,
    the crossing is interpolated linearly. Returns 0.0 if the lowest load
    already misses and the last load if none does.
    """
    rates = np.asarray(rates_per_gpu, dtype=float)
    shares = np.asarray(attainment, dtype=float)
    if rates.ndim != 1 or rates.shape != shares.shape or not len(rates):
        raise ValueError("rates_per_gpu and attainment must be 1-D and of equal length")
    if np.any(np.diff(rates) <= 0):
        raise ValueError("rates_per_gpu must be strictly increasing")
    misses = np.flatnonzero(shares < target)
    if not len(misses):
        return float(rates[-1])
    first = misses[0]
    if first == 0:
        return 0.0
    low, high = rates[first - 1], rates[first]
    above, below = shares[first - 1], shares[first]
    return float(low + (high - low) * (above - target) / (above - below))


def explorer_workload(
    prompt_median: int, output_median: int, rate: float, count: int = REQUEST_COUNT
) -> list[Request]:
    """Build the explorer's seeded Poisson workload at ``rate`` requests/s in all."""
    return poisson_workload(
        float(rate),
        count,
        seed=WORKLOAD_SEED,
        prompt_median=prompt_median,
        prompt_sigma=PROMPT_SIGMA,
        output_median=output_median,
        output_sigma=OUTPUT_SIGMA,
    )


def _replica(model_name: str) -> Replica:
    model, gpu = get_model(model_name), get_accelerator(GPU_NAME)
    weights = weight_bytes(model, DTYPE)
    if weights >= gpu.memory_bytes:
        raise ValueError(
            f"{model_name} needs {format_bytes(weights)} of {DTYPE} weights, more "
            f"than the {format_bytes(gpu.memory_bytes, binary=True)} of one "
            f"{GPU_NAME}, and this explorer runs one GPU per replica. Pick a smaller "
            "model; lesson 10 splits a model across GPUs."
        )
    return Replica(model, gpu, dtype=DTYPE)


@functools.lru_cache(maxsize=64)
def _simulate(
    mode: str,
    model_name: str,
    prompt_median: int,
    output_median: int,
    pools: PoolSizes,
    load_per_gpu: float,
    token_budget: int,
) -> SimulationResult:
    requests = explorer_workload(
        prompt_median, output_median, load_per_gpu * pools.total
    )
    return simulate_mode(mode, requests, _replica(model_name), pools, token_budget)


# Fixed axes, so that the chunked curves can move over a background drawn once.
_AXES = (
    ("TTFT", "Time to first token (ms)", (5.0, 20_000.0), "ttft"),
    ("TPOT", "Time per output token (ms)", (5.0, 200.0), "tpot"),
    ("Max token gap", "Longest wait between tokens (ms)", (5.0, 5_000.0), "gap"),
)
_SHARE_FLOOR = 1e-3
_MARGINS = dict(left=0.075, right=0.99, bottom=0.2, top=0.8, wspace=0.3)


def _latencies(result: SimulationResult, measure: str) -> np.ndarray:
    """Return one latency measure of every request (NaN TPOTs dropped), seconds."""
    values = {
        "ttft": result.ttft,
        "tpot": result.tpot,
        "gap": result.max_token_gap,
    }[measure]
    return values[np.isfinite(values)]


def _tail_curve(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return x (ms) and the share of requests at or above x, for a step plot."""
    ordered = np.sort(values) * 1e3
    share = (len(ordered) - np.arange(len(ordered))) / len(ordered)
    return ordered, share


class _ModesFigure:
    """Tail curves of TTFT, TPOT and max token gap, one colour per mode.

    The colocated and disaggregated curves do not depend on the token budget,
    so they are drawn into the background once per choice of pickers. Each
    slider position redraws only the chunked curves and markers on top.
    """

    def __init__(self) -> None:
        self.figure = new_figure(width=8.6, height=2.75, ncols=3, margins=_MARGINS)
        self._lines: dict[str, list] = {mode: [] for mode in MODES}
        self._markers: dict[str, list] = {mode: [] for mode in MODES}
        for axis, (title, label, limits, _) in zip(
            self.figure.axes, _AXES, strict=True
        ):
            log10_axis(axis, "x")
            axis.set_yscale("log")
            axis.set_xlim(*limits)
            axis.set_ylim(_SHARE_FLOOR, 1.3)
            axis.set_yticks([1e-3, 1e-2, 1e-1, 1], ["0.1 %", "1 %", "10 %", "100 %"])
            axis.yaxis.set_minor_locator(NullLocator())
            axis.set_title(title, fontsize=10)
            axis.set_xlabel(label, fontsize=9)
            axis.tick_params(labelsize=8)
            axis.axhline(0.01, color="#777777", lw=0.8, ls=":")
            for mode in MODES:
                style = dict(color=MODE_COLOURS[mode], lw=1.6, drawstyle="steps-post")
                (line,) = axis.plot([], [], label=mode, **style)
                (marker,) = axis.plot(
                    [],
                    [],
                    marker="o",
                    ms=6,
                    ls="none",
                    color=MODE_COLOURS[mode],
                    markeredgecolor="black",
                    markeredgewidth=0.6,
                )
                self._lines[mode].append(line)
                self._markers[mode].append(marker)
        first, second, _ = self.figure.axes
        first.set_ylabel("Requests at or above x", fontsize=9)
        first.text(
            0.99,
            0.012,
            "p99",
            transform=first.get_yaxis_transform(),
            ha="right",
            va="bottom",
            fontsize=8,
            color="#555555",
        )
        self._slo_lines = [
            first.axvline(1, color="#333333", lw=1, ls="--"),
            second.axvline(1, color="#333333", lw=1, ls="--"),
        ]
        self._legend = None
        self._layer = MarkerLayer(
            self.figure, self._lines["chunked"] + self._markers["chunked"]
        )
        self._showing: object = None

    def _set_mode(self, mode: str, result: SimulationResult | None) -> None:
        for line, marker, (_, _, _, measure) in zip(
            self._lines[mode], self._markers[mode], _AXES, strict=True
        ):
            if result is None:
                line.set_data([], [])
                marker.set_data([], [])
                continue
            values = _latencies(result, measure)
            line.set_data(*_tail_curve(values))
            marker.set_data([np.percentile(values, 99) * 1e3], [0.01])

    def show(self, key: object, results: dict[str, SimulationResult], slo: SLO) -> None:
        """Draw the colocated and disaggregated curves, unless already drawn.

        ``results`` contains the modes to show. Its chunked result, if any, only
        decides whether the chunked mode gets a legend entry.
        """
        if self._showing == key:
            return
        for mode in ("colocated", "disaggregated"):
            self._set_mode(mode, results.get(mode))
        if self._legend is not None:
            self._legend.remove()
        self._legend = self.figure.legend(
            handles=[self._lines[mode][0] for mode in MODES if mode in results],
            loc="upper center",
            ncols=3,
            fontsize=9,
            frameon=False,
        )
        self._slo_lines[0].set_xdata([slo.ttft * 1e3] * 2)
        self._slo_lines[1].set_xdata([slo.tpot * 1e3] * 2)
        self._set_mode("chunked", None)
        self._layer.redraw_background()
        self._showing = key

    def png(self, chunked: SimulationResult | None) -> bytes:
        """Render the figure with the chunked curves of one token budget."""
        self._set_mode("chunked", chunked)
        return self._layer.png()


_FIGURE: _ModesFigure | None = None


def _modes_figure() -> _ModesFigure:
    global _FIGURE
    if _FIGURE is None:
        _FIGURE = _ModesFigure()
    return _FIGURE


@dataclass(frozen=True)
class _Settings:
    modes_shown: tuple[str, ...]
    model_name: str
    prompt_median: int
    output_median: int
    pools: PoolSizes
    load_per_gpu: float


def _parse(settings: dict) -> _Settings:
    """Turn picker labels into values, rejecting unknown labels by name."""
    tables = {
        "Show": SHOW_OPTIONS,
        "Prompt median": PROMPT_OPTIONS,
        "Output median": OUTPUT_OPTIONS,
        "GPUs": POOL_OPTIONS,
        "Load per GPU (req/s)": LOAD_OPTIONS,
    }
    values = {}
    for name, table in tables.items():
        label = str(settings.get(name, DEFAULTS[name]))
        if label not in table:
            raise ValueError(
                f"{name} {label!r} is not an option; expected one of: "
                f"{', '.join(table)}"
            )
        values[name] = table[label]
    model_name = str(settings.get("Model", DEFAULTS["Model"]))
    get_model(model_name)  # raises ValueError listing the valid names
    return _Settings(
        modes_shown=values["Show"],
        model_name=model_name,
        prompt_median=values["Prompt median"],
        output_median=values["Output median"],
        pools=values["GPUs"],
        load_per_gpu=values["Load per GPU (req/s)"],
    )


def simulate_settings(settings: dict, token_budget: int) -> dict[str, SimulationResult]:
    """Simulate the modes that the settings show, keyed by mode name."""
    parsed = _parse(settings)
    return {
        mode: _simulate(
            mode,
            parsed.model_name,
            parsed.prompt_median,
            parsed.output_median,
            parsed.pools,
            parsed.load_per_gpu,
            token_budget if mode == "chunked" else DEFAULT_BUDGET,
        )
        for mode in parsed.modes_shown
    }


def _readout_rows(results: dict[str, SimulationResult], slo: SLO) -> str:
    def cell(text: str) -> str:
        return f'<td style="padding:2px 10px;text-align:right">{text}</td>'

    def pair(values: np.ndarray) -> str:
        low, high = np.percentile(values, 50), np.percentile(values, 99)
        return f"{format_time(low)} / <b>{format_time(high)}</b>"

    rows = [
        ("TTFT p50 / p99", lambda r: pair(_latencies(r, "ttft"))),
        ("TPOT p50 / p99", lambda r: pair(_latencies(r, "tpot"))),
        ("Max token gap p50 / p99", lambda r: pair(_latencies(r, "gap"))),
        ("Requests meeting the SLO", lambda r: f"{r.slo_attainment(slo):.0%}"),
    ]
    header = "".join(
        # Dark text over a border in the mode's colour: the plot colours are too
        # light for text on white.
        f'<th scope="col" style="padding:2px 10px;text-align:right;color:#111;'
        f'border-bottom:3px solid {MODE_COLOURS[mode]}">{mode}</th>'
        for mode in results
    )
    body = "".join(
        f'<tr><th scope="row" style="text-align:left;padding:2px 10px 2px 0;'
        f'font-weight:500">{label}</th>'
        + "".join(cell(measure(result)) for result in results.values())
        + "</tr>"
        for label, measure in rows
    )
    return f"<tr><th></th>{header}</tr>{body}"


def _alt_text(parsed: _Settings, token_budget: int) -> str:
    names = ", ".join(parsed.modes_shown)
    return (
        "Three plots of the share of requests at or above a latency, on log scales: "
        f"time to first token, time per output token and longest gap between tokens, "
        f"for {names} serving. A dotted line marks the 1 % level, where each curve's "
        "dot is its p99. Dashed lines mark the SLO. The chunked curves use a token "
        f"budget of {token_budget:,}."
    )


def render_frame(settings: dict, token_budget: int) -> str:
    """Render the readouts and tail plots for one token budget as HTML."""
    parsed = _parse(settings)
    results = simulate_settings(settings, token_budget)

    figure = _modes_figure()
    key = (
        parsed.model_name,
        parsed.prompt_median,
        parsed.output_median,
        parsed.pools,
        parsed.load_per_gpu,
        parsed.modes_shown,
    )
    figure.show(key, results, DEFAULT_SLO)
    png = figure.png(results.get("chunked"))

    pools = parsed.pools
    rate = parsed.load_per_gpu * pools.total
    parts = [
        f"{html.escape(parsed.model_name)} on {pools.total} × {GPU_NAME}, {DTYPE}",
        f"{rate:g} requests/s in all",
    ]
    replicated = [mode for mode in ("colocated", "chunked") if mode in results]
    if replicated:
        parts.append(f"{' and '.join(replicated)}: {pools.total} replicas")
    if "chunked" in results:
        parts.append(f"chunked token budget {token_budget:,}")
    if "disaggregated" in results:
        parts.append(
            f"disaggregated: {pools.prefill} prefill + {pools.decode} decode, "
            f"KV link {LINK_BANDWIDTH / 1e9:g} GB/s"
        )
    parts.append(
        f"SLO: TTFT ≤ {format_time(DEFAULT_SLO.ttft)}, "
        f"TPOT ≤ {format_time(DEFAULT_SLO.tpot)}"
    )
    caption = " · ".join(parts)

    alt = html.escape(_alt_text(parsed, token_budget), quote=True)
    return (
        '<div class="mlsys-frame" style="background:#fff;color:#111;padding:8px;'
        'border:1px solid #ddd;border-radius:4px;max-width:880px">'
        f'<div style="font-size:0.9em;margin-bottom:4px">{caption}</div>'
        '<table class="mlsys-readouts" style="border-collapse:collapse;'
        f'margin-bottom:6px;color:#111;font-size:0.92em">'
        f"{_readout_rows(results, DEFAULT_SLO)}</table>"
        f'<img src="{png_data_uri(png)}" alt="{alt}" '
        'style="max-width:100%;height:auto">'
        "</div>"
    )


def prefill_decode_modes(
    token_budget: int = DEFAULT_BUDGET, **pickers: str
) -> FrameExplorer:
    """Build the explorer: a token-budget slider and pickers for the workload and pools.

    ``pickers`` override the defaults by picker name, e.g.
    ``prefill_decode_modes(**{"Output median": "256"})``.
    """
    if token_budget not in BUDGET_POSITIONS:
        raise ValueError(
            f"token_budget must be one of {BUDGET_POSITIONS}, got {token_budget!r}"
        )
    unknown = set(pickers) - set(DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown picker {sorted(unknown)[0]!r}; expected one of: "
            f"{', '.join(DEFAULTS)}"
        )
    chosen = {**DEFAULTS, **pickers}
    _parse(chosen)
    options = {
        "Show": tuple(SHOW_OPTIONS),
        "Model": MODEL_OPTIONS,
        "Prompt median": tuple(PROMPT_OPTIONS),
        "Output median": tuple(OUTPUT_OPTIONS),
        "GPUs": tuple(POOL_OPTIONS),
        "Load per GPU (req/s)": tuple(LOAD_OPTIONS),
    }
    return FrameExplorer(
        slider_label="Token budget per iteration",
        positions=BUDGET_POSITIONS,
        initial_position=token_budget,
        pickers={name: (options[name], chosen[name]) for name in DEFAULTS},
        render=render_frame,
        format_position=lambda budget: f"{budget:,}",
        static_note=(
            "On this web page the token-budget slider works for the settings shown. "
            "To change the model, the workload or the pools, run the notebook: "
            '<a href="../book/orientation.html#three-ways-to-use-it">how to run it</a>.'
        ),
    )
