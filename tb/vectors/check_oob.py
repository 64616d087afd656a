#!/usr/bin/python3
"""Compare what ov2sim indicated with what a scenario expects.

    check_oob.py EXPECTED_DIR OUT_DIR [--ignore FIELD ...] [--max-report N] [--quiet]

EXPECTED_DIR holds frames.pcap and expected.jsonl (a scenario written by gen_scapy.py or
published_to_scenario.py); OUT_DIR holds what `ov2sim run --out OUT_DIR` wrote: oob.jsonl (one object per
indicated frame) and indicated.pcap (the frames as indicated, decrypted in place).

Checks, per frame:
  - conservation: as many oob.jsonl lines (and indicated.pcap frames) as input frames, each frame once;
  - indicated, crypto_done, next_crypto_done, crypto_status, stack_verdict;
  - next_header / pad_length (oob header_info, which must then have header_info_set) and sa_delete_req
    when expected.jsonl gives them;
  - "decrypted": indicated[decrypted_offset : decrypted_offset + len] must equal it (a plain slice compare);
  - bytes the NIC must not touch: a frame with crypto_done 0 is indicated unchanged; in a processed frame
    everything in front of decrypted_offset is unchanged; the frame keeps its length.
"trailer_missing" cases (draft-mcgrew vectors without an ESP trailer) accept status 0 or 6 (and the
matching verdict) and compare the decrypted bytes only.

Prints one line per mismatch (frame, case, field, expected, got) and ends with `N passed, M failed`
(frames); exit status 1 on any mismatch. Standard library only.
"""
import argparse
import json
import os
import sys

from pcap_file import read_pcap

STATUS_NAMES = ['SUCCESS', 'GENERIC_ERROR', 'TRANSPORT_AH_AUTH_FAILED', 'TRANSPORT_ESP_AUTH_FAILED',
                'TUNNEL_AH_AUTH_FAILED', 'TUNNEL_ESP_AUTH_FAILED', 'INVALID_PACKET_SYNTAX', 'INVALID_PROTOCOL']


def read_jsonl(path):
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError as err:
                    raise ValueError('%s:%d: %s' % (path, n, err))
    return out


def status_text(v):
    if isinstance(v, int) and 0 <= v < len(STATUS_NAMES):
        return '%d (%s)' % (v, STATUS_NAMES[v])
    return repr(v)


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def hexcut(b, start, n=16):
    return b[start:start + n].hex()


def check(expected_dir, out_dir, ignore=(), max_report=200, quiet=False, out=sys.stdout):
    exp_path = os.path.join(expected_dir, 'expected.jsonl')
    expected = read_jsonl(exp_path)
    frames_path = os.path.join(expected_dir, 'frames.pcap')
    originals = read_pcap(frames_path) if os.path.exists(frames_path) else None
    oob_path = os.path.join(out_dir, 'oob.jsonl')
    problems = []   # (frame or None, case, field, expected, got)

    def report(frame, case, field, want, got):
        problems.append((frame, case, field, want, got))

    if not os.path.exists(oob_path):
        report(None, '', 'oob.jsonl', 'present', 'missing (%s)' % oob_path)
        oob = []
    else:
        oob = read_jsonl(oob_path)
    ind_path = os.path.join(out_dir, 'indicated.pcap')
    indicated = read_pcap(ind_path) if os.path.exists(ind_path) else None

    # ---- conservation ----
    n_in = len(originals) if originals is not None else len(expected)
    if originals is not None and len(originals) != len(expected):
        report(None, '', 'scenario', '%d expected.jsonl lines' % len(originals), '%d' % len(expected))
    if len(oob) != n_in:
        report(None, '', 'conservation', '%d oob.jsonl lines (one per input frame)' % n_in, '%d' % len(oob))
    by_frame, ind_by_frame = {}, {}
    for i, o in enumerate(oob):
        fr = o.get('frame')
        if fr in by_frame:
            report(fr, '', 'conservation', 'frame indicated once', 'indicated again (oob line %d)' % (i + 1))
            continue
        by_frame[fr] = o
        if indicated is not None and i < len(indicated):
            ind_by_frame[fr] = indicated[i]
    if indicated is None:
        if any('decrypted' in e for e in expected):
            report(None, '', 'indicated.pcap', 'present', 'missing (%s)' % ind_path)
    elif len(indicated) != len(oob):
        report(None, '', 'indicated.pcap', '%d frames (one per oob line)' % len(oob), '%d' % len(indicated))

    failed_frames = set()
    for e in expected:
        fr, case = e['frame'], e.get('case', '')
        o = by_frame.get(fr)
        if o is None:
            report(fr, case, 'oob', 'a line for this frame', 'none')
            failed_frames.add(fr)
            continue
        before = len(problems)
        tm = bool(e.get('trailer_missing'))

        def cmp(field, want, got, fmt=repr):
            if field in ignore:
                return
            if want != got:
                report(fr, case, field, fmt(want), fmt(got))

        cmp('indicated', e.get('indicated', True), o.get('indicated'))
        cmp('crypto_done', e['crypto_done'], o.get('crypto_done'))
        cmp('next_crypto_done', e['next_crypto_done'], o.get('next_crypto_done'))
        if tm:
            if 'crypto_status' not in ignore and o.get('crypto_status') not in (0, 6):
                report(fr, case, 'crypto_status', '0 or 6 (trailer_missing)', status_text(o.get('crypto_status')))
            want_v = 'bad_syntax' if o.get('crypto_status') == 6 else e['stack_verdict']
            cmp('stack_verdict', want_v, o.get('stack_verdict'))
        else:
            cmp('crypto_status', e['crypto_status'], o.get('crypto_status'), status_text)
            cmp('stack_verdict', e['stack_verdict'], o.get('stack_verdict'))
        if 'sa_delete_req' in e:
            cmp('sa_delete_req', e['sa_delete_req'], o.get('sa_delete_req'))
        hi = o.get('header_info') or {}
        if not tm and ('next_header' in e or 'pad_length' in e):
            cmp('header_info_set', True, bool(hi.get('header_info_set')))
            if 'next_header' in e:
                cmp('next_header', e['next_header'], hi.get('next_header'))
            if 'pad_length' in e:
                cmp('pad_length', e['pad_length'], hi.get('pad_length'))

        ind = ind_by_frame.get(fr)
        orig = originals[fr - 1] if originals is not None and 0 < fr <= len(originals) else None
        if ind is not None and 'bytes' not in ignore:
            if orig is not None and len(ind) != len(orig):
                report(fr, case, 'frame_length', len(orig), len(ind))
            if 'decrypted' in e:
                dec = bytes.fromhex(e['decrypted'])
                off = e['decrypted_offset']
                got = ind[off:off + len(dec)]
                if got != dec:
                    i = first_diff(dec, got)
                    report(fr, case, 'decrypted',
                           '%d bytes at frame offset %d; first difference at +%d: %s...' % (
                               len(dec), off, i, hexcut(dec, i)),
                           '%s... (%d bytes there)' % (hexcut(got, i), len(got)))
                if orig is not None and ind[:off] != orig[:off]:
                    i = first_diff(orig[:off], ind[:off])
                    report(fr, case, 'headers', 'unchanged before offset %d' % off,
                           'byte %d changed: %02x -> %02x' % (i, orig[i], ind[i]) if i < len(ind) else 'cut')
            if e['crypto_done'] == 0 and o.get('crypto_done') == 0 and orig is not None and ind != orig:
                i = first_diff(orig, ind)
                report(fr, case, 'unprocessed_bytes', 'frame indicated unchanged',
                       'byte %d changed' % i)
        elif 'decrypted' in e and indicated is not None and 'bytes' not in ignore:
            report(fr, case, 'decrypted', 'an indicated frame', 'none')
        if len(problems) > before:
            failed_frames.add(fr)

    failed = len(failed_frames)
    passed = len(expected) - failed
    global_problems = [p for p in problems if p[0] is None]
    if not quiet:
        for n, (fr, case, field, want, got) in enumerate(problems):
            if n >= max_report:
                out.write('... %d more mismatches not shown\n' % (len(problems) - max_report))
                break
            where = 'frame %d [%s]' % (fr, case) if fr is not None else 'scenario'
            out.write('MISMATCH %s: %s: expected %s, got %s\n' % (where, field, want, got))
    if global_problems:
        failed += 1  # a scenario-level problem (conservation, missing file) counts as one more failure
    out.write('%d passed, %d failed\n' % (passed, failed))
    return failed == 0 and not global_problems, problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('expected_dir')
    ap.add_argument('out_dir')
    ap.add_argument('--ignore', action='append', default=[],
                    help='field not to compare (crypto_status, stack_verdict, next_header, pad_length, '
                         'sa_delete_req, header_info_set, bytes, ...); repeatable')
    ap.add_argument('--max-report', type=int, default=200)
    ap.add_argument('--quiet', action='store_true', help='only the closing line')
    a = ap.parse_args(argv)
    ok, _ = check(a.expected_dir, a.out_dir, set(a.ignore), a.max_report, a.quiet)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
