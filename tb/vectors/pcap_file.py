#!/usr/bin/python3
"""Classic pcap files for the vector tools: written deterministically, read in either byte order.
Standard library only (check_oob.py must run without the crypto packages)."""
import struct

PCAP_TS_BASE = 1_700_000_000  # seconds; frame n (1-based) arrives at base + n microseconds


def write_pcap(path, frames, ts_base=PCAP_TS_BASE):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames, 1):
            f.write(struct.pack('<IIII', ts_base, i, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    """Frames of a classic pcap (either byte order, us or ns timestamps) as a list of bytes."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise ValueError('%s: not a classic pcap file' % path)
    off, frames = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + 'IIII', data[off:off + 16])
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames
