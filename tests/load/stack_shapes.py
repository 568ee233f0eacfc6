"""The load shapes of tests/load/stack_load.py: `flash` (one burst on a hot sku),
`steady` (open-loop rate) and `ramp` (rate steps until something explodes), each run
through the load generator and summed up per run."""

import time
from collections.abc import Callable
from typing import Any

from tests.load.stack_generator import LoadGenerator, shares
from tests.load.stack_services import CpuMeter, StackUnderLoad
from tests.load.stack_stats import generator_load, one_line, summarize
from tests.load.stack_worker import Run


async def _one_run(
    generator: LoadGenerator,
    stack: StackUnderLoad,
    stock: dict[str, int],
    p: dict[str, Any],
    *,
    label: str,
    taps: int,
    rate: float | None,
    first_buyer: int = 0,
) -> dict[str, Any]:
    """One run of `taps` taps (at `rate`/s, or as fast as possible): its figures, with how
    busy the generator and the stack's processes were meanwhile."""
    skus, start_at = list(stock), time.perf_counter() + 0.5
    runs = [
        Run(label, start_at, n, rate / generator.size if rate else None, stack.room_id,
            tuple(skus[i:] + skus[:i]), p["final_timeout"], first_buyer)
        for i, n in enumerate(shares(taps, generator.size))
    ]  # fmt: skip
    sending = taps / rate if rate else taps / 100
    meter = CpuMeter(stack.pids, p["redis_url"])
    before = await meter.snapshot()
    records, stats = await generator.run(
        runs, timeout=sending + p["final_timeout"] + p["tap_timeout"] + 120
    )
    used = meter.shares(before, await meter.snapshot(), time.perf_counter() - start_at)
    return {
        **summarize(records, offered_rate=rate, stock=stock),
        "generator": generator_load(stats, taps=taps),
        "stack_cpu_share": used,
    }


async def flash(
    generator: LoadGenerator,
    stack: StackUnderLoad,
    stock: dict[str, int],
    p: dict[str, Any],
    progress: Callable[[str], None],
) -> dict[str, Any]:
    progress(f"flash: {p['taps']} taps as fast as possible on {brief(stock)}")
    return {
        "result": await _one_run(
            generator, stack, stock, p, label="flash", taps=p["taps"], rate=None
        )
    }


async def steady(
    generator: LoadGenerator,
    stack: StackUnderLoad,
    stock: dict[str, int],
    p: dict[str, Any],
    progress: Callable[[str], None],
) -> dict[str, Any]:
    taps, rate = round(p["rate"] * p["seconds"]), p["rate"]
    progress(f"steady: {rate:g} taps/s for {p['seconds']:g} s ({taps} taps) on {len(stock)} skus")
    return {
        "result": await _one_run(generator, stack, stock, p, label="steady", taps=taps, rate=rate)
    }


async def ramp(
    generator: LoadGenerator,
    stack: StackUnderLoad,
    stock: dict[str, int],
    p: dict[str, Any],
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Rate steps until one explodes (`exploded`). With `p99_limit_factor`, the p99 limit
    is that many times the first step's p99 (issue 14's knee: 3x the p99 at 100/s)."""
    steps: list[dict[str, Any]] = []
    first_buyer = 0
    limits = dict(p)
    for rate in p["rates"]:
        taps = round(rate * p["step_seconds"])
        progress(f"ramp: {rate:g} taps/s for {p['step_seconds']:g} s ({taps} taps)")
        step = await _one_run(
            generator, stack, stock, p, label=f"ramp {rate:g}/s", taps=taps, rate=rate,
            first_buyer=first_buyer,
        )  # fmt: skip
        first_buyer += taps
        steps.append(step)
        progress("  " + one_line(f"{rate:g}/s", step))
        first_p99 = step["tap_to_final_ms"]["p99"]
        if len(steps) == 1 and p.get("p99_limit_factor") and first_p99 is not None:
            limits["p99_limit_ms"] = round(p["p99_limit_factor"] * first_p99, 1)
            progress(f"  p99 limit of the next steps: {limits['p99_limit_ms']:g} ms")
        why = exploded(step, limits)
        if why:
            progress(f"  ramp stops: {why}")
            return {"steps": steps, "stopped_because": why, "p99_limit_ms": limits["p99_limit_ms"]}
    return {
        "steps": steps,
        "stopped_because": "all steps run",
        "p99_limit_ms": limits["p99_limit_ms"],
    }


def exploded(step: dict[str, Any], p: dict[str, Any]) -> str | None:
    p99 = step["tap_to_final_ms"]["p99"]
    if step["accept_errors"] > p["max_error_share"] * step["taps"]:
        return f"{step['accept_errors']} accept errors of {step['taps']} taps"
    if step["lost"]:
        return f"{step['lost']} taps lost"
    if p99 is None or p99 > p["p99_limit_ms"]:
        return f"tap->final p99 {p99} ms > {p['p99_limit_ms']:g} ms"
    return None


def brief(stock: dict[str, int]) -> str:
    items = list(stock.items())
    shown = ", ".join(f"{sku}={n}" for sku, n in items[:3])
    return shown + (f" (+{len(items) - 3} skus)" if len(items) > 3 else "")
