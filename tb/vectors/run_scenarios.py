#!/usr/bin/python3
"""Run ov2sim on scenarios and check what it indicated.

    run_scenarios.py --ov2sim BUILD/ov2sim [--work DIR] [--published PUBLISHED_JSON] [--ref] PATH...

Each PATH is a scenario directory (frames.pcap, sa.json, expected.jsonl) or a directory holding scenarios
anywhere below it (tb/scenarios, or the DIR of published_to_scenario.py). With --published, the published
vectors are converted first (into WORK/published) and run too. For every scenario:
`ov2sim run --pcap frames.pcap --sa sa.json --out WORK/<name>` then check_oob.py. --ref runs
ref_receiver.py instead of ov2sim (the vectors checked against themselves).
Ends with the total over all frames: `N passed, M failed`; exit status 1 on any mismatch.
"""
import argparse
import io
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_oob  # noqa: E402


def find_scenarios(path):
    if os.path.exists(os.path.join(path, 'expected.jsonl')):
        return [path]
    out = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        if {'frames.pcap', 'sa.json', 'expected.jsonl'} <= set(files):
            out.append(root)
    return out


def collect_scenarios(paths, work, published=None):
    """(label, directory) of every scenario under `paths`, then of the published vectors converted into
    WORK/published-scenarios when `published` names their JSON; None (after saying so) when a path holds none."""
    scen = []
    for p in paths:
        found = find_scenarios(p)
        if not found:
            print('no scenario under %s' % p)
            return None
        scen += [(os.path.relpath(s, os.path.dirname(os.path.abspath(p))) if s != p else os.path.basename(
            os.path.abspath(s)), s) for s in found]
    if published:
        import published_to_scenario
        pub = os.path.join(work, 'published-scenarios')
        groups, _ = published_to_scenario.convert(published, pub)
        scen += [('published/g%03d' % g.index, os.path.join(pub, 'g%03d' % g.index)) for g in groups]
    return scen


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('paths', nargs='*')
    ap.add_argument('--ov2sim', help='the ov2sim executable')
    ap.add_argument('--ref', action='store_true', help='use ref_receiver.py instead of ov2sim')
    ap.add_argument('--work', help='output directory (default: a temporary one)')
    ap.add_argument('--published', help='published_vectors.json to convert and run as well')
    ap.add_argument('--ovsim-arg', action='append', default=[], help='extra argument for `ov2sim run`')
    ap.add_argument('--max-report', type=int, default=50)
    a = ap.parse_args(argv)
    if not a.ref and not a.ov2sim:
        ap.error('--ov2sim BIN or --ref is required')
    work = a.work or tempfile.mkdtemp(prefix='ov2sim-scenarios-')
    scen = collect_scenarios(a.paths, work, a.published)
    if scen is None:
        return 1
    total_pass = total_fail = 0
    env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE='1')
    for label, d in scen:
        out = os.path.join(work, 'out', label.replace('/', '_'))
        if a.ref:
            import ref_receiver
            ref_receiver.run(d, out)
        else:
            cmd = [a.ov2sim, 'run', '--quiet', '--pcap', os.path.join(d, 'frames.pcap'), '--sa',
                   os.path.join(d, 'sa.json'), '--out', out] + a.ovsim_arg
            r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                print('== %s: ov2sim exited %d\n%s' % (label, r.returncode, r.stdout[-2000:]))
        buf = io.StringIO()
        ok, problems = check_oob.check(d, out, max_report=a.max_report, out=buf)
        lines = buf.getvalue().strip().splitlines()
        last = lines[-1]
        p, f = [int(x.split()[0]) for x in last.split(', ')]
        total_pass += p
        total_fail += f
        print('== %s: %s' % (label, last.replace('passed', 'frames passed')))
        for line in lines[:-1]:
            print('   ' + line)
    print('%d passed, %d failed' % (total_pass, total_fail))
    return 1 if total_fail else 0


if __name__ == '__main__':
    sys.exit(main())
