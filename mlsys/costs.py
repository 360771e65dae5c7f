"""Prices and what idle hardware costs.

Prices are not hardware facts: they change by provider, contract and month.
Each one here is a dated assumption with a range, and every function takes
the price as an argument so a reader can put in their own.
"""

from dataclasses import dataclass

from mlsys.validation import is_finite_number

HOURS_PER_YEAR = 24 * 365


@dataclass(frozen=True)
class PriceAssumption:
    """A price range that the course assumes, with its date and basis."""

    item: str
    unit: str
    low: float
    typical: float
    high: float
    as_of: str  # year and month the range was set
    basis: str

    def __post_init__(self) -> None:
        if not 0 < self.low <= self.typical <= self.high:
            raise ValueError(
                f"{self.item}: need 0 < low <= typical <= high, got "
                f"{self.low}, {self.typical}, {self.high}"
            )


H100_RENTAL = PriceAssumption(
    item="H100 SXM rental",
    unit="USD per GPU-hour",
    low=2.0,
    typical=3.0,
    high=10.0,
    as_of="2026-12",
    basis=(
        "Assumption. Low end: long-term reservations and smaller clouds; high end: "
        "on-demand list prices at large clouds. Check current offers before using it."
    ),
)
H100_PURCHASE = PriceAssumption(
    item="H100 SXM purchase",
    unit="USD per GPU",
    low=25_000.0,
    typical=30_000.0,
    high=40_000.0,
    as_of="2026-12",
    basis="Assumption: reported street prices for one GPU, without the server.",
)
CPU_RENTAL = PriceAssumption(
    item="General-purpose CPU rental",
    unit="USD per vCPU-hour",
    low=0.02,
    typical=0.04,
    high=0.10,
    as_of="2026-12",
    basis="Assumption: on-demand general-purpose cloud instances, per virtual CPU.",
)


def _require_non_negative(name: str, value: float) -> None:
    if not (is_finite_number(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def fleet_cost(n_devices: float, price_per_hour: float, hours: float) -> float:
    """Return what ``n_devices`` cost over ``hours`` at ``price_per_hour`` each."""
    _require_non_negative("n_devices", n_devices)
    _require_non_negative("price_per_hour", price_per_hour)
    _require_non_negative("hours", hours)
    return n_devices * price_per_hour * hours


def idle_cost(
    n_devices: float, price_per_hour: float, hours: float, idle_fraction: float
) -> float:
    """Return the part of a fleet's bill spent while its devices sit idle.

    ``idle_fraction`` is the share of paid hours with no useful work, from 0 to 1.
    """
    if not (is_finite_number(idle_fraction) and 0 <= idle_fraction <= 1):
        raise ValueError(f"idle_fraction must be from 0 to 1, got {idle_fraction!r}")
    return fleet_cost(n_devices, price_per_hour, hours) * idle_fraction


def cost_per_million_tokens(price_per_hour: float, tokens_per_second: float) -> float:
    """Return the price of a million tokens from a device's hourly price and rate."""
    _require_non_negative("price_per_hour", price_per_hour)
    if not (is_finite_number(tokens_per_second) and tokens_per_second > 0):
        raise ValueError(f"tokens_per_second must be > 0, got {tokens_per_second!r}")
    tokens_per_hour = tokens_per_second * 3600
    return price_per_hour / tokens_per_hour * 1e6
