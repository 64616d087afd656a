// Types shared by every block of the receive path: NDIS constants, the host's view of an SA (a mirror of
// IPSEC_OFFLOAD_V2_ADD_SA), the device's view (a CAM entry), the parser's output and the completion record.
// Facts and their sources: ../shared/spec/ipsecov2-receive.md (section numbers below refer to it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ov2 {

// ---- NDIS constants -------------------------------------------------------------------------------------

// CryptoStatus codes (spec 1.2): Windows numbering, 0 = success. Linux xfrm status is 1u << code.
enum class CryptoStatus : uint16_t {
    Success = 0,
    GenericError = 1,
    TransportAhAuthFailed = 2,
    TransportEspAuthFailed = 3,
    TunnelAhAuthFailed = 4,
    TunnelEspAuthFailed = 5,
    InvalidPacketSyntax = 6,
    InvalidProtocol = 7,
};
const char* crypto_status_name(CryptoStatus status);

namespace ndis {
// IPSEC_OFFLOAD_V2_ADD_SA.Flags (spec 2.3)
constexpr uint32_t kAddSaInbound = 0x1;
constexpr uint32_t kAddSaIpv6 = 0x10;
// IPSEC_OFFLOAD_V2_SECURITY_ASSOCIATION.Flags (spec 2.5)
constexpr uint32_t kSaFlagEsn = 0x1;

// Algorithm identifiers; the same values are the capability bitmasks (spec 2.5).
enum AuthAlgorithm : uint32_t {
    kAuthNone = 0,  // no authentication algorithm (ESP with a combined mode, or encryption only)
    kAuthMd5 = 0x01,
    kAuthSha1 = 0x02,
    kAuthSha256 = 0x04,
    kAuthAesGmac128 = 0x08,
    kAuthAesGmac192 = 0x10,
    kAuthAesGmac256 = 0x20,
};
enum EncryptionAlgorithm : uint32_t {
    kEncAbsent = 0,  // EncryptionAlgorithm left all zero (AH SAs)
    kEncNull = 0x001,
    kEncDesCbc = 0x002,
    kEnc3DesCbc = 0x004,
    kEncAesGcm128 = 0x008,
    kEncAesGcm192 = 0x010,
    kEncAesGcm256 = 0x020,
    kEncAesCbc128 = 0x040,
    kEncAesCbc192 = 0x080,
    kEncAesCbc256 = 0x100,
};
constexpr uint32_t kAllAuthAlgorithms = 0x3F;
constexpr uint32_t kAllEncryptionAlgorithms = 0x1FF;

// UdpEspEncapsulation (spec 2.6)
enum UdpEspEncapsulation : uint32_t {
    kUdpEspNone = 0,
    kUdpEspTransport = 1,
    kUdpEspTunnel = 2,
    kTransportOverUdpEspTunnel = 4,
    kUdpEspTransportOverTunnel = 8,
};

// OID codes (spec 2.1), used in logs and docs.
constexpr uint32_t kOidAddSa = 0xFC030202;
constexpr uint32_t kOidDeleteSa = 0xFC030203;
constexpr uint32_t kOidUpdateSa = 0xFC030204;
constexpr uint32_t kOidAddSaEx = 0xFC030205;
}  // namespace ndis

bool is_gcm_encryption(uint32_t enc);  // AES-GCM-128/192/256 (combined mode)
bool is_gmac_auth(uint32_t auth);      // AES-GMAC-128/192/256
bool is_cbc_encryption(uint32_t enc);  // DES, 3DES, AES-CBC
size_t aes_key_bytes_for(uint32_t alg); // 16/24/32 for the GCM/GMAC/AES-CBC ids, 8 DES, 24 3DES, 0 otherwise

constexpr uint8_t kIpProtoEsp = 50;
constexpr uint8_t kIpProtoAh = 51;
constexpr uint16_t kUdpEspPort = 4500;

enum class IpsecOperation : uint32_t { Ah = 1, Esp = 2 };  // IPSEC_OFFLOAD_V2_OPERATION
enum class SaMode : uint8_t { Transport = 0, Tunnel = 1 };    // ov2sim: which portion an SA protects

// ---- addresses ------------------------------------------------------------------------------------------

struct IpAddr {
    uint8_t version = 0;               // 4 or 6; 0 = unset
    std::array<uint8_t, 16> bytes{};   // IPv4 in bytes[0..3], network order
    static std::optional<IpAddr> parse(std::string_view text);  // "192.0.2.1" or "2001:db8::1"
    static IpAddr v4(const uint8_t* p);
    static IpAddr v6(const uint8_t* p);
    bool is_zero() const;  // all zero: the NDIS wildcard
    std::string str() const;
    bool operator==(const IpAddr& o) const { return version == o.version && bytes == o.bytes; }
    bool operator!=(const IpAddr& o) const { return !(*this == o); }
};

// ---- host view of an SA: mirror of IPSEC_OFFLOAD_V2_ADD_SA (spec 2.3, 2.5) ------------------------------

struct AlgorithmInfo {
    uint32_t identifier = 0;       // ndis::AuthAlgorithm or ndis::EncryptionAlgorithm
    std::vector<uint8_t> key;      // GCM/GMAC: AES key followed by the 4-byte RFC 4106 salt
    uint32_t additional_info = 0;  // GCM/GMAC: ICV length in bytes (8, 12, 16)
};

struct SecurityAssociation {
    uint32_t flags = 0;  // ndis::kSaFlagEsn
    IpsecOperation operation = IpsecOperation::Esp;
    uint32_t spi = 0;  // numeric value of the 4 wire bytes read big-endian
    AlgorithmInfo authentication;
    AlgorithmInfo encryption;
    uint32_t sequence_number_high_order = 0;
    SaMode mode = SaMode::Transport;  // ov2sim extension (documented in docs/sa-formats.md)
};

// ov2sim extension: when the miniport sets SaDeleteReq for an inbound SA (0 = never).
struct SaDeletePolicy {
    uint64_t packet_lifetime = 0;    // SaDeleteReq on the packet that reaches this many
    uint64_t byte_lifetime = 0;      // ... or this many bytes of IP datagram
    uint32_t seq_wrap_margin = 256;  // ... or, without ESN, a sequence number within this of 2^32 (0 = off)
};

struct AddSa {
    uint32_t flags = ndis::kAddSaInbound;  // ndis::kAddSaInbound | ndis::kAddSaIpv6
    IpAddr src;                            // zero = wildcard
    IpAddr dst;                            // zero = wildcard
    uint32_t udp_esp_encapsulation = ndis::kUdpEspNone;
    uint32_t num_ext_hdrs = 1;  // 2 = AH + ESP bundle: sec_assoc[0] ESP, sec_assoc[1] AH (spec 2.3)
    std::array<SecurityAssociation, 2> sec_assoc{};
    // ov2sim extensions, not part of the NDIS structure:
    uint32_t replay_window = 64;  // transport's anti-replay window in packets (0 = no replay check)
    uint64_t replay_seq = 0;      // transport's highest sequence number already seen (64-bit with ESN)
    SaDeletePolicy delete_policy;
    std::string name;    // user-facing label, e.g. "sa.json:12" or the JSON "name" field
    std::string pair;    // name of the SA of the other direction (the transport deletes it too); "" = auto
    std::string not_offloadable;  // non-empty: why IPsecOV2 cannot name this SA (e.g. "hmac(sha384)");
                                  // the miniport refuses it (OffloadHandle NULL) and its packets go unprocessed
    bool inbound() const { return (flags & ndis::kAddSaInbound) != 0; }
};

// IPSEC_OFFLOAD_V2_UPDATE_SA (spec 2.2)
struct UpdateSa {
    uint64_t offload_handle = 0;
    IpsecOperation operation = IpsecOperation::Esp;
    uint32_t spi = 0;
    uint32_t sequence_number_high_order = 0;
};

// NDIS_IPSEC_OFFLOAD_V2 capabilities (spec 2.7). Every field is a switch the miniport advertises and the
// device enforces: a packet outside them is indicated unprocessed.
struct Capabilities {
    uint32_t encapsulation = 0x2;  // NDIS_ENCAPSULATION_IEEE_802_3
    bool ipv6_supported = true;
    bool ipv4_options = true;
    bool ipv6_non_ipsec_extension_headers = true;
    bool ah = true;
    bool esp = true;
    bool ah_esp_combined = true;
    bool transport = true;
    bool tunnel = true;  // must be TRUE for a miniport to offload at all (spec 2.7)
    bool transport_tunnel_combined = true;
    bool lso_supported = false;
    bool extended_sequence_numbers = true;
    uint32_t udp_esp = ndis::kUdpEspTransport | ndis::kUdpEspTunnel | ndis::kTransportOverUdpEspTunnel |
                       ndis::kUdpEspTransportOverTunnel;
    uint32_t authentication_algorithms = ndis::kAllAuthAlgorithms;
    uint32_t encryption_algorithms = ndis::kAllEncryptionAlgorithms;
    uint32_t sa_offload_capacity = 1024;  // SA bundles
};

// ---- parser output --------------------------------------------------------------------------------------

enum class L4Kind : uint8_t {
    NotIp,      // not IPv4/IPv6 (ARP, LLDP, ...)
    NotIpsec,   // IP, but neither AH, ESP nor ESP-in-UDP
    Esp,        // IP | ESP
    Ah,         // IP | AH (the AH may be followed by ESP: an AH+ESP bundle)
    UdpEsp,     // IP | UDP/4500 | ESP (RFC 3948)
    UdpNonEsp,  // UDP/4500 carrying IKE (non-ESP marker) or a NAT keepalive (0xFF)
    Malformed,  // a length or header that does not fit; `error` says which
};
const char* l4_kind_name(L4Kind kind);

struct ParseResult {
    L4Kind kind = L4Kind::NotIp;
    const char* error = nullptr;  // static string, set for Malformed
    // AH/ESP found and its SPI readable, but the header does not fit the IP datagram (NDIS's example of
    // CRYPTO_INVALID_PACKET_SYNTAX): kind stays Esp/Ah so the SA can be matched; static string
    const char* syntax_error = nullptr;
    uint8_t vlan_tags = 0;
    uint8_t ip_version = 0;
    bool ipv4_options = false;          // IHL > 5
    bool ipv6_extension_headers = false; // non-IPsec extension headers before the AH/ESP header
    bool fragment = false;              // IPv4 MF/offset or an IPv6 fragment header
    uint16_t l3_offset = 0;             // IP header, from the start of the buffer parsed
    uint32_t l3_length = 0;             // IP datagram length from the IP header (total / payload + 40)
    uint16_t udp_offset = 0;            // UDP header (UdpEsp/UdpNonEsp)
    uint16_t ipsec_offset = 0;          // AH or ESP header
    uint8_t ipsec_proto = 0;            // kIpProtoEsp or kIpProtoAh (UdpEsp: kIpProtoEsp); also set on a
                                        // later fragment (kind NotIpsec) whose datagram is AH/ESP
    uint16_t next_header_offset = 0;    // byte holding ipsec_proto/UDP (IPv4 protocol or the last next-header)
    uint32_t spi = 0;
    uint32_t seq = 0;                   // sequence number low 32 bits
    IpAddr src;
    IpAddr dst;
    uint16_t header_steps = 0;          // parser walk steps (docs/timing.md, parser): the L2/L3 step + one a header after it
};

// ---- device view of an SA: one CAM entry (programmed through SA_DATA registers, see RegisterMap) ---------

struct CamEntry {
    bool valid = false;
    bool inbound = true;  // outbound entries occupy a slot but never match a received packet
    uint8_t ip_version = 4;
    IpAddr dst;           // zero = wildcard
    uint32_t spi = 0;
    uint8_t proto = kIpProtoEsp;   // 50 / 51
    SaMode mode = SaMode::Transport;
    bool esn = false;
    uint32_t seq_hi = 0;
    uint32_t udp_esp_encapsulation = 0;
    uint32_t enc_alg = 0;    // ndis::EncryptionAlgorithm
    uint32_t auth_alg = 0;   // ndis::AuthAlgorithm
    uint8_t icv_len = 0;     // bytes
    uint8_t enc_key_len = 0; // bytes, salt excluded
    uint8_t auth_key_len = 0;
    std::array<uint8_t, 32> enc_key{};
    std::array<uint8_t, 4> salt{};
    std::array<uint8_t, 32> auth_key{};
    uint32_t handle = 0;       // the bundle's OffloadHandle (generation << 16 | slot + 1, see DriverShim)
    uint8_t bundle_slot = 0;   // 0 or 1
    bool bundle_has_inner = false;  // AH entry of an AH+ESP bundle: the ESP SA in the other slot follows
};

// ---- register map (BAR0, 32-bit registers, little-endian) -----------------------------------------------
namespace reg {
constexpr uint64_t kMmioBase = 0xF000'0000ULL;  // bus address of BAR0
constexpr uint64_t kMmioSize = 0x1000;
// descriptor writeback block (rings, interrupt)
constexpr uint32_t kRxCtrl = 0x000;           // bit0: receive enable
constexpr uint32_t kRxRingBaseLo = 0x010;     // posted-buffer ring (16 B descriptors)
constexpr uint32_t kRxRingBaseHi = 0x014;
constexpr uint32_t kRxRingSize = 0x018;       // entries
constexpr uint32_t kRxRingTail = 0x01C;       // driver: index one past the last posted buffer
constexpr uint32_t kRxRingHead = 0x020;       // device: next buffer to use (read only)
constexpr uint32_t kCplRingBaseLo = 0x030;    // completion ring (32 B records)
constexpr uint32_t kCplRingBaseHi = 0x034;
constexpr uint32_t kCplRingSize = 0x038;
constexpr uint32_t kCplRingHead = 0x03C;      // driver: next completion it will read (frees the slot)
// SA CAM block
constexpr uint32_t kSaCtrl = 0x100;           // bit0: IPsec offload enabled
constexpr uint32_t kSaCaps = 0x104;           // capability switches the device enforces (kCap*)
constexpr uint32_t kSaAuthMask = 0x108;       // enabled authentication algorithms
constexpr uint32_t kSaEncMask = 0x10C;        // enabled encryption algorithms
constexpr uint32_t kSaUdpEspMask = 0x110;     // enabled UDP-ESP encapsulation types
constexpr uint32_t kSaCmd = 0x120;            // [11:0] entry index, [31:28] SaCmdOp
constexpr uint32_t kSaStatus = 0x124;         // bit0: last command failed (bad index or entry); bit1: busy,
                                              //   the entry still serves frames in flight (retry the command)
constexpr uint32_t kSaCapacity = 0x128;       // read only: number of entries
constexpr uint32_t kSaData0 = 0x200;          // staging words of one entry (kSaDataWords)
constexpr uint32_t kSaDataWords = 48;
constexpr uint32_t kSaStatusError = 1u << 0, kSaStatusBusy = 1u << 1;  // SA_STATUS bits
enum SaCmdOp : uint32_t { kSaCmdWrite = 1, kSaCmdInvalidate = 2, kSaCmdSetSeqHi = 3, kSaCmdRead = 4 };
// Capability bits of kSaCaps (plain constants: they are or-ed and compared with register words).
constexpr uint32_t kCapIpv6 = 1u << 0, kCapIpv4Options = 1u << 1, kCapIpv6ExtHeaders = 1u << 2, kCapAh = 1u << 3,
                   kCapEsp = 1u << 4, kCapAhEsp = 1u << 5, kCapTransport = 1u << 6, kCapTunnel = 1u << 7,
                   kCapTransportTunnel = 1u << 8, kCapEsn = 1u << 9;
}  // namespace reg

// Serialisation of a CamEntry into the SA_DATA staging words (the driver writes them, the CAM reads them).
std::array<uint32_t, reg::kSaDataWords> pack_cam_entry(const CamEntry& e);
CamEntry unpack_cam_entry(const std::array<uint32_t, reg::kSaDataWords>& w);

// ---- host memory formats --------------------------------------------------------------------------------

// Posted receive buffer, 16 bytes: addr(8) len(4) reserved(4), little-endian.
struct RxDescriptor {
    uint64_t buffer_addr = 0;
    uint32_t buffer_len = 0;
    static constexpr size_t kBytes = 16;
};

// Completion record, 32 bytes, written by descriptor writeback with the done bit (byte 31 bit 0) last.
struct Completion {
    uint32_t frame_tag = 0;       // device receive sequence number (1-based arrival order)
    uint16_t length = 0;          // bytes written into the buffer
    uint16_t ipsec_flags = 0;     // CplFlag
    uint32_t handle = 0;          // OffloadHandle of the SA that was checked first (outer), 0 = none
    uint32_t inner_handle = 0;    // transport-portion handle when two portions were checked
    uint8_t crypto_status = 0;    // CryptoStatus
    uint8_t next_header = 0;      // from the ESP trailer
    uint8_t pad_length = 0;       // from the ESP trailer
    uint8_t unprocessed_reason = 0; // NicReason
    uint32_t seq_low = 0;         // outer SA sequence number (low 32 bits)
    uint64_t timestamp_ps = 0;    // wire arrival time of the last byte
    bool done = false;
    static constexpr size_t kBytes = 32;
    std::array<uint8_t, kBytes> encode() const;
    static Completion decode(const uint8_t* p);
};
enum CplFlag : uint16_t {
    kCplCryptoDone = 1u << 0,
    kCplNextCryptoDone = 1u << 1,
    kCplHeaderInfoSet = 1u << 2,
    kCplEsp = 1u << 3,      // outer IPsec header was ESP
    kCplAh = 1u << 4,
    kCplTruncated = 1u << 5,  // frame longer than the posted buffer: cut
};

// Why the NIC did not (or could not) process a frame; part of the completion and of oob.jsonl.
enum class NicReason : uint8_t {
    Processed = 0,
    OffloadDisabled,
    NotIp,
    NotIpsec,
    NoSa,
    Ipv4Options,
    Ipv6ExtensionHeaders,
    Fragment,
    Ipv6NotSupported,
    ModeNotSupported,     // tunnel/transport capability off
    ProtocolNotSupported, // AH or ESP capability off
    UdpEspNotSupported,
    Malformed,            // parser could not find the headers it needs
};
const char* nic_reason_name(NicReason reason);

}  // namespace ov2
