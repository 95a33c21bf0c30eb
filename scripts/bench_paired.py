#!/usr/bin/env python3
"""Times the sides of a benchmark comparison call by call, in turn, each side warm in its own process.

Each side is a shell command that speaks scripts/bench_pacing.py's protocol (`imprint bench --paced`,
`bench_peers.py --paced`, `bench_attribution.py --paced`): it warms up, prints `ready`, then runs one
timed call per line it reads and prints `call_s=<seconds>`, and at the end of its input prints its
usual summary line. All sides start at once; once every one is ready, each cycle starts one call of
every side, so neighbouring calls see the same load. The order within a cycle follows a Williams
design: over every n cycles (2n for an odd number n of sides) each side comes first equally often
and follows every other side equally often. A call can carry something of the call before it (a
peer's OpenMP threads waking, its data in the caches), and with the first side merely rotating each
side always followed the same neighbour: in a run of five sides on 2026-12-07 the second Imprint
process, which always followed FAISS or torch, ran slower than the first, which followed it, in
19 of 27 sessions (every one of W4's and W6's).

Why: on a shared machine outside load comes in bursts of seconds. Sides timed one after another,
seven calls each, measure whichever burst they fall into; calls taken in turn share the bursts, and
the ratio of a cycle's two calls cancels most of one. The ratio reported for a side is the median
over cycles of (its call / the first side's call in the same cycle).

With --sessions K the sides are started K times, one set after another, and the calls are split
between the sessions. Why: two processes of the same build ran W4 1.10, 1.02, 0.98 and 0.93 times
each other's speed in four paired runs of 31-61 cycles on the development machine (a virtual one;
where each process's memory landed on the host is the likely cause, not shown). More cycles with
the same processes do not average that away; fresh processes do. Each session's ratio is printed too, and the reported ratio
pools the cycles of all of them.

Before each side's turn the driver waits until the machine's CPUs are idle (under a fifth busy over
20 ms, by /proc/stat; 2 s at most): the sides that just ran may still spin, OpenBLAS's and OpenMP's
worker threads for up to a few hundred milliseconds after a call, and a spinning thread takes one
of the cores the next side's call needs. Timed right after numpy's calls, Imprint's W3 took 15-16
ms instead of 12, and numpy's after Imprint's (whose threads park within 0.2 ms) did not slow.

Prints, on stdout:
  session=I ratio=NAME/FIRST cycles=N median=...   per session and side after the first (--sessions > 1)
  side=NAME calls=N min_s=... median_s=...         per side, in --side order
  ratio=NAME/FIRST cycles=N median=...             per side after the first, over every session's cycles
  summary=NAME <the side's own summary line>       the last session's
Each side's standard error goes to this script's. Exits 1 when a side fails or stalls (after
--timeout seconds without a line it owes), naming it; Ctrl-C stops every side.

Usage: bench_paired.py --calls N [--sessions K] [--timeout 900] [--trace]
                      --side NAME=COMMAND --side NAME=COMMAND [...]
"""
import argparse
import os
import select
import signal
import statistics
import subprocess
import sys
import time


class Side:
    """One side's process, and its output read a line at a time with a deadline."""

    def __init__(self, name, command):
        self.name = name
        self.command = command
        # A session of its own: stopping the side stops what its shell started (the JVM, Python).
        self.proc = subprocess.Popen(["bash", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     start_new_session=True)
        self.buffer = b""

    def line(self, deadline, owed):
        """The next line of the side's output; fails when it ends or stays silent past the deadline."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SideFailed(f"side {self.name} printed no {owed} in time (see --timeout)")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                code = self.proc.wait()
                raise SideFailed(f"side {self.name} ended (exit {code}) before its {owed}: {self.command}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace").strip()

    def await_ready(self, deadline):
        """Waits for `ready`; lines before it go to stderr."""
        while True:
            line = self.line(deadline, "'ready'")
            if line == "ready":
                return
            print(f"[{self.name}] {line}", file=sys.stderr)

    def call(self, deadline):
        """Starts one timed call and returns its seconds."""
        try:
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise SideFailed(f"side {self.name} ended (exit {self.proc.wait()}) before a call: {self.command}")
        line = self.line(deadline, "call_s= line")
        if not line.startswith("call_s="):
            raise SideFailed(f"side {self.name} answered {line!r}, not call_s=<seconds>")
        return float(line.split("=", 1)[1])

    def finish(self, deadline):
        """Ends the side's input and returns its summary line ('' when it printed none)."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        lines = []
        try:
            while True:
                lines.append(self.line(deadline, "summary line"))
        except SideFailed:
            pass
        code = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        if code != 0:
            raise SideFailed(f"side {self.name} exited {code} after its calls")
        return lines[-1] if lines else ""

    def stop(self):
        """Stops the side's whole session, if it still runs."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class SideFailed(Exception):
    pass


def cpu_jiffies():
    """(busy, total) clock ticks of every CPU since boot, from /proc/stat; None where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    # Steal is time the host gave to others, not what this machine's processes ran.
    steal = fields[7] if len(fields) > 7 else 0
    total = sum(fields[:8])
    return total - idle - steal, total - steal


def wait_idle(window=0.02, busy_share=0.2, longest=2.0):
    """Returns once the CPUs were under busy_share busy over a window, or after longest seconds."""
    give_up = time.monotonic() + longest
    before = cpu_jiffies()
    while before is not None and time.monotonic() < give_up:
        time.sleep(window)
        after = cpu_jiffies()
        busy, total = after[0] - before[0], after[1] - before[1]
        if total > 0 and busy <= busy_share * total:
            return
        before = after


def williams_orders(n):
    """Orders of n sides, one per cycle in turn: each side comes first equally often, and each
    ordered pair of sides is adjacent equally often (a Williams design; 2n orders for odd n)."""
    first = [0]
    for j in range(1, n):
        first.append((j + 1) // 2 if j % 2 else n - j // 2)
    orders = [[(side + i) % n for side in first] for i in range(n)]
    if n % 2:
        orders += [list(reversed(order)) for order in orders]
    return orders


def interrupted(signum, frame):
    raise KeyboardInterrupt


def parse_side(text):
    name, sep, command = text.partition("=")
    if not sep or not name or not command.strip():
        raise argparse.ArgumentTypeError(f"--side {text!r}; expected NAME=COMMAND")
    return name, command


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, required=True, help="timed calls per side, at least 3")
    ap.add_argument("--sessions", type=int, default=1,
                    help="how many times to start the sides afresh, the calls split between them (default: 1)")
    ap.add_argument("--timeout", type=float, default=900,
                    help="seconds a side may take to be ready, and then any one call (default: 900)")
    ap.add_argument("--trace", action="store_true", help="print every call as it ends, on stderr")
    ap.add_argument("--side", type=parse_side, action="append", required=True,
                    help="NAME=COMMAND, a shell command speaking the paced protocol; the first is the baseline")
    args = ap.parse_args()
    if args.calls < 3:
        ap.error(f"--calls={args.calls}; expected at least 3")
    if not 1 <= args.sessions <= args.calls:
        ap.error(f"--sessions={args.sessions}; expected 1 to --calls ({args.calls})")
    if not args.timeout > 0:
        ap.error(f"--timeout={args.timeout}; expected a positive number of seconds")
    names = [name for name, _ in args.side]
    if len(set(names)) != len(names):
        ap.error(f"--side names repeat: {', '.join(names)}")

    # SIGTERM (a CI timeout, `kill`) stops the sides as Ctrl-C does.
    signal.signal(signal.SIGTERM, interrupted)
    seconds = {name: [] for name in names}
    ratios = {name: [] for name in names[1:]}
    session_lines = []
    cycle = 0
    try:
        for session in range(args.sessions):
            share = args.calls * (session + 1) // args.sessions - args.calls * session // args.sessions
            summaries, session_ratios = run_session(args, share, cycle, seconds)
            cycle += share
            for name in names[1:]:
                ratios[name].extend(session_ratios[name])
                session_lines.append(f"session={session + 1} ratio={name}/{names[0]} cycles={share} "
                                     f"median={statistics.median(session_ratios[name]):.4f}")
    except SideFailed as e:
        print(f"bench_paired: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_paired: interrupted; stopping every side", file=sys.stderr)
        return 130

    if args.sessions > 1:
        print("\n".join(session_lines))
    for name in names:
        print(f"side={name} calls={len(seconds[name])} min_s={min(seconds[name]):.6f} "
              f"median_s={statistics.median(seconds[name]):.6f}")
    for name in names[1:]:
        print(f"ratio={name}/{names[0]} cycles={len(ratios[name])} "
              f"median={statistics.median(ratios[name]):.4f}")
    for name, summary in zip(names, summaries):
        print(f"summary={name} {summary}")
    return 0


def run_session(args, calls, first_cycle, seconds):
    """Starts every side, runs `calls` cycles, ends the sides; adds each call's seconds to `seconds`.
    Returns the sides' summary lines and, per side after the first, its ratio in each cycle."""
    sides = []
    try:
        for name, command in args.side:
            sides.append(Side(name, command))
        deadline = time.monotonic() + args.timeout
        for side in sides:
            side.await_ready(deadline)
        ratios = {side.name: [] for side in sides[1:]}
        orders = williams_orders(len(sides))
        for cycle in range(first_cycle, first_cycle + calls):
            took = {}
            for side in (sides[i] for i in orders[cycle % len(orders)]):
                wait_idle()
                took[side.name] = side.call(time.monotonic() + args.timeout)
                if args.trace:
                    print(f"cycle={cycle} side={side.name} call_s={took[side.name]:.6f}", file=sys.stderr)
            for side in sides:
                seconds[side.name].append(took[side.name])
            for side in sides[1:]:
                ratios[side.name].append(took[side.name] / took[sides[0].name])
        summaries = [side.finish(time.monotonic() + 60) for side in sides]
        return summaries, ratios
    finally:
        for side in sides:
            side.stop()


if __name__ == "__main__":
    sys.exit(main())
