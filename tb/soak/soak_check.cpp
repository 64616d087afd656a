#include "soak_check.h"

#include <pcap/pcap.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace soak {

using nlohmann::json;

void CheckResult::add(char invariant, std::string text) {
    ++violations;
    ++by_invariant[invariant];
    if (first.size() < 40) first.push_back({invariant, std::move(text)});
}

namespace {

constexpr uint16_t kNoInst = 0xFFFF;

struct Obs {
    bool indicated = false, cd = false, ncd = false, sdr = false, hset = false;
    unsigned st = 0, nh = 0, pad = 0;
    uint32_t h = 0;
    std::string verdict, reason, drop;
    size_t length = 0;
    uint64_t completion_ps = 0, indication_ps = 0;  // 0 when not indicated
};

std::string got(const Obs& o) {
    if (!o.indicated) return fmt::format("not indicated, drop_reason {}", o.drop);
    return fmt::format("crypto_done {} status {} handle {} nic_reason {} verdict {} header_info {}/{}/{} length {}",
                       int(o.cd), o.st, o.h, o.reason, o.verdict, int(o.hset), o.nh, o.pad, o.length);
}

class Checker {
public:
    Checker(const CheckInput& in, CheckResult& r, const std::unordered_map<uint32_t, uint64_t>& wire_end)
        : in_(in), r_(r), plan_(*in.plan), truth_(*in.truth), wire_end_(wire_end) {
        seen_.assign(size_t(in.frames) + 1, false);
        accepted_.assign(size_t(in.frames) + 1, false);
        successor_.assign(plan_.inst.size(), UINT32_MAX);
        for (const SaInst& x : plan_.inst)
            if (x.reuse_of != UINT32_MAX) successor_[x.reuse_of] = x.id;
    }

    void line(const json& j, const uint8_t* rec, size_t rec_len, bool have_rec) {
        ++r_.lines;
        const uint64_t frame = j.at("frame").get<uint64_t>();
        if (frame < 1 || frame > in_.frames) {
            r_.add('a', fmt::format("frame {}: not an input frame (1..{})", frame, in_.frames));
            return;
        }
        if (seen_[frame]) {
            r_.add('a', fmt::format("frame {}: a second line in oob.jsonl", frame));
            return;
        }
        seen_[frame] = true;
        Obs o;
        o.indicated = j.at("indicated").get<bool>();
        o.cd = j.at("crypto_done").get<int>();
        o.ncd = j.at("next_crypto_done").get<int>();
        o.sdr = j.at("sa_delete_req").get<int>();
        o.st = j.at("crypto_status").get<unsigned>();
        o.h = j.at("offload_handle").get<uint32_t>();
        o.verdict = j.at("stack_verdict").get<std::string>();
        o.reason = j.at("nic_reason").get<std::string>();
        o.length = j.at("length").get<size_t>();
        const json& hi = j.at("header_info");
        o.hset = hi.at("header_info_set").get<int>();
        o.nh = hi.at("next_header").get<unsigned>();
        o.pad = hi.at("pad_length").get<unsigned>();
        if (!o.indicated) o.drop = j.at("drop_reason").get<std::string>();
        if (o.indicated) {
            o.completion_ps = j.at("completion_ps").get<uint64_t>();
            o.indication_ps = j.at("indication_ps").get<uint64_t>();
        }
        ++r_.verdicts[o.verdict];

        const Truth& t = truth_[frame - 1];
        frame_ = frame;
        t_ = &t;
        o_ = &o;
        s_ = t.inst != kNoInst ? &plan_.inst[t.inst] : nullptr;
        H_ = s_ ? in_.handle_of_inst[t.inst] : 0;
        classify_races(o);

        if (!o.indicated) {
            ++r_.dropped;
            if (o.drop == "rx_missed") ++r_.missed;
            if (o.drop == "capture_truncated") ++r_.capture_truncated;
            const char* want = t.kind == kCaptureTrunc ? "capture_truncated" : "rx_missed";
            if (o.drop != want) fail('o', fmt::format("drop_reason {}", want));
            if (o.cd || o.st || o.h || o.verdict != "not_indicated") fail('o', "a dropped frame with no OOB data");
            return;
        }
        ++r_.indicated;
        if (!have_rec) {
            r_.add('a', fmt::format("frame {}: indicated but indicated.pcap has no record left for it", frame));
        } else if ((t.flags & kCheckBytes) && !race_nic()) {
            const uint32_t want = t.kind == kReplay ? truth_[t.hash_or_aux - 1].hash_or_aux : t.hash_or_aux;
            ++r_.content_checked;
            if (rec_len != o.length || fnv1a(rec, rec_len) != want)
                fail('x', t.flags & kEspDecrypted ? "the frame decrypted in place (headers, IV, ICV left)"
                                                  : "the frame exactly as it was received");
        }
        generic();
        invariants();
        outcome();
        if (o.verdict == "accepted") accepted_[frame] = true;
    }

    void finish() {
        uint64_t missing = 0;
        for (uint32_t f = 1; f <= in_.frames; ++f)
            if (!seen_[f]) {
                if (missing < 5) r_.add('a', fmt::format("frame {}: no line in oob.jsonl", f));
                ++missing;
            }
        if (missing > 5) r_.add('a', fmt::format("{} frames in all have no line in oob.jsonl", missing));
    }

private:
    // When the OID before frame d ran: it starts when frame d-1's last bit has arrived (the MAC issues it
    // before placing frame d on the wire) and ends before frame d's first bit.
    uint64_t oid_time(uint32_t d) const {
        if (d <= 1) return 0;
        auto it = wire_end_.find(std::min<uint32_t>(d - 1, in_.frames));
        return it == wire_end_.end() ? UINT64_MAX : it->second;
    }
    // An OID for the frame's SA that comes after the frame in input order, but ran while the frame was still
    // before the crypto stage (its completion was written after the OID started) or before the transport.
    bool raced(uint32_t oid_frame, uint64_t when) const {
        return oid_frame != UINT32_MAX && oid_frame > frame_ && when && when > oid_time(oid_frame);
    }
    void classify_races(const Obs& o) {
        race_del_ = race_upd_ = race_add_ = race_readd_ = race_stack_ = false;
        alt_ = nullptr;
        alt_h_ = 0;
        if (!s_) return;
        race_del_ = raced(s_->del_frame, o.completion_ps);
        race_stack_ = raced(s_->del_frame, o.indication_ps);
        race_upd_ = raced(s_->upd_frame, o.completion_ps);
        if (t_->kind == kNotYetAdded) race_add_ = raced(s_->add_frame, o.completion_ps);
        if (t_->kind == kAfterDelete && successor_[s_->id] != UINT32_MAX) {
            const SaInst& j = plan_.inst[successor_[s_->id]];
            if (raced(j.add_frame, o.completion_ps)) {
                race_readd_ = true;
                alt_ = &j;
                alt_h_ = in_.handle_of_inst[j.id];
            }
        }
    }
    bool race_nic() const { return race_del_ || race_upd_ || race_add_ || race_readd_; }

    std::string what() const {
        const Truth& t = *t_;
        std::string s = fmt::format("frame {} ({}{}{}{}{}{}", frame_, kind_name(t.kind),
                                    race_del_ ? ", DELETE_SA of its SA ran before its completion" : "",
                                    race_upd_ ? ", UPDATE_SA of its SA ran before its completion" : "",
                                    race_add_ ? ", ADD_SA of its SA ran before its completion" : "",
                                    race_readd_ ? ", its SA was re-added before its completion" : "",
                                    race_stack_ && !race_del_ ? ", DELETE_SA ran before its indication" : "");
        if (t.kind == kReplay) s += fmt::format(" of frame {}", t.hash_or_aux);
        if (s_) s += fmt::format("; SA {}, handle {}, added before frame {}, deleted before frame {}", s_->describe(),
                                 H_, s_->add_frame, s_->del_frame == UINT32_MAX ? std::string("-") : std::to_string(s_->del_frame));
        return s + ")";
    }
    void fail(char inv, const std::string& expected) {
        r_.add(inv, fmt::format("[{}] {}: expected {}; got {}", inv, what(), expected, got(*o_)));
    }

    // Fields that must agree whatever the frame.
    void generic() {
        const Obs& o = *o_;
        if (!o.cd && (o.st || o.h)) fail('o', "status 0 and handle 0 when CryptoDone is 0");
        if (o.ncd) fail('o', "NextCryptoDone 0 (no nested traffic is generated)");
        if (o.sdr) fail('o', "SaDeleteReq 0 (no SA has a delete policy that fires)");
        if (!o.cd && o.hset) fail('o', "no header info when CryptoDone is 0");
    }

    void invariants() {
        const Truth& t = *t_;
        const Obs& o = *o_;
        const bool corrupt = t.kind == kIcvCorrupt || t.kind == kPayloadCorrupt || t.kind == kTruncFixed ||
                             t.kind == kTruncRaw;
        if (corrupt) ++r_.corrupt_checked;
        if (o.cd && o.st == 0) {
            ++r_.success_checked;
            const bool made_valid = t.kind == kValid || t.kind == kReplay || (t.kind == kNotYetAdded && race_add_) ||
                                    (t.kind == kAfterDelete && race_readd_);
            if (corrupt) fail('c', "never CRYPTO_SUCCESS for a corrupted or truncated frame");
            else if (!made_valid) fail('b', "no CryptoDone/SUCCESS: the frame was not made valid for an offloaded SA");
            else if (s_ && (t.kind == kValid || t.kind == kReplay) && !(s_->add_frame <= frame_ && frame_ < s_->del_frame))
                fail('b', "the SA to be offloaded when the frame was sent");
        }
        if (t.kind == kAfterDelete) {
            ++r_.after_delete_checked;
            const bool readd_match = race_readd_ && o.cd && o.h == alt_h_;
            if ((o.cd || o.reason != "no_sa") && !readd_match)
                fail('d', "crypto_done 0, nic_reason no_sa (its SA was deleted)");
        }
        if (o.cd) {
            ++r_.handle_checked;
            if (s_ && o.h != H_ && !(alt_ && o.h == alt_h_))
                fail('e', fmt::format("offload_handle {} (the handle of {})", H_, s_->name));
            // The handle must not have been given to another SA while this frame still referenced it.
            const bool matched_readd = alt_ && o.h == alt_h_;  // matched the SA offloaded again: its own handle
            const uint32_t reused_at = s_ && o.h == H_ && !matched_readd ? in_.handle_reused_at[s_->id] : UINT32_MAX;
            if (reused_at != UINT32_MAX && o.indication_ps > oid_time(reused_at))
                fail('e', fmt::format("handle {} not reused while this frame referenced it; the ADD_SA before frame "
                                      "{} gave it to {} at {} ps, before this frame's {} ({} ps)", o.h, reused_at,
                                      plan_.inst[in_.handle_reused_by[s_->id]].name, oid_time(reused_at),
                                      o.completion_ps > oid_time(reused_at) ? "completion" : "indication",
                                      o.completion_ps > oid_time(reused_at) ? o.completion_ps : o.indication_ps));
            if (o.h) {
                auto& last = last_seen_[o.h];
                const uint32_t now_inst = alt_ && o.h == alt_h_ ? alt_->id : t.inst;
                if (s_ && last.second && last.first != now_inst) {
                    const SaInst& x = plan_.inst[last.first];
                    // X still offloaded when this frame was looked up (by time: the frame may have been sent
                    // before X's DELETE_SA and looked up after it)
                    const bool x_live = x.del_frame == UINT32_MAX ||
                                        (x.del_frame > frame_ && o.completion_ps <= oid_time(x.del_frame));
                    if (x_live)
                        fail('e', fmt::format("handle {} not shared: frame {} of {} carried it and {} is still "
                                              "offloaded", o.h, last.second, x.name, x.name));
                }
                if (s_) last = {uint16_t(alt_ && o.h == alt_h_ ? alt_->id : t.inst), uint32_t(frame_)};
            }
        }
    }

    bool is(bool cd, unsigned st, const char* reason) const {
        return o_->cd == cd && o_->st == st && o_->reason == reason && (!cd || o_->h == H_);
    }
    void want_verdict(std::initializer_list<const char*> ok) {
        for (const char* v : ok)
            if (o_->verdict == v) return;
        std::string list;
        for (const char* v : ok) list += std::string(list.empty() ? "" : " or ") + v;
        fail('o', "stack_verdict " + list);
    }
    void want_header_info() {
        const Truth& t = *t_;
        const Obs& o = *o_;
        if (t.flags & kEspDecrypted) {
            if (!o.hset || o.nh != t.nh || o.pad != t.pad)
                fail('o', fmt::format("header_info 1/{}/{} (the ESP trailer)", t.nh, t.pad));
        } else if (o.hset) {
            fail('o', "no header info (AH)");
        }
    }
    void race(const std::string& outcome) { ++r_.race_outcomes[std::string(kind_name(t_->kind)) + ": " + outcome]; }

    // A frame of a valid SA that raced an OID for its SA: the state before or after the OID.
    bool raced_valid_outcome(bool replay) {
        const unsigned auth = s_->auth_fail_status();
        if (is(true, 0, "processed")) {
            race("success");
            if (replay) return true;  // verdict checked by the caller
            want_verdict(race_stack_ ? std::initializer_list<const char*>{"accepted", "unknown_sa"}
                                     : std::initializer_list<const char*>{"accepted"});
            return true;
        }
        if (race_del_ && is(false, 0, "no_sa")) {
            race("no_sa (looked up after DELETE_SA)");
            want_verdict({"software_ipsec"});
            return true;
        }
        // Matched, then DELETE_SA before its crypto: the CAM keeps the entry until the frame is done, so the
        // frame is checked with its SA (success above), never CRYPTO_GENERIC_ERROR.
        if (race_upd_ && is(true, auth, "processed")) {
            race("auth failed (UPDATE_SA changed SequenceNumberHighOrder before its crypto)");
            want_verdict({"auth_failed"});
            return true;
        }
        fail('o', race_del_ ? "success, or (DELETE_SA ran meanwhile) no_sa"
                            : "success, or (UPDATE_SA ran meanwhile) its SA's auth failure status");
        return false;
    }

    void outcome() {
        const Truth& t = *t_;
        const Obs& o = *o_;
        const bool nic = race_nic();
        const unsigned auth = s_ ? s_->auth_fail_status() : 0;
        if (nic || race_stack_) ++r_.race_frames;
        switch (t.kind) {
        case kValid:
            if (nic) {
                raced_valid_outcome(false);
                return;
            }
            if (!is(true, 0, "processed")) return fail('o', "crypto_done 1 status 0 nic_reason processed, its SA's handle");
            want_header_info();
            if (race_stack_) {
                race(o.verdict == "unknown_sa" ? "unknown_sa at the stack (DELETE_SA before its indication)"
                                                : "accepted (DELETE_SA after its indication)");
                want_verdict({"accepted", "unknown_sa"});
            } else {
                want_verdict({"accepted"});
            }
            return;
        case kReplay:
            if (nic) {
                if (!raced_valid_outcome(true) || !is(true, 0, "processed")) return;
            } else if (!is(true, 0, "processed")) {
                return fail('o', "crypto_done 1 status 0 (the NIC decrypts a replay)");
            }
            if (!nic) want_header_info();
            if (race_stack_ && o.verdict == "unknown_sa") return;
            if (accepted_[t.hash_or_aux]) want_verdict({"replay"});
            else want_verdict({"replay", "accepted"});  // the original never reached the stack (rx_missed)
            return;
        case kIcvCorrupt:
        case kPayloadCorrupt:
        case kTruncFixed: {
            const bool trunc = t.kind == kTruncFixed;
            if (is(true, auth, "processed")) {
                if (nic) race("auth failed");
                want_verdict({"auth_failed"});
            } else if (trunc && is(true, 6, "processed")) {
                want_verdict({"bad_syntax"});
            } else if (trunc && is(false, 0, "malformed")) {
                want_verdict({"not_ipsec"});
            } else if (race_del_ && is(false, 0, "no_sa")) {
                race("no_sa (looked up after DELETE_SA)");
                want_verdict({"software_ipsec"});
            } else if (race_del_ && is(true, 1, "processed")) {
                race("CRYPTO_GENERIC_ERROR (matched, then DELETE_SA before its crypto)");
                want_verdict({"generic_error"});
            } else {
                fail('o', fmt::format("crypto_done 1 status {}{} with its SA's handle", auth,
                                      trunc ? " or 6 (or malformed)" : ""));
            }
            return;
        }
        case kTruncRaw:
            if (!is(false, 0, "malformed")) fail('o', "crypto_done 0 nic_reason malformed");
            want_verdict({"not_ipsec"});
            return;
        case kAfterDelete:
            if (race_readd_ && o.cd && o.h == alt_h_) {
                // the same SPI, destination and keys were offloaded again before this frame reached the CAM
                race(o.st == 0 ? "matched the re-added SA" : "matched the re-added SA, auth failed (ESN)");
                return;
            }
            [[fallthrough]];
        case kUnknownSpi:
        case kWrongDst:
            if (!is(false, 0, "no_sa")) {
                if (t.kind != kAfterDelete) fail('o', "crypto_done 0 nic_reason no_sa");
                return;  // (d) reported it
            }
            want_verdict({"software_ipsec"});
            return;
        case kNotYetAdded:
            if (race_add_ && is(true, 0, "processed")) {
                race("success (its ADD_SA ran before its lookup)");
                want_verdict({"accepted"});
                return;
            }
            if (race_add_ && is(false, 0, "no_sa")) race("no_sa");
            if (!is(false, 0, "no_sa")) return fail('o', "crypto_done 0 nic_reason no_sa (its SA is added later)");
            want_verdict({"software_ipsec"});
            return;
        case kNonIpsec:
            if (!is(false, 0, t.flags & kNotIp ? "not_ip" : "not_ipsec"))
                fail('o', std::string("crypto_done 0 nic_reason ") + (t.flags & kNotIp ? "not_ip" : "not_ipsec"));
            want_verdict({"not_ipsec"});
            return;
        case kCaptureTrunc:
            fail('o', "dropped by the MAC (capture_truncated)");
            return;
        default:
            fail('o', "a known kind");
        }
    }

    const CheckInput& in_;
    CheckResult& r_;
    const Plan& plan_;
    const std::vector<Truth>& truth_;
    std::vector<bool> seen_, accepted_;
    std::unordered_map<uint32_t, std::pair<uint16_t, uint32_t>> last_seen_;  // handle -> (inst, frame)
    const std::unordered_map<uint32_t, uint64_t>& wire_end_;  // frame -> wire_end_ps (frames before an OID)
    std::vector<uint32_t> successor_;  // instance -> its re-add
    bool race_del_ = false, race_upd_ = false, race_add_ = false, race_readd_ = false, race_stack_ = false;
    const SaInst* alt_ = nullptr;
    uint32_t alt_h_ = 0;
    uint64_t frame_ = 0;
    const Truth* t_ = nullptr;
    const Obs* o_ = nullptr;
    const SaInst* s_ = nullptr;
    uint32_t H_ = 0;
};

}  // namespace

void check_outputs(const CheckInput& in, CheckResult& r) {
    const std::string oob_path = in.out_dir + "/oob.jsonl", pcap_path = in.out_dir + "/indicated.pcap";
    std::ifstream oob(oob_path);
    if (!oob) return r.add('a', "cannot read " + oob_path);
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* pcap = pcap_open_offline(pcap_path.c_str(), errbuf);
    if (!pcap) r.add('a', "cannot read " + pcap_path + ": " + errbuf);
    // Pass 1: when each OID ran, from the wire times of the frame before it (a plain text search per line).
    std::unordered_map<uint32_t, uint64_t> wire_end;
    for (const ov2::OidEvent& e : in.plan->oids)
        if (e.before_frame >= 2) wire_end.emplace(std::min<uint32_t>(e.before_frame - 1, in.frames), 0);
    std::string text;
    {
        std::ifstream first(oob_path);
        auto number_after = [&text](const char* key) -> uint64_t {
            const size_t at = text.find(key);
            return at == std::string::npos ? 0 : std::strtoull(text.c_str() + at + std::strlen(key), nullptr, 10);
        };
        while (std::getline(first, text)) {
            auto it = wire_end.find(uint32_t(number_after("\"frame\":")));
            if (it != wire_end.end()) it->second = number_after("\"wire_end_ps\":");
        }
        for (auto& [f, t] : wire_end)
            if (!t) t = UINT64_MAX;  // no line (reported below): no frame counts as racing it
    }
    Checker c(in, r, wire_end);
    uint64_t lineno = 0;
    while (std::getline(oob, text)) {
        ++lineno;
        json j;
        try {
            j = json::parse(text);
        } catch (const std::exception& e) {
            r.add('a', fmt::format("oob.jsonl line {}: not JSON ({})", lineno, e.what()));
            continue;
        }
        const uint8_t* rec = nullptr;
        size_t rec_len = 0;
        bool have = false;
        try {
            if (j.at("indicated").get<bool>() && pcap) {
                struct pcap_pkthdr* h = nullptr;
                const u_char* data = nullptr;
                if (pcap_next_ex(pcap, &h, &data) == 1) {
                    rec = data;
                    rec_len = h->caplen == h->len ? h->caplen : SIZE_MAX;
                    have = true;
                }
            }
            c.line(j, rec, rec_len, have);
        } catch (const json::exception& e) {
            r.add('a', fmt::format("oob.jsonl line {}: a field is missing or has the wrong type ({})", lineno, e.what()));
        }
    }
    if (pcap) {
        struct pcap_pkthdr* h = nullptr;
        const u_char* data = nullptr;
        uint64_t extra = 0;
        while (pcap_next_ex(pcap, &h, &data) == 1) ++extra;
        if (extra) r.add('a', fmt::format("indicated.pcap has {} records more than oob.jsonl has indicated lines", extra));
        pcap_close(pcap);
    }
    c.finish();
    if (r.lines != in.frames)
        r.add('a', fmt::format("oob.jsonl has {} lines for {} input frames", r.lines, in.frames));
}

void check_oid_log(CheckInput& in, const std::vector<uint32_t>& oid_status, CheckResult& r) {
    in.handle_reused_at.assign(in.plan->inst.size(), UINT32_MAX);
    in.handle_reused_by.assign(in.plan->inst.size(), UINT32_MAX);
    std::unordered_map<uint32_t, uint32_t> last_owner;  // handle -> the instance that had it last
    const Plan& plan = *in.plan;
    if (oid_status.size() != plan.oids.size())
        r.add('o', fmt::format("driver.oid_log has {} entries for {} scheduled OIDs", oid_status.size(), plan.oids.size()));
    // Replay the handle ownership: an add must never be given a handle a live SA holds.
    std::unordered_map<uint32_t, uint32_t> owner;  // handle -> instance
    std::unordered_set<uint32_t> ever;
    for (uint32_t id : plan.initial_ids) {
        const uint32_t h = in.handle_of_inst[id];
        if (!h) {
            r.add('o', fmt::format("initial SA {} was not offloaded", plan.inst[id].describe()));
            continue;
        }
        if (owner.count(h)) r.add('e', fmt::format("handle {} given to {} and {}", h, plan.inst[owner[h]].name, plan.inst[id].name));
        owner[h] = id;
        last_owner[h] = id;
        ever.insert(h);
    }
    for (size_t i = 0; i < plan.oids.size() && i < oid_status.size(); ++i) {
        ++r.oids_checked;
        const ov2::OidEvent& e = plan.oids[i];
        if (oid_status[i] != 0)
            r.add('o', fmt::format("OID {} {} before frame {} of {}: NDIS_STATUS 0x{:08x}; expected success", i,
                                   ov2::oid_event_name(e.kind), e.before_frame, e.sa.empty() ? e.sas[0].name : e.sa,
                                   oid_status[i]));
        for (uint32_t id : plan.oid_added_ids[i]) {
            const uint32_t h = in.handle_of_inst[id];
            if (e.kind == ov2::OidEvent::Kind::AddSa) {
                if (!h) {
                    r.add('o', fmt::format("add_sa before frame {}: {} not offloaded", e.before_frame, plan.inst[id].describe()));
                    continue;
                }
                if (owner.count(h))
                    r.add('e', fmt::format("add_sa before frame {}: {} got handle {}, still held by {}", e.before_frame,
                                           plan.inst[id].name, h, plan.inst[owner[h]].name));
                if (ever.count(h)) {
                    ++r.handles_reused;
                    const uint32_t prev = last_owner[h];
                    if (prev != id && in.handle_reused_at[prev] == UINT32_MAX) {
                        in.handle_reused_at[prev] = e.before_frame;
                        in.handle_reused_by[prev] = id;
                    }
                }
                owner[h] = id;
                last_owner[h] = id;
                ever.insert(h);
            } else if (e.kind == ov2::OidEvent::Kind::DeleteSa) {
                if (h && owner.count(h) && owner[h] == id) owner.erase(h);
            }
        }
    }
}

// ---- key material ---------------------------------------------------------------------------------------

namespace {

uint64_t load64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
inline size_t bloom_index(uint64_t v) { return size_t((v * 0x9E3779B97F4A7C15ULL) >> 42); }  // 22 bits

}  // namespace

void scan_for_keys(const Plan& plan, const std::vector<std::string>& files, KeyScanResult& ks, CheckResult& r) {
    // Every 8-byte window of every key (AES keys, HMAC keys, GCM key||salt): raw, and as 16 hex digits.
    std::unordered_map<uint64_t, uint32_t> windows;  // window -> instance
    std::vector<uint64_t> bloom(1u << 16, 0);        // 2^22 bits
    auto add = [&](const Bytes& key, uint32_t id) {
        if (key.size() < 8) return;
        ++ks.keys;
        for (size_t i = 0; i + 8 <= key.size(); ++i) {
            const uint64_t w = load64(&key[i]);
            windows.emplace(w, id);
            const size_t b = bloom_index(w);
            bloom[b >> 6] |= uint64_t(1) << (b & 63);
        }
    };
    for (const SaInst& s : plan.inst) {
        if (s.reuse_of != UINT32_MAX) continue;  // same keys as the SA it re-adds
        add(s.enc_key, s.id);
        add(s.auth_key, s.id);
        if (!s.salt.empty()) {
            Bytes ks2 = s.enc_key;
            ks2.insert(ks2.end(), s.salt.begin(), s.salt.end());
            add(ks2, s.id);
        }
    }
    ks.windows = windows.size();
    auto hexval = [](int c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (const std::string& path : files) {
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (!f) {
            r.add('g', "cannot read " + path + " to scan it for key material");
            continue;
        }
        ++ks.files;
        std::vector<uint8_t> buf(1 << 20);
        uint64_t raw = 0;
        size_t have8 = 0;
        uint64_t nibbles = 0;   // the last 16 hex digits seen
        size_t hexdigits = 0;   // length of the current run of hex digits
        uint64_t offset = 0, reported = 0;
        size_t n;
        while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
            for (size_t i = 0; i < n; ++i, ++offset) {
                const uint8_t c = buf[i];
                // raw window: the last 8 bytes, in memory order (little-endian load)
                raw = raw >> 8 | uint64_t(c) << 56;
                if (++have8 >= 8) {
                    const uint64_t w = raw;
                    const size_t b = bloom_index(w);
                    if ((bloom[b >> 6] >> (b & 63) & 1) && windows.count(w) && reported++ < 3)
                        r.add('g', fmt::format("{}: byte {}: 8 raw bytes of a key of {}", path, offset - 7,
                                               plan.inst[windows[w]].name));
                }
                // hex window: the last 16 hex digits of a run, at every position (both nibble alignments)
                const int v = hexval(c);
                if (v < 0) {
                    hexdigits = 0;
                    continue;
                }
                nibbles = nibbles << 4 | uint64_t(v);
                if (++hexdigits >= 16) {
                    const uint64_t w = __builtin_bswap64(nibbles);  // first digit pair = first key byte
                    const size_t b = bloom_index(w);
                    if ((bloom[b >> 6] >> (b & 63) & 1) && windows.count(w) && reported++ < 3)
                        r.add('g', fmt::format("{}: byte {}: a key of {} written as hex", path, offset - 15,
                                               plan.inst[windows[w]].name));
                }
            }
            ks.bytes += n;
        }
        std::fclose(f);
    }
}

}  // namespace soak
