#!/usr/bin/env python3
"""process_cpu.py N LOG...: whole-process CPU (user+sys) and wall time of
`tpmattest eventlog replay LOG` against `tpm2_eventlog LOG`, alternating the two
in the same run, N runs each per log.  Reports medians and the ratio
tpm2_eventlog / tpmattest (higher is better for tpmattest).  A benchmark, not a
test: it asserts nothing."""
import os, statistics, subprocess, sys, time

TPA = os.environ.get("TPMATTEST", "build/cli/tpmattest")

def run(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    return ru.ru_utime + ru.ru_stime, wall, os.waitstatus_to_exitcode(status)

def main():
    n = int(sys.argv[1])
    logs = sys.argv[2:]
    print("%-34s %12s %12s %8s %12s %12s %8s  %s" % ("log", "tpa_cpu_ms", "t2e_cpu_ms", "cpu_x",
          "tpa_wall_ms", "t2e_wall_ms", "wall_x", "exit tpa/t2e"))
    ratios = []
    cratios = []
    for log in logs:
        a, b = [], []
        for _ in range(n):
            a.append(run([TPA, "eventlog", "replay", "--json", log]))
            b.append(run(["tpm2_eventlog", log]))
        ac = statistics.median(x[0] for x in a) * 1e3
        bc = statistics.median(x[0] for x in b) * 1e3
        aw = statistics.median(x[1] for x in a) * 1e3
        bw = statistics.median(x[1] for x in b) * 1e3
        # rusage is in ticks of ~1 ms on some kernels: use wall when CPU reads 0
        cx = bc / ac if ac > 0 else float("nan")
        wx = bw / aw
        ratios.append(wx)
        cratios.append(cx)
        print("%-34s %12.2f %12.2f %8.2f %12.2f %12.2f %8.2f  %d/%d" % (os.path.basename(log), ac, bc, cx,
              aw, bw, wx, a[0][2], b[0][2]))
    print("process: logs=%d median_cpu_ratio=%.2f median_wall_ratio=%.2f (tpm2_eventlog / tpmattest)"
          % (len(ratios), statistics.median(cratios), statistics.median(ratios)))

main()
