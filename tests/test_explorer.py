import pytest

from mlsys.explorers import frames
from mlsys.explorers.find_the_wall import BATCH_POSITIONS, find_the_wall, render_frame


@pytest.fixture(scope="module")
def explorer():
    return find_the_wall()


def test_every_position_has_a_rendered_frame(explorer):
    assert len(explorer.frames) == len(BATCH_POSITIONS)
    for frame in explorer.frames:
        assert "data:image/png;base64," in frame.value
        assert 'alt="Two plots against batch size' in frame.value


def test_slider_is_linked_to_stack_in_browser(explorer):
    link = explorer._link
    assert link.source == (explorer.slider, "index")
    assert link.target == (explorer.stack, "selected_index")
    assert explorer.stack.selected_index == explorer.slider.index


def test_frames_differ_by_batch(explorer):
    values = [frame.value for frame in explorer.frames]
    assert len(set(values)) == len(values)


def test_readouts_show_regime_on_both_sides_of_ridge():
    settings = {"GPU": "H100 SXM", "Model": "Llama 3 8B"}
    assert "bandwidth-bound" in render_frame(settings, 1)
    assert "compute-bound" in render_frame(settings, 1024)


def test_unfit_model_shows_message():
    explorer = find_the_wall(gpu="L4", model="Llama 2 7B")
    explorer.pickers["Model"].value = "Llama 3 405B"
    current = explorer.frames[explorer.slider.index].value
    assert "does not fit on one chip" in current
    assert "Traceback" not in current


def test_picker_change_rerenders_current_frame_and_marks_others():
    explorer = find_the_wall()
    explorer.slider.value = 64
    explorer.pickers["GPU"].value = "MI300X"
    assert "on MI300X" in explorer.frames[explorer.slider.index].value
    assert "Updating" in explorer.frames[0].value
    explorer.slider.value = 1
    assert "on MI300X" in explorer.frames[0].value


def test_static_build_disables_pickers(monkeypatch):
    monkeypatch.setenv(frames.STATIC_BUILD_VARIABLE, "1")
    explorer = find_the_wall()
    assert all(picker.disabled for picker in explorer.pickers.values())
    assert "run the notebook" in explorer.widget.children[-1].value


def test_live_notebook_keeps_pickers_enabled(monkeypatch):
    monkeypatch.delenv(frames.STATIC_BUILD_VARIABLE, raising=False)
    explorer = find_the_wall()
    assert not any(picker.disabled for picker in explorer.pickers.values())


def test_bad_arguments_raise_readable_errors():
    with pytest.raises(ValueError, match="batch must be one of"):
        find_the_wall(batch=5)
    with pytest.raises(ValueError, match="unknown accelerator"):
        find_the_wall(gpu="Z100")


def test_render_errors_become_messages():
    def render(settings, position):
        raise ValueError("batch must be at least 1, got 0")

    explorer = frames.FrameExplorer(
        slider_label="x",
        positions=[0, 1],
        initial_position=0,
        pickers={},
        render=render,
        static_note="",
    )
    assert "batch must be at least 1, got 0" in explorer.frames[0].value
    assert 'role="status"' in explorer.frames[0].value
