#include "traffic_gen.h"

#include <memory>
#include <stdexcept>

#include <botan/aead.h>
#include <botan/cipher_mode.h>
#include <botan/mac.h>

namespace ov2 {

namespace {

constexpr uint32_t kSpiBase = 0x10000;

struct Algorithm {
    const char* name;
    uint32_t enc;
    uint32_t auth;
    size_t key_bytes;   // encryption key, without salt
    size_t iv_bytes;
    size_t icv_bytes;
    size_t block;       // padding alignment of payload + trailer
};

const Algorithm kAlgorithms[] = {
    {"aes-gcm-128", ndis::kEncAesGcm128, ndis::kAuthNone, 16, 8, 16, 4},
    {"aes-gcm-256", ndis::kEncAesGcm256, ndis::kAuthNone, 32, 8, 16, 4},
    {"aes-cbc-128-sha1", ndis::kEncAesCbc128, ndis::kAuthSha1, 16, 16, 12, 16},
};

const Algorithm& find_algorithm(const std::string& name) {
    for (const Algorithm& a : kAlgorithms)
        if (name == a.name) return a;
    throw std::invalid_argument("traffic algorithm '" + name + "'; expected aes-gcm-128, aes-gcm-256 or aes-cbc-128-sha1");
}

// Deterministic key material per SA (benchmark traffic, not secrets).
std::vector<uint8_t> key_bytes(uint32_t sa, uint8_t salt, size_t n) {
    std::vector<uint8_t> k(n);
    for (size_t i = 0; i < n; ++i) k[i] = uint8_t(sa * 31 + i * 7 + salt);
    return k;
}

void put32(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v);
}

uint16_t ipv4_checksum(const uint8_t* h) {
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += uint32_t(h[i]) << 8 | h[i + 1];
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return uint16_t(~sum);
}

}  // namespace

TrafficGenerator::TrafficGenerator(const TrafficSpec& spec) : spec_(spec) {
    const Algorithm& alg = find_algorithm(spec.algorithm);
    if (spec.sas == 0 || spec.distinct_frames == 0 || spec.payload_bytes == 0 || spec.payload_bytes > 9000)
        throw std::invalid_argument("traffic: sas and distinct frames must be at least 1, payload 1 to 9000 bytes");
    for (uint32_t s = 0; s < spec.sas; ++s) {
        AddSa sa;
        sa.name = "bench-" + std::to_string(s);
        sa.src = *IpAddr::parse("198.51.100.1");
        sa.dst = *IpAddr::parse("198.51.100.2");
        sa.replay_window = 0;
        SecurityAssociation& a = sa.sec_assoc[0];
        a.spi = kSpiBase + s;
        a.encryption.identifier = alg.enc;
        a.encryption.key = key_bytes(s, 1, alg.key_bytes + (alg.auth ? 0 : 4));  // GCM: key || salt
        if (!alg.auth) a.encryption.additional_info = uint32_t(alg.icv_bytes);
        a.authentication.identifier = alg.auth;
        if (alg.auth) a.authentication.key = key_bytes(s, 2, 20);
        sas_.push_back(sa);
    }
    for (uint32_t i = 0; i < spec.distinct_frames; ++i) pool_.push_back(build_frame(i % spec.sas, i / spec.sas + 1));
    if (spec.offered_gbps > 0) {
        const double wire_bytes = double(frame_bytes()) + 4 + 20;
        gap_ns_ = wire_bytes * 8 / spec.offered_gbps;
    }
}

std::vector<uint8_t> TrafficGenerator::build_frame(uint32_t sa_index, uint32_t seq) const {
    const Algorithm& alg = find_algorithm(spec_.algorithm);
    const AddSa& sa = sas_[sa_index];
    const uint32_t spi = sa.sec_assoc[0].spi;
    // plaintext: payload, padding 1, 2, 3, ..., pad length, next header (UDP)
    std::vector<uint8_t> plain(spec_.payload_bytes, 0xA5);
    size_t pad = (alg.block - (plain.size() + 2) % alg.block) % alg.block;
    for (size_t i = 1; i <= pad; ++i) plain.push_back(uint8_t(i));
    plain.push_back(uint8_t(pad));
    plain.push_back(17);

    std::vector<uint8_t> esp(8 + alg.iv_bytes);
    put32(esp.data(), spi);
    put32(esp.data() + 4, seq);
    for (size_t i = 0; i < alg.iv_bytes; ++i) esp[8 + i] = uint8_t(seq * 13 + i);
    Botan::secure_vector<uint8_t> body(plain.begin(), plain.end());
    if (!alg.auth) {
        const auto& key = sa.sec_assoc[0].encryption.key;
        auto gcm = Botan::AEAD_Mode::create_or_throw(alg.key_bytes == 16 ? "AES-128/GCM(16)" : "AES-256/GCM(16)",
                                                     Botan::ENCRYPTION);
        gcm->set_key(key.data(), alg.key_bytes);
        uint8_t nonce[12];
        std::copy(key.end() - 4, key.end(), nonce);
        std::copy(esp.begin() + 8, esp.begin() + 16, nonce + 4);
        gcm->set_associated_data(esp.data(), 8);
        gcm->start(nonce, sizeof nonce);
        gcm->finish(body);  // ciphertext || tag
        esp.insert(esp.end(), body.begin(), body.end());
    } else {
        auto cbc = Botan::Cipher_Mode::create_or_throw("AES-128/CBC/NoPadding", Botan::ENCRYPTION);
        cbc->set_key(sa.sec_assoc[0].encryption.key);
        cbc->start(esp.data() + 8, alg.iv_bytes);
        cbc->finish(body);
        esp.insert(esp.end(), body.begin(), body.end());
        auto hmac = Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-1)");
        hmac->set_key(sa.sec_assoc[0].authentication.key);
        const auto icv = hmac->process(esp.data(), esp.size());
        esp.insert(esp.end(), icv.begin(), icv.begin() + alg.icv_bytes);
    }
    std::vector<uint8_t> frame(14 + 20);
    frame[12] = 0x08;
    uint8_t* ip = frame.data() + 14;
    ip[0] = 0x45;
    const uint16_t total = uint16_t(20 + esp.size());
    ip[2] = uint8_t(total >> 8);
    ip[3] = uint8_t(total);
    ip[8] = 64;
    ip[9] = kIpProtoEsp;
    std::copy(sa.src.bytes.begin(), sa.src.bytes.begin() + 4, ip + 12);
    std::copy(sa.dst.bytes.begin(), sa.dst.bytes.begin() + 4, ip + 16);
    const uint16_t sum = ipv4_checksum(ip);
    ip[10] = uint8_t(sum >> 8);
    ip[11] = uint8_t(sum);
    frame.insert(frame.end(), esp.begin(), esp.end());
    return frame;
}

bool TrafficGenerator::next(WireFrame& frame) {
    if (delivered_ >= spec_.frames) return false;
    const std::vector<uint8_t>& f = pool_[delivered_ % pool_.size()];
    frame.bytes.assign(f.begin(), f.end());
    frame.orig_len = uint32_t(f.size());
    frame.ts_ns = uint64_t(gap_ns_ * delivered_);
    ++delivered_;
    return true;
}

}  // namespace ov2
