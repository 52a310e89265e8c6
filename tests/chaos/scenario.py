"""One chaos scenario drawn from a seed: the day's size, the simulator's faults, where the
pipeline is killed and when the webhook receiver goes down. Same seed, same scenario."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

# Crash points (fleet_pipeline/uploads/crash.py) a run may be killed at, with the highest
# repeat worth drawing: a per-job point reached for the nth job kills the run mid-batch.
CRASH_POINTS = {
    "plan.after_jobs": 1,
    "probe.after_batch": 1,
    "bulk.before_intent": 3,
    "bulk.after_intent": 3,
    "bulk.during_request": 3,
    "bulk.after_request": 3,
    "bulk.after_outcome": 3,
    "single.before_intent": 20,
    "single.after_intent": 20,
    "single.during_request": 20,
    "single.after_request": 20,
    "single.after_outcome": 20,
}
POLICIES = ("bulk", "single", "auto")
LOST_RESPONSE_MODES = ("gateway_timeout", "server_error", "drop", "sleep")


@dataclass(frozen=True)
class Kill:
    """A SIGKILL of one pipeline run: at a crash point, or `after_s` seconds into sending."""

    crash_at: str | None = None
    after_s: float | None = None

    def __str__(self) -> str:
        return self.crash_at or f"t+{self.after_s:.1f}s"


@dataclass(frozen=True)
class Scenario:
    index: int
    seed: int
    rows: int
    policy: str
    upload_max_jobs: int
    faults: dict[str, Any]
    kills: tuple[Kill, ...]
    # Seconds after sending starts that the receiver is killed, and how long it stays down.
    receiver_down_at_s: float | None
    receiver_down_for_s: float
    extras: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The faults in a few words, for the scenario's line."""
        f = self.faults
        parts = [f"{self.rows} rows", self.policy]
        if f.get("rate_limit_burst_every"):
            parts.append(f"429x{f['rate_limit_burst_length']}/{f['rate_limit_burst_every']}")
        errors = {k: v for k, v in f.get("error_rate", {}).items() if v}
        if errors:
            parts.append("5xx " + ",".join(f"{k}={v:.2f}" for k, v in errors.items()))
        if f.get("lost_response_rate"):
            parts.append(f"lost {f['lost_response_rate']:.2f} {f['lost_response_mode']}")
        if f.get("latency", {}).get("create"):
            parts.append(f"slow create {f['latency']['create']}")
        for key, label in (("callback_drop_rate", "drop"), ("callback_duplicate_rate", "dup"),
                           ("callback_shuffle_rate", "shuffle"), ("callback_hold_rate", "hold"),
                           ("callback_bad_signature_rate", "forged")):
            if f.get(key):
                parts.append(f"cb-{label} {f[key]:.2f}")
        if f.get("callback_delay"):
            parts.append(f"cb-delay {f['callback_delay']}")
        if self.kills:
            parts.append("kill " + "+".join(str(kill) for kill in self.kills))
        if self.receiver_down_at_s is not None:
            parts.append(f"receiver down t+{self.receiver_down_at_s:.1f}s "
                         f"for {self.receiver_down_for_s:.1f}s")
        return ", ".join(parts)


def _rate(rng: random.Random, chance: float, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2) if rng.random() < chance else 0.0


def draw(suite_seed: int, index: int, rows: tuple[int, int]) -> Scenario:
    """Scenario `index` of the suite seeded `suite_seed`; `rows` bounds the day's size."""
    seed = suite_seed * 1000 + index
    rng = random.Random(seed)
    policy = POLICIES[index % len(POLICIES)]
    faults: dict[str, Any] = {
        "seed": seed,
        "error_rate": {"create": _rate(rng, 0.6, 0.03, 0.15),
                       "bulk_upload": _rate(rng, 0.5, 0.05, 0.2),
                       "list": _rate(rng, 0.3, 0.02, 0.1),
                       "get": _rate(rng, 0.3, 0.02, 0.1)},
        "lost_response_rate": _rate(rng, 0.7, 0.03, 0.15),
        "lost_response_mode": rng.choice(LOST_RESPONSE_MODES),
        # Longer than the pipeline's read time-out (runner.READ_TIMEOUT_S): the answer is lost.
        "lost_response_sleep_s": 3.0,
        "callback_drop_rate": _rate(rng, 0.6, 0.1, 0.4),
        "callback_duplicate_rate": _rate(rng, 0.6, 0.1, 0.5),
        "callback_shuffle_rate": _rate(rng, 0.6, 0.3, 1.0),
        "callback_hold_rate": _rate(rng, 0.4, 0.1, 0.4),
        "callback_hold_max_s": 2.0,
        "callback_bad_signature_rate": _rate(rng, 0.5, 0.05, 0.3),
    }
    if rng.random() < 0.7:
        faults["rate_limit_burst_every"] = rng.randint(8, 30)
        faults["rate_limit_burst_length"] = rng.randint(2, 6)
        faults["rate_limit_burst_retry_after_s"] = rng.randint(0, 1)
    if rng.random() < 0.6:
        high = rng.choice((0.2, 0.5, 2.5))  # 2.5 s outlasts the read time-out: slow creates
        faults["latency"] = {"create": f"0.02:{high}", "bulk_upload": "0.02:0.2"}
    if rng.random() < 0.5:
        faults["callback_delay"] = f"0:{rng.choice((0.5, 1.5, 3.0))}"
    day_rows = rng.randint(*rows)
    # What `auto` does with the day: one by one under FLEET_SINGLE_MAX_JOBS (100), else bulk.
    sender = policy if policy != "auto" else ("single" if day_rows < 100 else "bulk")
    upload_max_jobs = rng.choice((5, 10, 20))
    # Per-job points are reached once per job, per-upload points once per upload: an nth
    # within the day's first half, so that the point is reached.
    reach = {"single": max(1, day_rows // 2), "bulk": max(1, day_rows // upload_max_jobs // 2)}
    kills = [Kill(crash_at=_crash_spec(rng, sender, reach))]
    if rng.random() < 0.4:
        kills.append(Kill(after_s=round(rng.uniform(0.2, 3.0), 1)))
    if rng.random() < 0.2:
        kills.append(Kill(crash_at=_crash_spec(rng, sender, reach)))
    down_at = round(rng.uniform(0.3, 3.0), 1) if rng.random() < 0.75 else None
    return Scenario(
        index=index, seed=seed, rows=day_rows, policy=policy,
        upload_max_jobs=upload_max_jobs, faults=faults, kills=tuple(kills),
        receiver_down_at_s=down_at, receiver_down_for_s=round(rng.uniform(0.3, 2.5), 1))


def _crash_spec(rng: random.Random, sender: str, reach: dict[str, int]) -> str:
    """A crash point the run reaches: the planning, the look-ups, or the day's own sender."""
    names = [name for name in CRASH_POINTS
             if not name.startswith(("bulk.", "single.")) or name.startswith(sender + ".")]
    name = rng.choice(names)
    nth = rng.randint(1, min(CRASH_POINTS[name], reach.get(name.partition(".")[0], 1)))
    return name if nth == 1 else f"{name}:{nth}"
