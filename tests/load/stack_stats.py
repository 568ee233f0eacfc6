"""Figures of one load run from the workers' tap records: rates, latency percentiles,
outcomes, lost and oversold taps, and how busy the load generator itself was."""

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tests.load.stack_worker import TapRecord

MS = 1000.0


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None when there are none."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_ms(values: Iterable[float], qs: Sequence[int] = (50, 95, 99)) -> dict[str, Any]:
    ordered = sorted(v * MS for v in values)
    figures: dict[str, Any] = {f"p{q}": _round(percentile(ordered, q)) for q in qs}
    figures["max"] = _round(ordered[-1] if ordered else None)
    figures["n"] = len(ordered)
    return figures


def outcome(record: TapRecord) -> str:
    """`confirmed`, `rejected:out_of_stock`…, `lost` (202 without final), `http_<status>`."""
    status, checkout_id, final, reason = record[3], record[4], record[6], record[7]
    if not checkout_id:
        return f"http_{status}" if status else "http_no_answer"
    if final is None:
        return "lost"
    return f"{final}:{reason}" if reason else final


def summarize(
    records: Sequence[TapRecord],
    *,
    offered_rate: float | None,
    stock: Mapping[str, int | None] | None,
) -> dict[str, Any]:
    """Everything one run (a shape, or one ramp step) reports about its taps."""
    if not records:
        return {"taps": 0}
    sent = sorted(r[1] for r in records)
    accepted = [r for r in records if r[4]]
    finals = [r for r in accepted if r[8] is not None]
    outcomes = Counter(outcome(r) for r in records)
    first_sent, last_sent = sent[0], sent[-1]
    last_answer = max(r[2] for r in accepted) if accepted else last_sent
    last_final = max((r[8] for r in finals if r[8] is not None), default=None)
    return {
        "taps": len(records),
        "offered_per_second": offered_rate,
        "sent_per_second": _rate(len(records), last_sent - first_sent),
        "accepted": len(accepted),
        "accepted_per_second": _rate(len(accepted), last_answer - first_sent),
        "accept_ms": latency_ms(r[2] - r[1] for r in accepted),
        "tap_to_final_ms": latency_ms(r[8] - r[1] for r in finals if r[8] is not None),
        "send_lag_ms": latency_ms((r[1] - r[0] for r in records), qs=(50, 99)),
        "finals": len(finals),
        "finals_per_second": _rate(len(finals), (last_final or first_sent) - first_sent),
        "drain_seconds": _round(last_final - last_sent if last_final else None, 3),
        "outcomes": dict(sorted(outcomes.items())),
        "lost": outcomes["lost"],
        "accept_errors": sum(n for name, n in outcomes.items() if name.startswith("http_")),
        "oversold_on_sse": _oversold(finals, stock) if stock else None,
    }


def _oversold(finals: Iterable[TapRecord], stock: Mapping[str, int | None]) -> int:
    """Confirmed taps beyond the sku's stock, summed over skus (one unit per tap); skus of
    unknown stock are left out."""
    confirmed = Counter(r[5] for r in finals if r[6] == "confirmed")
    return sum(
        max(0, n - units) for sku, n in confirmed.items() if (units := stock.get(sku)) is not None
    )


def generator_load(stats: Sequence[Mapping[str, Any]], *, taps: int) -> dict[str, Any]:
    """Per worker: share of one core used while sending taps and over the whole run (with
    the drain), and how late its event loop woke up (p99, max); CPU ms per tap, all in
    (the tap, its SSE events, the bookkeeping), to say what a higher rate would cost."""
    cpu = sum(s["cpu_seconds"] for s in stats)
    return {
        "workers": len(stats),
        "cpu_ms_per_tap": _round(cpu * MS / taps, 3) if taps else None,
        "cpu_share_sending": [
            _round(s["sending_cpu_seconds"] / s["sending_wall_seconds"], 2) for s in stats
        ],
        "cpu_share": [_round(s["cpu_seconds"] / s["wall_seconds"], 2) for s in stats],
        "waiting_for_cpu": [_round(s["waited_seconds"] / s["wall_seconds"], 2) for s in stats],
        "loop_lag_p99_ms": [s["loop_lag_p99_ms"] for s in stats],
        "loop_lag_max_ms": [s["loop_lag_max_ms"] for s in stats],
        "gc_pause_max_ms": [s["gc_pause_max_ms"] for s in stats],
        "gc_pause_total_ms": [s["gc_pause_total_ms"] for s in stats],
        "sse_reconnects": sum(s["reconnects"] for s in stats),
    }


def one_line(name: str, figures: Mapping[str, Any]) -> str:
    """`flash: 1000 taps, 812 accepted/s (accept p50 3.1 p99 20 ms), …` for the screen."""
    accept, final = figures.get("accept_ms", {}), figures.get("tap_to_final_ms", {})
    offered = figures.get("offered_per_second")
    pace = f"offered {offered:g}/s, sent {figures.get('sent_per_second')}/s, " if offered else ""
    return (
        f"{name}: {figures['taps']} taps, {pace}{figures.get('accepted_per_second')} accepted/s "
        f"(accept p50 {accept.get('p50')} p99 {accept.get('p99')} ms), tap->final p50 "
        f"{final.get('p50')} p95 {final.get('p95')} p99 {final.get('p99')} ms, "
        f"{figures.get('finals_per_second')} finals/s, drain {figures.get('drain_seconds')} s, "
        f"lost {figures.get('lost')}, oversold {figures.get('oversold_on_sse')}, "
        f"outcomes {figures.get('outcomes')}"
    )


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
