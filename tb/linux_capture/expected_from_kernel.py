#!/usr/bin/python3
"""Turn one Linux-kernel IPsec capture into an ov2sim scenario whose expectations come from the KERNEL.

    expected_from_kernel.py --capture GUEST_OUT/<name> [--guest GUEST_OUT/guest.txt] --out tb/scenarios/<name>

GUEST_OUT/<name> is what tb/linux_capture/guest/capture.sh wrote inside the guest: frames.pcap (tcpdump -Q in
on the receiver's veth), sender-out.pcap (tcpdump -Q out on the sender's veth), sa.xfrm (the receiver's
`ip xfrm state`, taken before any traffic), state-after.txt (its `ip -s xfrm state` after the traffic),
xfrm_stat-{before,after}.txt, traffic.log, policies.txt, sender-sa.xfrm, link-after.txt.

The rules (docs/linux-capture.md):
  * the frames are the receiver's capture less the packets the kernel re-injected on the veth after
    tunnel-mode decapsulation (its tap sees those a second time); what is left must equal, frame for
    frame, what the sender's tap saw leave;
  * the capture is usable only if the kernel accepted every IPsec frame: for every SA the receiver holds,
    the packets its `lifetime current` counted equal the frames of that SPI in the capture, its stats say
    replay 0 / failed 0, and no Xfrm*In* error counter of the receiver's namespace moved; otherwise this
    script stops without writing anything;
  * an AH/ESP frame (ESP also in UDP 4500) of an SA whose algorithms IPsecOV2 can name, which the kernel
    accepted -> crypto_done 1, next_crypto_done 0, crypto_status 0, stack_verdict accepted, with the
    decrypted payload, next header and pad length (decrypted here with python3-cryptography; the ICV is
    verified too, as a check of this script against the kernel);
  * an AH/ESP frame of an SA with an algorithm IPsecOV2 cannot name -> crypto_done 0, software_ipsec;
  * anything else (ARP, NDP/ICMPv6, plain IP) -> crypto_done 0, not_ipsec;
  * appended, DERIVED frames (not seen by the kernel): copies of captured frames with one bit of the ICV or
    of the first ciphertext/payload byte flipped -> auth failure (3 transport ESP, 5 tunnel ESP, 2
    transport AH, 4 tunnel AH); for an unnameable SA still crypto_done 0, software_ipsec.
Nothing here runs or reads ov2sim or its C++ code.
"""
import argparse
import hashlib
import hmac
import ipaddress
import json
import os
import re
import shutil
import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.exceptions import InvalidTag

import logging
logging.getLogger('scapy.runtime').setLevel(logging.ERROR)
from scapy.all import Ether, IP, IPv6  # noqa: E402
from scapy.layers.inet6 import ICMPv6ND_NS  # noqa: F401,E402  (registers the ICMPv6 dissectors)

STATUS_NAMES = ['SUCCESS', 'GENERIC_ERROR', 'TRANSPORT_AH_AUTH_FAILED', 'TRANSPORT_ESP_AUTH_FAILED',
                'TUNNEL_AH_AUTH_FAILED', 'TUNNEL_ESP_AUTH_FAILED', 'INVALID_PACKET_SYNTAX', 'INVALID_PROTOCOL']
IN_ERROR_COUNTERS = ('XfrmInError', 'XfrmInBufferError', 'XfrmInHdrError', 'XfrmInNoStates',
                     'XfrmInStateProtoError', 'XfrmInStateModeError', 'XfrmInStateSeqError',
                     'XfrmInStateExpired', 'XfrmInStateMismatch', 'XfrmInStateInvalid', 'XfrmInTmplMismatch',
                     'XfrmInNoPols', 'XfrmInPolBlock', 'XfrmInPolError')


class CaptureError(Exception):
    pass


# ---- the `ip xfrm state` listing --------------------------------------------------------------------------

def _num(text):
    return int(re.sub(r'\(.*\)$', '', text), 0)


def parse_listing(text):
    """States of an `ip [-s] xfrm state` listing: a list of dicts (only what this script needs)."""
    states, cur, section = [], None, None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        if not line[0].isspace():
            m = re.match(r'src (\S+) dst (\S+)\s*$', line)
            if not m:
                raise CaptureError('unexpected listing line %r' % line)
            cur = {'src': m.group(1), 'dst': m.group(2), 'algos': {}, 'flags': [], 'encap': None,
                   'seq': 0, 'seq_hi': 0, 'replay_window': 0, 'packets': None, 'stats': None, 'text': [line]}
            states.append(cur)
            section = None
            continue
        cur['text'].append(line)
        t = line.split()
        k = t[0]
        if k == 'proto':
            cur['proto'] = t[1]
            cur['spi'] = _num(t[t.index('spi') + 1])
            cur['mode'] = t[t.index('mode') + 1]
            section = None
        elif k == 'replay-window' and section != 'stats':
            cur['replay_window'] = int(t[1])
            if 'flag' in t:
                cur['flags'] = [w for w in t[t.index('flag') + 1:] if not w.startswith('(')]
        elif k in ('aead', 'enc', 'auth', 'auth-trunc'):
            words = re.sub(r'\(\d+ bits\)', '', line).split()[1:]   # ip -s adds "(128 bits)" after a key
            entry = {'name': words[0], 'key': bytes.fromhex(words[1][2:])}
            if k in ('aead', 'auth-trunc'):
                entry['bits'] = int(words[2])
            cur['algos'][k] = entry
        elif k == 'encap':
            d = dict(zip(t[1::2], t[2::2]))
            cur['encap'] = {'type': d['type'], 'sport': int(d['sport']), 'dport': int(d['dport'])}
        elif k == 'anti-replay' and 'esn' not in t:
            m = re.search(r'seq (0x[0-9a-f]+)', line)
            cur['seq'] = int(m.group(1), 16)
        elif k == 'seq-hi':
            m = re.search(r'seq-hi (0x[0-9a-f]+), seq (0x[0-9a-f]+)', line)
            cur['seq_hi'], cur['seq'] = int(m.group(1), 16), int(m.group(2), 16)
        elif k == 'replay_window':
            cur['replay_window'] = int(t[1].rstrip(','))
        elif k == 'lifetime' and t[1] == 'current:':
            section = 'current'
        elif k == 'stats:':
            section = 'stats'
        elif section == 'current' and '(packets)' in line:
            cur['packets'] = int(re.search(r'(\d+)\(packets\)', line).group(1))
        elif section == 'stats' and k == 'replay-window':
            cur['stats'] = {'replay_window': int(t[1]), 'replay': int(t[3]), 'failed': int(t[5])}
        elif k in ('lifetime', 'sel', 'anti-replay', 'limit:', 'expire', 'add', 'crypto', 'output-mark',
                   'if_id', 'extra_flag', 'dir') or re.match(r'^[0-9a-f]{8}$', k) or '(bytes)' in line:
            pass
    return states


def read_xfrm_stat(path):
    out = {}
    with open(path) as f:
        for line in f:
            t = line.split()
            if len(t) == 2:
                out[t[0]] = int(t[1])
    return out


# ---- what IPsecOV2 can name ------------------------------------------------------------------------------
# IPSEC_OFFLOAD_V2 algorithms: integrity HMAC-MD5-96, HMAC-SHA1-96, HMAC-SHA-256-128, AES-GMAC-128/192/256;
# encryption DES-CBC, 3DES-CBC, AES-CBC-128/192/256, AES-GCM-128/192/256, none. Linux names them so:

def ov2_name(sa):
    """(True, 'what') if IPsecOV2 can name every algorithm of the SA, else (False, 'why not')."""
    a = sa['algos']
    if 'aead' in a:
        n, klen, bits = a['aead']['name'], len(a['aead']['key']), a['aead']['bits']
        if n == 'rfc4106(gcm(aes))' and klen - 4 in (16, 24, 32) and bits in (64, 96, 128):
            return True, 'AES-GCM-%d (ICV %d)' % ((klen - 4) * 8, bits // 8)
        if n == 'rfc4543(gcm(aes))' and klen - 4 in (16, 24, 32):
            return True, 'AES-GMAC-%d' % ((klen - 4) * 8)
        return False, 'aead %s: no IPsecOV2 algorithm' % n
    parts, ok = [], True
    if 'enc' in a:
        n, klen = a['enc']['name'], len(a['enc']['key'])
        if n == 'cbc(aes)' and klen in (16, 24, 32):
            parts.append('AES-CBC-%d' % (klen * 8))
        elif n == 'cbc(des3_ede)' and klen == 24:
            parts.append('3DES-CBC')
        elif n == 'cbc(des)' and klen == 8:
            parts.append('DES-CBC')
        elif n == 'ecb(cipher_null)':
            parts.append('NULL')
        else:
            ok = False
            parts.append('enc %s: no IPsecOV2 algorithm' % n)
    auth = a.get('auth-trunc') or a.get('auth')
    if auth:
        n, bits = auth['name'], auth.get('bits')
        # (name, ICV bits, key bytes): IKE gives these HMACs keys of the digest's length (RFC 2403/2404/4868)
        known = {'hmac(md5)': ('HMAC-MD5-96', 96, 16), 'hmac(sha1)': ('HMAC-SHA1-96', 96, 20),
                 'hmac(sha256)': ('HMAC-SHA-256-128', 128, 32)}
        if n in known and bits == known[n][1] and len(auth['key']) == known[n][2]:
            parts.append(known[n][0])
        else:
            ok = False
            parts.append('auth %s %s with a %d-byte key: no IPsecOV2 algorithm' % (n, bits, len(auth['key'])))
    return ok, ' + '.join(parts)


# ---- ESP / AH, independently of ov2sim ----------------------------------------------------------------------

def esp_params(sa):
    a = sa['algos']
    if 'aead' in a:
        return 8, a['aead']['bits'] // 8            # rfc4106, rfc4543, rfc7539esp: 8-byte IV
    enc = a['enc']['name']
    iv = {'cbc(aes)': 16, 'cbc(des3_ede)': 8, 'cbc(des)': 8, 'ecb(cipher_null)': 0}[enc]
    auth = a.get('auth-trunc') or a.get('auth')
    return iv, (auth['bits'] // 8 if auth else 0)


def esn_hi(sa, seq):
    """The ESN high half the receiver uses for this packet (no wrap happens in these captures)."""
    return sa['seq_hi'] if 'esn' in sa['flags'] else None


def hmac_digest(name, key, data):
    h = {'hmac(md5)': hashlib.md5, 'hmac(sha1)': hashlib.sha1, 'hmac(sha256)': hashlib.sha256,
         'hmac(sha384)': hashlib.sha384, 'hmac(sha512)': hashlib.sha512}[name]
    return hmac.new(key, data, h).digest()


def esp_open(sa, esp):
    """Verify and decrypt one ESP packet (bytes from the SPI to the ICV). Returns the plaintext
    (payload | padding | pad length | next header); raises CaptureError if the ICV does not verify."""
    iv_len, icv_len = esp_params(sa)
    spi_seq, iv = esp[:8], esp[8:8 + iv_len]
    ct, icv = esp[8 + iv_len:len(esp) - icv_len], esp[len(esp) - icv_len:]
    seq = struct.unpack('>I', esp[4:8])[0]
    hi = esn_hi(sa, seq)
    a = sa['algos']
    try:
        if 'aead' in a:
            key, salt = a['aead']['key'][:-4], a['aead']['key'][-4:]
            aad = esp[:4] + (struct.pack('>I', hi) if hi is not None else b'') + esp[4:8]
            name = a['aead']['name']
            if name == 'rfc4106(gcm(aes))':
                if icv_len != 16:
                    raise CaptureError('GCM ICV %d not handled here' % icv_len)
                return AESGCM(key).decrypt(salt + iv, ct + icv, aad)
            if name == 'rfc7539esp(chacha20,poly1305)':
                return ChaCha20Poly1305(key).decrypt(salt + iv, ct + icv, aad)
            raise CaptureError('aead %s not handled here' % name)
    except InvalidTag:
        raise CaptureError('ICV does not verify')
    auth = a.get('auth-trunc') or a.get('auth')
    if auth:
        mac = hmac_digest(auth['name'], auth['key'],
                          spi_seq + iv + ct + (struct.pack('>I', hi) if hi is not None else b''))
        if not hmac.compare_digest(mac[:icv_len], icv):
            raise CaptureError('ICV does not verify')
    enc = a['enc']['name']
    if enc == 'ecb(cipher_null)':
        return ct
    algo = {'cbc(aes)': algorithms.AES}[enc](a['enc']['key'])
    d = Cipher(algo, modes.CBC(iv)).decryptor()
    return d.update(ct) + d.finalize()


def ah_verify_v4(sa, ip_hdr, ah, payload):
    """AH over IPv4 (no options): RFC 4302 ICV with TOS, flags/offset, TTL and checksum zeroed."""
    if len(ip_hdr) != 20:
        raise CaptureError('IPv4 options under AH not handled here')
    z = bytearray(ip_hdr)
    z[1] = 0
    z[6:8] = b'\0\0'
    z[8] = 0
    z[10:12] = b'\0\0'
    auth = sa['algos'].get('auth-trunc') or sa['algos'].get('auth')
    icv_len = auth['bits'] // 8
    zah = ah[:12] + b'\0' * icv_len + ah[12 + icv_len:]
    seq = struct.unpack('>I', ah[8:12])[0]
    hi = esn_hi(sa, seq)
    mac = hmac_digest(auth['name'], auth['key'],
                      bytes(z) + zah + payload + (struct.pack('>I', hi) if hi is not None else b''))
    return hmac.compare_digest(mac[:icv_len], ah[12:12 + icv_len])


# ---- frames -------------------------------------------------------------------------------------------------

def read_pcap_records(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\xd4\xc3\xb2\xa1':
        raise CaptureError('%s: expected a little-endian microsecond pcap (tcpdump -w)' % path)
    if struct.unpack('<I', data[20:24])[0] != 1:
        raise CaptureError('%s: not an Ethernet capture' % path)
    header, off, recs = data[:24], 24, []
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack('<IIII', data[off:off + 16])
        if incl != orig:
            raise CaptureError('%s: frame cut by the snapshot length' % path)
        recs.append((sec, usec, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return header, recs


def write_pcap(path, header, recs):
    with open(path, 'wb') as f:
        f.write(header)
        for sec, usec, fr in recs:
            f.write(struct.pack('<IIII', sec, usec, len(fr), len(fr)) + fr)


IPV6_EXT = (0, 43, 60)


def dissect(fr):
    """Where the IPsec header of a frame is: dict(kind esp|ah|udp-esp, version, ip_off, ip_hdr_len, ipsec_off,
    end, spi, dst, next_proto_before) or dict(kind plain, why)."""
    if len(fr) < 14:
        return {'kind': 'plain'}
    et = struct.unpack('>H', fr[12:14])[0]
    if et == 0x0800:
        ihl = (fr[14] & 0x0F) * 4
        total = struct.unpack('>H', fr[16:18])[0]
        frag = struct.unpack('>H', fr[20:22])[0]
        proto, dst = fr[23], str(ipaddress.IPv4Address(fr[30:34]))
        if frag & 0x3FFF:
            return {'kind': 'fragment'}
        ver, off, end = 4, 14 + ihl, 14 + total
    elif et == 0x86DD:
        proto, dst = fr[20], str(ipaddress.IPv6Address(fr[38:54]))
        ver, off, end = 6, 54, 54 + struct.unpack('>H', fr[18:20])[0]
        while proto in IPV6_EXT:
            proto, off = fr[off], off + (fr[off + 1] + 1) * 8
        if proto == 44:
            return {'kind': 'fragment'}
    else:
        return {'kind': 'plain'}
    base = {'version': ver, 'ip_off': 14, 'l4_off': off, 'end': end, 'dst': dst}
    if proto == 50:
        return dict(base, kind='esp', ipsec_off=off, spi=struct.unpack('>I', fr[off:off + 4])[0])
    if proto == 51:
        return dict(base, kind='ah', ipsec_off=off, spi=struct.unpack('>I', fr[off + 4:off + 8])[0])
    if proto == 17 and struct.unpack('>H', fr[off + 2:off + 4])[0] == 4500:
        body = fr[off + 8:end]
        if len(body) > 8 and body[:4] != b'\0\0\0\0':
            return dict(base, kind='udp-esp', ipsec_off=off + 8, spi=struct.unpack('>I', body[:4])[0])
    return dict(base, kind='plain')


def inner_summary(version, nh, payload, tunnel):
    """A short text for the payload an ESP/AH packet carried (scapy's summary)."""
    try:
        if tunnel:
            p = IP(payload) if payload[:1] and payload[0] >> 4 == 4 else IPv6(payload)
        elif version == 4:
            p = IP(bytes(IP(proto=nh, src='192.0.2.1', dst='192.0.2.2', len=20 + len(payload))) + payload)
        else:
            p = IPv6(bytes(IPv6(nh=nh, src='2001:db8::1', dst='2001:db8::2', plen=len(payload))) + payload)
        s = p.summary() if tunnel else p.payload.summary()
        return s.replace(' / Raw', '').replace(' / Padding', '')
    except Exception:
        return 'protocol %d, %d bytes' % (nh, len(payload))


def plain_summary(fr):
    try:
        s = Ether(fr).summary()
        return s.replace('Ether / ', '').replace(' / Raw', '').replace(' / Padding', '')
    except Exception:
        return 'frame of %d bytes' % len(fr)


# ---- the scenario ----------------------------------------------------------------------------------------------

class Scenario:
    def __init__(self, capture_dir):
        self.dir = capture_dir
        self.name = os.path.basename(os.path.normpath(capture_dir))
        rd = lambda n: open(os.path.join(capture_dir, n)).read()  # noqa: E731
        self.sa_text = rd('sa.xfrm')
        self.after_text = rd('state-after.txt')
        self.before = parse_listing(self.sa_text)
        self.after = parse_listing(self.after_text)
        self.stat_before = read_xfrm_stat(os.path.join(capture_dir, 'xfrm_stat-before.txt'))
        self.stat_after = read_xfrm_stat(os.path.join(capture_dir, 'xfrm_stat-after.txt'))
        self.pcap_header, raw = read_pcap_records(os.path.join(capture_dir, 'frames.pcap'))
        self.n_raw = len(raw)
        self.recs, self.reinjected = self.wire_frames(raw, os.path.join(capture_dir, 'sender-out.pcap'))
        self.expected, self.accounting = [], []

    def wire_frames(self, raw, sender_path):
        """The receiver's capture less the packets the kernel re-injected on vb after tunnel decapsulation.

        The receiver's tap (tcpdump -Q in on vb) sees every tunnel-mode packet twice: as it came off the
        link, and again, decapsulated, when xfrm hands the inner packet back to the stack on the same
        device. A NIC never receives the second. The sender's tap (tcpdump -Q out on va) shows exactly what
        went on the link, so: keep the receiver's frames that the sender sent (in order), and require every
        other one to be the inner packet of a tunnel-mode frame received before it."""
        _, sent = read_pcap_records(sender_path)
        sent = [fr for _, _, fr in sent]
        keep, dropped, j, inners = [], 0, 0, []
        for rec in raw:
            fr = rec[2]
            if j < len(sent) and fr == sent[j]:
                keep.append(rec)
                j += 1
                inners.extend(self.tunnel_inner(fr))
                continue
            ip = fr[14:]
            if ip in inners:
                inners.remove(ip)
                dropped += 1
                continue
            raise CaptureError('receiver frame %d (%d bytes) is neither the next frame the sender sent nor a '
                               'decapsulated tunnel packet' % (len(keep) + dropped + 1, len(fr)))
        if j != len(sent):
            raise CaptureError('the sender sent %d frames, the receiver captured only %d of them' % (len(sent), j))
        return keep, dropped

    def tunnel_inner(self, fr):
        """[inner IP packet] of a tunnel-mode ESP frame whose SA the receiver holds, else []."""
        d = dissect(fr)
        if d['kind'] not in ('esp', 'udp-esp'):
            return []
        sa = self.sa_for('esp', d['spi'], d['dst'])
        if not sa or sa['mode'] != 'tunnel':
            return []
        try:
            pt = esp_open(sa, fr[d['ipsec_off']:d['end']])
        except CaptureError:
            return []
        return [pt[:len(pt) - 2 - pt[-2]]]

    def sa_for(self, proto, spi, dst):
        hits = [s for s in self.before if s['proto'] == proto and s['spi'] == spi and s['dst'] == dst]
        return hits[0] if hits else None

    def check_kernel(self):
        """The kernel accepted every IPsec frame of the capture (else CaptureError)."""
        problems = []
        for k in IN_ERROR_COUNTERS:
            if self.stat_after.get(k, 0) != self.stat_before.get(k, 0):
                problems.append('%s moved from %d to %d' % (k, self.stat_before.get(k, 0), self.stat_after.get(k, 0)))
        counts = {}
        for _, _, fr in self.recs:
            d = dissect(fr)
            if d['kind'] in ('esp', 'ah', 'udp-esp'):
                proto = 'ah' if d['kind'] == 'ah' else 'esp'
                counts[(proto, d['spi'], d['dst'])] = counts.get((proto, d['spi'], d['dst']), 0) + 1
            elif d['kind'] == 'fragment':
                problems.append('an IP fragment in the capture (not expected from this traffic)')
        for key, n in counts.items():
            if not self.sa_for(*key):
                problems.append('%d frames of %s SPI 0x%08x to %s: no SA in sa.xfrm' % (n, key[0], key[1], key[2]))
        for s in self.after:
            key = (s['proto'], s['spi'], s['dst'])
            n = counts.get(key, 0)
            self.accounting.append((s, n))
            if n and s['packets'] != n:
                problems.append('SA %s SPI 0x%08x: %d frames captured, the kernel counted %s packets'
                                % (s['proto'], s['spi'], n, s['packets']))
            if s['stats'] and (s['stats']['replay'] or s['stats']['failed'] or s['stats']['replay_window']):
                problems.append('SA SPI 0x%08x stats: %s' % (s['spi'], s['stats']))
        if problems:
            raise CaptureError('%s: the kernel did not accept the capture as expected:\n  %s'
                               % (self.name, '\n  '.join(problems)))
        return counts

    def frame_expectation(self, n, fr, derived=None):
        d = dissect(fr)
        e = {'frame': n, 'indicated': True, 'next_crypto_done': 0, 'crypto_status': 0, 'sa_delete_req': 0}
        if d['kind'] == 'fragment':
            raise CaptureError('frame %d: fragment' % n)
        if d['kind'] == 'plain':
            e.update(case=plain_summary(fr), crypto_done=0, stack_verdict='not_ipsec')
            return e
        proto = 'ah' if d['kind'] == 'ah' else 'esp'
        sa = self.sa_for(proto, d['spi'], d['dst'])
        nameable, what = ov2_name(sa)
        tunnel = sa['mode'] == 'tunnel'
        algos = what if nameable else '%s (IPsecOV2 cannot name it)' % ' + '.join(
            '%s%s' % (v['name'], ' %d' % v['bits'] if 'bits' in v else '') for v in sa['algos'].values())
        tag = '%s%s %s %s v%d' % ('UDP-' if d['kind'] == 'udp-esp' else '', proto.upper(), algos, sa['mode'],
                                  d['version'])
        e['sa'] = 'spi 0x%08x dst %s' % (sa['spi'], sa['dst'])
        ipsec = fr[d['ipsec_off']:d['end']]
        seq = struct.unpack('>I', ipsec[4:8] if proto == 'esp' else ipsec[8:12])[0]
        # the payload, verified and decrypted here (a check of this script against what the kernel accepted)
        ok, dec, dec_off, nh, pad = True, None, None, None, None
        try:
            if proto == 'esp':
                iv_len, _ = esp_params(sa)
                pt = esp_open(sa, ipsec)
                nh, pad = pt[-1], pt[-2]
                if pad + 2 > len(pt) or pt[len(pt) - 2 - pad:-2] != bytes(range(1, pad + 1)):
                    raise CaptureError('frame %d: ESP trailer not as Linux writes it' % n)
                dec, dec_off = pt[:len(pt) - 2 - pad], d['ipsec_off'] + 8 + iv_len
            else:
                ah_len = (ipsec[1] + 2) * 4
                if d['version'] != 4:
                    raise CaptureError('AH over IPv6 not handled here')
                ok = ah_verify_v4(sa, fr[14:d['l4_off']], ipsec[:ah_len], ipsec[ah_len:])
                if not ok and derived is None:
                    raise CaptureError('frame %d: AH ICV does not verify' % n)
                nh, dec, dec_off = ipsec[0], ipsec[ah_len:], d['ipsec_off'] + ah_len
        except CaptureError as err:
            if derived is None:
                raise CaptureError('frame %d (%s): %s' % (n, tag, err))
            ok = False
        if derived is not None and ok:
            raise CaptureError('frame %d: the corrupted copy still verifies' % n)
        inner = inner_summary(d['version'], nh, dec, tunnel) if dec is not None else '?'
        if derived is not None:
            e['case'] = '%s seq %d: %s (DERIVED: copy of frame %d with %s)' % (tag, seq, 'corrupted', derived[0],
                                                                          derived[1])
            e['note'] = 'not captured: a corrupted copy; the kernel would drop it as a replay before its ICV'
            if nameable:
                status = {('esp', False): 3, ('esp', True): 5, ('ah', False): 2, ('ah', True): 4}[(proto, tunnel)]
                e.update(crypto_done=1, crypto_status=status, stack_verdict='auth_failed')
            else:
                e.update(crypto_done=0, stack_verdict='software_ipsec')
            return e
        e['case'] = '%s seq %d: %s' % (tag, seq, inner)
        if not nameable:
            e.update(crypto_done=0, stack_verdict='software_ipsec', note=what)
            return e
        e.update(crypto_done=1, stack_verdict='accepted', decrypted=dec.hex(), decrypted_offset=dec_off)
        if proto == 'esp':
            e.update(next_header=nh, pad_length=pad)
        return e

    def build(self, n_corrupt=2):
        self.counts = self.check_kernel()
        recs = list(self.recs)
        for i, (_, _, fr) in enumerate(recs, 1):
            self.expected.append(self.frame_expectation(i, fr))
        # derived frames: ICV bit flipped in the first IPsec frame carrying UDP, first byte of the ciphertext
        # (ESP) or payload (AH) flipped in the first ICMP echo
        picks = []
        for kind in ('UDP', 'ICMP'):
            for e in self.expected:
                inner = re.split(r'seq \d+: ', e['case'], 1)[-1]      # what the ESP/AH packet carried
                if 'sa' in e and kind in inner and e['frame'] not in [p[0] for p in picks]:
                    picks.append((e['frame'], kind))
                    break
        sec, usec = recs[-1][0], recs[-1][1]
        for fno, kind in picks[:n_corrupt]:
            fr = bytearray(recs[fno - 1][2])
            d = dissect(bytes(fr))
            if kind == 'UDP':
                fr[d['end'] - 1] ^= 0x01
                how = 'bit 0 of the last ICV byte flipped'
            else:
                proto = 'ah' if d['kind'] == 'ah' else 'esp'
                sa = self.sa_for(proto, d['spi'], d['dst'])
                if proto == 'esp':
                    at = d['ipsec_off'] + 8 + esp_params(sa)[0]
                    how = 'bit 0 of the first ciphertext byte flipped'
                else:
                    at = d['ipsec_off'] + (fr[d['ipsec_off'] + 1] + 2) * 4
                    how = 'bit 0 of the first payload byte after AH flipped'
                fr[at] ^= 0x01
            usec += 1000
            sec, usec = sec + usec // 1000000, usec % 1000000
            recs.append((sec, usec, bytes(fr)))
            self.expected.append(self.frame_expectation(len(recs), bytes(fr), derived=(fno, how)))
        self.out_recs = recs
        self.n_captured = len(self.recs)

    def write(self, out_dir, guest_txt):
        os.makedirs(out_dir, exist_ok=True)
        for stale in ('frames.pcap', 'sa.xfrm', 'sa-after.xfrm', 'expected.jsonl', 'kernel-counters.txt',
                      'README.md'):
            if os.path.exists(os.path.join(out_dir, stale)):
                os.remove(os.path.join(out_dir, stale))
        write_pcap(os.path.join(out_dir, 'frames.pcap'), self.pcap_header, self.out_recs)
        shutil.copyfile(os.path.join(self.dir, 'sa.xfrm'), os.path.join(out_dir, 'sa.xfrm'))
        shutil.copyfile(os.path.join(self.dir, 'state-after.txt'), os.path.join(out_dir, 'sa-after.xfrm'))
        with open(os.path.join(out_dir, 'expected.jsonl'), 'w') as f:
            for e in self.expected:
                f.write(json.dumps(e, sort_keys=False) + '\n')
        with open(os.path.join(out_dir, 'kernel-counters.txt'), 'w') as f:
            f.write(self.counters_text(guest_txt))
        with open(os.path.join(out_dir, 'README.md'), 'w') as f:
            f.write(self.readme(guest_txt))

    def counters_text(self, guest_txt):
        rd = lambda n: open(os.path.join(self.dir, n)).read() if os.path.exists(os.path.join(self.dir, n)) else ''  # noqa
        parts = ['# %s: what the Linux kernel did (receiver = network namespace b, veth vb)\n' % self.name]
        parts.append('## guest\n' + guest_txt)
        parts.append('## capture: %d frames on the receiver\'s tap (tcpdump -Q in on vb); %d of them re-injected by '
                     'the kernel after tunnel decapsulation (not wire frames, left out); %d wire frames, identical '
                     'to what the sender\'s tap (tcpdump -Q out on va) saw leave\n'
                     % (self.n_raw, self.reinjected, len(self.recs)))
        parts.append('## accounting: frames of each SA in frames.pcap (captured part) vs packets the kernel counted')
        for s, n in self.accounting:
            parts.append('%s SPI 0x%08x %s -> %s: captured %d, kernel lifetime current %s packets, stats %s'
                         % (s['proto'], s['spi'], s['src'], s['dst'], n, s['packets'], s['stats']))
        moved = ['%s %d -> %d' % (k, self.stat_before.get(k, 0), v) for k, v in self.stat_after.items()
                 if v != self.stat_before.get(k, 0)]
        parts.append('/proc/net/xfrm_stat counters that moved in namespace b: %s\n' % (', '.join(moved) or 'none'))
        parts.append('## ip -s xfrm state (namespace b, after the traffic)\n' + self.after_text)
        parts.append('## /proc/net/xfrm_stat (namespace b, after the traffic)\n' + rd('xfrm_stat-after.txt'))
        parts.append('## ip -s link show vb (namespace b, after the traffic)\n' + rd('link-after.txt'))
        parts.append('## traffic log (ping in a; helper.py receivers in b, senders in a)\n' + rd('traffic.log'))
        parts.append('## ip xfrm policy\n' + rd('policies.txt'))
        parts.append('## ip xfrm state of the sender (namespace a, before the traffic)\n' + rd('sender-sa.xfrm'))
        return '\n'.join(parts)

    def reinjected_note(self):
        if not self.reinjected:
            return ''
        return (', less the %d packets the kernel re-injected on the veth after tunnel decapsulation (the tap '
                'sees each tunnel packet again, decapsulated; no NIC receives those: checked against the '
                'sender\'s `tcpdump -Q out`, which has exactly the frames kept)' % self.reinjected)

    def readme(self, guest_txt):
        kernel = re.search(r'uname: (.*)', guest_txt)
        ipr = re.search(r'iproute2: (.*)', guest_txt)
        n_der = len(self.out_recs) - self.n_captured
        L = ['# %s' % self.name, '',
             'A capture of IPsec traffic made by a real Linux kernel (Debian\'s stock kernel under QEMU: `%s`; '
             '%s), with expectations derived from what that kernel did, not from ov2sim. Made by '
             '`tb/linux_capture/make_captures.sh`; see docs/linux-capture.md.'
             % (kernel.group(1) if kernel else '?', ipr.group(1) if ipr else 'iproute2'), '',
             '| file | what |', '|---|---|',
             '| `frames.pcap` | frames 1-%d: `tcpdump -Q in` on the receiver\'s veth, byte for byte (timestamps '
             'too)%s; frames %d-%d: DERIVED corrupted copies (below) |'
             % (self.n_captured, self.reinjected_note(), self.n_captured + 1, len(self.out_recs)),
             '| `sa.xfrm` | the receiver\'s `ip xfrm state`, exactly as printed, taken before any traffic |',
             '| `sa-after.xfrm` | the receiver\'s `ip -s xfrm state` after the traffic, exactly as printed (not '
             'used by the test: its anti-replay context has moved past every captured packet) |',
             '| `kernel-counters.txt` | the receiver\'s `ip -s xfrm state` and `/proc/net/xfrm_stat` after the '
             'traffic, the policies, the traffic log |',
             '| `expected.jsonl` | the expected OOB result per frame (`tb/linux_capture/expected_from_kernel.py`) |',
             '', '## SAs the receiver holds', '',
             '| SA | mode | algorithms | IPsecOV2 | frames captured | kernel counted |', '|---|---|---|---|---|---|']
        for s, n in self.accounting:
            ok, what = ov2_name(s)
            algos = ', '.join('%s %s%s' % (k, v['name'], ' %d' % v['bits'] if 'bits' in v else '')
                              for k, v in s['algos'].items())
            extra = (' (ESN, seq_hi %d)' % s['seq_hi'] if 'esn' in s['flags'] else '') + \
                    (' (UDP %d)' % s['encap']['dport'] if s['encap'] else '')
            L.append('| %s SPI 0x%08x %s → %s | %s%s | %s | %s | %d | %s packets, replay %s, failed %s |'
                     % (s['proto'].upper(), s['spi'], s['src'], s['dst'], s['mode'], extra, algos,
                        what if ok else 'cannot name it: ' + what, n, s['packets'],
                        s['stats']['replay'] if s['stats'] else '?', s['stats']['failed'] if s['stats'] else '?'))
        moved = [k for k in IN_ERROR_COUNTERS if self.stat_after.get(k, 0) != self.stat_before.get(k, 0)]
        L += ['', 'Every inbound IPsec frame of the capture was accepted by the kernel: per SA, the packets '
              '`ip -s xfrm state` counted equal the frames captured, its stats show no replay and no integrity '
              'failure, and no `XfrmIn*` error counter of the receiver\'s namespace moved (%s). The '
              'SA listing\'s other entries are the receiver\'s outbound SAs (their frames are not captured).'
              % ('none did' if not moved else 'MOVED: ' + ', '.join(moved)), '']
        outcomes = {}
        for e in self.expected:
            k = (e['crypto_done'], e['crypto_status'], e['stack_verdict'])
            outcomes[k] = outcomes.get(k, 0) + 1
        L += ['## Expected results (%d frames: %d captured, %d derived)' % (len(self.expected), self.n_captured,
                                                                           n_der), '',
              '| crypto_done | crypto_status | stack_verdict | frames |', '|---|---|---|---|']
        for (cd, st, v), c in sorted(outcomes.items()):
            L.append('| %d | %d (%s) | %s | %d |' % (cd, st, STATUS_NAMES[st], v, c))
        L += ['', 'Rules: IPsec frames of an SA IPsecOV2 can name, accepted by the kernel: crypto_done 1, status 0, '
              '`accepted`, with the decrypted payload, next header and pad length (decrypted and ICV-verified '
              'again by expected_from_kernel.py with python3-cryptography); IPsec frames of an SA with an '
              'algorithm IPsecOV2 cannot name: crypto_done 0, `software_ipsec`; ARP, NDP and other plain '
              'frames: crypto_done 0, `not_ipsec`.', '']
        if n_der:
            L += ['**Derived frames** (%d-%d) were never seen by the kernel: they are copies of captured frames '
                  'with one bit flipped, appended 1 ms apart after the capture. Their expectation follows the '
                  'IPsecOV2 rules (a bad ICV: status 3 transport ESP, 5 tunnel ESP, 2 transport AH, 4 tunnel AH, '
                  '`auth_failed`; an SA IPsecOV2 cannot name: unprocessed). The kernel itself would have dropped '
                  'them earlier, in its anti-replay check (their sequence numbers were already received), so '
                  'no kernel counter speaks for them.' % (self.n_captured + 1, len(self.out_recs)), '']
        L += ['## Frames', '', '| frame | case | crypto_done | status | stack_verdict |', '|---|---|---|---|---|']
        for e in self.expected:
            L.append('| %d | %s | %d | %d | %s |' % (e['frame'], e['case'].replace('|', '/'), e['crypto_done'],
                                                      e['crypto_status'], e['stack_verdict']))
        return '\n'.join(L) + '\n'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--capture', required=True, help="one scenario's directory of the guest output")
    ap.add_argument('--guest', help='guest.txt of the guest output (kernel version etc.)')
    ap.add_argument('--out', required=True, help='the scenario directory to write')
    ap.add_argument('--corrupt', type=int, default=2, help='derived corrupted copies to append (0-2)')
    a = ap.parse_args(argv)
    guest_txt = open(a.guest).read() if a.guest and os.path.exists(a.guest) else ''
    try:
        s = Scenario(a.capture)
        s.build(a.corrupt)
    except CaptureError as err:
        print('expected_from_kernel: %s' % err, file=sys.stderr)
        return 1
    s.write(a.out, guest_txt)
    print('%s: %d frames (%d captured, %d derived) -> %s'
          % (s.name, len(s.out_recs), s.n_captured, len(s.out_recs) - s.n_captured, a.out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
