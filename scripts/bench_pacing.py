"""Timed calls of a benchmark side: a fixed number back to back, or one per line on standard input.

The paced form is `imprint bench --paced`'s protocol, which scripts/bench_paired.py drives: print
`ready` once warm, then for each line read run one untimed and one timed call and print
`call_s=<seconds>`, until the end of input. The driver keeps every side of a comparison warm and
starts their calls in turn, so a burst of outside load on a shared machine slows every side's
neighbouring calls alike. The untimed call first makes the timed one follow another, as in a stream
of batches, not an idle wait while the other sides ran (see Pacing.java).
"""
import sys
import time


def timed_calls(step, reps, paced):
    """Seconds of each timed call of step(): reps of them, or with paced one per line of stdin, each
    right after an untimed one."""
    times = []
    if not paced:
        for _ in range(reps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return times
    print("ready", flush=True)
    for _ in sys.stdin:
        step()
        start = time.perf_counter()
        step()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        print(f"call_s={elapsed:.6f}", flush=True)
    return times
