import math

import numpy as np

from mlsys.validation import is_finite_number, is_integer


def test_is_integer_accepts_numpy_rejects_bool_and_float():
    assert is_integer(8)
    assert is_integer(np.int64(8))
    assert not is_integer(True)
    assert not is_integer(8.0)
    assert not is_integer("8")


def test_is_finite_number():
    assert is_finite_number(2.5)
    assert is_finite_number(np.float32(2.5))
    assert is_finite_number(np.int64(3))
    assert not is_finite_number(math.inf)
    assert not is_finite_number(math.nan)
    assert not is_finite_number(False)
    assert not is_finite_number("2.5")
