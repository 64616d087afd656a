#!/usr/bin/python3
"""Run ov2sim in cycle and fast mode on the same inputs and compare what they wrote.

    compare_modes.py --ov2sim BUILD/ov2sim [--work DIR] [--published PUBLISHED_JSON]
                     [--time-bound-ps N] [--ovsim-arg ARG]... PATH...

PATH: scenario directories (frames.pcap, sa.json) or directories holding them, as for run_scenarios.py.
For every scenario both modes must give the same oob.jsonl lines (by frame) on every field except the
per-frame times (*_ps), and the same stats.json counters that both modes report (docs/timing.md,
"Fast mode", lists the ones the fast mode does not compute). Per-frame times: wire_start_ps and wire_end_ps
must be equal; completion_ps and indication_ps may differ by at most --time-bound-ps (default 0: equal).
Prints the largest time difference seen; exit status 1 on any mismatch.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_scenarios import collect_scenarios  # noqa: E402

TIME_FIELDS = ('wire_start_ps', 'wire_end_ps', 'completion_ps', 'indication_ps')
EXACT_TIMES = ('wire_start_ps', 'wire_end_ps')
# stats.json values that are measurements of the run itself, or times, not counters
NOT_COUNTERS = {('run', 'wall_seconds'), ('run', 'frames_per_wall_second'), ('run', 'mode'),
                ('run', 'simulated_us'), ('run', 'latency_mean_ns'), ('run', 'latency_max_ns'),
                ('run', 'out'), ('run', 'pcap'), ('run', 'sa_file')}


def run_mode(ov2sim, scen, out, mode, extra):
    env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE='1')
    cmd = [ov2sim, 'run', '--quiet', '--pcap', os.path.join(scen, 'frames.pcap'), '--sa',
           os.path.join(scen, 'sa.json'), '--out', out, '--mode', mode] + extra
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError('%s exited %d: %s' % (' '.join(cmd), r.returncode, r.stdout[-2000:]))
    with open(os.path.join(out, 'oob.jsonl')) as f:
        lines = {}
        for line in f:
            j = json.loads(line)
            lines[j['frame']] = j
    with open(os.path.join(out, 'stats.json')) as f:
        stats = json.load(f)
    return lines, stats


def flat_counters(stats, prefix=()):
    out = {}
    for k, v in stats.items():
        key = prefix + (k,)
        if isinstance(v, dict):
            out.update(flat_counters(v, key))
        elif key[:2] in NOT_COUNTERS or key[-1].endswith('_us'):
            continue
        else:
            out[key] = v
    return out


def compare(label, cyc, fast, bound_ps, report):
    (cl, cs), (fl, fs) = cyc, fast
    problems = []
    worst = 0
    if set(cl) != set(fl):
        problems.append('frames differ: cycle %d lines, fast %d' % (len(cl), len(fl)))
    for frame in sorted(set(cl) & set(fl)):
        a, b = cl[frame], fl[frame]
        fa = {k: v for k, v in a.items() if k not in TIME_FIELDS}
        fb = {k: v for k, v in b.items() if k not in TIME_FIELDS}
        if fa != fb:
            diff = sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))
            problems.append('frame %d: %s' % (frame, ', '.join('%s cycle=%r fast=%r' % (k, fa.get(k), fb.get(k))
                                                               for k in diff)))
        for k in TIME_FIELDS:
            va, vb = a.get(k), b.get(k)
            if (va is None) != (vb is None):
                problems.append('frame %d: %s cycle=%r fast=%r' % (frame, k, va, vb))
                continue
            if va is None:
                continue
            d = abs(va - vb)
            if k in EXACT_TIMES and d:
                problems.append('frame %d: %s cycle=%d fast=%d' % (frame, k, va, vb))
            worst = max(worst, d)
            if d > bound_ps:
                problems.append('frame %d: %s differs by %d ps (cycle %d, fast %d), bound %d'
                                % (frame, k, d, va, vb, bound_ps))
    ca, cb = flat_counters(cs), flat_counters(fs)
    for key in sorted(set(ca) | set(cb)):
        if key in ca and key in cb and ca[key] != cb[key]:
            problems.append('stats %s: cycle=%r fast=%r' % ('.'.join(key), ca[key], cb[key]))
    report.append((label, len(cl), worst, problems))
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('paths', nargs='*')
    ap.add_argument('--ov2sim', required=True)
    ap.add_argument('--work')
    ap.add_argument('--published')
    ap.add_argument('--time-bound-ps', type=int, default=0)
    ap.add_argument('--ovsim-arg', action='append', default=[])
    ap.add_argument('--max-report', type=int, default=20)
    a = ap.parse_args(argv)
    work = a.work or tempfile.mkdtemp(prefix='ov2sim-modes-')
    scen = collect_scenarios(a.paths, work, a.published)
    if scen is None:
        return 1
    report = []
    worst = 0
    for label, d in scen:
        base = os.path.join(work, label.replace('/', '_'))
        cyc = run_mode(a.ov2sim, d, base + '-cycle', 'cycle', a.ovsim_arg)
        fast = run_mode(a.ov2sim, d, base + '-fast', 'fast', a.ovsim_arg)
        worst = max(worst, compare(label, cyc, fast, a.time_bound_ps, report))
    failed = 0
    for label, frames, w, problems in report:
        print('== %s: %d frames, largest time difference %d ps%s' % (label, frames, w,
                                                                    '' if not problems else ', MISMATCH'))
        for p in problems[:a.max_report]:
            print('   ' + p)
        failed += bool(problems)
    print('%d scenarios, %d with differences; largest completion/indication time difference %d ps (bound %d)'
          % (len(report), failed, worst, a.time_bound_ps))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
