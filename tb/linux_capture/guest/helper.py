#!/usr/bin/python3
"""Traffic helper run inside the capture guest (tb/linux_capture/guest/capture.sh), in a network namespace.

    helper.py udprecv ADDR PORT COUNT TIMEOUT       receive up to COUNT datagrams, print how many arrived
    helper.py udpsend SRC DST PORT SIZE...          one datagram of each size (payload bytes 0, 1, 2, ...)
    helper.py tcpserve ADDR PORT TIMEOUT            accept one connection, read to EOF, print the byte count
    helper.py tcpsend SRC DST PORT NBYTES           connect, send NBYTES, close
    helper.py encapsock ADDR PORT SECONDS           hold a UDP socket with UDP_ENCAP_ESPINUDP (NAT-T receive)

Everything is bounded: sockets time out, loops are counted. Traffic goes only to the other namespace.
"""
import ctypes
import socket
import sys
import time

UDP_ENCAP = 100            # linux/udp.h
UDP_ENCAP_ESPINUDP = 2
IP_XFRM_POLICY = 17        # linux/in.h
XFRM_POLICY_IN, XFRM_POLICY_OUT, XFRM_POLICY_ALLOW = 0, 1, 0
XFRM_INF = 0xFFFFFFFFFFFFFFFF


class XfrmSelector(ctypes.Structure):      # linux/xfrm.h struct xfrm_selector
    _fields_ = [('daddr', ctypes.c_uint32 * 4), ('saddr', ctypes.c_uint32 * 4),
                ('dport', ctypes.c_uint16), ('dport_mask', ctypes.c_uint16),
                ('sport', ctypes.c_uint16), ('sport_mask', ctypes.c_uint16),
                ('family', ctypes.c_uint16), ('prefixlen_d', ctypes.c_uint8), ('prefixlen_s', ctypes.c_uint8),
                ('proto', ctypes.c_uint8), ('ifindex', ctypes.c_int), ('user', ctypes.c_uint32)]


class XfrmUserpolicyInfo(ctypes.Structure):  # struct xfrm_userpolicy_info
    _fields_ = [('sel', XfrmSelector), ('lft', ctypes.c_uint64 * 8), ('curlft', ctypes.c_uint64 * 4),
                ('priority', ctypes.c_uint32), ('index', ctypes.c_uint32), ('dir', ctypes.c_uint8),
                ('action', ctypes.c_uint8), ('flags', ctypes.c_uint8), ('share', ctypes.c_uint8)]


def bypass_policy(direction):
    p = XfrmUserpolicyInfo()
    p.sel.family = socket.AF_INET
    for i in range(4):              # soft/hard byte and packet limits: none
        p.lft[i] = XFRM_INF
    p.dir, p.action = direction, XFRM_POLICY_ALLOW
    return bytes(p)


def family(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def payload(n):
    return bytes(i & 0xFF for i in range(n))


def main(argv):
    cmd = argv[0]
    if cmd == 'udprecv':
        addr, port, count, timeout = argv[1], int(argv[2]), int(argv[3]), float(argv[4])
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.bind((addr, port))
        deadline = time.monotonic() + timeout
        got = []
        while len(got) < count and time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                break
            got.append(len(data))
        print('udprecv %s:%d received %d datagrams, sizes %s' % (addr, port, len(got), got), flush=True)
    elif cmd == 'udpsend':
        src, dst, port = argv[1], argv[2], int(argv[3])
        s = socket.socket(family(dst), socket.SOCK_DGRAM)
        s.bind((src, 0))
        for size in argv[4:]:
            s.sendto(payload(int(size)), (dst, port))
            time.sleep(0.1)
        print('udpsend %s -> %s:%d sizes %s' % (src, dst, port, ' '.join(argv[4:])), flush=True)
    elif cmd == 'tcpserve':
        addr, port, timeout = argv[1], int(argv[2]), float(argv[3])
        s = socket.socket(family(addr), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(1)
        s.settimeout(timeout)
        total = 0
        try:
            c, _ = s.accept()
            c.settimeout(timeout)
            while True:
                data = c.recv(65536)
                if not data:
                    break
                total += len(data)
            c.close()
        except socket.timeout:
            pass
        print('tcpserve %s:%d received %d bytes' % (addr, port, total), flush=True)
    elif cmd == 'tcpsend':
        src, dst, port, n = argv[1], argv[2], int(argv[3]), int(argv[4])
        for _ in range(20):        # the server may not listen yet
            s = socket.socket(family(dst), socket.SOCK_STREAM)
            s.settimeout(5)
            s.bind((src, 0))
            try:
                s.connect((dst, port))
                break
            except (ConnectionRefusedError, socket.timeout, BlockingIOError):
                s.close()
                time.sleep(0.2)
        s.sendall(payload(n))
        time.sleep(0.2)
        s.close()
        print('tcpsend %s -> %s:%d %d bytes' % (src, dst, port, n), flush=True)
    elif cmd == 'encapsock':
        addr, port, seconds = argv[1], int(argv[2]), float(argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, port))
        # as IKE daemons do: the socket bypasses the IPsec policies (the global in-policy would otherwise
        # drop the ESP-in-UDP datagram as plain UDP before the encapsulation handler sees it)
        for direction in (XFRM_POLICY_IN, XFRM_POLICY_OUT):
            s.setsockopt(socket.IPPROTO_IP, IP_XFRM_POLICY, bypass_policy(direction))
        s.setsockopt(socket.IPPROTO_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP)
        print('encapsock %s:%d ready' % (addr, port), flush=True)
        time.sleep(seconds)
    else:
        raise SystemExit('unknown command ' + cmd)


if __name__ == '__main__':
    main(sys.argv[1:])
