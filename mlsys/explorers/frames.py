"""A slider explorer whose frames are pre-rendered, so it works with no kernel.

The slider's ``index`` is linked in the browser (``jslink``) to a ``Stack``
that contains one HTML frame per slider position. When the notebook is executed,
every frame is rendered and saved with the widget state, so on a static web
page moving the slider switches frames with no kernel. In a running notebook
the pickers are live too: changing one re-renders the frame on screen at once
and the others when the slider reaches them.
"""

import html
import os
from collections.abc import Callable, Mapping, Sequence

import ipywidgets as widgets

STATIC_BUILD_VARIABLE = "MLSYS_STATIC_BUILD"
"""Set to 1 by `make book`: the pickers then render disabled, with a note,
because a static page has no kernel to redraw them."""

RenderFrame = Callable[[Mapping[str, object], object], str]


def is_static_build() -> bool:
    """Return whether this kernel is executing a notebook for the static book."""
    return os.environ.get(STATIC_BUILD_VARIABLE, "") == "1"


def message_html(text: str) -> str:
    """Format a readable notice (a model that does not fit, a bad input) as HTML."""
    return (
        '<div class="mlsys-message" role="status" style="background:#fff4e5;'
        'color:#3d2600;border-left:4px solid #E69F00;padding:0.6em 0.9em;">'
        f"{html.escape(text)}</div>"
    )


class FrameExplorer:
    """Pickers and a slider over fixed positions, showing one HTML frame per position.

    ``render(settings, position)`` returns the HTML of one frame; ``settings``
    maps each picker's name to its value. A ``ValueError`` raised by ``render``
    is shown as a message in the frame instead of a traceback. ``static_note``
    is HTML, shown under the explorer when the static book is built.
    """

    def __init__(
        self,
        *,
        slider_label: str,
        positions: Sequence[object],
        initial_position: object,
        pickers: Mapping[str, tuple[Sequence[str], str]],
        render: RenderFrame,
        static_note: str,
        format_position: Callable[[object], str] = str,
    ) -> None:
        if not positions:
            raise ValueError("positions must hold at least one slider position")
        if initial_position not in positions:
            raise ValueError(
                f"initial_position {initial_position!r} is not one of the positions"
            )
        self._render = render
        self._positions = list(positions)
        self.slider = widgets.SelectionSlider(
            options=[(format_position(p), p) for p in self._positions],
            value=initial_position,
            description=slider_label,
            continuous_update=True,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="100%", max_width="560px"),
        )
        self.pickers = {
            name: widgets.Dropdown(
                options=list(options),
                value=default,
                description=name,
                style={"description_width": "initial"},
                layout=widgets.Layout(width="auto"),
            )
            for name, (options, default) in pickers.items()
        }
        self.frames = [widgets.HTML() for _ in self._positions]
        self.stack = widgets.Stack(
            children=self.frames, selected_index=self.slider.index
        )
        self._link = widgets.jslink(
            (self.slider, "index"), (self.stack, "selected_index")
        )
        self._stale: set[int] = set()
        for index in range(len(self._positions)):
            self._render_frame(index)

        note = widgets.HTML()
        if is_static_build():
            for picker in self.pickers.values():
                picker.disabled = True
            note.value = f'<p class="mlsys-note"><em>{static_note}</em></p>'
        for picker in self.pickers.values():
            picker.observe(self._on_picker_change, names="value")
        self.slider.observe(self._on_slider_change, names="index")
        self.widget = widgets.VBox(
            [
                widgets.HBox(
                    list(self.pickers.values()),
                    layout=widgets.Layout(flex_flow="row wrap"),
                ),
                self.slider,
                self.stack,
                note,
            ]
        )
        self.widget.add_class("mlsys-explorer")

    @property
    def settings(self) -> dict[str, object]:
        """The pickers' current values, by picker name."""
        return {name: picker.value for name, picker in self.pickers.items()}

    def _render_frame(self, index: int) -> None:
        try:
            content = self._render(self.settings, self._positions[index])
        except ValueError as error:
            content = message_html(str(error))
        self.frames[index].value = content
        self._stale.discard(index)

    def _on_picker_change(self, change: Mapping[str, object]) -> None:
        current = self.slider.index
        self._stale = set(range(len(self._positions)))
        self._render_frame(current)
        placeholder = message_html(
            "Updating: this frame is drawn when the slider reaches it."
        )
        for index in self._stale:
            self.frames[index].value = placeholder

    def _on_slider_change(self, change: Mapping[str, object]) -> None:
        index = change["new"]
        if isinstance(index, int) and index in self._stale:
            self._render_frame(index)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
