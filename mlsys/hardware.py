"""Accelerator catalog: dense peak throughput, memory and scale-up links.

Every figure is in SI base units: FLOP/s (or integer OP/s for int8), bytes and
bytes/s. Peaks are dense tensor-core figures. Vendors often print the 2:4
structured-sparsity figure, which is twice the dense one; the catalog never
stores that figure as a peak. Rental and purchase prices are not hardware facts
and live in :mod:`mlsys.costs`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mlsys.sources import Source

TERA = 1e12
GIGA = 1e9
GIB = 2**30
"""Bytes in a gibibyte. Vendors label memory capacity in "GB" but mean GiB:
HBM and GDDR come in power-of-two sizes, and an "80 GB" H100 reports
81,559 MiB to nvidia-smi. Bandwidths, by contrast, are decimal."""

BYTES_PER_ELEMENT: Mapping[str, float] = MappingProxyType(
    {
        "fp32": 4.0,
        "tf32": 4.0,  # stored in 32 bits; only the tensor-core math is narrower
        "bf16": 2.0,
        "fp16": 2.0,
        "fp8": 1.0,
        "int8": 1.0,
        "int4": 0.5,
        "fp4": 0.5,
    }
)
"""Storage size of one element of each data type, in bytes."""


def bytes_per_element(dtype: str) -> float:
    """Return the storage size of one element of ``dtype`` in bytes."""
    try:
        return BYTES_PER_ELEMENT[dtype]
    except KeyError:
        valid = ", ".join(BYTES_PER_ELEMENT)
        raise ValueError(
            f"unknown data type {dtype!r}; expected one of: {valid}"
        ) from None


@dataclass(frozen=True)
class Interconnect:
    """A chip's scale-up link to its peers (NVLink, Infinity Fabric, ICI, PCIe).

    Vendors quote some links as the sum of both directions and others per
    direction. ``quoted_bandwidth`` keeps the vendor's figure as printed and
    ``quoted_is_bidirectional`` records which it is, so that two links are only
    ever compared per direction.
    """

    name: str
    quoted_bandwidth: float  # bytes/s, as the vendor prints it
    quoted_is_bidirectional: bool

    @property
    def bandwidth_per_direction(self) -> float:
        """Bytes/s that one chip can send (or receive) at once over all its links."""
        if self.quoted_is_bidirectional:
            return self.quoted_bandwidth / 2
        return self.quoted_bandwidth

    def describe(self) -> str:
        """Format the link as '<name>: X GB/s per direction (vendor: ...)'."""
        per_direction = self.bandwidth_per_direction / GIGA
        quoted = self.quoted_bandwidth / GIGA
        kind = (
            "both directions summed"
            if self.quoted_is_bidirectional
            else "per direction"
        )
        return (
            f"{self.name}: {per_direction:,.0f} GB/s per direction "
            f"(quoted as {quoted:,.0f} GB/s, {kind})"
        )


@dataclass(frozen=True)
class Accelerator:
    """One accelerator's specification, with the source of its figures."""

    name: str
    vendor: str
    memory_type: str
    memory_bytes: float  # capacity in bytes; the vendor's "80 GB" is 80 GiB
    memory_bandwidth: float  # bytes/s, decimal as printed
    dense_peak: Mapping[str, float]  # FLOP/s (OP/s for int8) per data type, dense
    interconnect: Interconnect
    source: Source
    notes: str = ""

    def __post_init__(self) -> None:
        # A frozen dataclass does not freeze a dict, so store a read-only copy.
        object.__setattr__(self, "dense_peak", MappingProxyType(dict(self.dense_peak)))
        for dtype, value in self.dense_peak.items():
            bytes_per_element(dtype)  # rejects unknown data types
            if value <= 0:
                raise ValueError(
                    f"{self.name}: peak for {dtype} must be > 0, got {value}"
                )
        if self.memory_bytes <= 0 or self.memory_bandwidth <= 0:
            raise ValueError(f"{self.name}: memory size and bandwidth must be > 0")

    @property
    def dtypes(self) -> tuple[str, ...]:
        """Data types that this chip's tensor units support."""
        return tuple(self.dense_peak)

    def peak_flops(self, dtype: str = "bf16") -> float:
        """Return the dense peak in FLOP/s (OP/s for integers) for ``dtype``."""
        try:
            return self.dense_peak[dtype]
        except KeyError:
            valid = ", ".join(self.dense_peak)
            raise ValueError(
                f"{self.name} has no tensor-core peak for {dtype!r}; "
                f"supported data types: {valid}"
            ) from None


NVIDIA_A100_DATASHEET = Source(
    title="NVIDIA A100 Tensor Core GPU datasheet",
    publisher="NVIDIA",
    year=2021,
    url="https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf",
    bibkey="nvidia2021a100",
)
NVIDIA_H100_DATASHEET = Source(
    title="NVIDIA H100 Tensor Core GPU datasheet (2022 edition, SXM and PCIe columns)",
    publisher="NVIDIA",
    year=2022,
    url="https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet",
    bibkey="nvidia2022h100",
)
NVIDIA_H200_DATASHEET = Source(
    title="NVIDIA H200 Tensor Core GPU datasheet",
    publisher="NVIDIA",
    year=2024,
    url="https://nvdam.widen.net/s/nb5zzzsjdf/hpc-datasheet-sc23-h200-datasheet-3002446",
    bibkey="nvidia2024h200",
)
NVIDIA_DGX_B200_DATASHEET = Source(
    title="NVIDIA DGX B200 datasheet (eight-GPU totals divided by 8) and HGX B200 "
    "specifications",
    publisher="NVIDIA",
    year=2024,
    url="https://www.nvidia.com/en-us/data-center/dgx-b200/",
    bibkey="nvidia2024dgxb200",
)
AMD_MI300X_DATASHEET = Source(
    title="AMD Instinct MI300X accelerator datasheet",
    publisher="AMD",
    year=2023,
    url="https://www.amd.com/content/dam/amd/en/documents/instinct-tech-docs/data-sheets/amd-instinct-mi300x-data-sheet.pdf",
    bibkey="amd2023mi300x",
)
NVIDIA_L4_DATASHEET = Source(
    title="NVIDIA L4 Tensor Core GPU datasheet",
    publisher="NVIDIA",
    year=2023,
    url="https://resources.nvidia.com/en-us-data-center-overview/l4-gpu-datasheet",
    bibkey="nvidia2023l4",
)
GOOGLE_TPU_V5E_DOCS = Source(
    title="Cloud TPU documentation: TPU v5e",
    publisher="Google Cloud",
    year=2024,
    url="https://cloud.google.com/tpu/docs/v5e",
    bibkey="google2024tpuv5e",
)

_NVLINK4 = Interconnect("NVLink 4", 900 * GIGA, quoted_is_bidirectional=True)

ACCELERATORS: Mapping[str, Accelerator] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            Accelerator(
                name="A100 SXM 80GB",
                vendor="NVIDIA",
                memory_type="HBM2e",
                memory_bytes=80 * GIB,
                memory_bandwidth=2039 * GIGA,
                dense_peak={
                    "tf32": 156 * TERA,
                    "bf16": 312 * TERA,
                    "fp16": 312 * TERA,
                    "int8": 624 * TERA,
                },
                interconnect=Interconnect("NVLink 3", 600 * GIGA, True),
                source=NVIDIA_A100_DATASHEET,
                notes="The datasheet's starred figures (624 TFLOP/s bf16) are sparse.",
            ),
            Accelerator(
                name="H100 SXM",
                vendor="NVIDIA",
                memory_type="HBM3",
                memory_bytes=80 * GIB,
                memory_bandwidth=3350 * GIGA,
                dense_peak={
                    "tf32": 494.5 * TERA,
                    "bf16": 989.5 * TERA,
                    "fp16": 989.5 * TERA,
                    "fp8": 1979 * TERA,
                    "int8": 1979 * TERA,
                },
                interconnect=_NVLINK4,
                source=NVIDIA_H100_DATASHEET,
                notes=(
                    "The datasheet prints 1,979 TFLOP/s bf16 with a footnote: with "
                    "sparsity. Dense peaks here are half of each starred figure."
                ),
            ),
            Accelerator(
                name="H100 PCIe",
                vendor="NVIDIA",
                memory_type="HBM2e",
                memory_bytes=80 * GIB,
                memory_bandwidth=2000 * GIGA,
                dense_peak={
                    "tf32": 378 * TERA,
                    "bf16": 756.5 * TERA,
                    "fp16": 756.5 * TERA,
                    "fp8": 1513 * TERA,
                    "int8": 1513 * TERA,
                },
                interconnect=Interconnect("NVLink bridge", 600 * GIGA, True),
                source=NVIDIA_H100_DATASHEET,
                notes=(
                    "Dense peaks are half the datasheet's starred sparse figures. The "
                    "bridge joins pairs of cards; otherwise cards use PCIe Gen5 x16. "
                    "Later datasheets list the H100 NVL instead."
                ),
            ),
            Accelerator(
                name="H200 SXM",
                vendor="NVIDIA",
                memory_type="HBM3e",
                memory_bytes=141 * GIB,
                memory_bandwidth=4800 * GIGA,
                dense_peak={
                    "tf32": 494.5 * TERA,
                    "bf16": 989.5 * TERA,
                    "fp16": 989.5 * TERA,
                    "fp8": 1979 * TERA,
                    "int8": 1979 * TERA,
                },
                interconnect=_NVLINK4,
                source=NVIDIA_H200_DATASHEET,
                notes="Same compute as H100 SXM; starred datasheet peaks are sparse.",
            ),
            Accelerator(
                name="B200",
                vendor="NVIDIA",
                memory_type="HBM3e",
                memory_bytes=180 * GIB,
                memory_bandwidth=8000 * GIGA,
                dense_peak={
                    "tf32": 1100 * TERA,
                    "bf16": 2250 * TERA,
                    "fp16": 2250 * TERA,
                    "fp8": 4500 * TERA,
                    "int8": 4500 * TERA,
                    "fp4": 9000 * TERA,
                },
                interconnect=Interconnect("NVLink 5", 1800 * GIGA, True),
                source=NVIDIA_DGX_B200_DATASHEET,
                notes=(
                    "Per-GPU figures from the eight-GPU DGX totals "
                    "(1,440 GB, 64 TB/s). "
                    "The 2024 launch material said 192 GB, and the HGX B200 table says "
                    "7.7 TB/s; dense peaks are half the starred sparse figures."
                ),
            ),
            Accelerator(
                name="MI300X",
                vendor="AMD",
                memory_type="HBM3",
                memory_bytes=192 * GIB,
                memory_bandwidth=5300 * GIGA,
                dense_peak={
                    "tf32": 653.7 * TERA,
                    "bf16": 1307.4 * TERA,
                    "fp16": 1307.4 * TERA,
                    "fp8": 2614.9 * TERA,
                    "int8": 2614.9 * TERA,
                },
                interconnect=Interconnect(
                    "Infinity Fabric (7 links)", 896 * GIGA, True
                ),
                source=AMD_MI300X_DATASHEET,
                notes=(
                    "Peaks are AMD's dense figures (the datasheet lists sparse ones "
                    "separately). Links: 7 x 128 GB/s; AMD does not state a direction, "
                    "and the catalog reads 128 GB/s as both directions summed."
                ),
            ),
            Accelerator(
                name="L4",
                vendor="NVIDIA",
                memory_type="GDDR6",
                memory_bytes=24 * GIB,
                memory_bandwidth=300 * GIGA,
                dense_peak={
                    "tf32": 60 * TERA,
                    "bf16": 121 * TERA,
                    "fp16": 121 * TERA,
                    "fp8": 242.5 * TERA,
                    "int8": 242.5 * TERA,
                },
                interconnect=Interconnect("PCIe Gen4 x16", 64 * GIGA, True),
                source=NVIDIA_L4_DATASHEET,
                notes="The datasheet prints sparse peaks (242 TFLOP/s bf16).",
            ),
            Accelerator(
                name="TPU v5e",
                vendor="Google",
                memory_type="HBM2",
                memory_bytes=16 * GIB,
                memory_bandwidth=819 * GIGA,
                dense_peak={"bf16": 197 * TERA, "int8": 393 * TERA},
                interconnect=Interconnect("ICI (4 ports)", 400 * GIGA, True),
                source=GOOGLE_TPU_V5E_DOCS,
                notes=(
                    "TPUs have no sparse peak. ICI: 400 GB/s per chip, both directions "
                    "summed (older pages: 1,600 Gbit/s per chip)."
                ),
            ),
        )
    }
)
"""Every accelerator in the course, keyed by name."""


def accelerator_names() -> tuple[str, ...]:
    """Return the catalog's accelerator names in catalog order."""
    return tuple(ACCELERATORS)


def get_accelerator(name: str) -> Accelerator:
    """Look up an accelerator by name, ignoring case; list valid names if not found."""
    for key, spec in ACCELERATORS.items():
        if key.lower() == name.strip().lower():
            return spec
    valid = ", ".join(ACCELERATORS)
    raise ValueError(f"unknown accelerator {name!r}; valid names: {valid}")
