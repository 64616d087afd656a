#!/usr/bin/python3
"""Seed corpora for the fuzz targets, built from files already in the repository (stdlib only).

    tb/fuzz/make_corpus.py --out build-fuzz/seeds [--shared ../shared]

Writes OUT/<target>/ (never into the repository; only tb/fuzz/dict/ and tb/fuzz/regressions/ are committed):
  fuzz_frame_path  every frame of tb/scenarios/*/frames.pcap, tb/scenarios/published/g*/frames.pcap and
                   shared/vectors/published/published_vectors.pcap, one file each
  fuzz_pcap        those captures cut into small pcaps, re-written as pcapng, with ns timestamps, big-endian,
                   and as RAW / LINUX_SLL / LINUX_SLL2 captures; a cut-short file
  fuzz_sa_json     every SA of tb/scenarios/*/sa.json as a file of its own (and the small files whole),
                   the JSON texts of tb/sa_file/test_sa_json.cpp and tb/oid_script's SA lists
  fuzz_sa_xfrm     the `ip xfrm` texts of tb/sa_file/test_sa_iproute2.cpp (keys filled in) and every
                   scenario SA rewritten as an `ip xfrm state add` line and as an `ip xfrm state` listing
  fuzz_oid_script  the --oids texts of tb/oid_script/test_oid_script.cpp; the small scenario SA files as add_sa,
                   update_sa and delete_sa events
  fuzz_mmio_oid    nothing from files: the target's own op sequences (OV2_FUZZ_WRITE_SEEDS, scripts/fuzz.sh)
Every target also gets its built-in seeds from scripts/fuzz.sh (OV2_FUZZ_WRITE_SEEDS=DIR fuzz_x).
"""
import argparse
import glob
import json
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- pcap -----------------------------------------------------------------------------------------------

def read_pcap(path):
    """[(ts_sec, ts_frac, orig_len, bytes)], link type, ns; classic pcap only (both byte orders)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return [], 1, False
    magic = data[:4]
    table = {b'\xd4\xc3\xb2\xa1': ('<', False), b'\xa1\xb2\xc3\xd4': ('>', False),
             b'\x4d\x3c\xb2\xa1': ('<', True), b'\xa1\xb2\x3c\x4d': ('>', True)}
    if magic not in table:
        return [], 1, False
    end, ns = table[magic]
    link = struct.unpack(end + 'I', data[20:24])[0]
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, cap, orig = struct.unpack(end + 'IIII', data[off:off + 16])
        off += 16
        out.append((sec, frac, orig, data[off:off + cap]))
        off += cap
    return out, link, ns


def pcap_bytes(frames, link=1, ns=False, big=False, snaplen=262144):
    end = '>' if big else '<'
    out = bytearray(struct.pack(end + 'IHHiIII', 0xA1B23C4D if ns else 0xA1B2C3D4, 2, 4, 0, 0, snaplen, link))
    for sec, frac, orig, b in frames:
        out += struct.pack(end + 'IIII', sec, frac * 1000 if ns else frac, len(b), max(orig, len(b)))
        out += b
    return bytes(out)


def pcapng_bytes(frames, link=1):
    def block(btype, body):
        body += b'\0' * (-len(body) % 4)
        return struct.pack('<II', btype, 12 + len(body)) + body + struct.pack('<I', 12 + len(body))
    out = block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack('<HHI', link, 0, 262144))
    for sec, frac, orig, b in frames:
        ts = sec * 1000000 + frac
        out += block(6, struct.pack('<IIIII', 0, ts >> 32, ts & 0xFFFFFFFF, len(b), max(orig, len(b))) + b)
    return out


def strip_ethernet(frames, kind):
    """Ethernet frames as RAW (IP only), LINUX_SLL or LINUX_SLL2 records."""
    out = []
    for sec, frac, orig, b in frames:
        if len(b) < 14:
            continue
        etype, ip = b[12:14], b[14:]
        if kind == 'raw':
            if etype not in (b'\x08\x00', b'\x86\xdd'):
                continue
            rec = ip
        elif kind == 'sll':
            rec = b'\x00\x00\x00\x01\x00\x06' + b[6:12] + b'\x00\x00' + etype + ip
        else:
            rec = etype + b'\x00\x00' + b'\x00\x00\x00\x02' + b'\x00\x01' + b'\x00\x06' + b[6:12] + b'\x00\x00' + ip
        out.append((sec, frac, orig - 14 + len(rec) - len(ip), rec))
    return out


def captures(shared):
    paths = sorted(glob.glob(os.path.join(ROOT, 'tb/scenarios/*/frames.pcap')))
    paths += sorted(glob.glob(os.path.join(ROOT, 'tb/scenarios/published/g*/frames.pcap')))
    published = os.path.join(shared, 'vectors/published/published_vectors.pcap')
    if os.path.exists(published):
        paths.append(published)
    return paths


# ---- SA files -------------------------------------------------------------------------------------------

def scenario_sas():
    files = sorted(glob.glob(os.path.join(ROOT, 'tb/scenarios/*/sa.json')))
    files += sorted(glob.glob(os.path.join(ROOT, 'tb/scenarios/published/g*/sa.json')))
    for path in files:
        with open(path) as f:
            doc = json.load(f)
        yield path, doc.get('sas', doc) if isinstance(doc, dict) else doc


def cpp_raw_strings(path):
    with open(path) as f:
        text = f.read()
    return re.findall(r'R"\((.*?)\)"', text, re.S)


def cpp_string_expressions(path, variables):
    """Concatenations of C++ string literals and known variables ("..." + k20 + "..."), evaluated."""
    with open(path) as f:
        text = f.read()
    token = re.compile(r'"((?:[^"\\]|\\.)*)"|\b(k\d+)\b|(\+)|(\s+)|(.)', re.S)
    results, current, last_was_value = [], [], False
    for m in token.finditer(text):
        lit, var, plus, space, other = m.groups()
        if space is not None:
            continue
        if lit is not None or (var is not None and var in variables):
            if last_was_value and lit is None:
                current = []
            value = (bytes(lit, 'utf-8').decode('unicode_escape') if lit is not None else variables[var])
            current.append(value)
            last_was_value = True
        elif plus is not None:
            last_was_value = False
        else:
            if current:
                results.append(''.join(current))
            current, last_was_value = [], False
    if current:
        results.append(''.join(current))
    return results


KEY16 = 'c0ffee0102030405060708090a0b0c0d'
KEY20 = KEY16 + '10111213'
KEY24 = KEY16 + '1415161718191a1b'
KEY32 = KEY24 + '1c1d1e1f20212223'
TEST_VARIABLES = {
    'k8': '0x0001020304050607', 'k16': '0x' + KEY16, 'k20': '0x' + KEY20, 'k24': '0x' + KEY24,
    'k28': '0x' + KEY24 + 'a0a1a2a3', 'k32': '0x' + KEY32, 'k36': '0x' + KEY32 + 'a0a1a2a3',
    'k48': '0x' + KEY32 + KEY16, 'k64': '0x' + KEY32 + KEY32,
}

ENC = {'aes-cbc-128': 'cbc(aes)', 'aes-cbc-192': 'cbc(aes)', 'aes-cbc-256': 'cbc(aes)', 'aes-cbc': 'cbc(aes)',
       '3des-cbc': 'cbc(des3_ede)', 'des-cbc': 'cbc(des)', 'null': 'ecb(cipher_null)', 'aes-ctr': 'rfc3686(ctr(aes))'}
AUTH = {'hmac-md5-96': ('hmac(md5)', 96), 'hmac-sha1-96': ('hmac(sha1)', 96), 'hmac-sha256-128': ('hmac(sha256)', 128),
        'hmac-sha384-192': ('hmac(sha384)', 192), 'hmac-sha512-256': ('hmac(sha512)', 256),
        'aes-xcbc-mac-96': ('xcbc(aes)', 96)}
ENCAP = {'transport': 'espinudp', 'tunnel': 'espinudp', 'transport_over_udp_esp_tunnel': 'espinudp',
         'udp_esp_transport_over_tunnel': 'espinudp'}


def xfrm_state(sa, sec, listing):
    """One scenario SA entry as iproute2 text; None when it has no iproute2 spelling here."""
    enc = sec.get('encryption') or {}
    auth = sec.get('authentication') or {}
    algs = []
    ealg, aalg = enc.get('algorithm'), auth.get('algorithm')
    if ealg and ealg.startswith('aes-gcm'):
        algs.append("aead 'rfc4106(gcm(aes))' 0x%s%s %d" % (enc['key'], enc.get('salt', ''), 8 * enc.get('icv_len', 16)))
    elif aalg and aalg.startswith('aes-gmac'):
        if sec['operation'] == 'ah':
            return None  # iproute2 has no AH GMAC (aead is ESP only)
        algs.append("aead 'rfc4543(gcm(aes))' 0x%s%s 128" % (auth['key'], auth.get('salt', '')))
    else:
        if ealg:
            if ealg not in ENC:
                return None
            algs.append("enc '%s' %s" % (ENC[ealg], ('0x' + enc['key']) if enc.get('key') else ('0x' if listing else '""')))
        if aalg and aalg != 'none':
            if aalg not in AUTH:
                return None
            name, bits = AUTH[aalg]
            algs.append("auth-trunc '%s' 0x%s %d" % (name, auth['key'], bits))
    src, dst = sa.get('src', '0.0.0.0'), sa.get('dst', '0.0.0.0')
    spi = sec['spi'] if isinstance(sec['spi'], str) else hex(sec['spi'])
    esn = sec.get('esn', False)
    encap = ENCAP.get(sa.get('udp_esp_encapsulation', 'none'))
    direction = 'in' if sa.get('direction', 'inbound') == 'inbound' else 'out'
    if not listing:
        line = 'ip xfrm state add src %s dst %s proto %s spi %s reqid 1 mode %s' % (
            src, dst, sec['operation'], spi, sec.get('mode', 'transport'))
        line += ' replay-window %d' % sa.get('replay_window', 64)
        if esn:
            line += ' flag esn replay-seq-hi %d' % sec.get('seq_hi', 0)
        line += ' ' + ' '.join(algs)
        if encap:
            line += ' encap espinudp 4500 4500 0.0.0.0'
        return line + ' dir ' + direction + '\n'
    lines = ['src %s dst %s' % (src, dst),
             '\tproto %s spi %s reqid 1 mode %s' % (sec['operation'], spi, sec.get('mode', 'transport')),
             '\treplay-window %d flag af-unspec%s' % (sa.get('replay_window', 64), ' esn' if esn else '')]
    lines += ['\t' + a.replace("'", '') for a in algs]
    if encap:
        lines.append('\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0')
    if esn:
        lines += ['\tanti-replay esn context:', '\t seq-hi 0x%x, seq 0x0, oseq-hi 0x0, oseq 0x0' % sec.get('seq_hi', 0),
                  '\t replay_window 128, bitmap-length 4', '\t 00000000 00000000 00000000 00000000 ']
    else:
        lines.append('\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000')
    lines.append('\tdir ' + direction)
    lines.append('\tsel src 0.0.0.0/0 dst 0.0.0.0/0 ')
    return '\n'.join(lines) + '\n'


# ---- main -----------------------------------------------------------------------------------------------

class Writer:
    def __init__(self, out):
        self.out, self.count = out, {}

    def put(self, target, name, data):
        d = os.path.join(self.out, target)
        os.makedirs(d, exist_ok=True)
        if isinstance(data, str):
            data = data.encode('utf-8')
        with open(os.path.join(d, re.sub(r'[^A-Za-z0-9_.-]', '_', name)), 'wb') as f:
            f.write(data)
        self.count[target] = self.count.get(target, 0) + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True, help='directory for OUT/<target>/ (outside the repository)')
    ap.add_argument('--shared', default=os.path.join(ROOT, '..', 'shared'), help='the shared/ folder')
    args = ap.parse_args()
    w = Writer(args.out)
    for t in ('fuzz_frame_path', 'fuzz_pcap', 'fuzz_sa_json', 'fuzz_sa_xfrm', 'fuzz_mmio_oid', 'fuzz_oid_script'):
        os.makedirs(os.path.join(args.out, t), exist_ok=True)

    # frames and captures
    for path in captures(args.shared):
        frames, link, _ = read_pcap(path)
        tag = os.path.relpath(path, ROOT).replace('/frames.pcap', '').replace('/', '-') \
            if path.startswith(ROOT) else os.path.basename(path).replace('.pcap', '')
        if link != 1:
            continue
        for i, (_, _, _, b) in enumerate(frames, 1):
            w.put('fuzz_frame_path', '%s-%03d' % (tag, i), b)
        for i in range(0, len(frames), 4):
            w.put('fuzz_pcap', '%s-%03d.pcap' % (tag, i + 1), pcap_bytes(frames[i:i + 4]))
        first = frames[:3]
        if first:
            w.put('fuzz_pcap', tag + '-ns-be.pcap', pcap_bytes(first, ns=True, big=True))
            w.put('fuzz_pcap', tag + '.pcapng', pcapng_bytes(first))
            w.put('fuzz_pcap', tag + '-raw.pcap', pcap_bytes(strip_ethernet(first, 'raw'), link=101))
            w.put('fuzz_pcap', tag + '-sll.pcap', pcap_bytes(strip_ethernet(first, 'sll'), link=113))
            w.put('fuzz_pcap', tag + '-sll2.pcap', pcap_bytes(strip_ethernet(first, 'sll2'), link=276))
            w.put('fuzz_pcap', tag + '-snap64.pcap', pcap_bytes([(s, f, o, b[:64]) for s, f, o, b in first], snaplen=64))
            w.put('fuzz_pcap', tag + '-cut.pcap', pcap_bytes(first)[:-7])

    # SA files
    for path, sas in scenario_sas():
        tag = os.path.relpath(path, ROOT).replace('/sa.json', '').replace('/', '-')
        if len(sas) <= 8:
            with open(path) as f:
                w.put('fuzz_sa_json', tag + '.json', f.read())
        if len(sas) <= 8:
            events = [{'before_frame': 1 + k, 'oid': 'add_sa', 'sas': [sa]} for k, sa in enumerate(sas)]
            events += [{'before_frame': 9, 'oid': 'update_sa', 'sa': sa.get('name', 'x'), 'seq_hi': 1} for sa in sas[:2]]
            events += [{'before_frame': 3, 'oid': 'delete_sa', 'sa': sa.get('name', 'x')} for sa in sas[:2]]
            w.put('fuzz_oid_script', tag + '-oids.json', json.dumps({'oids': events}, indent=1))
        for i, sa in enumerate(sas):
            w.put('fuzz_sa_json', '%s-%03d.json' % (tag, i), json.dumps({'sas': [sa]}, indent=1))
            for j, sec in enumerate(sa.get('sec_assoc', [])):
                for listing in (False, True):
                    text = xfrm_state(sa, sec, listing)
                    if text:
                        w.put('fuzz_sa_xfrm', '%s-%03d-%d-%s.txt' % (tag, i, j, 'list' if listing else 'add'), text)
    for i, text in enumerate(cpp_raw_strings(os.path.join(ROOT, 'tb/sa_file/test_sa_json.cpp'))):
        if text.lstrip()[:1] in ('{', '['):
            w.put('fuzz_sa_json', 'test_sa_json-%02d.json' % i, text)
    oid_test = os.path.join(ROOT, 'tb/oid_script/test_oid_script.cpp')
    if os.path.exists(oid_test):
        for i, text in enumerate(cpp_raw_strings(oid_test)):
            try:
                doc = json.loads(text)
            except ValueError:
                continue
            w.put('fuzz_oid_script', 'test_oid_script-%02d.json' % i, text)
            for j, ev in enumerate(doc.get('oids', []) if isinstance(doc, dict) else []):
                if isinstance(ev, dict) and isinstance(ev.get('sas'), list):
                    w.put('fuzz_sa_json', 'test_oid_script-%02d-%02d.json' % (i, j), json.dumps(ev['sas']))
    texts = cpp_string_expressions(os.path.join(ROOT, 'tb/sa_file/test_sa_iproute2.cpp'), TEST_VARIABLES)
    for i, text in enumerate(t for t in texts if ('src ' in t or 'proto ' in t) and len(t) > 20):
        w.put('fuzz_sa_xfrm', 'test_sa_iproute2-%03d.txt' % i, text if text.endswith('\n') else text + '\n')

    for t in sorted(w.count):
        print('make_corpus: %-16s %5d seeds' % (t, w.count[t]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
