#!/usr/bin/python3
"""Independent ESP/AH reference for the ov2sim test vectors (RFC 4302, 4303, 4106, 4543, 3948).

Everything here works on bytes and uses only the standard library (hmac, hashlib) and the
`cryptography` package that Debian's scapy itself uses. It shares no code with the C++ model.
Scapy's own SecurityAssociation is used elsewhere (selftest.py) as a second opinion, not here, because
scapy 2.5 cannot produce several of the packets we need (see docs/vectors.md, "scapy workarounds"):
  - GCM ICVs of 8 or 12 bytes (its AESGCM path always emits/expects 16),
  - an AH ICV over an AH|ESP bundle (its AuthAlgo.sign takes the ESP branch and leaves AH's ICV zero),
  - the UDP length of NAT-T (it writes 8),
  - the ESN high bits in non-AEAD ESP ICVs (it leaves them out),
  - AES-GMAC (ESP ENCR_NULL_AUTH_AES_GMAC and AH-GMAC are not implemented).
"""
import hashlib
import hmac
import math
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, ChaCha20Poly1305

# ---- algorithm tables ----------------------------------------------------------------------------------

# name -> (kind, key bytes, iv bytes, block bytes, salt bytes)
ENCRYPTION = {
    'null': ('null', 0, 0, 1, 0),
    'des-cbc': ('cbc-des', 8, 8, 8, 0),
    '3des-cbc': ('cbc-des', 24, 8, 8, 0),
    'aes-cbc-128': ('cbc-aes', 16, 16, 16, 0),
    'aes-cbc-192': ('cbc-aes', 24, 16, 16, 0),
    'aes-cbc-256': ('cbc-aes', 32, 16, 16, 0),
    'aes-gcm-128': ('gcm', 16, 8, 1, 4),
    'aes-gcm-192': ('gcm', 24, 8, 1, 4),
    'aes-gcm-256': ('gcm', 32, 8, 1, 4),
    # names IPsecOV2 cannot express (the driver refuses such SAs); key length taken from the key
    'aes-ctr': ('ctr', None, 8, 1, 4),
    'aes-ccm': ('ccm', None, 8, 1, 3),
    'chacha20-poly1305': ('chacha', 32, 8, 1, 4),
}
AEAD_KINDS = ('gcm', 'ccm', 'chacha')

# name -> (kind, hash constructor or key bytes, icv bytes)
AUTHENTICATION = {
    'none': ('none', None, 0),
    'hmac-md5-96': ('hmac', hashlib.md5, 12),
    'hmac-sha1-96': ('hmac', hashlib.sha1, 12),
    'hmac-sha256-128': ('hmac', hashlib.sha256, 16),
    'hmac-sha384-192': ('hmac', hashlib.sha384, 24),
    'hmac-sha512-256': ('hmac', hashlib.sha512, 32),
    'aes-gmac-128': ('gmac', 16, 16),
    'aes-gmac-192': ('gmac', 24, 16),
    'aes-gmac-256': ('gmac', 32, 16),
    'aes-xcbc-mac-96': ('xcbc', 16, 12),
}
# what IPsecOV2 can name (spec 2.5); everything else is refused by a faithful driver
OV2_ENCRYPTION = {'null', 'des-cbc', '3des-cbc', 'aes-gcm-128', 'aes-gcm-192', 'aes-gcm-256',
                  'aes-cbc-128', 'aes-cbc-192', 'aes-cbc-256'}
OV2_AUTHENTICATION = {'none', 'hmac-md5-96', 'hmac-sha1-96', 'hmac-sha256-128',
                      'aes-gmac-128', 'aes-gmac-192', 'aes-gmac-256'}

IPPROTO_HOPOPTS, IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6 = 0, 4, 6, 17, 41
IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_ESP, IPPROTO_AH = 43, 44, 50, 51
IPPROTO_ICMPV6, IPPROTO_NONE, IPPROTO_DSTOPTS, IPPROTO_ICMP = 58, 59, 60, 1
IPV6_EXT = (IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS)
# IPv4 options AH keeps in the ICV (RFC 4302 App. A, Linux ip_clear_mutable_options): all others zeroed
IPV4_IMMUTABLE_OPTIONS = (0, 1, 130, 133, 134, 148, 149)


class Sa:
    """One IPsec transform as the receiver knows it (one sec_assoc entry of sa.json)."""

    def __init__(self, operation, spi, mode='transport', enc='null', enc_key=b'', salt=b'',
                 icv_len=None, auth='none', auth_key=b'', auth_salt=b'', esn=False, seq_hi=0):
        assert operation in ('esp', 'ah')
        self.operation = operation
        self.spi = spi
        self.mode = mode
        self.enc = enc if operation == 'esp' else None
        self.enc_key = bytes(enc_key)
        self.salt = bytes(salt)
        self.auth = auth
        self.auth_key = bytes(auth_key)
        self.auth_salt = bytes(auth_salt)
        self.esn = esn
        self.seq_hi = seq_hi if esn else 0
        if operation == 'esp':
            kind = ENCRYPTION[enc][0]
            if kind in AEAD_KINDS:
                self.icv_len = icv_len or 16
            else:
                self.icv_len = AUTHENTICATION[auth][2]
        else:
            self.icv_len = AUTHENTICATION[auth][2]

    # ESP geometry
    @property
    def enc_kind(self):
        return ENCRYPTION[self.enc][0]

    @property
    def iv_len(self):
        if self.operation == 'ah':
            return 8 if AUTHENTICATION[self.auth][0] == 'gmac' else 0
        if self.enc == 'null' and AUTHENTICATION[self.auth][0] == 'gmac':
            return 8  # ENCR_NULL_AUTH_AES_GMAC carries an 8-byte IV (RFC 4543)
        return ENCRYPTION[self.enc][2]

    @property
    def align(self):
        block = 1 if self.operation == 'ah' else ENCRYPTION[self.enc][3]
        return block * 4 // math.gcd(block, 4)

    def offloadable(self):
        if self.operation == 'esp' and self.enc not in OV2_ENCRYPTION:
            return False
        return self.auth in OV2_AUTHENTICATION


# ---- primitives ----------------------------------------------------------------------------------------

def _gcm_encrypt(key, nonce, plaintext, aad):
    e = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    e.authenticate_additional_data(aad)
    ct = e.update(plaintext) + e.finalize()
    return ct, e.tag


def _gcm_decrypt(key, nonce, ciphertext, aad, tag):
    """Returns plaintext or None when the (possibly truncated) tag does not verify."""
    try:
        d = Cipher(algorithms.AES(key), modes.GCM(nonce, tag, min_tag_length=min(len(tag), 16))).decryptor()
        d.authenticate_additional_data(aad)
        return d.update(ciphertext) + d.finalize()
    except Exception:  # InvalidTag or a tag shorter than 4 bytes
        return None


def _gcm_keystream_decrypt(key, nonce, ciphertext):
    """GCM's CTR part alone (counter starts at 2): plaintext whatever the tag says."""
    ctr0 = nonce + b'\x00\x00\x00\x02'
    d = Cipher(algorithms.AES(key), modes.CTR(ctr0)).decryptor()
    return d.update(ciphertext) + d.finalize()


def _des_key(key):
    return algorithms.TripleDES(key)  # an 8-byte key is single DES (K1=K2=K3)


def _block_cipher(kind, key, iv):
    if kind == 'cbc-aes':
        return Cipher(algorithms.AES(key), modes.CBC(iv))
    if kind == 'cbc-des':
        return Cipher(_des_key(key), modes.CBC(iv))
    raise ValueError(kind)


def _ctr_cipher(key, salt, iv):
    return Cipher(algorithms.AES(key), modes.CTR(salt + iv + b'\x00\x00\x00\x01'))


def aes_xcbc_mac(key, data):
    """RFC 3566 AES-XCBC-MAC (full 16 bytes)."""
    ecb = lambda k, b: Cipher(algorithms.AES(k), modes.ECB()).encryptor().update(b)
    k1, k2, k3 = ecb(key, b'\x01' * 16), ecb(key, b'\x02' * 16), ecb(key, b'\x03' * 16)
    blocks = [data[i:i + 16] for i in range(0, len(data), 16)] or [b'']
    e = b'\x00' * 16
    for b in blocks[:-1]:
        e = ecb(k1, bytes(x ^ y for x, y in zip(e, b)))
    last = blocks[-1]
    if len(last) == 16:
        last = bytes(x ^ y for x, y in zip(last, k2))
    else:
        last = last + b'\x80' + b'\x00' * (15 - len(last))
        last = bytes(x ^ y for x, y in zip(last, k3))
    return ecb(k1, bytes(x ^ y for x, y in zip(e, last)))


def mac(auth, key, data, salt=b'', iv=b''):
    kind, h, icv = AUTHENTICATION[auth]
    if kind == 'none':
        return b''
    if kind == 'hmac':
        return hmac.new(key, data, h).digest()[:icv]
    if kind == 'gmac':
        _, tag = _gcm_encrypt(key, salt + iv, b'', data)
        return tag[:icv]
    if kind == 'xcbc':
        return aes_xcbc_mac(key, data)[:icv]
    raise ValueError(auth)


def default_padding(n):
    return bytes(range(1, n + 1))


def esp_aad(sa, seq):
    if sa.esn:
        return struct.pack('!III', sa.spi, sa.seq_hi, seq)
    return struct.pack('!II', sa.spi, seq)


# ---- ESP -----------------------------------------------------------------------------------------------

class EspResult:
    """An ESP packet (SPI .. ICV) and where its parts sit."""

    def __init__(self, wire, iv_len, plaintext, payload_len, icv_len):
        self.wire = wire                  # bytes from SPI to the end of the ICV
        self.ct_offset = 8 + iv_len       # where the (cipher)text starts inside `wire`
        self.plaintext = plaintext        # payload + padding + pad length + next header
        self.payload_len = payload_len
        self.icv_len = icv_len


def esp_protect(sa, seq, payload, next_header, iv, pad_len=None, padding=None, pad_len_field=None,
                next_header_field=None, esn_in_icv=True, min_pad=0, pad_fn=None):
    """Build an ESP packet. The optional arguments make malformed trailers on purpose:
    pad_len: number of padding bytes (default: the minimum that aligns the payload, and at least min_pad);
    padding: the padding bytes themselves (default 1, 2, 3, ...), or pad_fn(pad_len) when given;
    pad_len_field: the value written in the Pad Length byte (default len(padding)), or a function of the
      number of bytes in front of the trailer;
    esn_in_icv=False: leave the ESN high bits out of a non-AEAD ICV (the scapy bug, for negatives)."""
    assert sa.operation == 'esp'
    iv = bytes(iv)
    assert len(iv) == sa.iv_len, (len(iv), sa.iv_len)
    if pad_len is None:
        pad_len = -(len(payload) + 2) % sa.align
        while pad_len < min_pad:
            pad_len += sa.align
    if padding is None:
        padding = pad_fn(pad_len) if pad_fn else default_padding(pad_len)
    if callable(pad_len_field):  # a function of the number of bytes before the trailer
        pad_len_field = pad_len_field(len(payload) + len(padding))
    plaintext = bytes(payload) + bytes(padding) + bytes([
        len(padding) if pad_len_field is None else pad_len_field,
        next_header if next_header_field is None else next_header_field])
    hdr = struct.pack('!II', sa.spi, seq)
    kind = sa.enc_kind
    auth_kind = AUTHENTICATION[sa.auth][0]
    if kind == 'gcm':
        ct, tag = _gcm_encrypt(sa.enc_key, sa.salt + iv, plaintext, esp_aad(sa, seq))
        return EspResult(hdr + iv + ct + tag[:sa.icv_len], len(iv), plaintext, len(payload), sa.icv_len)
    if kind == 'ccm':
        out = AESCCM(sa.enc_key, tag_length=sa.icv_len).encrypt(sa.salt + iv, plaintext, esp_aad(sa, seq))
        return EspResult(hdr + iv + out, len(iv), plaintext, len(payload), sa.icv_len)
    if kind == 'chacha':
        out = ChaCha20Poly1305(sa.enc_key).encrypt(sa.salt + iv, plaintext, esp_aad(sa, seq))
        return EspResult(hdr + iv + out, len(iv), plaintext, len(payload), sa.icv_len)
    if kind == 'null':
        ct = plaintext
    elif kind == 'ctr':
        e = _ctr_cipher(sa.enc_key, sa.salt, iv).encryptor()
        ct = e.update(plaintext) + e.finalize()
    else:
        e = _block_cipher(kind, sa.enc_key, iv).encryptor()
        ct = e.update(plaintext) + e.finalize()
    if auth_kind == 'gmac':
        # ENCR_NULL_AUTH_AES_GMAC (RFC 4543 3.1): AAD = SPI | [seq_hi] | seq | IV | payload, no plaintext
        icv = mac(sa.auth, sa.auth_key, esp_aad(sa, seq) + iv + ct, sa.auth_salt, iv)
    else:
        signed = hdr + iv + ct
        if sa.esn and esn_in_icv:
            signed += struct.pack('!I', sa.seq_hi)  # RFC 4303 2.2.1: high bits after the trailer
        icv = mac(sa.auth, sa.auth_key, signed)
    return EspResult(hdr + iv + ct + icv, len(iv), plaintext, len(payload), len(icv))


def esp_unprotect(sa, esp):
    """Check and decrypt ESP bytes (SPI .. ICV, nothing after). Returns a dict:
    ok (ICV good), plaintext (full, with trailer, or None), payload, pad_len, next_header, syntax_ok."""
    esp = bytes(esp)
    spi, seq = struct.unpack('!II', esp[:8])
    iv = esp[8:8 + sa.iv_len]
    body = esp[8 + sa.iv_len:len(esp) - sa.icv_len]
    icv = esp[len(esp) - sa.icv_len:] if sa.icv_len else b''
    res = {'ok': False, 'plaintext': None, 'payload': None, 'pad_len': None, 'next_header': None,
           'syntax_ok': False}
    if len(esp) < 8 + sa.iv_len + sa.icv_len + 2:
        return res
    kind = sa.enc_kind
    if kind == 'gcm':
        pt = _gcm_decrypt(sa.enc_key, sa.salt + iv, body, esp_aad(sa, seq), icv)
        res['ok'] = pt is not None
    elif kind == 'ccm':
        try:
            pt = AESCCM(sa.enc_key, tag_length=sa.icv_len).decrypt(sa.salt + iv, body + icv, esp_aad(sa, seq))
            res['ok'] = True
        except Exception:
            pt = None
    elif kind == 'chacha':
        try:
            pt = ChaCha20Poly1305(sa.enc_key).decrypt(sa.salt + iv, body + icv, esp_aad(sa, seq))
            res['ok'] = True
        except Exception:
            pt = None
    else:
        if AUTHENTICATION[sa.auth][0] == 'gmac':
            want = mac(sa.auth, sa.auth_key, esp_aad(sa, seq) + iv + body, sa.auth_salt, iv)
        else:
            signed = esp[:8 + sa.iv_len] + body
            if sa.esn:
                signed += struct.pack('!I', sa.seq_hi)
            want = mac(sa.auth, sa.auth_key, signed)
        res['ok'] = hmac.compare_digest(want, icv)
        if kind == 'null':
            pt = body
        elif kind == 'ctr':
            d = _ctr_cipher(sa.enc_key, sa.salt, iv).decryptor()
            pt = d.update(body) + d.finalize()
        else:
            block = ENCRYPTION[sa.enc][3]
            if len(body) % block:
                return res
            d = _block_cipher(kind, sa.enc_key, iv).decryptor()
            pt = d.update(body) + d.finalize()
    if pt is None:
        return res
    res['plaintext'] = pt
    pad_len, nh = pt[-2], pt[-1]
    res['pad_len'], res['next_header'] = pad_len, nh
    if pad_len + 2 <= len(pt) and pt[len(pt) - 2 - pad_len:len(pt) - 2] == default_padding(pad_len):
        res['syntax_ok'] = True
        res['payload'] = pt[:len(pt) - 2 - pad_len]
    return res


# ---- IP headers ----------------------------------------------------------------------------------------

def ip_checksum(data):
    if len(data) % 2:
        data += b'\x00'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_fix(header, total_len, proto=None):
    """Set total length, protocol (optional) and checksum of an IPv4 header (bytes with options)."""
    h = bytearray(header)
    struct.pack_into('!H', h, 2, total_len)
    if proto is not None:
        h[9] = proto
    h[10:12] = b'\x00\x00'
    struct.pack_into('!H', h, 10, ip_checksum(bytes(h)))
    return bytes(h)


def ipv6_header_chain(packet):
    """Walk an IPv6 packet's HBH/Routing/DstOpt headers. Returns (offset of the first header after them,
    that header's protocol number, offset of the next-header byte that names it)."""
    nh, off, nh_off = packet[6], 40, 6
    while nh in IPV6_EXT:
        nh_off = off
        nxt, hlen = packet[off], (packet[off + 1] + 1) * 8
        nh, off = nxt, off + hlen
    return off, nh, nh_off


def ah_zero_mutable(packet, ah_offset):
    """A copy of the IP packet (bytes) with the fields AH does not protect set to zero (RFC 4302 3.3.3.1):
    IPv4 TOS, flags+fragment offset, TTL, checksum and mutable options; IPv6 traffic class, flow label,
    hop limit and the data of HBH/DstOpt options with the change-en-route bit (0x20). The ICV is not
    touched here (the caller zeroes it). Routing headers and source-route options are not supported."""
    p = bytearray(packet)
    if p[0] >> 4 == 4:
        ihl = (p[0] & 0xF) * 4
        p[1] = 0
        p[6:8] = b'\x00\x00'
        p[8] = 0
        p[10:12] = b'\x00\x00'
        i = 20
        while i < ihl:
            t = p[i]
            if t == 0:
                break
            if t == 1:
                i += 1
                continue
            ln = p[i + 1]
            assert t not in (131, 137), 'LSRR/SSRR not supported'
            if t not in IPV4_IMMUTABLE_OPTIONS:
                p[i:i + ln] = b'\x00' * ln
            i += ln
    else:
        p[0] &= 0xF0
        p[1:4] = b'\x00\x00\x00'
        p[7] = 0
        nh, off = p[6], 40
        while off < ah_offset:
            assert nh in (IPPROTO_HOPOPTS, IPPROTO_DSTOPTS), 'only HBH/DstOpt before AH are supported'
            nxt, hlen = p[off], (p[off + 1] + 1) * 8
            i = off + 2
            while i < off + hlen:
                t = p[i]
                if t == 0:  # Pad1
                    i += 1
                    continue
                ln = p[i + 1]
                if t & 0x20:
                    p[i + 2:i + 2 + ln] = b'\x00' * ln
                i += 2 + ln
            nh, off = nxt, off + hlen
    return bytes(p)


def ah_length(sa, ip_version):
    n = 12 + sa.iv_len + sa.icv_len
    return n + (-n % (8 if ip_version == 6 else 4))


def ah_icv(sa, packet, ah_offset, esn_in_icv=True):
    """The ICV of the AH at ah_offset in the IP packet (its ICV field is ignored)."""
    ah_len = (packet[ah_offset + 1] + 2) * 4
    z = bytearray(ah_zero_mutable(packet, ah_offset))
    icv_off = ah_offset + 12 + sa.iv_len
    z[icv_off:ah_offset + ah_len] = b'\x00' * (ah_offset + ah_len - icv_off)
    data = bytes(z)
    if sa.esn and esn_in_icv:
        data += struct.pack('!I', sa.seq_hi)
    iv = packet[ah_offset + 12:ah_offset + 12 + sa.iv_len]
    return mac(sa.auth, sa.auth_key, data, sa.auth_salt, iv)


def ah_header(sa, seq, next_header, ip_version, iv=b''):
    """AH with a zero ICV (the caller fills it in with ah_sign once the packet is complete)."""
    n = ah_length(sa, ip_version)
    assert len(iv) == sa.iv_len
    return struct.pack('!BBHII', next_header, n // 4 - 2, 0, sa.spi, seq) + bytes(iv) + b'\x00' * (n - 12 - len(iv))


def ah_sign(sa, packet, ah_offset, esn_in_icv=True):
    icv = ah_icv(sa, packet, ah_offset, esn_in_icv)
    p = bytearray(packet)
    off = ah_offset + 12 + sa.iv_len
    p[off:off + len(icv)] = icv
    return bytes(p)


def ah_verify(sa, packet, ah_offset):
    off = ah_offset + 12 + sa.iv_len
    return hmac.compare_digest(ah_icv(sa, packet, ah_offset), packet[off:off + sa.icv_len])
