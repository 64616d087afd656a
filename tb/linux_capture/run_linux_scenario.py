#!/usr/bin/python3
"""Run ov2sim on one Linux-kernel capture scenario and compare with what the kernel did.

    run_linux_scenario.py --ov2sim BIN --work DIR SCENARIO_DIR

SCENARIO_DIR (tb/scenarios/linux_<name>/) holds frames.pcap, sa.xfrm (the receiver's `ip xfrm state`
listing, read by ov2sim as is) and expected.jsonl (tb/linux_capture/expected_from_kernel.py). Runs
`ov2sim run --pcap frames.pcap --sa sa.xfrm --out DIR/<name>` and then
`tb/vectors/check_oob.py SCENARIO_DIR DIR/<name>`; exits with check_oob's status (1 on any mismatch;
2 if ov2sim itself failed). Standard library only; no QEMU needed (the captures are committed).
"""
import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK_OOB = os.path.join(HERE, '..', 'vectors', 'check_oob.py')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ov2sim', required=True)
    ap.add_argument('--work', required=True, help='output directory (DIR/<scenario name> is recreated)')
    ap.add_argument('scenario')
    a = ap.parse_args(argv)
    name = os.path.basename(os.path.normpath(a.scenario))
    out = os.path.join(a.work, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    cmd = [a.ov2sim, 'run', '--pcap', os.path.join(a.scenario, 'frames.pcap'),
           '--sa', os.path.join(a.scenario, 'sa.xfrm'), '--out', out]
    print('+ ' + ' '.join(cmd), flush=True)
    rc = subprocess.call(cmd)
    if rc != 0:
        print('ov2sim exited with %d' % rc, flush=True)
        print('0 passed, 1 failed')
        return 2
    cmd = [sys.executable, CHECK_OOB, a.scenario, out]
    print('+ ' + ' '.join(cmd), flush=True)
    return subprocess.call(cmd)


if __name__ == '__main__':
    sys.exit(main())
