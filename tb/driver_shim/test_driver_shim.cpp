// Driver shim: the NDIS bit layouts, which SAs the miniport refuses, and the CAM entries it programs.
#include <gtest/gtest.h>

#include "driver_shim.h"

using namespace ov2;

TEST(DriverShim, NblInfoBitLayoutMatchesNdis) {
    EXPECT_EQ(make_nbl_info(true, false, false, CryptoStatus::Success), 0x1u);
    EXPECT_EQ(make_nbl_info(false, true, false, CryptoStatus::Success), 0x2u);
    EXPECT_EQ(make_nbl_info(false, true, true, CryptoStatus::Success), 0x6u);
    EXPECT_EQ(make_nbl_info(false, true, false, CryptoStatus::TunnelEspAuthFailed), 0x00050002u);
    EXPECT_EQ(make_nbl_info(true, true, true, CryptoStatus::InvalidProtocol), 0x00070007u);
}

TEST(DriverShim, UnprocessedPacketsHaveBothFlagsAndStatusClear) {
    // NDIS: clear CryptoDone and NextCryptoDone whenever the NIC did not process the packet.
    EXPECT_EQ(make_nbl_info(false, false, true, CryptoStatus::TransportAhAuthFailed), 0u);
}

TEST(DriverShim, HeaderInfoLayout) {
    EXPECT_EQ(make_header_info(4, 2, true), 0x00010204u);
    EXPECT_EQ(make_header_info(4, 2, false), 0u);
}

namespace {

AddSa gcm_sa() {
    AddSa sa;
    sa.dst = *IpAddr::parse("192.0.2.1");
    sa.src = *IpAddr::parse("192.0.2.2");
    SecurityAssociation& s = sa.sec_assoc[0];
    s.operation = IpsecOperation::Esp;
    s.spi = 0x100;
    s.encryption.identifier = ndis::kEncAesGcm128;
    s.encryption.key.assign(20, 0x11);
    s.encryption.key[16] = 0xA1;  // salt starts here
    s.encryption.additional_info = 12;
    return sa;
}

}  // namespace

TEST(DriverShim, AcceptsWhatTheCapabilitiesAllow) {
    EXPECT_EQ(offload_refusal(gcm_sa(), Capabilities{}), "");
}

TEST(DriverShim, RefusesEachCapabilityThatIsOff) {
    struct Case {
        const char* what;
        void (*off)(Capabilities&);
        void (*shape)(AddSa&);
    };
    const Case cases[] = {
        {"esp", [](Capabilities& c) { c.esp = false; }, [](AddSa&) {}},
        {"transport", [](Capabilities& c) { c.transport = false; }, [](AddSa&) {}},
        {"tunnel", [](Capabilities& c) { c.tunnel = false; }, [](AddSa& s) { s.sec_assoc[0].mode = SaMode::Tunnel; }},
        {"ipv6", [](Capabilities& c) { c.ipv6_supported = false; }, [](AddSa& s) { s.flags |= ndis::kAddSaIpv6; }},
        {"esn", [](Capabilities& c) { c.extended_sequence_numbers = false; },
         [](AddSa& s) { s.sec_assoc[0].flags |= ndis::kSaFlagEsn; }},
        {"algorithm mask", [](Capabilities& c) { c.encryption_algorithms = ndis::kEncAesGcm256; }, [](AddSa&) {}},
        {"udp", [](Capabilities& c) { c.udp_esp = 0; },
         [](AddSa& s) { s.udp_esp_encapsulation = ndis::kUdpEspTransport; }},
        {"bundle", [](Capabilities& c) { c.ah_esp_combined = false; },
         [](AddSa& s) {
             s.num_ext_hdrs = 2;
             s.sec_assoc[1].operation = IpsecOperation::Ah;
             s.sec_assoc[1].spi = 0x200;
             s.sec_assoc[1].authentication.identifier = ndis::kAuthSha1;
             s.sec_assoc[1].authentication.key.assign(20, 1);
         }},
    };
    for (const Case& c : cases) {
        Capabilities caps;
        AddSa sa = gcm_sa();
        c.shape(sa);
        EXPECT_EQ(offload_refusal(sa, caps), "") << c.what;
        c.off(caps);
        EXPECT_NE(offload_refusal(sa, caps), "") << c.what;
    }
}

TEST(DriverShim, RefusesAlgorithmsIpsecOv2CannotName) {
    AddSa sa = gcm_sa();
    sa.not_offloadable = "hmac(sha384)";
    EXPECT_NE(offload_refusal(sa, Capabilities{}).find("hmac(sha384)"), std::string::npos);
}

TEST(DriverShim, GcmKeyIsSplitIntoKeyAndSalt) {
    const CamEntry e = make_cam_entry(gcm_sa(), 0, 3);
    EXPECT_EQ(e.enc_key_len, 16);
    EXPECT_EQ(e.salt[0], 0xA1);
    EXPECT_EQ(e.icv_len, 12);
    EXPECT_EQ(e.handle, 3u);
    EXPECT_EQ(e.proto, kIpProtoEsp);
    EXPECT_EQ(e.dst, *IpAddr::parse("192.0.2.1"));
}

TEST(DriverShim, BundleHasAhOutsideEspInside) {
    AddSa sa = gcm_sa();
    sa.num_ext_hdrs = 2;
    SecurityAssociation& ah = sa.sec_assoc[1];
    ah.operation = IpsecOperation::Ah;
    ah.spi = 0x200;
    ah.authentication.identifier = ndis::kAuthSha256;
    ah.authentication.key.assign(32, 0x22);
    const CamEntry esp = make_cam_entry(sa, 0, 5), outer = make_cam_entry(sa, 1, 5);
    EXPECT_FALSE(esp.bundle_has_inner);
    EXPECT_TRUE(outer.bundle_has_inner);
    EXPECT_EQ(outer.proto, kIpProtoAh);
    EXPECT_EQ(outer.icv_len, 16);
    EXPECT_EQ(outer.enc_alg, 0u);
}
