import pytest

from mlsys.exercises import lesson02
from mlsys.explorers import frames
from mlsys.explorers.roofline_point import (
    DTYPES,
    M_POSITIONS,
    SHAPES,
    render_frame,
    roofline_point,
)
from mlsys.hardware import accelerator_names, get_accelerator
from mlsys.kernels import gemm_intensity
from mlsys.roofline import ridge_point

H100 = get_accelerator("H100 SXM")


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (lesson02.check_ffn_down_intensity, lesson02.expected_ffn_down_intensity),
        (lesson02.check_crossover_tokens, lesson02.expected_crossover_tokens),
        (lesson02.check_elementwise_flops, lesson02.expected_elementwise_flops),
        (lesson02.check_prefill_mfu, lesson02.expected_prefill_mfu_percent),
        (lesson02.check_kv_context, lesson02.expected_kv_context_tokens),
    ],
)
def test_lesson02_checks_accept_expected_answer(check, expected):
    assert check(expected()).startswith("Correct")
    assert not check(expected() * 3).startswith("Correct")
    assert check(None).startswith("No answer yet")


def test_lesson02_expected_values():
    assert lesson02.expected_ffn_down_intensity() == pytest.approx(246.1, abs=0.1)
    assert lesson02.expected_crossover_tokens() == 326
    assert lesson02.expected_elementwise_flops() == pytest.approx(1181.5, abs=0.1)
    assert lesson02.expected_prefill_mfu_percent() == pytest.approx(56.57, abs=0.01)
    assert lesson02.expected_kv_context_tokens() == 1664


def test_crossover_formula_matches_search_over_m():
    ridge = ridge_point(H100.peak_flops("bf16"), H100.memory_bandwidth)
    first = next(m for m in range(1, 10_000) if gemm_intensity(m, 14336, 4096) >= ridge)
    assert first == lesson02.expected_crossover_tokens()


@pytest.fixture(scope="module")
def explorer():
    return roofline_point()


def test_every_position_has_a_rendered_frame(explorer):
    assert len(explorer.frames) == len(M_POSITIONS) == 23
    for frame in explorer.frames:
        assert "data:image/png;base64," in frame.value
        assert 'alt="Log-log roofline of the H100 SXM in bf16' in frame.value


def test_slider_is_linked_to_stack_in_browser(explorer):
    link = explorer._link
    assert link.source == (explorer.slider, "index")
    assert link.target == (explorer.stack, "selected_index")
    assert explorer.stack.selected_index == explorer.slider.index


def test_frames_differ_by_m(explorer):
    values = [frame.value for frame in explorer.frames]
    assert len(set(values)) == len(values)


def test_slider_spans_one_to_8192_in_order():
    assert M_POSITIONS[0] == 1
    assert M_POSITIONS[-1] == 8192
    assert list(M_POSITIONS) == sorted(set(M_POSITIONS))


def test_static_frames_bracket_the_h100_bf16_crossing():
    # The default frames must show the FFN up GEMM on both sides of the ridge at
    # neighbouring slider positions close to the crossing, M = 326.
    crossing = lesson02.expected_crossover_tokens()
    below = max(m for m in M_POSITIONS if m < crossing)
    above = min(m for m in M_POSITIONS if m >= crossing)
    assert crossing - below <= 16
    assert above - crossing <= 16


def test_shapes_come_from_model_catalog():
    assert SHAPES["8B FFN up"] == ("Llama 3 8B FFN up", 4096, 14336)
    assert SHAPES["8B QKV"] == ("Llama 3 8B QKV projection", 4096, 6144)
    assert SHAPES["70B FFN up"] == ("Llama 3 70B FFN up", 8192, 28672)


def test_readouts_show_both_sides_of_ridge():
    settings = {"Chip": "H100 SXM", "Data type": "bf16", "Layer": "8B FFN up"}
    low, high = render_frame(settings, 1), render_frame(settings, 8192)
    assert "bandwidth-bound" in low
    assert "1.00 FLOP/byte (ridge 295)" in low
    assert "compute-bound</span>" in high
    assert "100% of peak" in high


def test_fp8_frame_uses_fp8_peak_and_bytes():
    settings = {"Chip": "H100 SXM", "Data type": "fp8", "Layer": "8B FFN up"}
    frame = render_frame(settings, 1)
    assert "2.00 FLOP/byte (ridge 591)" in frame
    assert "1.979 PFLOP/s" in frame


@pytest.mark.parametrize("chip", ["A100 SXM 80GB", "TPU v5e"])
def test_chip_without_fp8_shows_message(chip):
    explorer = roofline_point(chip=chip)
    explorer.pickers["Data type"].value = "fp8"
    current = explorer.frames[explorer.slider.index].value
    assert f"The {chip} has no fp8 tensor cores" in current
    assert "Pick another data type" in current
    assert 'role="status"' in current
    assert "Traceback" not in current


def test_every_chip_and_dtype_renders_or_explains():
    for chip in accelerator_names():
        for dtype in DTYPES:
            settings = {"Chip": chip, "Data type": dtype, "Layer": "405B FFN up"}
            if dtype in get_accelerator(chip).dtypes:
                assert "mlsys-frame" in render_frame(settings, 8192)
            else:
                with pytest.raises(ValueError, match="no fp8 tensor cores"):
                    render_frame(settings, 8192)


def test_picker_change_rerenders_current_frame_and_marks_others():
    explorer = roofline_point()
    explorer.slider.value = 256
    explorer.pickers["Chip"].value = "MI300X"
    assert "on the MI300X" in explorer.frames[explorer.slider.index].value
    assert "Updating" in explorer.frames[0].value
    explorer.slider.value = 1
    assert "on the MI300X" in explorer.frames[0].value


def test_static_build_disables_pickers(monkeypatch):
    monkeypatch.setenv(frames.STATIC_BUILD_VARIABLE, "1")
    explorer = roofline_point()
    assert all(picker.disabled for picker in explorer.pickers.values())
    assert "run the notebook" in explorer.widget.children[-1].value


def test_live_notebook_keeps_pickers_enabled(monkeypatch):
    monkeypatch.delenv(frames.STATIC_BUILD_VARIABLE, raising=False)
    explorer = roofline_point()
    assert not any(picker.disabled for picker in explorer.pickers.values())


def test_bad_arguments_raise_readable_errors():
    with pytest.raises(ValueError, match="m must be one of"):
        roofline_point(m=5)
    with pytest.raises(ValueError, match="dtype must be one of"):
        roofline_point(dtype="int4")
    with pytest.raises(ValueError, match="shape must be one of"):
        roofline_point(shape="FFN")
    with pytest.raises(ValueError, match="unknown accelerator"):
        roofline_point(chip="Z100")
