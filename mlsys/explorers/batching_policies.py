"""Lesson 04's explorer: static, dynamic and continuous batching against load.

Every frame compares the three policies at one arrival rate, on one replica
simulated by :mod:`mlsys.simulator`. A frame shows a table of throughput and
latency percentiles, the p99 time to first token of each policy across all
arrival rates, and a timeline of the picked policy's batch.

Simulating a sweep of rates takes seconds, so results are cached per replica.
Runs are also shared between max batches where the simulator's rules make
them identical (see ``LoadSweep``), which keeps a picker change fast.
"""

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from mlsys.explorers.frames import FrameExplorer
from mlsys.formatting import format_time
from mlsys.hardware import get_accelerator
from mlsys.models import get_model
from mlsys.plotting import (
    OKABE_ITO,
    figure_to_png,
    log10_axis,
    new_figure,
    palette_png,
    png_data_uri,
)
from mlsys.serving_results import SimulationResult
from mlsys.simulator import Replica, simulate_continuous, simulate_static
from mlsys.workload import Request, poisson_workload

POLICIES = ("static", "dynamic", "continuous")
"""Batching policies: request-level without and with a timeout, iteration-level."""

POLICY_COLOURS = {
    "static": OKABE_ITO["vermillion"],
    "dynamic": OKABE_ITO["orange"],
    "continuous": OKABE_ITO["blue"],
}

DYNAMIC_TIMEOUT = 0.2
"""Seconds the oldest waiting request may wait before a partial batch starts.
An assumption of this lesson, not a measured setting of any server."""

RATE_POSITIONS = (0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0)
"""Slider positions: arrival rates in requests/s."""

MAX_BATCH_OPTIONS = (16, 32, 64, 128, 256)
"""Max batch picker: requests in a batch, the same limit for every policy."""

REQUEST_COUNT = 300
SEED = 2026
WORKLOAD_LENGTHS = dict(
    prompt_median=512, prompt_sigma=0.8, output_median=128, output_sigma=0.5
)
"""Token lengths of the explorer's requests (lognormal; see poisson_workload).

An assumption: prompts as in the library's default, outputs shorter and less
varied than its default (median 200, sigma 0.8). Long outputs make a
request-level batch run longer, so this choice favours static batching.
"""

TTFT_BOUND = 4.0
"""A loose bound on p99 time to first token (seconds), drawn on the figure.

Request-level batching cannot meet a tight one at any load, because a new
request waits for the batch in progress to finish."""

TIMELINE_SECONDS = 60.0
"""Length of the timeline window, which starts at the arrival of the request
a third of the way into the run."""

DEFAULT_GPU = "H100 SXM"
DEFAULT_MODEL = "Llama 3 8B"
DEFAULT_POLICY = "dynamic"
DEFAULT_MAX_BATCH = 32
DEFAULT_RATE = 4.0
DTYPE = "bf16"

_TIMELINE_BINS = 240
_MARGINS = dict(left=0.085, right=0.985, bottom=0.15, top=0.8, wspace=0.3)
_FIGURE_DPI = 85


def explorer_workload(rate: float, count: int = REQUEST_COUNT, seed: int = SEED):
    """Return the explorer's requests at ``rate`` requests/s.

    The same seed gives the same lengths at every rate, and arrival times that
    scale as 1 / rate, so runs at different rates differ only in the load.
    """
    return poisson_workload(rate, count, seed, **WORKLOAD_LENGTHS)


def simulate_policy(
    requests: Sequence[Request], replica: Replica, policy: str, max_batch: int
) -> SimulationResult:
    """Simulate one batching policy with at most ``max_batch`` requests in a batch."""
    if policy == "static":
        return simulate_static(requests, replica, max_batch)
    if policy == "dynamic":
        return simulate_static(requests, replica, max_batch, timeout=DYNAMIC_TIMEOUT)
    if policy == "continuous":
        return simulate_continuous(requests, replica, max_batch)
    raise ValueError(f"unknown policy {policy!r}; valid policies: {POLICIES}")


def tokens_in_flight(result: SimulationResult) -> np.ndarray:
    """Count, for each iteration of replica 0, the requests that got a token from it.

    A request gets a token at every iteration end from its first token to its
    last. Under static and dynamic batching the rest of the batch is padding:
    streams that have finished but are still computed until the batch ends.
    """
    ends = result.replicas[0].iterations[:, 1]
    started = np.searchsorted(np.sort(result.first_token), ends, side="right")
    finished = np.searchsorted(np.sort(result.last_token), ends, side="left")
    return started - finished


def padding_share(result: SimulationResult) -> float:
    """Return the share of decode slots spent on streams that have already finished.

    Each request's first token comes from prefill and its other tokens from
    decode slots, so the useful decode slots are the sum of output tokens - 1.
    """
    slots = float(sum(r.iterations[:, 2].sum() for r in result.replicas))
    if slots == 0:
        return 0.0
    useful = float((result.output_tokens - 1).sum())
    return 1.0 - useful / slots


def reserved_kv_tokens(result: SimulationResult) -> tuple[np.ndarray, np.ndarray]:
    """Return each iteration's start time (s) and the KV tokens reserved during it.

    A request reserves its prompt plus output tokens from the start of the
    iteration that runs its prefill until it finishes, as the simulator does.
    Meant for static, dynamic and continuous runs, where the whole prompt runs
    in one iteration of replica 0.
    """
    iterations = result.replicas[0].iterations
    starts, ends = iterations[:, 0], iterations[:, 1]
    admitted = starts[np.searchsorted(ends, result.first_token)]
    need = (result.prompt_tokens + result.output_tokens).astype(float)
    by_admission, by_finish = np.argsort(admitted), np.argsort(result.finish)
    added = np.r_[0.0, np.cumsum(need[by_admission])]
    removed = np.r_[0.0, np.cumsum(need[by_finish])]
    count_added = np.searchsorted(admitted[by_admission], starts, side="right")
    count_removed = np.searchsorted(result.finish[by_finish], starts, side="right")
    return starts, added[count_added] - removed[count_removed]


def steady_throughput(result: SimulationResult, warm_up: float = 0.1) -> float:
    """Return output tokens/s from the end of a warm-up to the last arrival.

    The window starts at the arrival of the first ``warm_up`` share of the
    requests and ends at the last arrival, so it leaves out the empty start
    and the drain at the end, which ``output_tokens_per_second`` counts. Below
    capacity it is close to the offered load; above capacity it is the rate
    the replica keeps up.
    """
    arrivals = np.sort(result.arrival)
    start = arrivals[int(len(arrivals) * warm_up)]
    end = arrivals[-1]
    if not end > start:
        return result.output_tokens_per_second
    ends = result.replicas[0].iterations[:, 1]
    inside = (ends > start) & (ends <= end)
    return float(tokens_in_flight(result)[inside].sum()) / float(end - start)


def _binned_average(
    starts: np.ndarray, ends: np.ndarray, values: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """Average a value held over each iteration, time-weighted, over each bin.

    Idle time between iterations counts as zero. The running integral is
    linear inside an iteration and flat in a gap, so interpolating it at the
    bin edges is exact.
    """
    if not len(starts):
        return np.zeros(len(edges) - 1)
    areas = np.cumsum(values * (ends - starts))
    knots = np.column_stack([starts, ends]).ravel()
    integral = np.column_stack([np.r_[0.0, areas[:-1]], areas]).ravel()
    at_edges = np.interp(edges, knots, integral)
    return np.diff(at_edges) / np.diff(edges)


@dataclass(frozen=True)
class RunSummary:
    """The measures of one simulated run that the explorer shows, without its arrays."""

    policy: str
    max_batch: int
    rate: float  # requests/s offered
    offered_tokens_per_second: float
    output_tokens_per_second: float  # steady_throughput
    ttft: dict[int, float]  # percentile -> seconds
    tpot: dict[int, float]
    e2e: dict[int, float]
    mean_batch: float  # requests in the batch, averaged over busy time
    peak_batch: int
    padding_share: float
    window_edges: np.ndarray  # timeline bin edges, seconds
    window_slots: np.ndarray  # requests in the batch, averaged per bin
    window_useful: np.ndarray  # of which got a token


def summarize_run(
    result: SimulationResult, policy: str, max_batch: int, rate: float
) -> RunSummary:
    """Reduce a run to its percentiles, batch sizes and a binned timeline window."""
    iterations = result.replicas[0].iterations
    starts, ends, running = iterations[:, 0], iterations[:, 1], iterations[:, 4]
    useful = tokens_in_flight(result)
    busy = ends - starts
    order = np.argsort(result.arrival)
    window_start = float(result.arrival[order[len(order) // 3]])
    window_end = min(window_start + TIMELINE_SECONDS, float(ends[-1]))
    edges = np.linspace(window_start, window_end, _TIMELINE_BINS + 1)
    return RunSummary(
        policy=policy,
        max_batch=max_batch,
        rate=rate,
        offered_tokens_per_second=rate * float(result.output_tokens.mean()),
        output_tokens_per_second=steady_throughput(result),
        ttft=result.percentiles(result.ttft),
        tpot=result.percentiles(result.tpot),
        e2e=result.percentiles(result.e2e),
        mean_batch=float((running * busy).sum() / busy.sum()),
        peak_batch=int(running.max()),
        padding_share=padding_share(result),
        window_edges=edges,
        window_slots=_binned_average(starts, ends, running, edges),
        window_useful=_binned_average(starts, ends, useful.astype(float), edges),
    )


def _kv_never_binds(requests: Sequence[Request], capacity: int, batch: int) -> bool:
    """Return whether the ``batch`` longest requests fit in ``capacity`` KV tokens."""
    needs = sorted((r.prompt_tokens + r.output_tokens for r in requests), reverse=True)
    return sum(needs[:batch]) <= capacity


class LoadSweep:
    """Simulated runs of one replica, cached by policy, max batch and arrival rate.

    Under dynamic and continuous batching the max batch matters only at a
    moment when the batch is full, so runs can be shared between max batches.
    Suppose a run with max batch M never had more than P < M requests in its
    batch, and no P + 1 of its requests could overflow the KV cache. Then the
    max batch never limited it, and any max batch above P gives the same run.
    Static batching always waits for a full batch, so its runs are not shared.
    """

    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self._workloads: dict[float, list[Request]] = {}
        self._runs: dict[tuple[str, float], list[RunSummary]] = {}
        self.simulations = 0  # runs simulated so far, for tests and timing

    def requests(self, rate: float) -> list[Request]:
        """Return the explorer's workload at ``rate``, built once.

        Raises ValueError when the longest request needs more KV cache than
        the replica holds, since the simulator could never admit it.
        """
        if rate not in self._workloads:
            requests = explorer_workload(rate)
            need = max(r.prompt_tokens + r.output_tokens for r in requests)
            capacity = self.replica.kv_capacity_tokens
            if need > capacity:
                replica = self.replica
                raise ValueError(
                    f"The KV cache of {replica.model.name} on {replica.gpu.name} "
                    f"holds {capacity:,} tokens, fewer than the longest request in "
                    f"the workload needs ({need:,} prompt and output tokens), so "
                    "that request could never start. Pick a GPU with more memory "
                    "or a smaller model."
                )
            self._workloads[rate] = requests
        return self._workloads[rate]

    def _reusable(self, summary: RunSummary, max_batch: int) -> bool:
        if summary.max_batch == max_batch:
            return True
        if summary.policy == "static":
            return False
        peak = summary.peak_batch
        if not (peak < summary.max_batch and peak < max_batch):
            return False
        capacity = self.replica.kv_capacity_tokens
        return _kv_never_binds(self.requests(summary.rate), capacity, peak + 1)

    def summary(self, policy: str, max_batch: int, rate: float) -> RunSummary:
        """Return the summary of one run, simulating it only if no cached run fits."""
        cached = self._runs.setdefault((policy, rate), [])
        for summary in cached:
            if self._reusable(summary, max_batch):
                return replace(summary, max_batch=max_batch)
        result = simulate_policy(self.requests(rate), self.replica, policy, max_batch)
        self.simulations += 1
        summary = summarize_run(result, policy, max_batch, rate)
        cached.append(summary)
        return summary

    def p99_ttft(
        self, policy: str, max_batch: int, rates: Sequence[float] = RATE_POSITIONS
    ) -> np.ndarray:
        """Return the p99 time to first token (s) of one policy at each rate."""
        return np.array([self.summary(policy, max_batch, r).ttft[99] for r in rates])

    def rates_within(
        self,
        policy: str,
        max_batch: int,
        ttft_bound: float,
        rates: Sequence[float] = RATE_POSITIONS,
    ) -> list[float]:
        """Return the rates at which a policy keeps its p99 TTFT within a bound."""
        p99 = self.p99_ttft(policy, max_batch, rates)
        return [r for r, value in zip(rates, p99, strict=True) if value <= ttft_bound]


_SWEEPS: dict[tuple[str, str], LoadSweep] = {}


def load_sweep(gpu_name: str = DEFAULT_GPU, model_name: str = DEFAULT_MODEL):
    """Return the shared sweep of one model on one GPU, building the replica once.

    Raises ValueError with a readable message when the model leaves no memory
    for the KV cache on that GPU.
    """
    key = (gpu_name, model_name)
    if key not in _SWEEPS:
        gpu, model = get_accelerator(gpu_name), get_model(model_name)
        try:
            replica = Replica(model, gpu, dtype=DTYPE)
        except ValueError as error:
            message = f"Cannot simulate {model_name} on {gpu_name}: {error}."
            raise ValueError(message) from None
        _SWEEPS[key] = LoadSweep(replica)
    return _SWEEPS[key]


def _palette_png(figure) -> bytes:
    """Render a figure as a PNG of at most 128 colours."""
    return palette_png(figure_to_png(figure, dpi=_FIGURE_DPI), 128)


def _rate_label(rate: float) -> str:
    return f"{rate:g}"


class _PolicyFigure:
    """p99 TTFT against load for every policy, beside one policy's batch timeline.

    One figure serves every frame. Each render moves the data of its artists
    and draws the figure again.
    """

    def __init__(self) -> None:
        self.figure = new_figure(width=7.6, height=3.0, ncols=2, margins=_MARGINS)
        left, right = self.figure.axes
        left.set_xscale("log", base=2)
        left.set_xlim(RATE_POSITIONS[0] / 1.2, RATE_POSITIONS[-1] * 1.2)
        left.xaxis.set_major_locator(FixedLocator([0.5, 1, 2, 4, 8, 16, 32]))
        left.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        left.xaxis.set_minor_locator(NullLocator())
        log10_axis(left, "y")
        left.set_xlabel("Arrival rate (requests/s)")
        left.set_ylabel("p99 time to first token (s)")
        left.axhline(TTFT_BOUND, color=OKABE_ITO["black"], ls=":", lw=1.2)
        left.annotate(
            f"{TTFT_BOUND:g} s",
            xy=(0.0, TTFT_BOUND),
            xycoords=("axes fraction", "data"),
            xytext=(3, 2),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=9,
        )
        self._now = left.axvline(1, color="#777777", ls="--", lw=1.2)
        self._curves, self._dots = {}, {}
        for policy in POLICIES:
            colour = POLICY_COLOURS[policy]
            (self._curves[policy],) = left.plot(
                [], [], color=colour, marker="o", ms=3.5, lw=1.8, label=policy
            )
            (self._dots[policy],) = left.plot(
                [], [], color=colour, marker="o", ms=8, ls="none"
            )
        left.legend(
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncols=3,
            fontsize=9,
            handlelength=1.5,
            columnspacing=1.0,
        )

        right.set_xlabel("Time since the run started (s)")
        right.set_ylabel("Requests in the batch")
        (self._slots,) = right.plot(
            [], [], color="#555555", lw=1.2, drawstyle="steps-post"
        )
        (self._useful,) = right.plot(
            [], [], color=OKABE_ITO["blue"], lw=1.5, drawstyle="steps-post"
        )
        self._limit = right.axhline(1, color=OKABE_ITO["black"], ls="--", lw=1.0)
        self._padding = None
        right.legend(
            handles=[
                self._slots,
                self._useful,
                Patch(color=OKABE_ITO["vermillion"], alpha=0.35, lw=0),
                self._limit,
            ],
            labels=["in the batch", "getting a token", "padding", "max batch"],
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncols=2,
            fontsize=8.5,
            handlelength=1.4,
            columnspacing=1.0,
        )

    def _draw_curves(self, curves: dict[str, np.ndarray], rate: float) -> None:
        left = self.figure.axes[0]
        index = RATE_POSITIONS.index(rate)
        for policy, values in curves.items():
            self._curves[policy].set_data(RATE_POSITIONS, values)
            self._dots[policy].set_data([rate], [values[index]])
        self._now.set_xdata([rate, rate])
        low = min(float(values.min()) for values in curves.values())
        high = max(float(values.max()) for values in curves.values())
        left.set_ylim(min(low, TTFT_BOUND) / 2, max(high, TTFT_BOUND) * 3)

    def _draw_timeline(self, picked: RunSummary) -> None:
        right = self.figure.axes[1]
        edges = picked.window_edges
        slots = np.r_[picked.window_slots, picked.window_slots[-1]]
        useful = np.r_[picked.window_useful, picked.window_useful[-1]]
        self._slots.set_data(edges, slots)
        self._useful.set_data(edges, useful)
        if self._padding is not None:
            self._padding.remove()
        self._padding = right.fill_between(
            edges,
            useful,
            slots,
            step="post",
            color=OKABE_ITO["vermillion"],
            alpha=0.35,
            lw=0,
        )
        highest = max(float(slots.max()), 1.0)
        limit = float(picked.max_batch)
        # Show the max batch line unless it would squash the timeline.
        self._limit.set_ydata([limit, limit])
        self._limit.set_visible(limit <= 2 * highest)
        if limit <= 2 * highest:
            highest = max(highest, limit)
        right.set_ylim(0, highest * 1.15)
        right.set_xlim(edges[0], edges[-1])
        right.set_ylabel(f"Requests in the {picked.policy} batch")

    def png(
        self, curves: dict[str, np.ndarray], rate: float, picked: RunSummary
    ) -> bytes:
        """Draw the curves with the current rate marked, and the picked timeline."""
        self._draw_curves(curves, rate)
        self._draw_timeline(picked)
        return _palette_png(self.figure)


_FIGURE: _PolicyFigure | None = None


def _policy_figure() -> _PolicyFigure:
    global _FIGURE
    if _FIGURE is None:
        _FIGURE = _PolicyFigure()
    return _FIGURE


def _percentile_pair(values: dict[int, float]) -> str:
    return f"{format_time(values[50])} / {format_time(values[99])}"


def _readout_rows(summaries: dict[str, RunSummary], picked: str) -> str:
    rows = [
        ("Output tokens/s, steady", lambda s: f"{s.output_tokens_per_second:,.0f}"),
        ("TTFT p50 / p99", lambda s: _percentile_pair(s.ttft)),
        ("TPOT p50 / p99", lambda s: _percentile_pair(s.tpot)),
        ("End-to-end p99", lambda s: format_time(s.e2e[99])),
        ("Mean batch (requests)", lambda s: f"{s.mean_batch:,.1f}"),
        ("Padding (share of decode slots)", lambda s: f"{s.padding_share:.0%}"),
    ]
    cell = "padding:2px 10px;text-align:right"
    header = "".join(
        f'<th scope="col" style="{cell};'
        f"{'background:#e8f1f8;' if policy == picked else ''}"
        # Dark text over a border in the policy's colour: the plot colours are
        # too light for text on white.
        f'color:#111;border-bottom:3px solid {POLICY_COLOURS[policy]}">{policy}'
        f"{' (picked)' if policy == picked else ''}</th>"
        for policy in POLICIES
    )
    body = "".join(
        '<tr><th scope="row" style="text-align:left;padding:2px 12px 2px 0;'
        f'font-weight:500">{label}</th>'
        + "".join(
            f'<td style="{cell};{"background:#e8f1f8;" if policy == picked else ""}">'
            f"{value(summaries[policy])}</td>"
            for policy in POLICIES
        )
        + "</tr>"
        for label, value in rows
    )
    return (
        '<table class="mlsys-readouts" style="border-collapse:collapse;'
        f'margin-bottom:6px;color:#111"><tr><td></td>{header}</tr>{body}</table>'
    )


def _alt_text(
    curves: dict[str, np.ndarray], rate: float, picked: RunSummary, model: str, gpu: str
) -> str:
    index = RATE_POSITIONS.index(rate)
    at_rate = ", ".join(
        f"{policy} {format_time(float(curves[policy][index]))}" for policy in POLICIES
    )
    return (
        f"Two plots for {model} on {gpu}. Left: p99 time to first token against "
        "arrival rate (log scales) for static, dynamic and continuous batching, "
        f"with a dotted line at {TTFT_BOUND:g} s; at {rate:g} requests/s the values "
        f"are {at_rate}. Right: requests in the {picked.policy} batch over "
        f"{TIMELINE_SECONDS:.0f} s, {picked.mean_batch:.1f} on average, with "
        f"{picked.padding_share:.0%} of decode slots spent on padding."
    )


def render_frame(settings: dict, rate: float, gpu: str, model: str) -> str:
    """Render the readouts and figure for one arrival rate as HTML."""
    policy = str(settings["Policy"])
    max_batch = int(str(settings["Max batch"]))
    sweep = load_sweep(gpu, model)
    summaries = {p: sweep.summary(p, max_batch, rate) for p in POLICIES}
    curves = {p: sweep.p99_ttft(p, max_batch) for p in POLICIES}
    picked = summaries[policy]
    png = _policy_figure().png(curves, rate, picked)
    alt = html.escape(_alt_text(curves, rate, picked, model, gpu), quote=True)
    capacity = sweep.replica.kv_capacity_tokens
    offered = picked.offered_tokens_per_second
    title = (
        f"{html.escape(model)} on {html.escape(gpu)}, {DTYPE}, KV cache for "
        f"{capacity:,} tokens. {REQUEST_COUNT} requests at {rate:g} requests/s "
        f"(about {offered:,.0f} output tokens/s offered), max batch {max_batch}."
    )
    return (
        '<div class="mlsys-frame" style="background:#fff;color:#111;padding:8px;'
        'border:1px solid #ddd;border-radius:4px;max-width:780px">'
        f'<div style="font-size:0.95em;margin-bottom:4px">{title}</div>'
        f"{_readout_rows(summaries, policy)}"
        f'<img src="{png_data_uri(png)}" alt="{alt}" '
        'style="max-width:100%;height:auto">'
        "</div>"
    )


def batching_policies(
    policy: str = DEFAULT_POLICY,
    max_batch: int = DEFAULT_MAX_BATCH,
    rate: float = DEFAULT_RATE,
    gpu: str = DEFAULT_GPU,
    model: str = DEFAULT_MODEL,
) -> FrameExplorer:
    """Build the explorer: policy and max-batch pickers and an arrival-rate slider.

    ``gpu`` and ``model`` are fixed for the explorer's life. A pair that leaves
    no memory for the KV cache, or too little for the workload's longest
    request, shows a message in place of each frame.
    """
    get_accelerator(gpu)
    get_model(model)
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if max_batch not in MAX_BATCH_OPTIONS:
        raise ValueError(
            f"max_batch must be one of {MAX_BATCH_OPTIONS}, got {max_batch!r}"
        )
    if rate not in RATE_POSITIONS:
        raise ValueError(f"rate must be one of {RATE_POSITIONS}, got {rate!r}")

    def render(settings, position):
        return render_frame(settings, position, gpu, model)

    return FrameExplorer(
        slider_label="Arrival rate (requests/s)",
        positions=RATE_POSITIONS,
        initial_position=rate,
        pickers={
            "Policy": (POLICIES, policy),
            "Max batch": ([str(b) for b in MAX_BATCH_OPTIONS], str(max_batch)),
        },
        render=render,
        format_position=_rate_label,
        static_note=(
            f"On this web page the slider works with max batch {max_batch} and "
            f"shows the {html.escape(policy)} batch's timeline. To pick another "
            "policy or max batch, run the notebook: "
            '<a href="../book/orientation.html#three-ways-to-use-it">how to run it</a>.'
        ),
    )
