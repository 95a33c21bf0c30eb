"""Timed calls of a benchmark side: a fixed number back to back, or one per line on standard input.

The paced form is `imprint bench --paced`'s protocol, which scripts/bench_paired.py drives: print
`ready` once warm, then for each line read run untimed calls for 50 ms (at least one) and one timed
call and print `call_s=<seconds>`, until the end of input. The driver keeps every side of a
comparison warm and starts their calls in turn, so a burst of outside load on a shared machine slows
every side's neighbouring calls alike. The untimed calls first make the timed one follow others, as
in a stream of batches, not the idle wait the driver makes before each turn (see Pacing.java).
"""
import sys
import time

TURN_WARMUP_S = 0.05  # Pacing.TURN_WARMUP_NANOS


def timed_calls(step, reps, paced):
    """Seconds of each timed call of step(): reps of them, or with paced one per line of stdin, each
    right after untimed ones for TURN_WARMUP_S."""
    times = []
    if not paced:
        for _ in range(reps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return times
    print("ready", flush=True)
    for _ in sys.stdin:
        warm_start = time.perf_counter()
        step()
        while time.perf_counter() - warm_start < TURN_WARMUP_S:
            step()
        start = time.perf_counter()
        step()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        print(f"call_s={elapsed:.6f}", flush=True)
    return times
