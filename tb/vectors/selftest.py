#!/usr/bin/python3
"""Self-test of the test vectors (no C++ model involved).

    selftest.py [--published PUBLISHED_JSON] [--scenarios tb/scenarios] [--keep DIR]

1. regenerates the `default` and `full` suites and compares them byte for byte with the committed
   tb/scenarios/default and tb/scenarios/scapy_full (determinism, and nobody edited them by hand);
2. runs ref_receiver.py (the vector rules in Python, over ipsec_ref) on every scenario, the published
   groups included, and check_oob.py on its output: every frame must be what its expected line says;
3. re-checks every processed frame with scapy's own SecurityAssociation code wherever scapy 2.5 can
   (see docs/vectors.md for what it cannot): good ICVs verify and decrypt to "decrypted", bad ones fail;
4. feeds check_oob.py broken model outputs (status changed, a line missing, a decrypted byte wrong, an
   unprocessed frame changed) and requires it to notice each.
Ends with `N passed, M failed` (checks); exit status 1 on any failure.
"""
import argparse
import filecmp
import io
import json
import logging
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
logging.getLogger('scapy.runtime').setLevel(logging.ERROR)

from scapy.all import IP, IPv6, raw  # noqa: E402
from scapy.layers.ipsec import AH, ESP, IPSecIntegrityError, SecurityAssociation  # noqa: E402

import check_oob  # noqa: E402
import gen_scapy  # noqa: E402
import published_to_scenario  # noqa: E402
import ref_receiver  # noqa: E402
from ipsec_ref import AEAD_KINDS, ENCRYPTION  # noqa: E402
from pcap_file import read_pcap, write_pcap  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
DEFAULT_PUBLISHED = os.path.join(REPO, '..', 'shared', 'vectors', 'published', 'published_vectors.json')

SCAPY_CRYPT = {'null': 'NULL', 'des-cbc': 'DES', '3des-cbc': '3DES', 'aes-cbc-128': 'AES-CBC',
               'aes-cbc-192': 'AES-CBC', 'aes-cbc-256': 'AES-CBC', 'aes-gcm-128': 'AES-GCM',
               'aes-gcm-192': 'AES-GCM', 'aes-gcm-256': 'AES-GCM', 'aes-ctr': 'AES-CTR', 'aes-ccm': 'AES-CCM',
               'chacha20-poly1305': 'CHACHA20-POLY1305'}
SCAPY_AUTH = {'none': None, 'hmac-md5-96': 'HMAC-MD5-96', 'hmac-sha1-96': 'HMAC-SHA1-96',
              'hmac-sha256-128': 'SHA2-256-128', 'hmac-sha384-192': 'SHA2-384-192',
              'hmac-sha512-256': 'SHA2-512-256'}


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def ok(self, name, detail=''):
        self.passed += 1
        print('PASS %s%s' % (name, (': ' + detail) if detail else ''))

    def fail(self, name, detail):
        self.failed += 1
        print('FAIL %s: %s' % (name, detail))

    def check(self, cond, name, detail=''):
        (self.ok if cond else self.fail)(name, detail)


# ---- 1. determinism ----

def compare_dirs(a, b):
    diffs = []
    for fn in ('frames.pcap', 'sa.json', 'expected.jsonl', 'README.md'):
        pa, pb = os.path.join(a, fn), os.path.join(b, fn)
        if not os.path.exists(pb):
            diffs.append('%s missing' % pb)
        elif not filecmp.cmp(pa, pb, shallow=False):
            diffs.append('%s differs' % fn)
    return diffs


# ---- 3. scapy cross-check ----

def scapy_sa(sa):
    """A scapy SecurityAssociation for an ipsec_ref.Sa, or None where scapy 2.5 gets it wrong."""
    if sa.operation == 'ah':
        if SCAPY_AUTH.get(sa.auth) is None:
            return None  # AH-GMAC / XCBC: not in scapy
        return SecurityAssociation(AH, sa.spi, auth_algo=SCAPY_AUTH[sa.auth], auth_key=sa.auth_key,
                                   esn_en=sa.esn, esn=sa.seq_hi)
    kind = ENCRYPTION[sa.enc][0]
    if sa.auth not in SCAPY_AUTH or sa.enc not in SCAPY_CRYPT:
        return None  # GMAC, XCBC
    if kind == 'gcm' and sa.icv_len != 16:
        return None  # scapy's AESGCM path only knows 16-byte tags
    if sa.esn and kind not in AEAD_KINDS and sa.auth != 'none':
        return None  # scapy leaves the ESN high bits out of non-AEAD ESP ICVs
    return SecurityAssociation(ESP, sa.spi, crypt_algo=SCAPY_CRYPT[sa.enc], crypt_key=sa.enc_key + sa.salt,
                               crypt_icv_size=sa.icv_len if kind in AEAD_KINDS else None,
                               auth_algo=SCAPY_AUTH[sa.auth], auth_key=sa.auth_key or None,
                               esn_en=sa.esn, esn=sa.seq_hi)


def scapy_esp_check(ssa, sa, esp_bytes):
    """(icv_ok, plaintext payload or None) from scapy's own ESP code."""
    esp = ESP(esp_bytes)
    try:
        if ENCRYPTION[sa.enc][0] not in AEAD_KINDS:
            ssa.auth_algo.verify(esp, ssa.auth_key)
        icv = sa.icv_len
        plain = ssa.crypt_algo.decrypt(ssa, esp, ssa.crypt_key, icv, esn_en=sa.esn, esn=sa.seq_hi)
    except IPSecIntegrityError:
        return False, None
    return True, raw(plain.data)


def scapy_cross_check(scen_dir, tally, label):
    entries = {e['name']: e for e in ref_receiver.load_sa_file(os.path.join(scen_dir, 'sa.json'))}
    frames = read_pcap(os.path.join(scen_dir, 'frames.pcap'))
    expected = check_oob.read_jsonl(os.path.join(scen_dir, 'expected.jsonl'))
    checked = skipped = 0
    problems = []
    for e, fr in zip(expected, frames):
        if e['crypto_done'] != 1 or e['crypto_status'] in (6, 7) or e.get('sa') not in entries:
            continue
        ent = entries[e['sa']]
        sas = ent['sas']
        ssas = [scapy_sa(s) for s in sas]
        if any(s is None for s in ssas) or e['next_crypto_done'] or e['stack_verdict'] == 'software_ipsec':
            skipped += 1
            continue
        ver = fr[14] >> 4
        ip = IP(fr[14:]) if ver == 4 else IPv6(fr[14:])
        end = 14 + (ip.len if ver == 4 else 40 + ip.plen)
        ip = IP(fr[14:end]) if ver == 4 else IPv6(fr[14:end])
        status = e['crypto_status']
        msg = None
        if ip.haslayer(AH):
            ah_sa, ah_ssa = sas[-1], ssas[-1]
            try:
                ah_ssa.auth_algo.verify(ip.copy(), ah_ssa.auth_key, esn_en=ah_sa.esn, esn=ah_sa.seq_hi)
                ah_ok = True
            except IPSecIntegrityError:
                ah_ok = False
            if ah_ok != (status not in (2, 4)):
                msg = 'AH ICV %s by scapy' % ('accepted' if ah_ok else 'rejected')
            elif len(sas) == 1 and status == 0 and 'decrypted' in e:
                ah = ip[AH]
                payload = raw(ah.payload)
                if payload != bytes.fromhex(e['decrypted']):
                    msg = 'AH payload differs from "decrypted"'
        if msg is None and status not in (2, 4) and sas[0].operation == 'esp' and (len(sas) == 2 or not ip.haslayer(AH)):
            esp_off = e['decrypted_offset'] - 8 - sas[0].iv_len if 'decrypted_offset' in e else None
            if esp_off is None:
                # no payload given (dummy with empty payload, ICV failures): find ESP by parsing
                if ip.haslayer(AH):
                    esp_bytes = raw(ip[AH].payload)  # scapy does not bind AH -> ESP
                else:
                    esp_bytes = raw(ip[ESP]) if ip.haslayer(ESP) else None
            else:
                esp_bytes = fr[esp_off:end]
            if esp_bytes is None:
                msg = 'no ESP layer found'
            else:
                icv_ok, payload = scapy_esp_check(ssas[0], sas[0], esp_bytes)
                if icv_ok != (status == 0):
                    msg = 'ESP ICV %s by scapy' % ('accepted' if icv_ok else 'rejected')
                elif status == 0 and 'decrypted' in e:
                    want = bytes.fromhex(e['decrypted'])
                    if not (payload == want or (e.get('trailer_missing') and want.startswith(payload))):
                        msg = 'scapy plaintext differs from "decrypted"'
        checked += 1
        if msg:
            problems.append('frame %d [%s]: %s' % (e['frame'], e['case'], msg))
    if problems:
        tally.fail('scapy cross-check %s' % label, '; '.join(problems[:5]) + (' ...' if len(problems) > 5 else ''))
    else:
        tally.ok('scapy cross-check %s' % label, '%d frames checked by scapy, %d outside what scapy 2.5 can do' % (
            checked, skipped))


# ---- 2. reference receiver ----

def ref_check(scen_dir, work, tally, label):
    out = os.path.join(work, 'ref-' + label.replace('/', '_'))
    try:
        ref_receiver.run(scen_dir, out)
    except ref_receiver.FormatError as err:
        tally.fail('sa.json format %s' % label, str(err))
        return None
    buf = io.StringIO()
    ok, problems = check_oob.check(scen_dir, out, out=buf)
    tally.check(ok, 'ref_receiver vs expected %s' % label, buf.getvalue().strip().splitlines()[-1] if ok else
                buf.getvalue().strip().replace('\n', ' | ')[:1500])
    return out


# ---- 4. check_oob must notice broken outputs ----

def checker_negatives(scen_dir, ref_out, work, tally):
    expected = check_oob.read_jsonl(os.path.join(scen_dir, 'expected.jsonl'))
    oob = check_oob.read_jsonl(os.path.join(ref_out, 'oob.jsonl'))
    ind = read_pcap(os.path.join(ref_out, 'indicated.pcap'))
    dec_frame = next(e for e in expected if 'decrypted' in e and e['crypto_done'] == 1)
    plain_frame = next(e for e in expected if e['crypto_done'] == 0)
    fail_frame = next(e for e in expected if e['crypto_status'] != 0)

    def variant(tag, oob2, ind2, want_field):
        d = os.path.join(work, 'neg-' + tag)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'oob.jsonl'), 'w') as f:
            for o in oob2:
                f.write(json.dumps(o) + '\n')
        write_pcap(os.path.join(d, 'indicated.pcap'), ind2)
        buf = io.StringIO()
        ok, problems = check_oob.check(scen_dir, d, out=buf)
        fields = {p[2] for p in problems}
        tally.check(not ok and want_field in fields and buf.getvalue().rstrip().endswith('failed')
                    and ' 0 failed' not in buf.getvalue().splitlines()[-1],
                    'check_oob notices %s' % tag, 'reported %s' % sorted(fields))

    o2 = [dict(o) for o in oob]
    o2[fail_frame['frame'] - 1]['crypto_status'] = 0
    variant('a wrong crypto_status', o2, ind, 'crypto_status')
    variant('a missing oob line', oob[:-1], ind[:-1], 'conservation')
    i2 = list(ind)
    f = bytearray(i2[dec_frame['frame'] - 1])
    f[dec_frame['decrypted_offset']] ^= 0xFF
    i2[dec_frame['frame'] - 1] = bytes(f)
    variant('a wrong decrypted byte', oob, i2, 'decrypted')
    i3 = list(ind)
    f = bytearray(i3[plain_frame['frame'] - 1])
    f[-1] ^= 0x01
    i3[plain_frame['frame'] - 1] = bytes(f)
    variant('a changed unprocessed frame', oob, i3, 'unprocessed_bytes')
    o3 = [dict(o) for o in oob]
    o3[dec_frame['frame'] - 1]['stack_verdict'] = 'replay'
    variant('a wrong stack_verdict', o3, ind, 'stack_verdict')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--published', default=DEFAULT_PUBLISHED)
    ap.add_argument('--scenarios', default=os.path.join(REPO, 'tb', 'scenarios'))
    ap.add_argument('--keep', help='work directory to keep (default: a temporary one, removed)')
    a = ap.parse_args(argv)
    work = a.keep or tempfile.mkdtemp(prefix='ov2vec-selftest-')
    os.makedirs(work, exist_ok=True)
    tally = Tally()
    try:
        suites = {}
        for suite, committed in (('default', 'default'), ('full', 'scapy_full')):
            d = os.path.join(work, suite)
            gen_scapy.build(suite).write(d)
            suites[suite] = d
            cdir = os.path.join(a.scenarios, committed)
            diffs = compare_dirs(d, cdir)
            tally.check(not diffs, 'regenerated %s == %s' % (suite, os.path.relpath(cdir, REPO)),
                        '; '.join(diffs) + ('  (run: tb/vectors/gen_scapy.py --suite %s --out %s)' % (suite, cdir)
                                            if diffs else ''))
        scen = [('default', suites['default']), ('full', suites['full'])]
        if os.path.exists(a.published):
            pub = os.path.join(work, 'published')
            groups, _ = published_to_scenario.convert(a.published, pub)
            scen += [('published/g%03d' % g.index, os.path.join(pub, 'g%03d' % g.index)) for g in groups]
            cpub = os.path.join(a.scenarios, 'published')
            diffs = []
            for g in groups:
                diffs += ['g%03d: %s' % (g.index, d) for d in compare_dirs(os.path.join(pub, 'g%03d' % g.index),
                                                                          os.path.join(cpub, 'g%03d' % g.index))]
            for fn in ('index.json', 'README.md'):
                if not os.path.exists(os.path.join(cpub, fn)) or not filecmp.cmp(
                        os.path.join(pub, fn), os.path.join(cpub, fn), shallow=False):
                    diffs.append('%s differs' % fn)
            extra = sorted(set(x for x in os.listdir(cpub) if x.startswith('g')) - {'g%03d' % g.index for g in groups}) \
                if os.path.isdir(cpub) else []
            diffs += ['%s left over' % x for x in extra]
            tally.check(not diffs, 'converted published vectors == %s' % os.path.relpath(cpub, REPO),
                        '; '.join(diffs[:6]) + ('  (run: tb/vectors/published_to_scenario.py %s --out %s)' % (
                            a.published, cpub) if diffs else ''))
        else:
            print('note: %s not found: published vectors not checked' % a.published)
        for label, d in scen:
            out = ref_check(d, work, tally, label)
            scapy_cross_check(d, tally, label)
            if label == 'default' and out:
                checker_negatives(d, out, work, tally)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print('%d passed, %d failed' % (tally.passed, tally.failed))
    return 1 if tally.failed else 0


if __name__ == '__main__':
    sys.exit(main())
