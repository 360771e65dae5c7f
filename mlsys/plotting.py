"""One plot style for every figure in the course.

Colours are the Okabe-Ito palette, which stays distinguishable under the
common forms of colour blindness. Figures have an opaque white background so
that they stay readable when the book is shown in dark mode.
"""

import base64
import io
from collections.abc import Sequence
from contextlib import contextmanager

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    NullLocator,
)
from PIL import Image

OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
"""Okabe-Ito colours by name."""

STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.edgecolor": "#333333",
    "axes.labelcolor": "#111111",
    "text.color": "#111111",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=list(OKABE_ITO.values())),
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "svg.fonttype": "none",
}
"""Matplotlib settings shared by every figure."""


def apply_style() -> None:
    """Make the course style the default for figures drawn after this call."""
    plt.rcParams.update(STYLE)


@contextmanager
def course_style():
    """Draw with the course style inside a ``with`` block only."""
    with plt.rc_context(STYLE):
        yield


class CourseFigure(Figure):
    """A figure that renders itself as PNG when a notebook displays it."""

    def _repr_png_(self) -> bytes:
        return figure_to_png(self)


def new_figure(
    width: float = 7.0,
    height: float = 3.6,
    ncols: int = 1,
    margins: dict[str, float] | None = None,
) -> CourseFigure:
    """Create a figure in the course style, detached from pyplot's figure list.

    A detached figure is never shown twice by the notebook's inline backend
    and is freed once it goes out of scope. By default matplotlib's
    constrained layout places the axes. Figures redrawn live can pass
    ``margins`` (keyword arguments of ``Figure.subplots_adjust``) instead,
    because a layout pass costs more than the rest of a draw.
    """
    layout = None if margins else "constrained"
    with course_style():
        figure = CourseFigure(figsize=(width, height), layout=layout)
        figure.subplots(1, ncols)
    if margins:
        figure.subplots_adjust(**margins)
    return figure


def figure_to_png(figure: Figure, dpi: int = 100) -> bytes:
    """Render a figure to PNG bytes."""
    buffer = io.BytesIO()
    with course_style():
        figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def palette_png(png: bytes, colors: int, dither: bool = True) -> bytes:
    """Re-encode a PNG with a palette of ``colors`` colours, about a third of the bytes.

    Explorer frames are stored in the notebook and the page, so their size
    counts, and a line plot on white loses nothing visible with a palette.
    """
    method = Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors, dither=method)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """Wrap PNG bytes as a data: URI for an <img> tag."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _plain_number(value: float, _position: object = None) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def log2_batch_axis(axis: Axes, low: int = 1, high: int = 1024) -> None:
    """Put batch sizes on a base-2 log x axis with plain labels (1, 4, 16, ...).

    Plain text labels also avoid mathtext, which makes redraws several times slower.
    """
    axis.set_xscale("log", base=2)
    axis.set_xlim(low, high)
    ticks = [2**k for k in range(0, 31, 2) if low <= 2**k <= high]
    axis.xaxis.set_major_locator(FixedLocator(ticks))
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.xaxis.set_minor_locator(NullLocator())


def log10_axis(axis: Axes, which: str = "y") -> None:
    """Use a base-10 log scale with plain labels (10, 100, 1k, 10k, ...)."""
    target = axis.yaxis if which == "y" else axis.xaxis
    (axis.set_yscale if which == "y" else axis.set_xscale)("log")
    target.set_major_locator(LogLocator(base=10, numticks=12))
    target.set_major_formatter(FuncFormatter(_plain_number))
    # Minor ticks on a log axis cost most of a redraw and add little here.
    target.set_minor_locator(NullLocator())


class MarkerLayer:
    """Fast redraws of a few moving artists over a figure that otherwise stays fixed.

    The figure is laid out and drawn once without the moving artists, and that
    image is kept. Each ``png()`` call pastes it back, draws only the moving
    artists and encodes the result: a few milliseconds instead of a full draw.
    After changing anything but the moving artists, call ``redraw_background``.
    """

    def __init__(self, figure: Figure, moving: Sequence[Artist]) -> None:
        self._figure = figure
        self._moving = list(moving)
        self._canvas = FigureCanvasAgg(figure)
        for artist in self._moving:
            artist.set_animated(True)  # left out of full draws
        self.redraw_background()

    def redraw_background(self) -> None:
        """Draw the fixed part again, after its data or limits changed."""
        with course_style():
            self._canvas.draw()
        self._background = self._canvas.copy_from_bbox(self._figure.bbox)

    def png(self) -> bytes:
        """Render the fixed image with the moving artists at their current data."""
        self._canvas.restore_region(self._background)
        for artist in self._moving:
            artist.axes.draw_artist(artist)
        image = Image.frombuffer(
            "RGBA", self._canvas.get_width_height(), self._canvas.buffer_rgba()
        )
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", optimize=False)
        return buffer.getvalue()
