"""Input checks shared by the library: what counts as an integer or a number.

numpy scalars count (``np.int64(8)`` is an integer), booleans do not.
"""

import math
import numbers


def is_integer(value: object) -> bool:
    """Return whether ``value`` is an integer (numpy's included) and not a boolean."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_finite_number(value: object) -> bool:
    """Return whether ``value`` is a finite real number, not a boolean."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )
