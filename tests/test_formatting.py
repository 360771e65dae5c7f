import math

import pytest

from mlsys.formatting import (
    format_bandwidth,
    format_bytes,
    format_count,
    format_flops,
    format_time,
    format_usd,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0418, "41.8 ms"),
        (2.4, "2.40 s"),
        (4.79e-6, "4.79 µs"),
        (5e-9, "5.00 ns"),
        (90, "1.50 min"),
        (7200, "2.00 h"),
        (0, "0 ns"),
    ],
)
def test_format_time(seconds, text):
    assert format_time(seconds) == text


def test_format_bytes_decimal_and_binary():
    assert format_bytes(1.4e11) == "140 GB"
    assert format_bytes(819_200, binary=True) == "800 KiB"
    assert format_bytes(80e9) == "80.0 GB"
    assert format_bytes(12) == "12.0 B"


def test_format_rates():
    assert format_flops(989.5e12) == "990 TFLOP/s"
    assert format_flops(989.5e12, digits=4) == "989.5 TFLOP/s"
    assert format_bandwidth(3.35e12) == "3.35 TB/s"


def test_format_count_and_usd():
    assert format_count(6.738e9) == "6.74 billion"
    assert format_count(512) == "512"
    assert format_usd(2_628_000) == "$2.63 million"
    assert format_usd(276_480) == "$276,480"
    assert format_usd(3.5) == "$3.50"


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_formatting_rejects_non_finite(value):
    with pytest.raises(ValueError, match="non-finite"):
        format_time(value)
    with pytest.raises(ValueError, match="non-finite"):
        format_flops(value)
