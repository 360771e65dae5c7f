"""Human-readable strings for quantities in SI base units.

Decimal prefixes throughout (1 GB = 10**9 bytes), as datasheets use them;
``format_bytes(..., binary=True)`` gives GiB and friends where memory sizes
are powers of two.
"""

import math

_DECIMAL = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")]
_BINARY = [(2**50, "Pi"), (2**40, "Ti"), (2**30, "Gi"), (2**20, "Mi"), (2**10, "Ki")]


def _significant(value: float, digits: int) -> str:
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def _with_prefix(value: float, unit: str, digits: int) -> str:
    if not math.isfinite(value):
        raise ValueError(f"cannot format a non-finite value {value!r} {unit}")
    for scale, prefix in _DECIMAL:
        if abs(value) >= scale:
            return f"{_significant(value / scale, digits)} {prefix}{unit}"
    return f"{_significant(value, digits)} {unit}"


def format_time(seconds: float, digits: int = 3) -> str:
    """Format a duration, e.g. 0.0418 -> '41.8 ms'."""
    if not math.isfinite(seconds):
        raise ValueError(f"cannot format a non-finite duration {seconds!r}")
    magnitude = abs(seconds)
    for scale, unit in ((3600, "h"), (60, "min"), (1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if magnitude >= scale:
            return f"{_significant(seconds / scale, digits)} {unit}"
    return f"{_significant(seconds / 1e-9, digits)} ns"


def format_bytes(n_bytes: float, digits: int = 3, binary: bool = False) -> str:
    """Format a byte count, e.g. 1.4e11 -> '140 GB' (or '130 GiB' with binary)."""
    if not binary:
        return _with_prefix(n_bytes, "B", digits)
    for scale, prefix in _BINARY:
        if abs(n_bytes) >= scale:
            return f"{_significant(n_bytes / scale, digits)} {prefix}B"
    return f"{_significant(n_bytes, digits)} B"


def format_flops(flops_per_second: float, digits: int = 3) -> str:
    """Format a compute rate, e.g. 9.894e14 -> '989 TFLOP/s'."""
    return _with_prefix(flops_per_second, "FLOP/s", digits)


def format_bandwidth(bytes_per_second: float, digits: int = 3) -> str:
    """Format a bandwidth, e.g. 3.35e12 -> '3.35 TB/s'."""
    return _with_prefix(bytes_per_second, "B/s", digits)


def format_count(count: float, digits: int = 3) -> str:
    """Format a large count with a word suffix, e.g. 6.74e9 -> '6.74 billion'."""
    for scale, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(count) >= scale:
            return f"{_significant(count / scale, digits)} {word}"
    return f"{count:,.0f}"


def format_usd(amount: float) -> str:
    """Format dollars, e.g. 2628000 -> '$2.63 million', 3.5 -> '$3.50'."""
    if abs(amount) >= 1e6:
        return "$" + format_count(amount)
    if abs(amount) >= 100:
        return f"${amount:,.0f}"
    return f"${amount:,.2f}"
