import re
from pathlib import Path

import pytest

from mlsys.hardware import (
    ACCELERATORS,
    GIGA,
    TERA,
    Accelerator,
    Interconnect,
    accelerator_names,
    bytes_per_element,
    get_accelerator,
)
from mlsys.sources import Source

BIB = (Path(__file__).parents[1] / "references.bib").read_text()
SOURCE = Source("t", "p", 2024, "https://example.invalid", "key")


def test_catalog_has_required_chips():
    required = {"A100 SXM 80GB", "H100 SXM", "H100 PCIe", "H200 SXM", "B200"}
    required |= {"MI300X", "L4", "TPU v5e"}
    assert required <= set(accelerator_names())


@pytest.mark.parametrize("chip", ACCELERATORS.values(), ids=lambda c: c.name)
def test_every_chip_has_source_in_bibliography(chip):
    assert chip.source.url.startswith("https://")
    assert chip.source.year >= 2020
    assert re.search(r"@\w+\{" + re.escape(chip.source.bibkey) + ",", BIB)


@pytest.mark.parametrize("chip", ACCELERATORS.values(), ids=lambda c: c.name)
def test_every_chip_has_bf16_and_sane_figures(chip):
    assert chip.peak_flops("bf16") > 50 * TERA
    assert 10 * GIGA <= chip.memory_bytes <= 300 * GIGA
    assert 100 * GIGA <= chip.memory_bandwidth <= 10_000 * GIGA


@pytest.mark.parametrize("chip", ACCELERATORS.values(), ids=lambda c: c.name)
def test_fp8_and_int8_are_twice_bf16(chip):
    # A check on transcription: on every chip here the 8-bit tensor rate is
    # twice the 16-bit rate (Google rounds the TPU v5e's int8 figure down).
    for dtype in ("fp8", "int8"):
        if dtype in chip.dense_peak:
            ratio = chip.peak_flops(dtype) / chip.peak_flops("bf16")
            assert ratio == pytest.approx(2.0, rel=0.005)


def test_h100_bf16_peak_is_dense_not_sparse():
    # NVIDIA prints 1,979 TFLOP/s bf16 "with sparsity"; the dense peak is half.
    assert get_accelerator("H100 SXM").peak_flops("bf16") == pytest.approx(989.5 * TERA)


def test_h100_and_h200_share_compute():
    h100, h200 = get_accelerator("H100 SXM"), get_accelerator("H200 SXM")
    assert dict(h100.dense_peak) == dict(h200.dense_peak)
    assert h200.memory_bandwidth > h100.memory_bandwidth


def test_nvlink_is_halved_to_per_direction():
    h100 = get_accelerator("H100 SXM")
    assert h100.interconnect.quoted_bandwidth == 900 * GIGA
    assert h100.interconnect.bandwidth_per_direction == 450 * GIGA


def test_per_direction_link_is_not_halved():
    link = Interconnect("one-way", 100 * GIGA, quoted_is_bidirectional=False)
    assert link.bandwidth_per_direction == 100 * GIGA
    assert "per direction" in link.describe()


def test_lookup_ignores_case_and_spaces():
    assert get_accelerator(" h100 sxm ").name == "H100 SXM"


def test_unknown_accelerator_lists_valid_names():
    with pytest.raises(ValueError, match="unknown accelerator 'H300'.*H100 SXM"):
        get_accelerator("H300")


def test_unsupported_dtype_lists_supported():
    with pytest.raises(ValueError, match="TPU v5e has no tensor-core peak for 'fp8'"):
        get_accelerator("TPU v5e").peak_flops("fp8")


def test_bytes_per_element():
    assert bytes_per_element("bf16") == 2
    assert bytes_per_element("fp8") == 1
    assert bytes_per_element("int4") == 0.5
    with pytest.raises(ValueError, match="unknown data type 'fp12'"):
        bytes_per_element("fp12")


def test_peaks_are_read_only():
    with pytest.raises(TypeError):
        get_accelerator("L4").dense_peak["bf16"] = 1.0


def test_accelerator_rejects_bad_figures():
    link = Interconnect("x", 1.0, True)
    with pytest.raises(ValueError, match="peak for bf16 must be > 0"):
        Accelerator("X", "V", "HBM", 1e9, 1e12, {"bf16": 0.0}, link, SOURCE)
    with pytest.raises(ValueError, match="unknown data type 'bf12'"):
        Accelerator("X", "V", "HBM", 1e9, 1e12, {"bf12": 1.0}, link, SOURCE)
    with pytest.raises(ValueError, match="memory size and bandwidth must be > 0"):
        Accelerator("X", "V", "HBM", 0.0, 1e12, {"bf16": 1.0}, link, SOURCE)
