#include "soak_gen.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>

#include <botan/aead.h>
#include <botan/cipher_mode.h>
#include <botan/mac.h>
#include <fmt/format.h>

namespace soak {

// ---- PRNG -----------------------------------------------------------------------------------------------

namespace {
uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
    for (uint64_t& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

void Rng::fill(uint8_t* p, size_t n) {
    while (n) {
        uint64_t v = next();
        for (int i = 0; i < 8 && n; ++i, --n) {
            *p++ = uint8_t(v);
            v >>= 8;
        }
    }
}

uint32_t fnv1a(const uint8_t* p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
    return h;
}

// ---- SAs ------------------------------------------------------------------------------------------------

const char* alg_name(Alg a) {
    switch (a) {
    case Alg::Gcm128: return "esp aes-gcm-128";
    case Alg::Gcm256: return "esp aes-gcm-256";
    case Alg::CbcSha1: return "esp aes-cbc-128+hmac-sha1-96";
    case Alg::CbcSha256: return "esp aes-cbc-256+hmac-sha256-128";
    case Alg::AhSha256: return "ah hmac-sha256-128";
    }
    return "?";
}

const char* kind_name(uint8_t kind) {
    static const char* names[kKinds] = {"valid",       "replay",        "icv_corrupt",  "payload_corrupt",
                                        "trunc_fixed", "trunc_raw",     "unknown_spi",  "wrong_dst",
                                        "not_yet_added", "after_delete", "non_ipsec",   "capture_truncated"};
    return kind < kKinds ? names[kind] : "?";
}

uint8_t SaInst::auth_fail_status() const {
    const bool ah = alg == Alg::AhSha256;
    if (tunnel) return ah ? 4 : 5;
    return ah ? 2 : 3;
}

namespace {
void dst_addr(bool v6, uint8_t idx, uint8_t* out) {
    if (!v6) {
        const uint8_t a[4] = {192, 0, 2, uint8_t(10 + idx)};
        std::memcpy(out, a, 4);
    } else {
        const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, uint8_t(10 + idx)};
        std::memcpy(out, a, 16);
    }
}
void src_addr(bool v6, uint8_t idx, uint8_t* out) {
    if (!v6) {
        const uint8_t a[4] = {198, 51, 100, uint8_t(10 + idx)};
        std::memcpy(out, a, 4);
    } else {
        const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, uint8_t(10 + idx)};
        std::memcpy(out, a, 16);
    }
}
ov2::IpAddr ip_of(bool v6, const uint8_t* b) { return v6 ? ov2::IpAddr::v6(b) : ov2::IpAddr::v4(b); }
}  // namespace

ov2::AddSa SaInst::to_add_sa() const {
    ov2::AddSa a;
    a.flags = ov2::ndis::kAddSaInbound | (v6 ? ov2::ndis::kAddSaIpv6 : 0);
    uint8_t b[16];
    src_addr(v6, src_idx, b);
    a.src = ip_of(v6, b);
    dst_addr(v6, dst_idx, b);
    a.dst = ip_of(v6, b);
    a.num_ext_hdrs = 1;
    a.replay_window = 64;
    a.replay_seq = 0;
    a.name = name;
    ov2::SecurityAssociation& s = a.sec_assoc[0];
    s.spi = spi;
    s.mode = tunnel ? ov2::SaMode::Tunnel : ov2::SaMode::Transport;
    s.flags = esn ? ov2::ndis::kSaFlagEsn : 0;
    s.sequence_number_high_order = seq_hi;
    switch (alg) {
    case Alg::Gcm128:
    case Alg::Gcm256:
        s.operation = ov2::IpsecOperation::Esp;
        s.encryption.identifier = alg == Alg::Gcm128 ? ov2::ndis::kEncAesGcm128 : ov2::ndis::kEncAesGcm256;
        s.encryption.key = enc_key;
        s.encryption.key.insert(s.encryption.key.end(), salt.begin(), salt.end());
        s.encryption.additional_info = icv;
        break;
    case Alg::CbcSha1:
        s.operation = ov2::IpsecOperation::Esp;
        s.encryption.identifier = ov2::ndis::kEncAesCbc128;
        s.encryption.key = enc_key;
        s.authentication.identifier = ov2::ndis::kAuthSha1;
        s.authentication.key = auth_key;
        break;
    case Alg::CbcSha256:
        s.operation = ov2::IpsecOperation::Esp;
        s.encryption.identifier = ov2::ndis::kEncAesCbc256;
        s.encryption.key = enc_key;
        s.authentication.identifier = ov2::ndis::kAuthSha256;
        s.authentication.key = auth_key;
        break;
    case Alg::AhSha256:
        s.operation = ov2::IpsecOperation::Ah;
        s.authentication.identifier = ov2::ndis::kAuthSha256;
        s.authentication.key = auth_key;
        break;
    }
    return a;
}

std::string SaInst::describe() const {
    return fmt::format("{} ({} {} {}{} spi 0x{:08x}, icv {}{})", name, alg_name(alg), tunnel ? "tunnel" : "transport",
                       v6 ? "v6" : "v4", esn ? " esn" : "", spi, icv,
                       reuse_of == UINT32_MAX ? "" : fmt::format(", re-add of soak-{}", reuse_of));
}

// ---- plan -----------------------------------------------------------------------------------------------

namespace {

SaInst fresh_inst(Rng& rng, uint32_t id) {
    SaInst s;
    s.id = id;
    s.name = "soak-" + std::to_string(id);
    const uint32_t r = rng.below(100);
    s.alg = r < 25 ? Alg::Gcm128 : r < 45 ? Alg::Gcm256 : r < 65 ? Alg::CbcSha1 : r < 85 ? Alg::CbcSha256 : Alg::AhSha256;
    s.tunnel = rng.chance(50);
    s.v6 = rng.chance(40);
    s.spi = 0x01000000u | (id << 4) | rng.below(16);
    s.dst_idx = uint8_t(rng.below(16));
    s.src_idx = uint8_t(rng.below(16));
    auto key = [&rng](size_t n) {
        Bytes k(n);
        rng.fill(k.data(), n);
        return k;
    };
    switch (s.alg) {
    case Alg::Gcm128:
    case Alg::Gcm256: {
        s.enc_key = key(s.alg == Alg::Gcm128 ? 16 : 32);
        s.salt = key(4);
        const uint32_t i = rng.below(10);
        s.icv = i < 6 ? 16 : i < 8 ? 12 : 8;
        s.esn = rng.chance(30);
        if (s.esn) s.seq_hi = rng.below(4);
        break;
    }
    case Alg::CbcSha1:
        s.enc_key = key(16);
        s.auth_key = key(20);
        s.icv = 12;
        break;
    case Alg::CbcSha256:
        s.enc_key = key(32);
        s.auth_key = key(32);
        s.icv = 16;
        break;
    case Alg::AhSha256:
        s.auth_key = key(32);
        s.icv = 16;
        break;
    }
    return s;
}

}  // namespace

Plan make_plan(const GenConfig& cfg) {
    Plan plan;
    Rng rng(cfg.seed * 0x9E3779B97F4A7C15ULL + 0x50AC);
    for (uint32_t i = 0; i < cfg.sas; ++i) plan.inst.push_back(fresh_inst(rng, i));

    struct Ev {
        uint32_t frame;
        int order;  // deletes before updates before adds at the same frame
        ov2::OidEvent::Kind kind;
        uint32_t id;
    };
    std::vector<Ev> evs;
    std::vector<uint32_t> active;  // ids offloaded at the current churn point
    for (uint32_t i = 0; i < cfg.sas; ++i) active.push_back(i);
    std::vector<uint32_t> readd_candidates;  // deleted, not re-added yet
    const uint32_t interval = cfg.churn_interval ? cfg.churn_interval : std::max<uint32_t>(500, cfg.frames / 400);
    const uint32_t min_life = 2 * cfg.verdict_margin + 64;
    for (uint64_t f = interval; f + interval / 2 < cfg.frames; f += interval) {
        // two deletes among SAs that have lived long enough, and as many adds: the table stays as full
        int deleted = 0;
        for (int d = 0; d < 2 && active.size() > 1; ++d) {
            for (int tries = 0; tries < 16; ++tries) {
                const uint32_t k = rng.below(uint32_t(active.size()));
                SaInst& s = plan.inst[active[k]];
                if (s.add_frame && s.add_frame + min_life > f) continue;
                s.del_frame = uint32_t(f) + rng.below(interval / 4);
                evs.push_back({s.del_frame, 0, ov2::OidEvent::Kind::DeleteSa, s.id});
                readd_candidates.push_back(s.id);
                active.erase(active.begin() + k);
                ++deleted;
                break;
            }
        }
        // two adds a little later: fresh SAs, or (one time in three) a deleted SA offloaded again
        for (int a = 0; a < deleted; ++a) {
            const uint32_t add = uint32_t(f) + interval / 4 + rng.below(interval / 4);
            const uint32_t id = uint32_t(plan.inst.size());
            if (id >= 0xFFFF) break;
            SaInst s;
            if (!readd_candidates.empty() && rng.chance(33)) {
                const uint32_t k = rng.below(uint32_t(readd_candidates.size()));
                const SaInst& old = plan.inst[readd_candidates[k]];
                if (old.del_frame + cfg.verdict_margin < add) {
                    s = old;
                    s.id = id;
                    s.name = "soak-" + std::to_string(id);
                    s.reuse_of = old.id;
                    s.del_frame = s.upd_frame = UINT32_MAX;
                    s.seq = 0;
                    s.iv_ctr = 0;
                    readd_candidates.erase(readd_candidates.begin() + k);
                } else {
                    s = fresh_inst(rng, id);
                }
            } else {
                s = fresh_inst(rng, id);
            }
            s.add_frame = add;
            evs.push_back({add, 2, ov2::OidEvent::Kind::AddSa, id});
            plan.inst.push_back(s);
            active.push_back(id);
        }
    }
    // ESN SAs: one UPDATE_SA (SequenceNumberHighOrder + 1) in the middle of their life, one time in two.
    for (SaInst& s : plan.inst) {
        if (!s.esn || !rng.chance(50)) continue;
        const uint64_t from = uint64_t(s.add_frame) + cfg.verdict_margin + 16;
        const uint64_t to = std::min<uint64_t>(s.del_frame, cfg.frames) > cfg.verdict_margin + 16
                                ? std::min<uint64_t>(s.del_frame, cfg.frames) - cfg.verdict_margin - 16
                                : 0;
        if (to <= from + 1) continue;
        s.upd_frame = uint32_t(from + rng.next() % (to - from));
        s.upd_seq_hi = s.seq_hi + 1;
        evs.push_back({s.upd_frame, 1, ov2::OidEvent::Kind::UpdateSa, s.id});
    }
    std::stable_sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) {
        return a.frame != b.frame ? a.frame < b.frame : a.order < b.order;
    });

    for (const SaInst& s : plan.inst)
        if (s.add_frame == 0) {
            plan.initial.push_back(s.to_add_sa());
            plan.initial_ids.push_back(s.id);
        }
    for (size_t i = 0; i < evs.size(); ++i) {
        const Ev& e = evs[i];
        // adds due before the same frame go out as one ADD_SA list
        if (e.kind == ov2::OidEvent::Kind::AddSa && !plan.oids.empty() &&
            plan.oids.back().kind == ov2::OidEvent::Kind::AddSa && plan.oids.back().before_frame == e.frame) {
            plan.oids.back().sas.push_back(plan.inst[e.id].to_add_sa());
            plan.oid_added_ids.back().push_back(e.id);
            continue;
        }
        ov2::OidEvent o;
        o.kind = e.kind;
        o.before_frame = e.frame;
        o.origin = "ov2soak plan";
        if (e.kind == ov2::OidEvent::Kind::AddSa) {
            o.sas.push_back(plan.inst[e.id].to_add_sa());
        } else {
            o.sa = plan.inst[e.id].name;
            if (e.kind == ov2::OidEvent::Kind::UpdateSa) o.seq_hi = plan.inst[e.id].upd_seq_hi;
        }
        plan.oids.push_back(std::move(o));
        plan.oid_added_ids.push_back({e.id});
    }
    return plan;
}

// ---- Botan ----------------------------------------------------------------------------------------------

struct Generator::Crypto {
    std::map<std::string, std::unique_ptr<Botan::AEAD_Mode>> gcm;
    std::unique_ptr<Botan::Cipher_Mode> cbc128, cbc256;
    std::unique_ptr<Botan::MessageAuthenticationCode> sha1, sha256;
    Botan::secure_vector<uint8_t> buf;
    Crypto()
        : cbc128(Botan::Cipher_Mode::create_or_throw("AES-128/CBC/NoPadding", Botan::ENCRYPTION)),
          cbc256(Botan::Cipher_Mode::create_or_throw("AES-256/CBC/NoPadding", Botan::ENCRYPTION)),
          sha1(Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-1)")),
          sha256(Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)")) {
        buf.reserve(4096);
    }
    Botan::AEAD_Mode& gcm_for(size_t key_bytes, size_t icv) {
        const std::string name = fmt::format("AES-{}/GCM({})", key_bytes * 8, icv);
        auto& m = gcm[name];
        if (!m) m = Botan::AEAD_Mode::create_or_throw(name, Botan::ENCRYPTION);
        return *m;
    }
};

// ---- frame building -------------------------------------------------------------------------------------

namespace {

void put16(Bytes& b, uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
}
void put32(Bytes& b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}
void set16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}

void ethernet(Bytes& b, uint16_t type) {
    const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
    b.insert(b.end(), macs, macs + 12);
    put16(b, type);
}

void ipv4_checksum(uint8_t* h) {
    h[10] = h[11] = 0;
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += uint32_t(h[i]) << 8 | h[i + 1];
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    set16(h + 10, uint16_t(~sum));
}

// Appends an IP header for `payload` bytes that follow; returns its offset.
size_t ip_header(Bytes& b, bool v6, const uint8_t* src, const uint8_t* dst, uint8_t proto, size_t payload, Rng& rng) {
    const size_t at = b.size();
    if (!v6) {
        const size_t total = 20 + payload;
        b.push_back(0x45);
        b.push_back(uint8_t(rng.below(4) << 2));  // DSCP/ECN: mutable for AH
        put16(b, uint16_t(total));
        put16(b, uint16_t(rng.next()));
        b.push_back(rng.chance(50) ? 0x40 : 0x00);  // DF sometimes: mutable for AH
        b.push_back(0);
        b.push_back(uint8_t(rng.range(2, 255)));   // TTL: mutable
        b.push_back(proto);
        b.push_back(0);
        b.push_back(0);
        b.insert(b.end(), src, src + 4);
        b.insert(b.end(), dst, dst + 4);
        ipv4_checksum(&b[at]);
    } else {
        const uint32_t flow = rng.below(1u << 20), tc = rng.below(4) << 2;
        put32(b, 6u << 28 | tc << 20 | flow);
        put16(b, uint16_t(payload));
        b.push_back(proto);
        b.push_back(uint8_t(rng.range(2, 255)));
        b.insert(b.end(), src, src + 16);
        b.insert(b.end(), dst, dst + 16);
    }
    return at;
}

void fix_ip_length(Bytes& b, size_t ip_at, bool v6) {
    const size_t len = b.size() - ip_at;
    if (!v6) {
        set16(&b[ip_at + 2], uint16_t(len));
        ipv4_checksum(&b[ip_at]);
    } else {
        set16(&b[ip_at + 4], uint16_t(len - 40));
    }
}

void udp(Bytes& b, uint16_t sport, uint16_t dport, size_t data, Rng& rng) {
    put16(b, sport);
    put16(b, dport);
    put16(b, uint16_t(8 + data));
    put16(b, 0);
    const size_t at = b.size();
    b.resize(at + data);
    rng.fill(&b[at], data);
}

// A small inner packet for tunnel mode, or a UDP datagram for transport mode.
uint8_t inner_payload(Bytes& b, bool tunnel, Rng& rng) {
    const size_t data = rng.range(8, rng.chance(10) ? 1200 : 240);
    if (!tunnel) {
        udp(b, uint16_t(rng.range(1024, 65535)), uint16_t(rng.range(1, 4499)), data, rng);
        return 17;
    }
    const bool v6 = rng.chance(40);
    uint8_t src[16], dst[16];
    rng.fill(src, 16);
    rng.fill(dst, 16);
    if (!v6) src[0] = 10, dst[0] = 10;
    else src[0] = dst[0] = 0xfd;
    ip_header(b, v6, src, dst, 17, 8 + data, rng);
    udp(b, uint16_t(rng.range(1024, 65535)), uint16_t(rng.range(1, 4499)), data, rng);
    return v6 ? 41 : 4;
}

}  // namespace

Generator::Generator(const GenConfig& cfg, Plan& plan, std::vector<Truth>& truth)
    : cfg_(cfg), plan_(plan), truth_(truth), rng_(cfg.seed), crypto_(std::make_unique<Crypto>()), recent_(64) {
    active_pos_.assign(plan_.inst.size(), UINT32_MAX);
    for (uint32_t id : plan_.initial_ids) {
        active_pos_[id] = uint32_t(active_.size());
        active_.push_back(id);
    }
    for (const SaInst& s : plan_.inst)
        if (s.add_frame) pending_.push_back(s.id);
    std::stable_sort(pending_.begin(), pending_.end(),
                     [this](uint32_t a, uint32_t b) { return plan_.inst[a].add_frame < plan_.inst[b].add_frame; });
    std::reverse(pending_.begin(), pending_.end());  // back() = next to be added
    readd_frame_.assign(plan_.inst.size(), UINT32_MAX);
    for (const SaInst& s : plan_.inst)
        if (s.reuse_of != UINT32_MAX) readd_frame_[s.reuse_of] = s.add_frame;
    for (Recent& r : recent_) r.bytes.reserve(2048);
    payload_.reserve(4096);
    pt_.reserve(4096);
    frame_.reserve(4096);
    expected_.reserve(4096);
}

Generator::~Generator() = default;

void Generator::advance_plan(uint32_t n) {
    while (next_event_ < plan_.oids.size() && plan_.oids[next_event_].before_frame <= n) {
        const ov2::OidEvent& e = plan_.oids[next_event_];
        const std::vector<uint32_t>& ids = plan_.oid_added_ids[next_event_];
        ++next_event_;
        if (e.kind == ov2::OidEvent::Kind::AddSa) {
            for (uint32_t id : ids) {
                active_pos_[id] = uint32_t(active_.size());
                active_.push_back(id);
                pending_.erase(std::remove(pending_.begin(), pending_.end(), id), pending_.end());
            }
        } else if (e.kind == ov2::OidEvent::Kind::DeleteSa) {
            const uint32_t id = ids[0];
            const uint32_t pos = active_pos_[id];
            if (pos == UINT32_MAX) continue;
            active_[pos] = active_.back();
            active_pos_[active_[pos]] = pos;
            active_.pop_back();
            active_pos_[id] = UINT32_MAX;
            deleted_.push_back(id);
        }
    }
}

SaInst& Generator::lineage_root(SaInst& s) {
    SaInst* r = &s;
    while (r->reuse_of != UINT32_MAX) r = &plan_.inst[r->reuse_of];
    return *r;
}

uint32_t Generator::pick_active() { return active_[rng_.below(uint32_t(active_.size()))]; }

uint8_t Generator::race_flags(const SaInst& s, uint32_t n) const {
    uint8_t f = 0;
    if (s.del_frame != UINT32_MAX && s.del_frame > n) {
        if (s.del_frame - n <= cfg_.crypto_margin) f |= kRaceNic | kRaceVerdict;
        else if (s.del_frame - n <= cfg_.verdict_margin) f |= kRaceVerdict;
    }
    if (s.upd_frame != UINT32_MAX && s.upd_frame > n && s.upd_frame - n <= cfg_.crypto_margin) f |= kRaceNic;
    return f;
}

void Generator::build_ipsec(SaInst& s, uint32_t n, Bytes& out, Bytes* expected, uint8_t& nh_out, uint8_t& pad_out) {
    Rng& rng = rng_;
    out.clear();
    ethernet(out, s.v6 ? 0x86DD : 0x0800);
    uint8_t src[16], dst[16];
    src_addr(s.v6, s.src_idx, src);
    dst_addr(s.v6, s.dst_idx, dst);
    // One sequence number and IV counter per SPI + keys: a re-added SA continues where its predecessor
    // stopped (a stack never restarts them under the same keys), so old frames never look newer.
    SaInst& ctr = lineage_root(s);
    const uint32_t seq = ++ctr.seq;
    const uint32_t seq_hi = s.upd_frame != UINT32_MAX && n >= s.upd_frame ? s.upd_seq_hi : s.seq_hi;

    // the protected packet
    Bytes& payload = payload_;
    payload.clear();
    const uint8_t nh = inner_payload(payload, s.tunnel, rng);

    if (s.alg == Alg::AhSha256) {
        const size_t ah_len = s.v6 ? 32 : 28;  // 12 + ICV 16, IPv6: 8-byte aligned
        const size_t ip_at = ip_header(out, s.v6, src, dst, 51, ah_len + payload.size(), rng);
        const size_t ah_at = out.size();
        out.push_back(nh);
        out.push_back(uint8_t(ah_len / 4 - 2));
        put16(out, 0);
        put32(out, s.spi);
        put32(out, seq);
        out.resize(out.size() + (ah_len - 12), 0);  // ICV (zero while computing it) and padding
        out.insert(out.end(), payload.begin(), payload.end());
        // ICV over the datagram with the mutable fields and the ICV zeroed (RFC 4302 3.3.3.1)
        Bytes& m = pt_;
        m.assign(out.begin() + long(ip_at), out.end());
        if (!s.v6) {
            m[1] = 0;
            m[6] = m[7] = 0;
            m[8] = 0;
            m[10] = m[11] = 0;
        } else {
            m[0] = 0x60;
            m[1] = m[2] = m[3] = 0;
            m[7] = 0;
        }
        auto& mac = *crypto_->sha256;
        mac.set_key(s.auth_key.data(), s.auth_key.size());
        mac.update(m.data(), m.size());
        if (s.esn) {
            uint8_t hi[4] = {uint8_t(seq_hi >> 24), uint8_t(seq_hi >> 16), uint8_t(seq_hi >> 8), uint8_t(seq_hi)};
            mac.update(hi, 4);
        }
        const Botan::secure_vector<uint8_t> tag = mac.final();
        std::copy_n(tag.begin(), 16, out.begin() + long(ah_at + 12));
        if (expected) *expected = out;
        nh_out = nh;
        pad_out = 0;
        return;
    }

    // ESP: payload || padding 1, 2, 3... || pad length || next header
    const bool gcm = s.alg == Alg::Gcm128 || s.alg == Alg::Gcm256;
    const size_t block = gcm ? 4 : 16;
    size_t pad = (block - (payload.size() + 2) % block) % block;
    if (rng.chance(20) && pad + block <= 255) pad += block * rng.range(1, 2);
    Bytes& pt = pt_;
    pt.assign(payload.begin(), payload.end());
    for (size_t i = 1; i <= pad; ++i) pt.push_back(uint8_t(i));
    pt.push_back(uint8_t(pad));
    pt.push_back(nh);
    const size_t iv_len = gcm ? 8 : 16;
    const size_t esp_len = 8 + iv_len + pt.size() + s.icv;
    const size_t ip_at = ip_header(out, s.v6, src, dst, 50, esp_len, rng);
    (void)ip_at;
    const size_t esp_at = out.size();
    put32(out, s.spi);
    put32(out, seq);
    Bytes iv(iv_len);
    if (gcm) {
        const uint64_t c = ++ctr.iv_ctr;
        for (int i = 0; i < 8; ++i) iv[size_t(i)] = uint8_t(c >> (56 - 8 * i));
    } else {
        rng.fill(iv.data(), iv_len);
    }
    out.insert(out.end(), iv.begin(), iv.end());
    const size_t ct_at = out.size();
    Botan::secure_vector<uint8_t>& buf = crypto_->buf;
    buf.assign(pt.begin(), pt.end());
    if (gcm) {
        Botan::AEAD_Mode& m = crypto_->gcm_for(s.enc_key.size(), s.icv);
        m.set_key(s.enc_key.data(), s.enc_key.size());
        uint8_t aad[12];
        size_t aad_len = 0;
        auto p32 = [&](uint32_t v) {
            for (int sh = 24; sh >= 0; sh -= 8) aad[aad_len++] = uint8_t(v >> sh);
        };
        p32(s.spi);
        if (s.esn) p32(seq_hi);
        p32(seq);
        m.set_associated_data(aad, aad_len);
        uint8_t nonce[12];
        std::copy(s.salt.begin(), s.salt.end(), nonce);
        std::copy(iv.begin(), iv.end(), nonce + 4);
        m.start(nonce, 12);
        m.finish(buf);  // ciphertext || tag
        out.insert(out.end(), buf.begin(), buf.end());
    } else {
        Botan::Cipher_Mode& c = s.alg == Alg::CbcSha1 ? *crypto_->cbc128 : *crypto_->cbc256;
        c.set_key(s.enc_key.data(), s.enc_key.size());
        c.start(iv.data(), iv.size());
        c.finish(buf);
        out.insert(out.end(), buf.begin(), buf.end());
        auto& mac = s.alg == Alg::CbcSha1 ? *crypto_->sha1 : *crypto_->sha256;
        mac.set_key(s.auth_key.data(), s.auth_key.size());
        mac.update(&out[esp_at], out.size() - esp_at);
        if (s.esn) {
            uint8_t hi[4] = {uint8_t(seq_hi >> 24), uint8_t(seq_hi >> 16), uint8_t(seq_hi >> 8), uint8_t(seq_hi)};
            mac.update(hi, 4);
        }
        const Botan::secure_vector<uint8_t> tag = mac.final();
        out.insert(out.end(), tag.begin(), tag.begin() + s.icv);
    }
    if (expected) {
        *expected = out;
        std::copy(pt.begin(), pt.end(), expected->begin() + long(ct_at));
    }
    nh_out = nh;
    pad_out = uint8_t(pad);
}

void Generator::build_non_ipsec(Bytes& out, bool& not_ip) {
    Rng& rng = rng_;
    out.clear();
    not_ip = false;
    uint8_t src[16], dst[16];
    const uint32_t what = rng.below(6);
    const bool v6 = what == 1 || (what == 5 && rng.chance(50));
    src_addr(v6, uint8_t(rng.below(16)), src);
    dst_addr(v6, uint8_t(rng.below(16)), dst);
    switch (what) {
    case 0: {  // UDP
        ethernet(out, 0x0800);
        const size_t data = rng.range(0, 400);
        ip_header(out, false, src, dst, 17, 8 + data, rng);
        udp(out, uint16_t(rng.range(1024, 65535)), uint16_t(rng.range(1, 4499)), data, rng);
        break;
    }
    case 1: {  // TCP over IPv6
        ethernet(out, 0x86DD);
        const size_t data = rng.range(20, 400);
        ip_header(out, true, src, dst, 6, data, rng);
        const size_t at = out.size();
        out.resize(at + data);
        rng.fill(&out[at], data);
        break;
    }
    case 2: {  // ARP
        not_ip = true;
        ethernet(out, 0x0806);
        const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2, 198, 51, 100, 10, 0, 0, 0, 0, 0, 0, 192, 0, 2, 10};
        out.insert(out.end(), arp, arp + 28);
        break;
    }
    case 3: {  // NAT keepalive on UDP/4500
        ethernet(out, 0x0800);
        ip_header(out, false, src, dst, 17, 9, rng);
        put16(out, 4500);
        put16(out, 4500);
        put16(out, 9);
        put16(out, 0);
        out.push_back(0xFF);
        break;
    }
    case 4: {  // IKE on UDP/4500 (non-ESP marker)
        ethernet(out, 0x0800);
        const size_t data = rng.range(28, 300);
        ip_header(out, false, src, dst, 17, 8 + 4 + data, rng);
        put16(out, 4500);
        put16(out, 4500);
        put16(out, uint16_t(8 + 4 + data));
        put16(out, 0);
        put32(out, 0);
        const size_t at = out.size();
        out.resize(at + data);
        rng.fill(&out[at], data);
        break;
    }
    default: {  // ICMP echo / ICMPv6
        ethernet(out, v6 ? 0x86DD : 0x0800);
        const size_t data = rng.range(8, 200);
        ip_header(out, v6, src, dst, v6 ? 58 : 1, data, rng);
        const size_t at = out.size();
        out.resize(at + data);
        rng.fill(&out[at], data);
        break;
    }
    }
}

void Generator::build_unknown(Bytes& out, bool wrong_dst) {
    // An ESP (or AH) header nobody offloaded: random SPI from a range no SA uses, or an offloaded SA's SPI
    // sent to a destination that SA does not have.
    Rng& rng = rng_;
    out.clear();
    uint32_t spi = 0xE0000000u | rng.below(1u << 24);
    bool v6 = rng.chance(40), ah = rng.chance(20);
    uint8_t dst_idx = uint8_t(rng.below(16));
    if (wrong_dst) {
        const SaInst& s = plan_.inst[pick_active()];
        spi = s.spi;
        v6 = s.v6;
        ah = s.alg == Alg::AhSha256;
        dst_idx = uint8_t((s.dst_idx + 1 + rng.below(15)) % 16);
    }
    ethernet(out, v6 ? 0x86DD : 0x0800);
    uint8_t src[16], dst[16];
    src_addr(v6, uint8_t(rng.below(16)), src);
    dst_addr(v6, dst_idx, dst);
    const size_t body = rng.range(40, 300);
    ip_header(out, v6, src, dst, ah ? 51 : 50, (ah ? 24 : 8) + body, rng);
    if (ah) {
        out.push_back(17);
        out.push_back(4);  // 24 bytes: 12 + a 12-byte ICV
        put16(out, 0);
    }
    put32(out, spi);
    put32(out, rng.range(1, 100000));
    const size_t at = out.size();
    out.resize(at + body + (ah ? 12 : 0));
    rng.fill(&out[at], body + (ah ? 12 : 0));
}

uint64_t Generator::timestamp(uint32_t n) {
    // Phases of 4000 frames: 500 back to back at line rate (the host cannot keep up: its rings fill and
    // the MAC FIFO overflows), 1500 at 1.6x the host's packet rate (starved, but less), a drain gap, then
    // 2000 at half the host's rate (the host keeps up).
    const uint32_t p = (n - 1) % 4000;
    if (p < 500) return ts_ns_;
    if (p < 2000) return ts_ns_ += uint64_t(cfg_.host_ns / 1.6);
    if (p == 2000) ts_ns_ += uint64_t(cfg_.host_ns * 600);
    return ts_ns_ += uint64_t(cfg_.host_ns * 2);
}

bool Generator::next(ov2::WireFrame& wf) {
    if (n_ >= cfg_.frames) return false;
    const uint32_t n = ++n_;
    advance_plan(n);
    Truth t;
    Rng& rng = rng_;
    uint32_t orig_extra = 0;

    uint32_t r = rng.below(1000);
    // class mix (per mille)
    uint8_t kind = r < 600 ? kValid : r < 650 ? kReplay : r < 720 ? kIcvCorrupt : r < 750 ? kPayloadCorrupt
                 : r < 780 ? kTruncFixed : r < 800 ? kTruncRaw : r < 840 ? kUnknownSpi : r < 860 ? kWrongDst
                 : r < 880 ? kNotYetAdded : r < 910 ? kAfterDelete : r < 990 ? kNonIpsec : kCaptureTrunc;

    // preconditions; fall back to a valid frame when a kind has no candidate now
    if (kind == kReplay) {
        Recent* src = nullptr;
        for (int tries = 0; tries < 4 && !src; ++tries) {
            Recent& c = recent_[rng.below(uint32_t(recent_.size()))];
            if (!c.frame) continue;
            const SaInst& s = plan_.inst[c.inst];
            const bool active = active_pos_[c.inst] != UINT32_MAX;
            const bool near_delete = s.del_frame != UINT32_MAX && s.del_frame - n <= cfg_.verdict_margin;
            const bool update_between = s.upd_frame != UINT32_MAX && s.upd_frame + cfg_.crypto_margin >= c.frame &&
                                        s.upd_frame <= uint64_t(n) + cfg_.crypto_margin;
            if (active && !near_delete && !update_between) src = &c;
        }
        if (src) {
            frame_ = src->bytes;
            const Truth& orig = truth_[src->frame - 1];
            t.kind = kReplay;
            t.inst = uint16_t(src->inst);
            t.flags = orig.flags & (kEspDecrypted | kCheckBytes);
            t.nh = orig.nh;
            t.pad = orig.pad;
            t.hash_or_aux = src->frame;
        } else {
            kind = kValid;
        }
    }
    uint32_t nya = UINT32_MAX;  // kNotYetAdded: one of the next SAs to be added
    if (kind == kNotYetAdded && !pending_.empty()) {
        const uint32_t k = rng.below(uint32_t(std::min<size_t>(pending_.size(), 6)));
        nya = pending_[pending_.size() - 1 - k];
        // a re-add only once the SA it copies is gone (same SPI, destination and keys)
        const SaInst& s = plan_.inst[nya];
        if (s.reuse_of != UINT32_MAX && plan_.inst[s.reuse_of].del_frame > n) nya = UINT32_MAX;
    }
    if (kind == kNotYetAdded && nya == UINT32_MAX) kind = kValid;
    if (kind == kAfterDelete) {
        uint32_t id = UINT32_MAX;
        for (int tries = 0; tries < 4 && id == UINT32_MAX && !deleted_.empty(); ++tries) {
            const uint32_t k = rng.below(uint32_t(deleted_.size()));
            const uint32_t c = deleted_[k];
            // a later re-add of the same SA (same SPI, destination and keys) would match it again
            const uint32_t readd = readd_frame_[c];
            if (readd <= n) {  // offloaded again: no longer an "after delete" candidate
                deleted_[k] = deleted_.back();
                deleted_.pop_back();
                continue;
            }
            if (readd != UINT32_MAX && readd - n <= cfg_.crypto_margin) continue;
            id = c;
        }
        if (id == UINT32_MAX) {
            kind = kValid;
        } else {
            SaInst& s = plan_.inst[id];
            uint8_t nh, pad;
            build_ipsec(s, n, frame_, nullptr, nh, pad);
            t.kind = kAfterDelete;
            t.inst = uint16_t(id);
            t.flags = kCheckBytes;
            t.hash_or_aux = fnv1a(frame_.data(), frame_.size());
        }
    }
    if (kind == kNotYetAdded) {
        SaInst& s = plan_.inst[nya];
        uint8_t nh, pad;
        build_ipsec(s, n, frame_, &expected_, nh, pad);
        t.kind = kNotYetAdded;
        t.inst = uint16_t(s.id);
        t.flags = kCheckBytes;  // unchanged unless it races its add_sa (the checker decides that from times)
        t.hash_or_aux = fnv1a(frame_.data(), frame_.size());
        if (s.add_frame - n <= cfg_.crypto_margin) t.flags |= kRaceNic;
    }

    switch (kind) {
    case kValid:
    case kIcvCorrupt:
    case kPayloadCorrupt:
    case kTruncFixed:
    case kTruncRaw:
    case kCaptureTrunc: {
        SaInst& s = plan_.inst[pick_active()];
        uint8_t nh = 0, pad = 0;
        build_ipsec(s, n, frame_, &expected_, nh, pad);
        t.kind = kind;
        t.inst = uint16_t(s.id);
        t.flags = race_flags(s, n);
        const size_t ip_at = 14;
        const size_t ip_hdr = s.v6 ? 40 : 20;
        const size_t ipsec_at = ip_at + ip_hdr;
        if (kind == kValid) {
            t.nh = nh;
            t.pad = pad;
            if (s.is_esp()) t.flags |= kEspDecrypted;
            t.flags |= kCheckBytes;
            t.hash_or_aux = fnv1a(expected_.data(), expected_.size());
            if (!(t.flags & kRaceNic)) {
                Recent& rc = recent_[recent_next_++ % recent_.size()];
                rc.frame = n;
                rc.inst = s.id;
                rc.bytes = frame_;
                rc.hash = t.hash_or_aux;
            }
        } else if (kind == kIcvCorrupt) {
            const size_t icv_at = s.is_esp() ? frame_.size() - s.icv : ipsec_at + 12;
            frame_[icv_at + rng.below(s.icv)] ^= uint8_t(1u << rng.below(8));
        } else if (kind == kPayloadCorrupt) {
            if (s.is_esp()) {
                const size_t ct_at = ipsec_at + 8 + (s.alg == Alg::Gcm128 || s.alg == Alg::Gcm256 ? 8 : 16);
                const size_t ct_len = frame_.size() - s.icv - ct_at;
                frame_[ct_at + rng.below(uint32_t(ct_len))] ^= uint8_t(1u << rng.below(8));
            } else {
                const size_t pl_at = ipsec_at + (s.v6 ? 32 : 28);
                frame_[pl_at + rng.below(uint32_t(frame_.size() - pl_at))] ^= uint8_t(1u << rng.below(8));
            }
        } else if (kind == kTruncFixed) {
            const size_t after = frame_.size() - ipsec_at;  // AH/ESP header and everything after it
            const size_t keep_min = s.is_esp() ? 9 : (s.v6 ? 33 : 29);
            const uint32_t cut = rng.range(1, uint32_t(std::min<size_t>(40, after - keep_min)));
            frame_.resize(frame_.size() - cut);
            fix_ip_length(frame_, ip_at, s.v6);
        } else if (kind == kTruncRaw) {
            const uint32_t cut = rng.range(1, 20);
            frame_.resize(frame_.size() - cut);
        } else {  // kCaptureTrunc: the record keeps fewer bytes than the wire had
            orig_extra = rng.range(1, 64);
            const uint32_t cut = std::min<uint32_t>(orig_extra, uint32_t(frame_.size() - 14));
            frame_.resize(frame_.size() - cut);
            orig_extra = cut;
        }
        if (kind != kValid) {
            t.flags |= kCheckBytes;  // indicated unchanged
            t.hash_or_aux = fnv1a(frame_.data(), frame_.size());
        }
        break;
    }
    case kUnknownSpi:
    case kWrongDst:
        build_unknown(frame_, kind == kWrongDst);
        t.kind = kind;
        t.flags = kCheckBytes;
        t.hash_or_aux = fnv1a(frame_.data(), frame_.size());
        break;
    case kNonIpsec: {
        bool not_ip = false;
        build_non_ipsec(frame_, not_ip);
        t.kind = kNonIpsec;
        t.flags = kCheckBytes | (not_ip ? kNotIp : 0);
        t.hash_or_aux = fnv1a(frame_.data(), frame_.size());
        break;
    }
    default:
        break;  // kReplay, kNotYetAdded, kAfterDelete: built above
    }

    truth_[n - 1] = t;
    ++counts_.kinds[t.kind];
    if (t.flags & kRaceNic) ++counts_.race_nic;
    else if (t.flags & kRaceVerdict) ++counts_.race_verdict;
    if (t.inst != 0xFFFF) {
        const SaInst& s = plan_.inst[t.inst];
        ++counts_.by_alg[size_t(s.alg)];
        counts_.v6 += s.v6;
        counts_.tunnel += s.tunnel;
        counts_.esn += s.esn;
    }
    counts_.bytes += frame_.size();
    wf.bytes.assign(frame_.begin(), frame_.end());
    wf.orig_len = uint32_t(frame_.size()) + orig_extra;
    wf.ts_ns = 1'700'000'000'000'000'000ULL + timestamp(n);
    if (on_frame) on_frame(n);
    return true;
}

}  // namespace soak
