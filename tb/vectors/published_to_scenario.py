#!/usr/bin/python3
"""Turn the published receive vectors (shared/vectors/published/published_vectors.json) into scenarios.

    published_to_scenario.py PUBLISHED_JSON --out DIR

Several published cases share an SPI and destination (most ODP cases use SPI 123 to 192.168.222.2), and
the packets cannot be rewritten (AH ICVs and tunnel headers cover the addresses), so the cases are spread
over several scenarios DIR/g000, DIR/g001, ...: within one scenario no two SAs (and no SA and a packet that
must find none) share an (SPI, destination). The cases of one `sequence_group` go, in order, into one
scenario with one SA whose replay_window comes from the case. DIR/index.json lists every case with its
group and frame; DIR/README.md summarises.

Mapping of expected_status to the OOB data (docs/vectors.md has the reasons):
  ok               crypto_done 1, status 0, stack_verdict accepted
  esp_auth_failed  crypto_done 1, status 3 (transport / unspecified) or 5 (tunnel), auth_failed
  ah_auth_failed   crypto_done 1, status 2 (transport) or 4 (tunnel), auth_failed
  no_sa            crypto_done 0, software_ipsec, the case's SA not installed; for the two ODP lookup cases
                   (SA of the other protocol with the same SPI) a second case `<name>_sa_forced` installs
                   that SA and expects crypto_done 1, status 7 (INVALID_PROTOCOL), invalid_protocol
  dummy_packet     crypto_done 1, status 0, next_header 59, dummy_dropped
  replay           crypto_done 1, status 0, replay
  algorithms IPsecOV2 cannot name (CCM, CTR, ChaCha20-Poly1305, SHA-384/512, XCBC): the SA is installed
  under its name (the driver refuses it), crypto_done 0, software_ipsec.
  SPI 0 (draft-mcgrew case 4 and ODP's copy of it): reserved by RFC 4303, so no SA is installed and the
  packet is expected unprocessed (crypto_done 0, software_ipsec).
"decrypted" is the payload the NIC exposes in place, found by decrypting the packet with ipsec_ref and
checked against expected_inner (tunnel: the inner packet; transport: expected_inner without its IP header;
draft-mcgrew: expected_inner; AH: what follows the AH header).
"""
import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipsec_ref as ref  # noqa: E402
from ipsec_ref import Sa  # noqa: E402
from scenario import Scenario  # noqa: E402

MAC_NIC, MAC_PEER = bytes.fromhex('02005e00000a'), bytes.fromhex('02005e000014')
DRAFT_SRC = '192.0.2.1'   # the IPv4 header put around the bare draft-mcgrew ESP packets
DRAFT_DST = '198.51.100.%d'


class ConversionError(Exception):
    pass


def case_sa(c):
    """The SA a case describes, as an ipsec_ref.Sa."""
    enc, auth = c['enc'], c['auth']
    ek = bytes.fromhex(c.get('enc_key') or '')
    ak = bytes.fromhex(c.get('auth_key') or '')
    salt = bytes.fromhex(c.get('salt') or '')
    mode = c['mode'] if c['mode'] in ('transport', 'tunnel') else 'transport'
    kw = dict(mode=mode, esn=bool(c['esn']), seq_hi=c.get('seq_hi') or 0)
    if c['protocol'] == 'ah':
        a = 'aes-gmac-%d' % (len(ak) * 8) if auth == 'aes-gmac' else auth
        return Sa('ah', c['spi'], auth=a, auth_key=ak, auth_salt=salt if auth == 'aes-gmac' else b'', **kw)
    if enc == 'null-aes-gmac':
        return Sa('esp', c['spi'], enc='null', auth='aes-gmac-%d' % (len(ek) * 8), auth_key=ek, auth_salt=salt, **kw)
    e = {'aes-gcm': 'aes-gcm-%d' % (len(ek) * 8), 'aes-cbc': 'aes-cbc-%d' % (len(ek) * 8)}.get(enc, enc)
    a = 'none' if auth in ('aead', 'null') else auth
    icv = c['icv_len'] if ref.ENCRYPTION[e][0] in ref.AEAD_KINDS else None
    return Sa('esp', c['spi'], enc=e, enc_key=ek, salt=salt, icv_len=icv, auth=a, auth_key=ak, **kw)


def ipv4_wrap(esp, dst, ident):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(esp), ident & 0xFFFF, 0, 64, 50, 0,
                    bytes(map(int, DRAFT_SRC.split('.'))), bytes(map(int, dst.split('.'))))
    return ref.ipv4_fix(h, 20 + len(esp)) + esp


def ip_text(b):
    import ipaddress
    return str(ipaddress.ip_address(bytes(b)))


def locate(packet):
    """(version, header length incl. extension headers, IPsec header offset, protocol 'esp'|'ah', udp, end)."""
    if packet[0] >> 4 == 4:
        hl = (packet[0] & 0xF) * 4
        proto, end = packet[9], struct.unpack('!H', packet[2:4])[0]
        src, dst, version = packet[12:16], packet[16:20], 4
    else:
        hl, proto, _ = ref.ipv6_header_chain(packet)
        end = 40 + struct.unpack('!H', packet[4:6])[0]
        src, dst, version = packet[8:24], packet[24:40], 6
    udp = proto == 17
    off = hl + (8 if udp else 0)
    kind = 'esp' if proto in (50, 17) else 'ah' if proto == 51 else None
    return {'version': version, 'hl': hl, 'off': off, 'kind': kind, 'udp': udp, 'end': end,
            'src': ip_text(src), 'dst': ip_text(dst)}


def packet_spi(packet, loc):
    o = loc['off'] + (4 if loc['kind'] == 'ah' else 0)
    return struct.unpack('!I', packet[o:o + 4])[0]


def build_case(c, index):
    """Everything about one case except its group: frame, SA (or None), expected fields, keys."""
    name = c['name']
    p = bytes.fromhex(c['packet'])
    if c['packet_starts_at'] == 'esp':
        dst = DRAFT_DST % (index + 1)
        p = ipv4_wrap(p, dst, index + 1)
    loc = locate(p)
    frame = None
    if c.get('frame'):
        fr = bytes.fromhex(c['frame'])
        if fr[14:14 + len(p)] == p:
            frame = fr
    if frame is None:
        frame = MAC_NIC + MAC_PEER + (b'\x08\x00' if loc['version'] == 4 else b'\x86\xdd') + p
    frame += b'\x00' * max(0, 60 - len(frame))
    sa = case_sa(c)
    status = c['expected_status']
    exp = {'case': name}
    offloadable = sa.offloadable()
    l3 = 14
    # what the NIC must expose: decrypt / verify with the reference
    dec = dec_off = nh = pad = None
    if loc['kind'] == ('esp' if sa.operation == 'esp' else 'ah') and status in ('ok', 'replay', 'dummy_packet'):
        if sa.operation == 'esp':
            r = ref.esp_unprotect(sa, p[loc['off']:loc['end']])
            if not r['ok']:
                raise ConversionError('%s: ICV does not verify' % name)
            dec_off = l3 + loc['off'] + 8 + sa.iv_len
            inner = bytes.fromhex(c['expected_inner']) if c.get('expected_inner') else None
            if c.get('draft_trailer_missing'):
                if not r['plaintext'].startswith(inner):
                    raise ConversionError('%s: expected_inner is not a prefix of the plaintext' % name)
                dec = inner
            else:
                if not r['syntax_ok']:
                    raise ConversionError('%s: bad ESP trailer' % name)
                dec = r['payload']
                nh, pad = r['next_header'], r['pad_len']
                if inner is not None and not (inner == dec or (sa.mode == 'transport' and inner.endswith(dec))):
                    raise ConversionError('%s: decrypted payload does not match expected_inner' % name)
        else:
            if not ref.ah_verify(sa, p[:loc['end']], loc['off']):
                raise ConversionError('%s: AH ICV does not verify' % name)
            ah_len = (p[loc['off'] + 1] + 2) * 4
            dec_off = l3 + loc['off'] + ah_len
            dec = p[loc['off'] + ah_len:loc['end']]
            inner = bytes.fromhex(c['expected_inner']) if c.get('expected_inner') else None
            if inner is not None and not inner.endswith(dec):
                raise ConversionError('%s: AH payload does not match expected_inner' % name)
        if dec is not None and len(dec) == 0:
            dec = dec_off = None
    tunnel = sa.mode == 'tunnel'
    if not offloadable:
        exp.update(crypto_done=0, crypto_status=0, stack_verdict='software_ipsec')
        dec = dec_off = nh = pad = None
    elif status == 'ok':
        exp.update(crypto_done=1, crypto_status=0, stack_verdict='accepted')
    elif status == 'replay':
        exp.update(crypto_done=1, crypto_status=0, stack_verdict='replay')
    elif status == 'dummy_packet':
        exp.update(crypto_done=1, crypto_status=0, stack_verdict='dummy_dropped')
    elif status == 'esp_auth_failed':
        exp.update(crypto_done=1, crypto_status=5 if tunnel else 3, stack_verdict='auth_failed')
    elif status == 'ah_auth_failed':
        exp.update(crypto_done=1, crypto_status=4 if tunnel else 2, stack_verdict='auth_failed')
    elif status == 'no_sa':
        exp.update(crypto_done=0, crypto_status=0, stack_verdict='software_ipsec')
    else:
        raise ConversionError('%s: unknown expected_status %r' % (name, status))
    if dec is not None:
        exp.update(decrypted=dec, decrypted_offset=dec_off)
    if nh is not None:
        exp.update(next_header=nh, pad_length=pad)
    if c.get('draft_trailer_missing'):
        exp['trailer_missing'] = True
    install = status != 'no_sa'
    if sa.spi == 0:
        # SPI 0 is reserved (RFC 4303 2.1): no SA can carry it, so the packet finds none (draft case 4)
        install = False
        exp = {'case': name, 'crypto_done': 0, 'crypto_status': 0, 'stack_verdict': 'software_ipsec',
               'note': 'SPI 0 is reserved (RFC 4303 section 2.1): no SA installed, the packet finds none'}
    key = (packet_spi(p, loc), loc['dst'])
    return {'case': c, 'name': name, 'frame': frame, 'sa': sa, 'install': install, 'exp': exp, 'loc': loc,
            'key': key, 'sa_key': (sa.spi, loc['dst'])}


def forced_variant(b):
    """The ODP lookup negative with the other-protocol SA installed: INVALID_PROTOCOL."""
    v = dict(b)
    v['name'] = b['name'] + '_sa_forced'
    v['install'] = True
    v['exp'] = {'case': v['name'], 'crypto_done': 1, 'crypto_status': 7, 'stack_verdict': 'invalid_protocol'}
    return v


class Group:
    def __init__(self, index):
        self.index = index
        self.keys = set()
        self.items = []


def convert(path, out_dir):
    with open(path) as f:
        data = json.load(f)
    built = []
    for i, c in enumerate(data['cases']):
        b = build_case(c, i)
        built.append(b)
        if c['expected_status'] == 'no_sa' and b['loc']['kind'] != c['protocol']:
            built.append(forced_variant(b))
    # sequence groups: one unit each, in sequence_index order; every other case is a unit of its own
    units, seen = [], {}
    for b in built:
        sg = b['case'].get('sequence_group')
        if sg:
            if sg not in seen:
                seen[sg] = []
                units.append(seen[sg])
            seen[sg].append(b)
        else:
            units.append([b])
    for u in units:
        u.sort(key=lambda b: b['case'].get('sequence_index') or 0)
    groups = []
    for u in units:
        keys = {b['key'] for b in u} | {b['sa_key'] for b in u if b['install']}
        g = next((g for g in groups if not (g.keys & keys)), None)
        if g is None:
            g = Group(len(groups))
            groups.append(g)
        g.keys |= keys
        g.items.append(u)
    index = []
    os.makedirs(out_dir, exist_ok=True)
    for g in groups:
        s = Scenario('published/g%03d' % g.index,
                     'Published receive vectors (shared/vectors/published), group %d of %d: cases that can share '
                     'one SA table.' % (g.index + 1, len(groups)))
        for u in g.items:
            first = u[0]
            sa_name = None
            if any(b['install'] for b in u):
                c = first['case']
                loc = first['loc']
                encap = 'none'
                if loc['udp']:
                    encap = 'tunnel' if first['sa'].mode == 'tunnel' else 'transport'
                sa_name = first['name'] if not c.get('sequence_group') else c['sequence_group']
                s.add_sa(sa_name, [first['sa']], src=loc['src'], dst=loc['dst'], udp_esp_encapsulation=encap,
                         replay_window=c.get('replay_window', 64) if c.get('sequence_group') else 64)
            for b in u:
                e = dict(b['exp'])
                n = s.add_frame(b['frame'], e.pop('case'), sa=sa_name if b['install'] else None,
                                source=b['case']['source'][:120], **e)
                index.append({'case': b['name'], 'group': 'g%03d' % g.index, 'frame': n,
                              'expected_status': b['case']['expected_status']})
        s.write(os.path.join(out_dir, 'g%03d' % g.index))
    with open(os.path.join(out_dir, 'index.json'), 'w') as f:
        json.dump({'source': 'shared/vectors/published/' + os.path.basename(path), 'groups': len(groups),
                   'cases': index}, f, indent=1)
        f.write('\n')
    with open(os.path.join(out_dir, 'README.md'), 'w') as f:
        f.write('# Published vectors as ov2sim scenarios\n\nGenerated by tb/vectors/published_to_scenario.py from '
                '`%s`: %d frames (%d published cases plus %d `_sa_forced` variants) in %d scenarios g000..g%03d. '
                'index.json maps each case to its scenario and frame.\n' % (
                    os.path.basename(path), len(index), len(data['cases']), len(index) - len(data['cases']),
                    len(groups), len(groups) - 1))
    return groups, index


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('published_json')
    ap.add_argument('--out', required=True)
    a = ap.parse_args(argv)
    groups, index = convert(a.published_json, a.out)
    print('%d cases -> %d scenarios in %s' % (len(index), len(groups), a.out))


if __name__ == '__main__':
    main()
