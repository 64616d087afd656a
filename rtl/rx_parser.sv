// Receive header parser: RTL twin of parse_frame() (hw_model/rx_parser.cpp, rules in docs/rx_parser.md).
// Same classification, lookup key and offsets: Ethernet with up to two 802.1Q/802.1ad tags, IPv4 with
// options, the IPv6 extension-header walk, AH, ESP, ESP in UDP/4500, the syntax_error cases and the first-
// fragment rules.
//
// The frame arrives as a valid/ready stream, W bytes a beat: byte i of a beat is s_data[8*i +: 8], s_keep
// is all ones except on the s_last beat, where it is contiguous from byte 0 (any count, 0 included).
// A walker reads one header a cycle from a two-beat window. It asks for the next beat only when the header
// it is on needs bytes beyond the window, so the stream never runs ahead of it; once the frame is
// classified the rest of the frame is drained at one beat a cycle. The checks that depend on the frame
// length (IPv4 total length / IPv6 payload length beyond the buffer, buffer longer than 65535 bytes) are
// settled when s_last arrives, in the model's order. The result record is valid the cycle after the
// last beat was taken and the walk ended, and holds until taken; the next frame is not taken before.
//
// Conventions (docs/rtl.md): rising edge of `clk`, `rst` synchronous active high.
module rx_parser #(
    parameter int W = 64  // datapath bytes a beat (TimingParams::datapath_bytes), a power of two, >= 64
) (
    input  logic           clk,
    input  logic           rst,
    input  logic           s_valid,
    output logic           s_ready,
    input  logic [8*W-1:0] s_data,
    input  logic [W-1:0]   s_keep,
    input  logic           s_last,
    output logic           r_valid,
    input  logic           r_ready,
    output logic [2:0]     r_kind,          // L4Kind: 0 NotIp 1 NotIpsec 2 Esp 3 Ah 4 UdpEsp 5 UdpNonEsp 6 Malformed
    output logic [4:0]     r_error,         // Malformed reason (docs/rtl.md lists the codes); 0 otherwise
    output logic [2:0]     r_syntax_error,  // 1 ESP cut, 2 AH cut, 3 AH length below 12, 4 AH length beyond
    output logic [1:0]     r_vlan_tags,
    output logic [3:0]     r_ip_version,
    output logic           r_ipv4_options,
    output logic           r_ipv6_ext,
    output logic           r_fragment,
    output logic [15:0]    r_l3_offset,
    output logic [31:0]    r_l3_length,
    output logic [15:0]    r_udp_offset,
    output logic [15:0]    r_ipsec_offset,
    output logic [7:0]     r_ipsec_proto,
    output logic [15:0]    r_next_header_offset,
    output logic [31:0]    r_spi,
    output logic [31:0]    r_seq,
    output logic           r_addr_set,      // src/dst were read (IpAddr version = r_ip_version)
    output logic [127:0]   r_src,           // IpAddr::bytes[i] at [8*i +: 8]; IPv4 in bytes 0..3
    output logic [127:0]   r_dst
);
    localparam int WB = $clog2(W);
    localparam int HDR = 40;  // the most bytes one step reads (the IPv6 header)

    typedef enum logic [2:0] { S_ETH, S_VLAN, S_IP, S_V4, S_V6, S_WALK, S_DONE } state_t;
    localparam logic [2:0] K_NOTIP = 3'd0, K_NOTIPSEC = 3'd1, K_ESP = 3'd2, K_AH = 3'd3, K_UDPESP = 3'd4,
                           K_UDPNONESP = 3'd5, K_MALFORMED = 3'd6;
    localparam logic [4:0] E_TOO_LONG = 5'd1, E_ETH = 5'd2, E_VLAN = 5'd3, E_NO_IP = 5'd4, E_VERSION = 5'd5,
                           E_V4_TRUNC = 5'd7, E_V4_IHL = 5'd8, E_V4_TOTAL_SHORT = 5'd9,
                           E_V4_TOTAL_BEYOND = 5'd10, E_V6_TRUNC = 5'd11, E_V6_JUMBO = 5'd12,
                           E_V6_BEYOND = 5'd13, E_EXT_TRUNC = 5'd14, E_EXT_BEYOND = 5'd15,
                           E_FRAG_TRUNC = 5'd16, E_ESP_TRUNC = 5'd17, E_AH_TRUNC = 5'd18,
                           E_UDP_TRUNC = 5'd19, E_UDP_SHORT = 5'd20, E_UDP_BEYOND = 5'd21;

    // ---- stream side: two-beat window, beats taken, frame length ----
    logic [16*W-1:0] win;     // byte j at [8*j +: 8]; bytes [(nb-2)*W, nb*W) of the frame
    logic [31:0]     nb;      // beats taken
    logic            eof;     // the s_last beat was taken
    logic [31:0]     len;     // frame bytes, valid once eof

    // ---- walker ----
    state_t      st;
    logic [31:0] pos;         // frame offset of the header being looked at
    logic [31:0] pend;        // end of the IP datagram (p.end in the model)
    logic [31:0] first_hdr;   // first byte after the IPv6 header (hop-by-hop only there)
    logic [7:0]  proto;       // what the current header is (p.proto)
    logic [31:0] proto_byte;  // where that was named (p.proto_byte)
    logic        is_v6;
    logic [3:0]  expect_ver;
    logic        len_check;   // the IP datagram must fit the frame: settled at eof
    logic [4:0]  len_error;
    logic [31:0] ip_end;

    // ---- result being built ----
    logic [2:0]   kind;
    logic [4:0]   err;
    logic [2:0]   syn;
    logic [1:0]   vlan;
    logic [3:0]   ipver;
    logic         v4opt, v6ext, frag, addr_set;
    logic [31:0]  l3_off, l3_len, udp_off, ipsec_off, nho;
    logic [7:0]   iproto;
    logic [31:0]  spi, seq;
    logic [127:0] src, dst;

    // Bytes needed in the window before the current step can run (fewer at the end of the frame).
    logic [31:0] need;
    always_comb begin
        case (st)
            S_ETH: need = 32'd14;
            S_VLAN: need = 32'd2;
            S_IP: need = 32'd1;
            S_V4: need = 32'd20;
            S_V6: need = 32'd40;
            default: need = 32'd16;
        endcase
    end

    logic [31:0] nbw;   // bytes taken so far (whole beats)
    logic [31:0] avail; // bytes known to exist: the frame length once eof, else what was taken
    assign nbw = nb << WB;
    assign avail = eof ? len : nbw;

    logic have_bytes, step, want_beat;
    assign have_bytes = pos + need <= nbw;
    assign step = st != S_DONE && (have_bytes || eof) && !r_valid;
    assign want_beat = !eof && !r_valid && (st == S_DONE || !have_bytes);
    assign s_ready = want_beat && !rst;

    // The step's header: HDR bytes of the window from `pos` (window byte pos - (nb-2)*W).
    logic [31:0]      woff;
    logic [16*W-1:0]  shifted;
    logic [8*HDR-1:0] h;
    assign woff = pos + 32'(2 * W) - nbw;
    assign shifted = win >> {woff[WB:0], 3'b000};
    assign h = shifted[8*HDR-1:0];

    function automatic logic [7:0] b8(input logic [8*HDR-1:0] hv, input int i);
        return hv[8*i +: 8];
    endfunction
    function automatic logic [15:0] b16(input logic [8*HDR-1:0] hv, input int i);
        return {hv[8*i +: 8], hv[8*(i+1) +: 8]};
    endfunction
    function automatic logic [31:0] b32(input logic [8*HDR-1:0] hv, input int i);
        return {hv[8*i +: 8], hv[8*(i+1) +: 8], hv[8*(i+2) +: 8], hv[8*(i+3) +: 8]};
    endfunction
    // fits(p, n, end) of the model: [p, p + n) inside [0, end), without overflow.
    function automatic logic fits(input logic [31:0] p, input logic [31:0] n, input logic [31:0] e);
        return p <= e && n <= e - p;
    endfunction

    // Bytes in the last beat (s_keep is contiguous from byte 0).
    logic [WB:0] keep_count;
    always_comb begin
        keep_count = '0;
        for (int i = 0; i < W; i++) keep_count = keep_count + {{WB{1'b0}}, s_keep[i]};
    end

    // Decoded fields of the step's header, named after the model's variables.
    logic [7:0]  ihl_bytes, ah_len_bytes;
    logic [15:0] v4_total, v4_fragf, v6_plen, frag_oaf, udp_len;
    logic [31:0] ext_bytes, udp_end_raw, udp_data, udp_n;
    // Tags skipped before the ethertype at `pos` (counted once that ethertype is known to be in the
    // frame, as the model increments vlan_tags only after the read).
    logic [31:0] tag_bytes;
    logic [1:0]  tags_read;
    assign tag_bytes = pos - 32'd12;
    assign tags_read = tag_bytes[3:2];
    assign ihl_bytes = {2'b00, h[3:0], 2'b00};
    assign v4_total = b16(h, 2);
    assign v4_fragf = b16(h, 6);
    assign v6_plen = b16(h, 4);
    assign ext_bytes = (32'(b8(h, 1)) + 32'd1) << 3;
    assign frag_oaf = b16(h, 2);
    assign ah_len_bytes = 8'(b8(h, 1));  // Payload Len; (len + 2) * 4 bytes
    assign udp_len = b16(h, 4);
    assign udp_end_raw = pos + 32'(udp_len);
    assign udp_data = pos + 32'd8;
    assign udp_n = (udp_end_raw > pend ? pend : udp_end_raw) - udp_data;

    always_ff @(posedge clk) begin
        if (rst || (r_valid && r_ready)) begin
            win <= '0;
            nb <= '0;
            eof <= 1'b0;
            len <= '0;
            st <= S_ETH;
            pos <= '0;
            pend <= '0;
            first_hdr <= '0;
            proto <= '0;
            proto_byte <= '0;
            is_v6 <= 1'b0;
            expect_ver <= '0;
            len_check <= 1'b0;
            len_error <= '0;
            ip_end <= '0;
            kind <= K_NOTIP;
            err <= '0;
            syn <= '0;
            vlan <= '0;
            ipver <= '0;
            v4opt <= 1'b0;
            v6ext <= 1'b0;
            frag <= 1'b0;
            addr_set <= 1'b0;
            l3_off <= '0;
            l3_len <= '0;
            udp_off <= '0;
            ipsec_off <= '0;
            nho <= '0;
            iproto <= '0;
            spi <= '0;
            seq <= '0;
            src <= '0;
            dst <= '0;
            r_valid <= 1'b0;
        end else begin
            // Stream side.
            if (s_valid && s_ready) begin
                win <= {s_data, win[16*W-1:8*W]};
                nb <= nb + 32'd1;
                if (s_last) begin
                    eof <= 1'b1;
                    len <= nbw + 32'(keep_count);
                end
            end
            // The result once the frame is in and the walk has ended.
            if (st == S_DONE && eof && !r_valid) r_valid <= 1'b1;
            // Walker: one header a cycle.
            if (step) begin
                case (st)
                    S_ETH: begin
                        if (!fits(32'd0, 32'd14, avail)) begin
                            kind <= K_MALFORMED;
                            err <= E_ETH;
                            st <= S_DONE;
                        end else begin
                            // Continue with the ethertype at 12 (a tag moves it on by 4).
                            pos <= 32'd12;
                            st <= S_VLAN;
                            vlan <= 2'd0;
                        end
                    end
                    S_VLAN: begin  // pos: the ethertype (or TPID) position
                        if (!fits(pos, 32'd2, avail)) begin
                            kind <= K_MALFORMED;
                            err <= E_VLAN;
                            st <= S_DONE;
                        end else if ((b16(h, 0) == 16'h8100 || b16(h, 0) == 16'h88A8) && tags_read != 2'd2) begin
                            vlan <= tags_read;
                            pos <= pos + 32'd4;
                        end else if (b16(h, 0) == 16'h0800 || b16(h, 0) == 16'h86DD) begin
                            vlan <= tags_read;
                            expect_ver <= b16(h, 0) == 16'h0800 ? 4'd4 : 4'd6;
                            pos <= pos + 32'd2;
                            st <= S_IP;
                        end else begin
                            vlan <= tags_read;
                            kind <= K_NOTIP;  // other ethertype, or a third tag
                            st <= S_DONE;
                        end
                    end
                    S_IP: begin
                        if (pos >= avail) begin
                            kind <= K_MALFORMED;
                            err <= E_NO_IP;
                            st <= S_DONE;
                        end else begin
                            l3_off <= pos;
                            if (h[7:4] != expect_ver) begin
                                kind <= K_MALFORMED;
                                err <= E_VERSION;
                                st <= S_DONE;
                            end else begin
                                ipver <= expect_ver;
                                st <= expect_ver == 4'd4 ? S_V4 : S_V6;
                            end
                        end
                    end
                    S_V4: begin
                        if (!fits(pos, 32'd20, avail)) begin
                            kind <= K_MALFORMED;
                            err <= E_V4_TRUNC;
                            st <= S_DONE;
                        end else if (ihl_bytes < 8'd20) begin
                            kind <= K_MALFORMED;
                            err <= E_V4_IHL;
                            st <= S_DONE;
                        end else if (v4_total < 16'(ihl_bytes)) begin
                            kind <= K_MALFORMED;
                            err <= E_V4_TOTAL_SHORT;
                            st <= S_DONE;
                        end else begin
                            len_check <= 1'b1;
                            len_error <= E_V4_TOTAL_BEYOND;
                            ip_end <= pos + 32'(v4_total);
                            l3_len <= 32'(v4_total);
                            v4opt <= ihl_bytes > 8'd20;
                            addr_set <= 1'b1;
                            src <= {96'd0, b8(h, 15), b8(h, 14), b8(h, 13), b8(h, 12)};
                            dst <= {96'd0, b8(h, 19), b8(h, 18), b8(h, 17), b8(h, 16)};
                            frag <= v4_fragf[12:0] != 13'd0 || v4_fragf[13];
                            if (v4_fragf[12:0] != 13'd0) begin  // a later fragment: no L4 header here
                                kind <= K_NOTIPSEC;
                                nho <= pos + 32'd9;
                                if (b8(h, 9) == 8'd50 || b8(h, 9) == 8'd51) iproto <= b8(h, 9);
                                st <= S_DONE;
                            end else begin
                                pend <= pos + 32'(v4_total);
                                proto <= b8(h, 9);
                                proto_byte <= pos + 32'd9;
                                is_v6 <= 1'b0;
                                pos <= pos + 32'(ihl_bytes);
                                st <= S_WALK;
                            end
                        end
                    end
                    S_V6: begin
                        if (!fits(pos, 32'd40, avail)) begin
                            kind <= K_MALFORMED;
                            err <= E_V6_TRUNC;
                            st <= S_DONE;
                        end else if (v6_plen == 16'd0) begin
                            kind <= K_MALFORMED;
                            err <= E_V6_JUMBO;
                            st <= S_DONE;
                        end else begin
                            len_check <= 1'b1;
                            len_error <= E_V6_BEYOND;
                            ip_end <= pos + 32'd40 + 32'(v6_plen);
                            l3_len <= 32'd40 + 32'(v6_plen);
                            addr_set <= 1'b1;
                            for (int i = 0; i < 16; i++) begin
                                src[8*i +: 8] <= b8(h, 8 + i);
                                dst[8*i +: 8] <= b8(h, 24 + i);
                            end
                            pend <= pos + 32'd40 + 32'(v6_plen);
                            proto <= b8(h, 6);
                            proto_byte <= pos + 32'd6;
                            first_hdr <= pos + 32'd40;
                            is_v6 <= 1'b1;
                            pos <= pos + 32'd40;
                            st <= S_WALK;
                        end
                    end
                    S_WALK: begin
                        if (is_v6 && proto == 8'd0 && pos != first_hdr) begin
                            kind <= K_NOTIPSEC;  // hop-by-hop only right after the IPv6 header
                            st <= S_DONE;
                        end else if (is_v6 && (proto == 8'd0 || proto == 8'd43 || proto == 8'd60)) begin
                            if (!fits(pos, 32'd2, pend) || !fits(pos, ext_bytes, pend)) begin
                                // cut(): in a first fragment the rest travels later
                                kind <= frag ? K_NOTIPSEC : K_MALFORMED;
                                err <= frag ? 5'd0 : (!fits(pos, 32'd2, pend) ? E_EXT_TRUNC : E_EXT_BEYOND);
                                st <= S_DONE;
                            end else begin
                                proto <= b8(h, 0);
                                proto_byte <= pos;
                                pos <= pos + ext_bytes;
                                v6ext <= 1'b1;
                            end
                        end else if (is_v6 && proto == 8'd44) begin
                            if (!fits(pos, 32'd8, pend)) begin
                                kind <= frag ? K_NOTIPSEC : K_MALFORMED;
                                err <= frag ? 5'd0 : E_FRAG_TRUNC;
                                st <= S_DONE;
                            end else begin
                                frag <= frag || frag_oaf[15:3] != 13'd0 || frag_oaf[0];
                                if (frag_oaf[15:3] != 13'd0) begin  // a later fragment
                                    kind <= K_NOTIPSEC;
                                    nho <= pos;
                                    if (b8(h, 0) == 8'd50 || b8(h, 0) == 8'd51) iproto <= b8(h, 0);
                                    st <= S_DONE;
                                end else begin
                                    proto <= b8(h, 0);
                                    proto_byte <= pos;
                                    pos <= pos + 32'd8;
                                    v6ext <= 1'b1;
                                end
                            end
                        end else if (proto == 8'd50) begin  // ESP
                            st <= S_DONE;
                            if (!fits(pos, 32'd8, pend)) begin
                                if (frag || !fits(pos, 32'd4, pend)) begin
                                    kind <= frag ? K_NOTIPSEC : K_MALFORMED;
                                    err <= frag ? 5'd0 : E_ESP_TRUNC;
                                end else begin
                                    syn <= 3'd1;
                                    ipsec_off <= pos;
                                    iproto <= 8'd50;
                                    spi <= b32(h, 0);
                                    nho <= proto_byte;
                                    kind <= K_ESP;
                                end
                            end else begin
                                ipsec_off <= pos;
                                iproto <= 8'd50;
                                spi <= b32(h, 0);
                                seq <= b32(h, 4);
                                nho <= proto_byte;
                                kind <= K_ESP;
                            end
                        end else if (proto == 8'd51) begin  // AH
                            st <= S_DONE;
                            if (!fits(pos, 32'd12, pend) && (frag || !fits(pos + 32'd4, 32'd4, pend))) begin
                                kind <= frag ? K_NOTIPSEC : K_MALFORMED;
                                err <= frag ? 5'd0 : E_AH_TRUNC;
                            end else begin
                                if (!fits(pos, 32'd12, pend)) begin
                                    syn <= 3'd2;
                                end else begin
                                    if (ah_len_bytes == 8'd0) syn <= 3'd3;  // (0 + 2) * 4 < 12
                                    else if (!fits(pos, (32'(ah_len_bytes) + 32'd2) << 2, pend) && !frag)
                                        syn <= 3'd4;
                                    seq <= b32(h, 8);
                                end
                                ipsec_off <= pos;
                                iproto <= 8'd51;
                                spi <= b32(h, 4);
                                nho <= proto_byte;
                                kind <= K_AH;
                            end
                        end else if (proto == 8'd17) begin  // UDP
                            st <= S_DONE;
                            if (!fits(pos, 32'd8, pend)) begin
                                kind <= frag ? K_NOTIPSEC : K_MALFORMED;
                                err <= frag ? 5'd0 : E_UDP_TRUNC;
                            end else if (b16(h, 2) != 16'd4500) begin
                                kind <= K_NOTIPSEC;
                            end else if (udp_len < 16'd8) begin
                                kind <= K_MALFORMED;
                                err <= E_UDP_SHORT;
                            end else if (udp_end_raw > pend && !frag) begin
                                kind <= K_MALFORMED;
                                err <= E_UDP_BEYOND;
                            end else begin
                                udp_off <= pos;
                                nho <= proto_byte;
                                // RFC 3948: NAT keepalive, non-ESP marker, else ESP (8 bytes at least)
                                if ((udp_n == 32'd1 && b8(h, 8) == 8'hFF) || (udp_n >= 32'd4 && b32(h, 8) == 32'd0) ||
                                    udp_n < 32'd8) begin
                                    kind <= K_UDPNONESP;
                                end else begin
                                    kind <= K_UDPESP;
                                    ipsec_off <= udp_data;
                                    iproto <= 8'd50;
                                    spi <= b32(h, 8);
                                    seq <= b32(h, 12);
                                end
                            end
                        end else begin
                            kind <= K_NOTIPSEC;
                            st <= S_DONE;
                        end
                    end
                    default: ;
                endcase
            end
        end
    end

    // The record, with the length checks settled in the model's order: a buffer over 65535 bytes first,
    // then the IP datagram beyond the frame, then whatever the walk found. For Malformed only kind, error,
    // vlan_tags, ip_version and l3_offset mean anything (docs/rx_parser.md); the rest reads as zero.
    logic too_long, beyond, malformed;
    assign too_long = len > 32'd65535;
    assign beyond = len_check && ip_end > len;
    assign malformed = too_long || beyond || kind == K_MALFORMED;
    assign r_kind = malformed ? K_MALFORMED : kind;
    assign r_error = too_long ? E_TOO_LONG : beyond ? len_error : malformed ? err : 5'd0;
    assign r_vlan_tags = too_long ? 2'd0 : vlan;
    assign r_ip_version = too_long ? 4'd0 : ipver;
    assign r_l3_offset = too_long ? 16'd0 : l3_off[15:0];
    assign r_syntax_error = malformed ? 3'd0 : syn;
    assign r_ipv4_options = !malformed && v4opt;
    assign r_ipv6_ext = !malformed && v6ext;
    assign r_fragment = !malformed && frag;
    assign r_l3_length = malformed ? 32'd0 : l3_len;
    assign r_udp_offset = malformed ? 16'd0 : udp_off[15:0];
    assign r_ipsec_offset = malformed ? 16'd0 : ipsec_off[15:0];
    assign r_ipsec_proto = malformed ? 8'd0 : iproto;
    assign r_next_header_offset = malformed ? 16'd0 : nho[15:0];
    assign r_spi = malformed ? 32'd0 : spi;
    assign r_seq = malformed ? 32'd0 : seq;
    assign r_addr_set = !malformed && addr_set;
    assign r_src = malformed ? 128'd0 : src;
    assign r_dst = malformed ? 128'd0 : dst;

    // Offsets above 16 bits only occur in frames over 65535 bytes, which are Malformed.
    logic unused_ok;
    assign unused_ok = &{1'b0, l3_off[31:16], udp_off[31:16], ipsec_off[31:16], nho[31:16], woff[31:WB+1],
                         v4_fragf[15:14], frag_oaf[2:1], tag_bytes[31:4], tag_bytes[1:0],
                         shifted[16*W-1:8*HDR]};

    if (W < 64 || (W & (W - 1)) != 0) begin : g_bad_width
        $error("rx_parser: W must be a power of two, at least 64 (one step reads up to 40 bytes)");
    end
endmodule
