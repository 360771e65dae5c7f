"""Measure the serving simulator against its budget.

Budget (a two-core machine): 2,000 requests under continuous batching simulate
within 0.5 s, so that an explorer that re-simulates stays responsive.

Run: `.venv/bin/python benchmarks/bench_simulator.py`. Prints the median of
five runs for each scheduler; exits 1 if continuous batching misses the budget.
"""

import statistics
import sys
import time

from mlsys.hardware import get_accelerator
from mlsys.models import get_model
from mlsys.simulator import (
    Replica,
    simulate_continuous,
    simulate_disaggregated,
    simulate_static,
)
from mlsys.workload import poisson_workload

BUDGET_SECONDS = 0.5


def main() -> int:
    replica = Replica(get_model("Llama 3 8B"), get_accelerator("H100 SXM"))
    requests = poisson_workload(rate=15.0, count=2000, seed=7)
    runs = {
        "continuous": lambda: simulate_continuous(requests, replica, max_batch=256),
        "chunked (512-token budget)": lambda: simulate_continuous(
            requests, replica, 256, token_budget=512
        ),
        "static (batch 32)": lambda: simulate_static(requests, replica, 32),
        "disaggregated (1 prefill, 2 decode)": lambda: simulate_disaggregated(
            requests, replica, 1, 2, link_bandwidth=50e9
        ),
    }
    medians = {}
    for name, run in runs.items():
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            run()
            timings.append(time.perf_counter() - start)
        medians[name] = statistics.median(timings)
        print(f"{name}: {medians[name]:.3f} s for {len(requests):,} requests")
    within = medians["continuous"] <= BUDGET_SECONDS
    print(
        f"continuous batching budget {BUDGET_SECONDS} s: {'ok' if within else 'OVER'}"
    )
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
