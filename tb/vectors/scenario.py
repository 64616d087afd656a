#!/usr/bin/python3
"""A scenario directory for ov2sim: frames.pcap + sa.json + expected.jsonl (+ README.md).

Formats (docs/vectors.md has the long form):
  frames.pcap     classic pcap, LINKTYPE_ETHERNET, microsecond timestamps 1 us apart (deterministic)
  sa.json         {"sas": [...]} in the SA file format of docs/sa-formats.md
  expected.jsonl  one JSON object per frame, in pcap order, for check_oob.py
Only the standard library is used here.
"""
import json
import os

from ipsec_ref import AUTHENTICATION, ENCRYPTION
from pcap_file import write_pcap

def spi_text(spi):
    return '0x%08x' % spi


def sec_assoc_json(sa):
    """One sec_assoc entry of sa.json from an ipsec_ref.Sa."""
    d = {'operation': sa.operation, 'spi': spi_text(sa.spi), 'mode': sa.mode,
         'esn': bool(sa.esn), 'seq_hi': sa.seq_hi}
    if sa.operation == 'esp':
        kind = ENCRYPTION[sa.enc][0]
        enc = {'algorithm': sa.enc}
        if sa.enc != 'null':
            enc['key'] = sa.enc_key.hex()
        if kind in ('gcm', 'ccm', 'chacha', 'ctr'):
            enc['salt'] = sa.salt.hex()
        if kind in ('gcm', 'ccm', 'chacha'):
            enc['icv_len'] = sa.icv_len
        d['encryption'] = enc
        if kind not in ('gcm', 'ccm', 'chacha'):
            d['authentication'] = auth_json(sa)
    else:
        d['authentication'] = auth_json(sa)
    return d


def auth_json(sa):
    a = {'algorithm': sa.auth}
    if sa.auth != 'none':
        a['key'] = sa.auth_key.hex()
    if AUTHENTICATION[sa.auth][0] == 'gmac':
        a['salt'] = sa.auth_salt.hex()
        a['icv_len'] = sa.icv_len
    return a


def addr_version(a):
    return 6 if ':' in a else 4


WILDCARDS = (None, '', '0.0.0.0', '::')


class Scenario:
    def __init__(self, name, description=''):
        self.name = name
        self.description = description
        self.sas = []          # sa.json entries
        self.frames = []       # bytes
        self.expected = []     # dicts
        self._keys = {}        # (spi, dst) of inbound entries -> SA name

    # ---- SAs ----
    def add_sa(self, name, sec_assoc, src=None, dst=None, ip_version=None, direction='inbound',
               udp_esp_encapsulation='none', replay_window=64, replay_seq=0, pair=None, delete_policy=None):
        """sec_assoc: list of ipsec_ref.Sa in NDIS order (ESP first, then AH). Refuses an inbound entry whose
        (SPI, destination) is already taken in this scenario, so that every packet has exactly one SA."""
        assert name not in (s['name'] for s in self.sas), name
        assert 1 <= len(sec_assoc) <= 2
        if direction == 'inbound':
            for sa in sec_assoc:
                key = (sa.spi, dst if dst not in WILDCARDS else '*')
                assert key not in self._keys, 'SA key collision %r: %s and %s' % (key, self._keys[key], name)
                self._keys[key] = name
        e = {'name': name, 'direction': direction}
        if src not in WILDCARDS:
            e['src'] = src
        if dst not in WILDCARDS:
            e['dst'] = dst
        if 'src' not in e and 'dst' not in e:
            e['ip_version'] = ip_version or 4
        e['udp_esp_encapsulation'] = udp_esp_encapsulation
        e['replay_window'] = replay_window
        e['replay_seq'] = replay_seq
        if pair:
            e['pair'] = pair
        if delete_policy:
            dp = {'packet_lifetime': 0, 'byte_lifetime': 0, 'seq_wrap_margin': 256}
            dp.update(delete_policy)
            e['delete_policy'] = dp
        e['sec_assoc'] = [sec_assoc_json(sa) for sa in sec_assoc]
        self.sas.append(e)
        return name

    def has_key(self, spi, dst):
        return (spi, dst) in self._keys or (spi, '*') in self._keys

    # ---- frames ----
    def add_frame(self, frame, case, crypto_done=0, crypto_status=0, stack_verdict='not_ipsec',
                  next_crypto_done=0, **extra):
        """extra: decrypted (bytes), decrypted_offset, next_header, pad_length, sa_delete_req,
        trailer_missing, sa (informational), source (informational)."""
        exp = {'frame': len(self.frames) + 1, 'case': case, 'indicated': True,
               'crypto_done': crypto_done, 'next_crypto_done': next_crypto_done,
               'crypto_status': crypto_status, 'stack_verdict': stack_verdict}
        for k, v in extra.items():
            if v is None:
                continue
            if k == 'decrypted':
                v = bytes(v).hex()
            exp[k] = v
        if 'decrypted' in exp:
            assert 'decrypted_offset' in exp
            off = exp['decrypted_offset']
            assert off + len(exp['decrypted']) // 2 <= len(frame), (case, off, len(frame))
        self.frames.append(bytes(frame))
        self.expected.append(exp)
        return exp['frame']

    # ---- output ----
    def write(self, out_dir, readme_extra=''):
        os.makedirs(out_dir, exist_ok=True)
        write_pcap(os.path.join(out_dir, 'frames.pcap'), self.frames)
        with open(os.path.join(out_dir, 'sa.json'), 'w') as f:
            json.dump({'sas': self.sas}, f, indent=1)
            f.write('\n')
        with open(os.path.join(out_dir, 'expected.jsonl'), 'w') as f:
            for e in self.expected:
                f.write(json.dumps(e, separators=(',', ':')) + '\n')
        with open(os.path.join(out_dir, 'README.md'), 'w') as f:
            f.write(self.readme(readme_extra))

    def summary(self):
        from collections import Counter
        c = Counter()
        for e in self.expected:
            if not e['crypto_done']:
                c['crypto_done 0 (%s)' % e['stack_verdict']] += 1
            else:
                c['crypto_done 1, status %d%s (%s)' % (e['crypto_status'],
                                                      ', next_crypto_done 1' if e['next_crypto_done'] else '',
                                                      e['stack_verdict'])] += 1
        return c

    def readme(self, extra=''):
        lines = ['# Scenario `%s`' % self.name, '', self.description, '',
                 '%d frames, %d SA entries. Files: `frames.pcap` (input), `sa.json` (SAs to install), '
                 '`expected.jsonl` (one line per frame; compare with `tb/vectors/check_oob.py`). '
                 'Generated by tb/vectors (see docs/vectors.md); do not edit by hand.' % (
                     len(self.frames), len(self.sas)), '',
                 '| expected outcome | frames |', '|---|---|']
        for k, v in sorted(self.summary().items()):
            lines.append('| %s | %d |' % (k, v))
        if extra:
            lines += ['', extra]
        return '\n'.join(lines) + '\n'
