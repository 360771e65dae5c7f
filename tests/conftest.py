"""Shared pytest settings.

nbval waits only 5 s for each output message after a cell finishes. That is
too short on a loaded two-core runner, so the limit here is a minute.
"""

NBVAL_OUTPUT_TIMEOUT_SECONDS = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT_SECONDS
