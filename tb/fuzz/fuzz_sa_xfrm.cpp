// fuzz_sa_xfrm: the iproute2 SA reader (load_sa_text on text that does not start with '{' or '['):
// `ip xfrm state add` commands and `ip [-s] xfrm state` listings. Only InputError may escape; its message is
// one line and echoes no 12+ hex-digit run of the input. What loads is carried on to offload_refusal,
// make_cam_entry and a CAM + crypto engine (fuzz_sa_common.h). Dictionary: tb/fuzz/dict/sa_xfrm.dict.
#include "fuzz_sa_common.h"

namespace ov2::fuzz {

std::vector<Bytes> builtin_seeds() {
    const char* texts[] = {
        "ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 reqid 1 mode tunnel "
        "aead 'rfc4106(gcm(aes))' 0xc0ffee0102030405060708090a0b0c0d10111213 128\n",
        "sudo ip -6 xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp spi 7 mode transport \\\n"
        "  enc 'cbc(aes)' 0xc0ffee0102030405060708090a0b0c0d auth-trunc 'hmac(sha256)' "
        "0xc0ffee0102030405060708090a0b0c0d1415161718191a1b1c1d1e1f20212223 128 \\\n"
        "  flag esn replay-window 64 replay-seq 0x10 replay-seq-hi 0x2 encap espinudp 4500 4500 0.0.0.0\n",
        "ip x s a src 192.0.2.1 dst 192.0.2.2 proto ah spi 256 mode transport auth hmac(sha1) "
        "0xc0ffee0102030405060708090a0b0c0d10111213 dir in\n# comment\n\n",
        "src 192.0.2.10 dst 192.0.2.20\n"
        "\tproto esp spi 0xc88b7652(3364582994) reqid 1(0x00000001) mode tunnel\n"
        "\treplay-window 0 flag af-unspec esn\n"
        "\taead rfc4106(gcm(aes)) 0xc0ffee0102030405060708090a0b0c0d10111213 128\n"
        "\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0\n"
        "\tanti-replay esn context:\n"
        "\t seq-hi 0x1, seq 0x1d, oseq-hi 0x0, oseq 0x0\n"
        "\t replay_window 128, bitmap-length 4\n"
        "\t 00000000 00000000 00000000 1fffffff \n"
        "\tcrypto offload parameters: dev eth0 dir in mode crypto\n"
        "\tsel src 0.0.0.0/0 dst 0.0.0.0/0 \n"
        "src 10.1.232.10 dst 10.1.28.190\n"
        "\tproto esp spi 0xa62a05aa reqid 16393 mode transport\n"
        "\treplay-window 32 flag af-unspec\n"
        "\tauth-trunc hmac(sha1) 0xc0ffee0102030405060708090a0b0c0d10111213 96\n"
        "\tenc cbc(aes) 0xc0ffee0102030405060708090a0b0c0d1415161718191a1b1c1d1e1f20212223\n"
        "\tanti-replay context: seq 0x2a, oseq 0x0, bitmap 0xffffffff\n"
        "\tlifetime config:\n"
        "\t  limit: soft (INF)(bytes), hard (INF)(bytes)\n"
        "\tlastused 2024-08-29 09:30:00\n",
    };
    std::vector<Bytes> out;
    for (const char* t : texts) out.emplace_back(t, t + std::char_traits<char>::length(t));
    return out;
}

}  // namespace ov2::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    ov2::fuzz::maybe_write_seeds();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ov2::fuzz::run_sa_text(data, size, ov2::SaFileFormat::Iproute2, "fuzz.txt");
    return 0;
}
