#!/usr/bin/python3
"""A small Python receiver that applies the vector rules to a scenario, to double-check the vectors.

    ref_receiver.py SCENARIO_DIR OUT_DIR

Reads SCENARIO_DIR/frames.pcap and sa.json, and writes OUT_DIR/oob.jsonl and OUT_DIR/indicated.pcap in
the format ov2sim writes them, from ipsec_ref's ESP/AH code and the rules of docs/vectors.md ("Expected
results"). check_oob.py on its output must pass: that checks that every frame is built the way its
expected.jsonl line says (good ICVs really are good, a bad ICV fails in the header it names, ...) and that
check_oob.py itself reads the model's files right. It is a test-vector tool, not a model: no timing, no
registers, and it shares no code with the C++ model.

It also validates sa.json against the SA file format (unknown keys, names, lengths): load_sa_file().
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipsec_ref as ref  # noqa: E402
from ipsec_ref import Sa  # noqa: E402
from pcap_file import read_pcap, write_pcap  # noqa: E402

ENC_NAMES = {'null', 'des-cbc', '3des-cbc', 'aes-gcm-128', 'aes-gcm-192', 'aes-gcm-256', 'aes-cbc-128',
             'aes-cbc-192', 'aes-cbc-256', 'aes-ccm', 'aes-ctr', 'chacha20-poly1305'}
AUTH_NAMES = {'none', 'hmac-md5-96', 'hmac-sha1-96', 'hmac-sha256-128', 'aes-gmac-128', 'aes-gmac-192',
              'aes-gmac-256', 'hmac-sha384-192', 'hmac-sha512-256', 'aes-xcbc-mac-96'}
ENCAPS = {'none', 'transport', 'tunnel', 'transport_over_udp_esp_tunnel', 'udp_esp_transport_over_tunnel'}
ENTRY_KEYS = {'name', 'direction', 'src', 'dst', 'ip_version', 'udp_esp_encapsulation', 'replay_window',
              'replay_seq', 'pair', 'delete_policy', 'sec_assoc'}
SA_KEYS = {'operation', 'spi', 'mode', 'esn', 'seq_hi', 'encryption', 'authentication'}
VERDICT = {0: 'accepted', 1: 'auth_failed', 2: 'auth_failed', 3: 'auth_failed', 4: 'auth_failed',
           5: 'auth_failed', 6: 'bad_syntax', 7: 'invalid_protocol'}
STATUS_NAMES = ['SUCCESS', 'GENERIC_ERROR', 'TRANSPORT_AH_AUTH_FAILED', 'TRANSPORT_ESP_AUTH_FAILED',
                'TUNNEL_AH_AUTH_FAILED', 'TUNNEL_ESP_AUTH_FAILED', 'INVALID_PACKET_SYNTAX', 'INVALID_PROTOCOL']


class FormatError(Exception):
    pass


def _req(cond, msg):
    if not cond:
        raise FormatError(msg)


def parse_spi(v, where):
    if isinstance(v, int):
        _req(0 <= v <= 0xFFFFFFFF, '%s: spi out of range' % where)
        return v
    _req(isinstance(v, str) and v.lower().startswith('0x'), '%s: spi must be an integer or "0x..."' % where)
    return int(v, 16)


def sa_from_json(x, where):
    _req(set(x) <= SA_KEYS, '%s: unknown keys %s' % (where, sorted(set(x) - SA_KEYS)))
    op = x['operation']
    _req(op in ('esp', 'ah'), '%s: operation' % where)
    mode = x.get('mode', 'transport')
    _req(mode in ('transport', 'tunnel'), '%s: mode' % where)
    spi = parse_spi(x['spi'], where)
    esn = bool(x.get('esn', False))
    kw = dict(mode=mode, esn=esn, seq_hi=int(x.get('seq_hi', 0)))
    enc = x.get('encryption')
    auth = x.get('authentication') or {'algorithm': 'none'}
    _req(auth['algorithm'] in AUTH_NAMES, '%s: authentication %r' % (where, auth['algorithm']))
    if op == 'ah':
        _req(enc is None, '%s: AH with an encryption object' % where)
        _req(auth['algorithm'] != 'none', '%s: AH without authentication' % where)
    else:
        _req(enc is not None and enc['algorithm'] in ENC_NAMES, '%s: encryption' % where)
        kind = ref.ENCRYPTION[enc['algorithm']][0]
        if kind in ref.AEAD_KINDS:
            _req('authentication' not in x, '%s: combined-mode ESP with an authentication object' % where)
        key = bytes.fromhex(enc.get('key', ''))
        klen = ref.ENCRYPTION[enc['algorithm']][1]
        _req(klen is None or len(key) == klen, '%s: %s key is %d bytes' % (where, enc['algorithm'], len(key)))
        salt = bytes.fromhex(enc.get('salt', ''))
        _req(len(salt) == ref.ENCRYPTION[enc['algorithm']][4], '%s: salt length' % where)
        if kind in ref.AEAD_KINDS:
            _req(enc.get('icv_len') in (8, 12, 16), '%s: icv_len' % where)
        kw.update(enc=enc['algorithm'], enc_key=key, salt=salt, icv_len=enc.get('icv_len'))
    if auth['algorithm'] != 'none':
        akey = bytes.fromhex(auth.get('key', ''))
        _req(len(akey) > 0, '%s: authentication key' % where)
        if ref.AUTHENTICATION[auth['algorithm']][0] == 'gmac':
            _req(len(akey) * 8 == int(auth['algorithm'][-3:]), '%s: GMAC key length' % where)
            _req(len(bytes.fromhex(auth.get('salt', ''))) == 4, '%s: GMAC salt' % where)
            _req(auth.get('icv_len', 16) == 16, '%s: GMAC icv_len' % where)
        kw.update(auth=auth['algorithm'], auth_key=akey, auth_salt=bytes.fromhex(auth.get('salt', '')))
    return Sa(op, spi, **kw)


def addr_bytes(a):
    import ipaddress
    return ipaddress.ip_address(a).packed


def load_sa_file(path):
    with open(path) as f:
        d = json.load(f)
    _req(set(d) == {'sas'}, '%s: top level must be {"sas": [...]}' % path)
    entries, names = [], set()
    for i, e in enumerate(d['sas']):
        where = '%s: sas[%d] %s' % (path, i, e.get('name', ''))
        _req(set(e) <= ENTRY_KEYS, '%s: unknown keys %s' % (where, sorted(set(e) - ENTRY_KEYS)))
        _req(e.get('name') and e['name'] not in names, '%s: name missing or repeated' % where)
        names.add(e['name'])
        _req(e.get('direction', 'inbound') in ('inbound', 'outbound'), '%s: direction' % where)
        _req(e.get('udp_esp_encapsulation', 'none') in ENCAPS, '%s: udp_esp_encapsulation' % where)
        src = e.get('src') if e.get('src') not in (None, '0.0.0.0', '::') else None
        dst = e.get('dst') if e.get('dst') not in (None, '0.0.0.0', '::') else None
        if src is None and dst is None:
            _req(e.get('ip_version') in (4, 6), '%s: ip_version needed when both addresses are absent' % where)
            version = e['ip_version']
        else:
            version = 6 if ':' in (dst or src) else 4
        sas = [sa_from_json(x, '%s sec_assoc[%d]' % (where, j)) for j, x in enumerate(e['sec_assoc'])]
        _req(len(sas) in (1, 2), '%s: 1 or 2 sec_assoc' % where)
        if len(sas) == 2:
            _req(sas[0].operation == 'esp' and sas[1].operation == 'ah', '%s: bundle order is ESP, AH' % where)
        if 'pair' in e:
            pass  # checked below
        dp = e.get('delete_policy', {})
        entries.append({'name': e['name'], 'inbound': e.get('direction', 'inbound') == 'inbound',
                        'dst': addr_bytes(dst) if dst else None, 'version': version,
                        'encap': e.get('udp_esp_encapsulation', 'none'),
                        'window': int(e.get('replay_window', 64)), 'top': int(e.get('replay_seq', 0)),
                        'seen': set(), 'packets': 0, 'bytes': 0,
                        'packet_lifetime': int(dp.get('packet_lifetime', 0)),
                        'byte_lifetime': int(dp.get('byte_lifetime', 0)),
                        'seq_wrap_margin': int(dp.get('seq_wrap_margin', 256)),
                        'sas': sas, 'offloadable': all(s.offloadable() for s in sas), 'pair': e.get('pair')})
    for e in entries:
        _req(e['pair'] is None or e['pair'] in names, '%s: pair %r names no SA' % (path, e['pair']))
    return entries


# ---- packet walking ----

def parse_ip(buf, l3):
    """Parsed IP header at l3 in buf, or None."""
    if len(buf) < l3 + 20:
        return None
    v = buf[l3] >> 4
    if v == 4:
        hl = (buf[l3] & 0xF) * 4
        total = struct.unpack('!H', buf[l3 + 2:l3 + 4])[0]
        fo = struct.unpack('!H', buf[l3 + 6:l3 + 8])[0]
        return {'version': 4, 'hl': hl, 'end': total, 'proto': buf[l3 + 9], 'src': bytes(buf[l3 + 12:l3 + 16]),
                'dst': bytes(buf[l3 + 16:l3 + 20]), 'frag': bool(fo & 0x2000) or (fo & 0x1FFF) != 0}
    if v == 6:
        plen = struct.unpack('!H', buf[l3 + 4:l3 + 6])[0]
        nh, off, frag = buf[l3 + 6], 40, False
        while nh in (0, 43, 60, 44):
            if nh == 44:
                frag = True
                nh, off = buf[l3 + off], off + 8
                continue
            nh, off = buf[l3 + off], off + (buf[l3 + off + 1] + 1) * 8
        return {'version': 6, 'hl': off, 'end': 40 + plen, 'proto': nh, 'src': bytes(buf[l3 + 8:l3 + 24]),
                'dst': bytes(buf[l3 + 24:l3 + 40]), 'frag': frag}
    return None


def ipsec_kind(buf, l3, p):
    """('esp'|'ah', header offset, udp) for an IPsec packet, ('not', ...) otherwise."""
    off = l3 + p['hl']
    end = l3 + p['end']
    if p['proto'] == 50:
        return 'esp', off, False
    if p['proto'] == 51:
        return 'ah', off, False
    if p['proto'] == 17 and not p['frag'] and end - off >= 8:
        dport = struct.unpack('!H', buf[off + 2:off + 4])[0]
        if dport == 4500:
            body = buf[off + 8:end]
            if len(body) == 1 and body[0] == 0xFF:
                return 'not', off, True  # NAT keepalive
            if len(body) >= 4 and body[:4] != b'\x00\x00\x00\x00' and len(body) > 8:
                return 'esp', off + 8, True
            return 'not', off, True  # IKE (non-ESP marker)
    return 'not', off, False


class Result:
    def __init__(self, cd=0, ncd=0, status=0, verdict='not_ipsec'):
        self.cd, self.ncd, self.status, self.verdict = cd, ncd, status, verdict
        self.nh = self.pad = None
        self.hits = []  # (entry, seq64) whose anti-replay the transport checks after a success


class Receiver:
    def __init__(self, entries):
        self.entries = entries

    def lookup(self, spi, dst, version):
        for e in self.entries:
            if not e['inbound'] or e['version'] != version:
                continue
            if e['dst'] is not None and e['dst'] != dst:
                continue
            for i, sa in enumerate(e['sas']):
                if sa.spi == spi:
                    return e, i
        return None, None

    def portion(self, buf, l3, p, kind, off, udp, inner=False):
        """Check one IPsec portion (the packet at l3). Returns a Result; decrypts buf in place."""
        end = l3 + p['end']
        if end > len(buf) or off + 8 > end:
            return Result(0, 0, 0, 'software_ipsec')
        spi = struct.unpack('!I', buf[off + 4:off + 8] if kind == 'ah' else buf[off:off + 4])[0]
        e, _ = self.lookup(spi, p['dst'], p['version'])
        if e is None or not e['offloadable']:
            return Result(0, 0, 0, 'software_ipsec')
        sas = e['sas']
        bundle = len(sas) == 2
        mode = sas[0].mode
        want = 'ah' if bundle else sas[0].operation
        if kind != want:
            return Result(1, 0, 7, VERDICT[7])
        e['packets'] += 1
        e['bytes'] += p['end']
        esp_off = off
        if kind == 'ah':
            ah = sas[-1]
            if off + 12 > end:
                return Result(1, 0, 6, VERDICT[6])
            ah_len = (buf[off + 1] + 2) * 4
            if off + ah_len > end or ah_len < 12 + ah.iv_len + ah.icv_len:
                return Result(1, 0, 6, VERDICT[6])
            seq = struct.unpack('!I', buf[off + 8:off + 12])[0]
            if not ref.ah_verify(ah, bytes(buf[l3:end]), off - l3):
                st = 2 if mode == 'transport' else 4
                return Result(1, 0, st, VERDICT[st])
            if not bundle:
                r = Result(1, 0, 0, 'accepted')
                r.hits.append((e, seq, ah))
                r.entry = e
                return r
            if buf[off] != 50:
                return Result(1, 0, 7, VERDICT[7])
            esp_off = off + ah_len
        esp = sas[0]
        if esp_off + 8 > end:
            return Result(1, 0, 6, VERDICT[6])
        seq = struct.unpack('!I', buf[esp_off + 4:esp_off + 8])[0]
        if end - esp_off < 8 + esp.iv_len + esp.icv_len + 2:
            return Result(1, 0, 6, VERDICT[6])
        r = ref.esp_unprotect(esp, bytes(buf[esp_off:end]))
        if not r['ok']:
            st = 3 if mode == 'transport' else 5
            return Result(1, 0, st, VERDICT[st])
        if r['plaintext'] is None:
            return Result(1, 0, 6, VERDICT[6])
        pt_off = esp_off + 8 + esp.iv_len
        buf[pt_off:pt_off + len(r['plaintext'])] = r['plaintext']
        res = Result(1, 0, 0, 'accepted')
        res.entry = e
        res.nh, res.pad = r['next_header'], r['pad_len']
        if not r['syntax_ok']:
            res.status, res.verdict = 6, VERDICT[6]
            return res
        res.hits.append((e, seq, esp))
        if r['next_header'] == 59:
            res.verdict = 'dummy_dropped'
            return res
        if mode == 'tunnel' and not inner and r['next_header'] in (4, 41):
            ip = parse_ip(buf, pt_off)
            if ip is not None and not ip['frag']:
                ikind, ioff, iudp = ipsec_kind(buf, pt_off, ip)
                if ikind != 'not':
                    sub = self.portion(buf, pt_off, ip, ikind, ioff, iudp, inner=True)
                    if sub.cd == 0:
                        res.verdict = 'software_ipsec'  # tunnel done, transport left to the stack
                        return res
                    sub.ncd = 1
                    sub.hits = res.hits + sub.hits
                    sub.nested = True
                    return sub
        return res

    def receive(self, frame):
        buf = bytearray(frame)
        if len(buf) < 14:
            return Result(), bytes(buf)
        et = struct.unpack('!H', buf[12:14])[0]
        if et not in (0x0800, 0x86DD):
            return Result(), bytes(buf)
        p = parse_ip(buf, 14)
        if p is None:
            return Result(), bytes(buf)
        kind, off, udp = ipsec_kind(buf, 14, p)
        if kind == 'not':
            return Result(), bytes(buf)
        if p['frag']:
            return Result(0, 0, 0, 'software_ipsec'), bytes(buf)
        r = self.portion(buf, 14, p, kind, off, udp)
        if r.cd == 0:
            return r, bytes(frame)
        if r.status == 0 and r.verdict == 'accepted':
            for e, seq, sa in r.hits:
                if not self.replay_ok(e, seq, sa):
                    r.verdict = 'replay'
        r.sa_delete_req = 0
        e = getattr(r, 'entry', None)
        if e is not None:
            seq = r.hits[0][1] if r.hits else 0
            if e['packet_lifetime'] and e['packets'] >= e['packet_lifetime']:
                r.sa_delete_req = 1
            if e['byte_lifetime'] and e['bytes'] >= e['byte_lifetime']:
                r.sa_delete_req = 1
            if e['seq_wrap_margin'] and not e['sas'][0].esn and seq >= 2 ** 32 - e['seq_wrap_margin']:
                r.sa_delete_req = 1
        return r, bytes(buf)

    @staticmethod
    def replay_ok(e, seq, sa):
        s = (sa.seq_hi << 32 | seq) if sa.esn else seq
        w = e['window']
        if w == 0:
            return True
        if s > e['top']:
            e['top'] = s
            e['seen'] = {x for x in e['seen'] if x > s - w}
            e['seen'].add(s)
            return True
        if e['top'] - s >= w or s in e['seen']:
            return False
        e['seen'].add(s)
        return True


def run(scenario_dir, out_dir):
    entries = load_sa_file(os.path.join(scenario_dir, 'sa.json'))
    rx = Receiver(entries)
    frames = read_pcap(os.path.join(scenario_dir, 'frames.pcap'))
    os.makedirs(out_dir, exist_ok=True)
    out_frames = []
    with open(os.path.join(out_dir, 'oob.jsonl'), 'w') as f:
        for n, fr in enumerate(frames, 1):
            r, out = rx.receive(fr)
            out_frames.append(out)
            o = {'frame': n, 'indicated': True, 'crypto_done': r.cd, 'next_crypto_done': r.ncd,
                 'sa_delete_req': getattr(r, 'sa_delete_req', 0), 'crypto_status': r.status,
                 'crypto_status_name': STATUS_NAMES[r.status],
                 'header_info': {'next_header': r.nh or 0, 'pad_length': r.pad or 0,
                                 'header_info_set': r.nh is not None and not getattr(r, 'nested', False)},
                 'stack_verdict': r.verdict, 'nic_reason': 'ref_receiver'}
            f.write(json.dumps(o) + '\n')
    write_pcap(os.path.join(out_dir, 'indicated.pcap'), out_frames)
    return len(frames)


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print('%d frames -> %s' % (run(sys.argv[1], sys.argv[2]), sys.argv[2]))
