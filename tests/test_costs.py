import math

import pytest

from mlsys.costs import (
    CPU_RENTAL,
    H100_PURCHASE,
    H100_RENTAL,
    HOURS_PER_YEAR,
    PriceAssumption,
    cost_per_million_tokens,
    fleet_cost,
    idle_cost,
)


def test_price_assumptions_are_dated_ranges():
    for price in (H100_RENTAL, H100_PURCHASE, CPU_RENTAL):
        assert price.low <= price.typical <= price.high
        assert price.as_of
        assert "Assumption" in price.basis


def test_price_assumption_rejects_unordered_range():
    with pytest.raises(ValueError, match="need 0 < low <= typical <= high"):
        PriceAssumption("x", "USD", 3.0, 2.0, 10.0, "2026-12", "Assumption")


def test_fleet_cost_for_a_year():
    assert fleet_cost(1000, 3.0, HOURS_PER_YEAR) == 1000 * 3.0 * 8760


def test_idle_cost_is_fraction_of_bill():
    assert idle_cost(10, 2.0, 100, 0.25) == 500.0


@pytest.mark.parametrize("fraction", [-0.1, 1.5, math.nan])
def test_idle_cost_rejects_fraction_outside_unit_interval(fraction):
    with pytest.raises(ValueError, match="idle_fraction must be from 0 to 1"):
        idle_cost(1, 1.0, 1.0, fraction)


def test_fleet_cost_rejects_negative_inputs():
    with pytest.raises(ValueError, match="n_devices must be a finite number >= 0"):
        fleet_cost(-1, 1.0, 1.0)


def test_cost_per_million_tokens():
    # $3.60 an hour at 1,000 tokens/s is 3.6 million tokens for $3.60.
    assert cost_per_million_tokens(3.60, 1000) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="tokens_per_second must be > 0"):
        cost_per_million_tokens(3.60, 0)
