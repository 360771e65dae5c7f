"""A discrete-event simulator of LLM serving on replicas of one model.

The simulator steps each replica one iteration (one forward pass over a batch
of tokens) at a time. An iteration's duration is the roofline estimate of its
FLOPs and bytes on the replica, plus a fixed overhead. Assumptions, stated once:

- FLOPs: 2 per multiplied weight per token (the output head only for tokens
  that need logits), plus attention's score and value products,
  4 * layers * (heads * head_dim) per query-key pair, as in ``mlsys.roofline``.
  Pairs are counted causally (``causal_attention_pairs``), as the fused
  attention kernels of serving engines compute them, so a prompt costs the
  same whole or in chunks.
- Bytes: the multiplied weights once per iteration, plus the KV cache that
  the batch's tokens read and the new entries they write.
- KV-cache capacity is reserved in full (prompt plus output tokens) when a
  request is admitted, as if the scheduler knew each output length. Real
  engines allocate as tokens arrive and preempt when memory runs out.
- A tensor-parallel replica of t chips has t times the peak, bandwidth and
  memory of one chip. NOTE: the all-reduces that tensor parallelism adds are
  not modelled; lesson 10 prices them.
- ``iteration_overhead`` (2 ms by default) stands for scheduling and kernel
  launches. It is an assumption, not a measurement.

Schedulers: ``static``, ``dynamic`` (with a timeout), ``continuous``
(iteration-level), ``chunked`` (continuous with a per-iteration token budget)
and ``disaggregated`` prefill and decode pools joined by a link. Results are
in :mod:`mlsys.serving_results`.
"""

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from mlsys.hardware import Accelerator, bytes_per_element
from mlsys.models import (
    TransformerSpec,
    kv_cache_bytes_per_token,
    output_head_parameter_count,
    parameter_count,
)
from mlsys.roofline import causal_attention_pairs, multiplied_parameter_count
from mlsys.serving_results import ReplicaTimeline, SimulationResult
from mlsys.validation import is_integer
from mlsys.workload import Request


@dataclass(frozen=True)
class Replica:
    """One copy of a model on one chip or a tensor-parallel group of chips."""

    model: TransformerSpec
    gpu: Accelerator
    tensor_parallel: int = 1
    dtype: str = "bf16"
    iteration_overhead: float = 2e-3  # seconds per iteration; an assumption
    kv_memory_fraction: float = 0.9  # share of memory left after weights for KV

    def __post_init__(self) -> None:
        if self.model.is_moe:
            raise ValueError(
                f"{self.model.name} is a mixture-of-experts model; the simulator "
                "models dense models only"
            )
        if not isinstance(self.tensor_parallel, int) or not 1 <= self.tensor_parallel:
            raise ValueError(
                f"tensor_parallel must be an integer >= 1, got {self.tensor_parallel!r}"
            )
        if not 0 <= self.iteration_overhead < 1:
            raise ValueError(
                "iteration_overhead must be from 0 to 1 s, "
                f"got {self.iteration_overhead!r}"
            )
        if not 0 < self.kv_memory_fraction <= 1:
            raise ValueError(
                f"kv_memory_fraction must be in (0, 1], got {self.kv_memory_fraction!r}"
            )
        self.gpu.peak_flops(self.dtype)  # rejects a data type the chip lacks
        if self.kv_capacity_tokens < 1:
            raise ValueError(
                f"{self.model.name} in {self.dtype} leaves no memory for the KV cache "
                f"on {self.tensor_parallel} x {self.gpu.name}; use more chips "
                "(tensor_parallel) or a smaller model"
            )

    @property
    def peak_flops(self) -> float:
        """Peak FLOP/s of the whole replica."""
        return self.gpu.peak_flops(self.dtype) * self.tensor_parallel

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth of the whole replica, bytes/s."""
        return self.gpu.memory_bandwidth * self.tensor_parallel

    @property
    def kv_bytes_per_token(self) -> float:
        """KV-cache bytes one token occupies, across all layers."""
        return kv_cache_bytes_per_token(self.model, self.dtype)

    @property
    def kv_capacity_tokens(self) -> int:
        """Tokens of KV cache that fit beside the weights."""
        memory = self.gpu.memory_bytes * self.tensor_parallel
        weights = parameter_count(self.model) * bytes_per_element(self.dtype)
        free = (memory - weights) * self.kv_memory_fraction
        return max(0, math.floor(free / self.kv_bytes_per_token))

    def iteration_time(
        self,
        tokens: int,
        logit_tokens: int,
        attention_pairs: float,
        kv_tokens_read: float,
    ) -> float:
        """Return the seconds of one iteration over ``tokens`` input tokens.

        ``logit_tokens`` of them go through the output head; ``attention_pairs``
        counts query-key pairs; ``kv_tokens_read`` counts cached tokens read.
        Each input token also writes its own KV entry.
        """
        c = self._cost_terms
        flops = c.body_flops_per_token * tokens + c.head_flops_per_token * logit_tokens
        flops += c.flops_per_attention_pair * attention_pairs
        moved = c.weight_bytes_read + (kv_tokens_read + tokens) * c.kv_bytes_per_token
        return max(flops / c.peak_flops, moved / c.bandwidth) + self.iteration_overhead

    @cached_property
    def _cost_terms(self) -> "_CostTerms":
        # Computed once per replica: an iteration_time call is in the inner loop.
        model = self.model
        head = output_head_parameter_count(model)
        body = multiplied_parameter_count(model) - head
        return _CostTerms(
            body_flops_per_token=2.0 * body,
            head_flops_per_token=2.0 * head,
            flops_per_attention_pair=4.0
            * model.n_layers
            * model.n_heads
            * model.head_dim,
            weight_bytes_read=(body + head) * bytes_per_element(self.dtype),
            kv_bytes_per_token=self.kv_bytes_per_token,
            peak_flops=self.peak_flops,
            bandwidth=self.bandwidth,
        )


@dataclass(frozen=True)
class _CostTerms:
    """Per-replica constants of the iteration cost model."""

    body_flops_per_token: float
    head_flops_per_token: float
    flops_per_attention_pair: float
    weight_bytes_read: float
    kv_bytes_per_token: float
    peak_flops: float
    bandwidth: float


@dataclass
class _Record:
    """When one request's tokens came out, and at which iterations of its engine.

    ``token_start`` and ``token_end`` index the engine's iteration end times:
    the first and last iterations that gave this request a token.
    ``first_iteration`` is the reference index for its decode context.
    """

    first_iteration: int = -1
    token_start: int = -1
    token_end: int = -1
    finish: float = math.nan
    first_token: float = math.nan
    last_token: float = math.nan


@dataclass
class _Engine:
    """Iteration-level (continuous) batching on one replica.

    ``phase`` is "both" (prefill then decode), "prefill" (requests leave after
    their first token) or "decode" (requests arrive with their prompt's KV
    cache in place, at the times given in ``ready``).
    """

    replica: Replica
    max_batch: int
    token_budget: int | None  # None: whole prompts in one iteration
    phase: str = "both"
    ends: list[float] = field(default_factory=list)
    timeline: list[tuple[float, float, int, int, int]] = field(default_factory=list)

    def run(
        self, requests: Sequence[Request], ready: Sequence[float] | None = None
    ) -> dict[int, _Record]:
        replica, budget_limit = self.replica, self.token_budget
        arrivals = [r.arrival for r in requests] if ready is None else list(ready)
        order = sorted(range(len(requests)), key=lambda i: arrivals[i])
        capacity = replica.kv_capacity_tokens
        records = {r.id: _Record() for r in requests}
        waiting: deque[int] = deque()
        prefilling: list[list[int]] = []  # [request index, prompt tokens done]
        decoders: list[tuple[int, int]] = []  # heap of (last iteration, index)
        context_offset = 0  # sum over decoders of (context - iteration index)
        reserved = 0
        now, iteration, next_arrival, done = 0.0, 0, 0, 0
        count = len(requests)
        while done < count:
            while next_arrival < count and arrivals[order[next_arrival]] <= now:
                waiting.append(order[next_arrival])
                next_arrival += 1
            running = len(prefilling) + len(decoders)
            if not running and not waiting:
                now = arrivals[order[next_arrival]]
                continue
            while waiting and running < self.max_batch:
                request = requests[waiting[0]]
                need = request.prompt_tokens + request.output_tokens
                if need > capacity:
                    raise ValueError(
                        f"request {request.id} needs {need:,} tokens of KV cache, more "
                        f"than the replica's capacity of {capacity:,}"
                    )
                if reserved + need > capacity:
                    break
                index = waiting.popleft()
                reserved += need
                running += 1
                if self.phase == "decode":
                    # The prompt's KV cache and first token came from elsewhere.
                    context_offset += self._start_decoding(
                        index, requests, iteration - 1, decoders
                    )
                    records[request.id].first_iteration = iteration - 1
                    records[request.id].token_start = iteration
                else:
                    prefilling.append([index, 0])
            if not prefilling and not decoders:
                raise RuntimeError("scheduler admitted no request to a free replica")

            decode_tokens = len(decoders)
            context = context_offset + decode_tokens * iteration
            attention_pairs = float(context)
            kv_read = float(context)
            budget = math.inf if budget_limit is None else budget_limit - decode_tokens
            prefill_tokens, logit_tokens, finished_prefills = 0, decode_tokens, []
            for entry in prefilling:
                if budget <= 0:
                    break
                index, done_tokens = entry
                prompt = requests[index].prompt_tokens
                chunk = int(min(prompt - done_tokens, budget))
                attention_pairs += causal_attention_pairs(chunk, done_tokens)
                kv_read += done_tokens
                prefill_tokens += chunk
                budget -= chunk
                entry[1] += chunk
                if entry[1] == prompt:
                    logit_tokens += 1
                    finished_prefills.append(entry)
            tokens = prefill_tokens + decode_tokens
            duration = replica.iteration_time(
                tokens, logit_tokens, attention_pairs, kv_read
            )
            start, now = now, now + duration
            self.ends.append(now)
            self.timeline.append((start, now, decode_tokens, prefill_tokens, running))

            for entry in finished_prefills:
                prefilling.remove(entry)
                request = requests[entry[0]]
                record = records[request.id]
                record.first_iteration = record.token_start = iteration
                record.first_token = now
                if self.phase == "prefill" or request.output_tokens == 1:
                    record.token_end, record.finish = iteration, now
                    record.last_token = now
                    reserved -= request.prompt_tokens + request.output_tokens
                    done += 1
                else:
                    context_offset += self._start_decoding(
                        entry[0], requests, iteration, decoders
                    )
            while decoders and decoders[0][0] == iteration:
                _, index = heapq.heappop(decoders)
                request = requests[index]
                record = records[request.id]
                context_offset -= request.prompt_tokens - record.first_iteration
                record.token_end, record.finish = iteration, now
                record.last_token = now
                reserved -= request.prompt_tokens + request.output_tokens
                done += 1
            iteration += 1
        return records

    @staticmethod
    def _start_decoding(index, requests, first_iteration, decoders) -> int:
        """Queue a request's decode iterations; return its context offset term."""
        request = requests[index]
        last = first_iteration + request.output_tokens - 1
        heapq.heappush(decoders, (last, index))
        return request.prompt_tokens - first_iteration


def _check_common(requests: Sequence[Request], max_batch: int) -> None:
    if not requests:
        raise ValueError("need at least one request to simulate")
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise ValueError(f"max_batch must be an integer >= 1, got {max_batch!r}")


def _result(
    scheduler: str,
    requests: Sequence[Request],
    records: dict[int, _Record],
    engines: list[tuple[str, _Engine, list[int]]],
) -> SimulationResult:
    """Assemble per-request arrays and per-replica timelines."""
    ids = [r.id for r in requests]
    position = {request_id: i for i, request_id in enumerate(ids)}
    max_gap = np.zeros(len(requests))
    timelines = []
    for name, engine, members in engines:
        ends = np.asarray(engine.ends)
        gaps = np.diff(ends)
        for request_id in members:
            record = records[request_id]
            start, end = record.token_start, record.token_end
            longest = gaps[start:end].max() if end > start else 0.0
            # A token that came from another engine (disaggregated prefill).
            handover = ends[start] - record.first_token
            max_gap[position[request_id]] = max(longest, handover)
        timelines.append(
            ReplicaTimeline(name, np.asarray(engine.timeline).reshape(-1, 5))
        )
    return SimulationResult(
        scheduler=scheduler,
        arrival=np.array([r.arrival for r in requests]),
        first_token=np.array([records[i].first_token for i in ids]),
        last_token=np.array([records[i].last_token for i in ids]),
        finish=np.array([records[i].finish for i in ids]),
        prompt_tokens=np.array([r.prompt_tokens for r in requests]),
        output_tokens=np.array([r.output_tokens for r in requests]),
        max_token_gap=max_gap,
        replicas=timelines,
    )


def simulate_continuous(
    requests: Sequence[Request],
    replica: Replica,
    max_batch: int = 256,
    token_budget: int | None = None,
) -> SimulationResult:
    """Iteration-level batching: requests join and leave the batch at any iteration.

    With ``token_budget`` None a new request's whole prompt runs in the next
    iteration, beside the running decodes (as in Orca). With a budget, each
    iteration contains at most that many tokens: the decodes first, then chunks
    of waiting prompts (chunked prefill, as in Sarathi-Serve).
    """
    _check_common(requests, max_batch)
    if token_budget is not None and (
        isinstance(token_budget, bool)
        or not isinstance(token_budget, int)
        or token_budget <= max_batch
    ):
        raise ValueError(
            f"token_budget must be an integer above max_batch ({max_batch}), so that "
            f"a full batch of decodes leaves room for prefill; got {token_budget!r}"
        )
    engine = _Engine(replica, max_batch, token_budget)
    records = engine.run(requests)
    scheduler = "continuous" if token_budget is None else "chunked"
    return _result(
        scheduler, requests, records, [("replica 0", engine, [r.id for r in requests])]
    )


def simulate_static(
    requests: Sequence[Request],
    replica: Replica,
    batch_size: int = 32,
    timeout: float | None = None,
) -> SimulationResult:
    """Request-level batching: a batch runs until its longest request is done.

    A batch starts when ``batch_size`` requests wait (static batching), or, with
    ``timeout`` in seconds, also when the oldest has waited that long (dynamic
    batching). Every stream of a batch is computed until the batch ends, and
    every request returns when its batch ends, as in request-level serving.
    """
    _check_common(requests, batch_size)
    if timeout is not None and not (math.isfinite(timeout) and timeout >= 0):
        raise ValueError(f"timeout must be a time >= 0 s, got {timeout!r}")
    capacity = replica.kv_capacity_tokens
    ordered = sorted(requests, key=lambda r: r.arrival)
    records = {r.id: _Record() for r in requests}
    engine = _Engine(replica, batch_size, None)
    now, iteration, next_index = 0.0, 0, 0
    while next_index < len(ordered):
        first = ordered[next_index]
        if timeout is None:
            fill = ordered[min(next_index + batch_size, len(ordered)) - 1].arrival
            start = max(now, fill)
        else:
            full = ordered[min(next_index + batch_size, len(ordered)) - 1].arrival
            start = max(now, min(full, first.arrival + timeout))
        batch, reserved = [], 0
        while next_index < len(ordered) and len(batch) < batch_size:
            request = ordered[next_index]
            need = request.prompt_tokens + request.output_tokens
            if request.arrival > start or (batch and reserved + need > capacity):
                break
            if need > capacity:
                raise ValueError(
                    f"request {request.id} needs {need:,} tokens of KV cache, more "
                    f"than the replica's capacity of {capacity:,}"
                )
            batch.append(request)
            reserved += need
            next_index += 1
        now = start
        prompts = [r.prompt_tokens for r in batch]
        pairs = float(sum(causal_attention_pairs(p) for p in prompts))
        duration = replica.iteration_time(sum(prompts), len(batch), pairs, 0.0)
        engine.timeline.append((now, now + duration, 0, sum(prompts), len(batch)))
        now += duration
        engine.ends.append(now)
        for request in batch:
            records[request.id].token_start = iteration
            records[request.id].first_token = now
        longest = max(r.output_tokens for r in batch)
        context = sum(prompts)
        for _ in range(longest - 1):
            # Finished streams stay in the batch as padding until the longest ends.
            duration = replica.iteration_time(len(batch), len(batch), context, context)
            engine.timeline.append((now, now + duration, len(batch), 0, len(batch)))
            now += duration
            engine.ends.append(now)
            context += len(batch)
        for request in batch:
            record = records[request.id]
            record.token_end = iteration + request.output_tokens - 1
            record.last_token = engine.ends[record.token_end]
            record.finish = now  # the whole batch returns together
        iteration += longest
    scheduler = "static" if timeout is None else "dynamic"
    return _result(
        scheduler, requests, records, [("replica 0", engine, [r.id for r in requests])]
    )


def kv_transfer_time(
    replica: Replica, prompt_tokens: int, link_bandwidth: float
) -> float:
    """Seconds to move a prompt's KV cache over a link of ``link_bandwidth`` bytes/s."""
    if not (math.isfinite(link_bandwidth) and link_bandwidth > 0):
        raise ValueError(f"link bandwidth must be > 0 bytes/s, got {link_bandwidth!r}")
    return prompt_tokens * replica.kv_bytes_per_token / link_bandwidth


def simulate_disaggregated(
    requests: Sequence[Request],
    replica: Replica,
    prefill_replicas: int,
    decode_replicas: int,
    link_bandwidth: float,
    max_batch: int = 256,
    prefill_token_budget: int = 8192,
) -> SimulationResult:
    """Separate prefill and decode pools, with each prompt's KV cache sent between them.

    Requests go round-robin, in arrival order, to the prefill replicas, which
    run prefill-only iterations of up to ``prefill_token_budget`` tokens and
    emit the first token. The KV cache then crosses the prefill replica's link
    of ``link_bandwidth`` bytes/s per direction (as in DistServe and
    Splitwise), one transfer at a time, so transfers queue when the link is
    busy. The request then joins a decode replica, round-robin in order of
    readiness.
    """
    _check_common(requests, max_batch)
    for name, value in (
        ("prefill_replicas", prefill_replicas),
        ("decode_replicas", decode_replicas),
    ):
        if not is_integer(value) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    ordered = sorted(requests, key=lambda r: r.arrival)
    records: dict[int, _Record] = {}
    engines = []
    ready: dict[int, float] = {}
    for k in range(prefill_replicas):
        members = ordered[k::prefill_replicas]
        if not members:
            continue
        engine = _Engine(replica, max_batch, prefill_token_budget, phase="prefill")
        part = engine.run(members)
        records.update(part)
        engines.append((f"prefill {k}", engine, [r.id for r in members]))
        # Each prefill replica has its own link and sends one KV cache at a
        # time, in the order its prefills finish: transfers queue on a busy link.
        link_free = 0.0
        for request in sorted(members, key=lambda r: part[r.id].first_token):
            transfer = kv_transfer_time(replica, request.prompt_tokens, link_bandwidth)
            link_free = max(part[request.id].first_token, link_free) + transfer
            ready[request.id] = link_free
    by_ready = sorted(ordered, key=lambda r: ready[r.id])
    for k in range(decode_replicas):
        members = [r for r in by_ready[k::decode_replicas] if r.output_tokens > 1]
        if not members:
            continue
        engine = _Engine(replica, max_batch, None, phase="decode")
        part = engine.run(members, ready=[ready[r.id] for r in members])
        for request in members:
            record, decoded = records[request.id], part[request.id]
            record.finish, record.last_token = decoded.finish, decoded.last_token
            # Token gaps of decoded requests are read from the decode engine.
            record.token_start, record.token_end = (
                decoded.token_start,
                decoded.token_end,
            )
        engines.append((f"decode {k}", engine, [r.id for r in members]))
    # Prefill engines measure token gaps only for one-token answers.
    one_token = {r.id for r in ordered if r.output_tokens == 1}
    engines = [
        (
            name,
            engine,
            [i for i in ids if i in one_token] if name.startswith("prefill") else ids,
        )
        for name, engine, ids in engines
    ]
    return _result("disaggregated", requests, records, engines)
