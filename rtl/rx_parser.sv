// Receive header parser: RTL twin of parse_frame() (hw_model/rx_parser.cpp, rules in docs/rx_parser.md).
// Same classification, lookup key and offsets: Ethernet with up to two 802.1Q/802.1ad tags, IPv4 with
// options, the IPv6 extension-header walk, AH, ESP, ESP in UDP/4500, the syntax_error cases and the first-
// fragment rules.
//
// The frame arrives as a valid/ready stream, W bytes a beat: byte i of a beat is s_data[8*i +: 8], s_keep
// is all ones except on the s_last beat, where it is contiguous from byte 0 (any count, 0 included).
// Timing is the parser contract of docs/timing.md (the reference is ParserContract, hw_model/
// parser_contract.cpp): a beat is taken every cycle the output is not stalled; step 1 decodes Ethernet, the
// tags and the IPv4/IPv6 header from the first beat as it is taken; each further step decodes one header
// (IPv6 extension header, ESP/AH/UDP or another protocol) from the last three beats plus the one being
// taken, once the 16 bytes from its offset are in (or the whole frame is). A beat that would push out
// bytes the pending step needs waits. The checks that need the frame length (IP datagram beyond the
// buffer, buffer over 65535 bytes) are settled once the last beat is in, in the model's order; such a frame
// stops walking then. The record enters a LATENCY - 1 stage output pipeline in the cycle after both the
// last beat and the last step; the next frame's first beat can be taken in that same cycle. While the
// result waits (r_valid && !r_ready) the whole parser holds.
//
// Conventions (docs/rtl.md): rising edge of `clk`, `rst` synchronous active high.
module rx_parser #(
    parameter int W /*verilator public*/ = 64,  // datapath bytes a beat (TimingParams::datapath_bytes), a power of two, >= 64
    parameter int LATENCY /*verilator public*/ = 2  // last beat / last step to r_valid (TimingParams::parser_latency_cycles), >= 2
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
    localparam int HDR = 40;    // the most bytes one step decodes (the IPv6 header)
    localparam int KEPT = 3;    // beats kept for the walk (2 + 64 / W)
    localparam int STEP = 16;   // bytes from its offset a walk step needs (kWalkStepBytes)
    localparam int VIEW = (KEPT + 1) * W;  // bytes a walk step can read from: the kept beats and the bus
    localparam int VB = $clog2(VIEW);
    localparam int VIB = $clog2(8 * (VIEW + STEP));  // bit index into the walk's view
    localparam int REC = 445;   // bits of the result record
    localparam int STAGES = LATENCY - 1;

    typedef enum logic { S_WALK, S_DONE } state_t;
    localparam logic [2:0] K_NOTIP = 3'd0, K_NOTIPSEC = 3'd1, K_ESP = 3'd2, K_AH = 3'd3, K_UDPESP = 3'd4,
                           K_UDPNONESP = 3'd5, K_MALFORMED = 3'd6;
    localparam logic [4:0] E_TOO_LONG = 5'd1, E_ETH = 5'd2, E_VLAN = 5'd3, E_NO_IP = 5'd4, E_VERSION = 5'd5,
                           E_V4_TRUNC = 5'd7, E_V4_IHL = 5'd8, E_V4_TOTAL_SHORT = 5'd9,
                           E_V4_TOTAL_BEYOND = 5'd10, E_V6_TRUNC = 5'd11, E_V6_JUMBO = 5'd12,
                           E_V6_BEYOND = 5'd13, E_EXT_TRUNC = 5'd14, E_EXT_BEYOND = 5'd15,
                           E_FRAG_TRUNC = 5'd16, E_ESP_TRUNC = 5'd17, E_AH_TRUNC = 5'd18,
                           E_UDP_TRUNC = 5'd19, E_UDP_SHORT = 5'd20, E_UDP_BEYOND = 5'd21;

    // ---- stream side: the frame in progress, its last KEPT beats, its length ----
    logic               active;  // first beat taken, record not yet in the output pipeline
    logic [8*KEPT*W-1:0] win;    // byte j at [8*j +: 8]; bytes [(nb-KEPT)*W, nb*W) of the frame
    logic [31:0]        nb;      // beats taken
    logic               eof;     // the s_last beat was taken
    logic [31:0]        len;     // frame bytes, valid once eof

    // ---- walker ----
    state_t      st;
    logic [31:0] pos;         // frame offset of the header the pending step decodes
    logic [31:0] pend;        // end of the IP datagram (p.end in the model)
    logic [31:0] first_hdr;   // first byte after the IPv6 header (hop-by-hop only there)
    logic [7:0]  proto;       // what the current header is (p.proto)
    logic [31:0] proto_byte;  // where that was named (p.proto_byte)
    logic        is_v6;
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

    // ---- output pipeline ----
    logic [STAGES-1:0] pv;
    logic [REC-1:0]    prec [STAGES];

    // fits(p, n, end) of the model: [p, p + n) inside [0, end), without overflow.
    function automatic logic fits(input logic [31:0] p, input logic [31:0] n, input logic [31:0] e);
        return p <= e && n <= e - p;
    endfunction
    function automatic logic tpid(input logic [15:0] et);
        return et == 16'h8100 || et == 16'h88A8;
    endfunction

    // Bytes in the beat (s_keep is contiguous from byte 0).
    logic [WB:0] keep_count;
    assign keep_count = (WB + 1)'($countones(s_keep));

    // ---- handshakes ----
    logic [31:0] nbw;  // bytes of the beats taken (whole beats)
    logic too_long, beyond, walk_done, complete, first_beat, en, take, take_first;
    assign nbw = nb << WB;
    assign too_long = len > 32'd65535;
    assign beyond = len_check && ip_end > len;
    assign walk_done = st == S_DONE || (eof && (too_long || beyond));
    assign complete = active && eof && walk_done;
    assign first_beat = !active || complete;
    assign en = !(r_valid && r_ready == 1'b0);
    // A beat past the first KEPT waits while the pending step still needs the beat it would push out.
    assign s_ready = !rst && en && (first_beat || (!eof && (walk_done || nb < 32'd2 || pos >= nbw - 32'(2 * W))));
    assign take = s_valid && s_ready;
    assign take_first = take && first_beat;

    // ---- the record, with the length checks settled in the model's order: a buffer over 65535 bytes
    // first, then the IP datagram beyond the frame, then whatever the walk found. For Malformed only kind,
    // error, vlan_tags, ip_version and l3_offset mean anything (docs/rx_parser.md); the rest reads as zero.
    // The record is loaded into the output pipeline only with r_valid (the r_* pins mean nothing without
    // it): computed inside the clocked block, on that edge alone (docs/rtl.md, "Co-simulation speed").
    logic malformed;
    assign malformed = too_long || beyond || kind == K_MALFORMED;
    function automatic logic [REC-1:0] record();
        return {malformed ? K_MALFORMED : kind,
                too_long ? E_TOO_LONG : beyond ? len_error : malformed ? err : 5'd0,
                malformed ? 3'd0 : syn,
                too_long ? 2'd0 : vlan,
                too_long ? 4'd0 : ipver,
                !malformed && v4opt, !malformed && v6ext, !malformed && frag,
                too_long ? 16'd0 : l3_off[15:0],
                malformed ? 32'd0 : l3_len,
                malformed ? 16'd0 : udp_off[15:0],
                malformed ? 16'd0 : ipsec_off[15:0],
                malformed ? 8'd0 : iproto,
                malformed ? 16'd0 : nho[15:0],
                malformed ? 32'd0 : spi,
                malformed ? 32'd0 : seq,
                !malformed && addr_set,
                malformed ? 128'd0 : src,
                malformed ? 128'd0 : dst};
    endfunction
    assign r_valid = pv[STAGES-1];
    assign {r_kind, r_error, r_syntax_error, r_vlan_tags, r_ip_version, r_ipv4_options, r_ipv6_ext, r_fragment,
            r_l3_offset, r_l3_length, r_udp_offset, r_ipsec_offset, r_ipsec_proto, r_next_header_offset, r_spi,
            r_seq, r_addr_set, r_src, r_dst} = prec[STAGES-1];

    // The steps' decode is written inside the clocked block, in blocking temporaries, rather than as
    // continuous assignments: the same logic in front of the same registers, but Verilator evaluates
    // continuous logic that reads an input on every eval() (twice an edge in co-simulation), and a clocked
    // block once an edge (docs/rtl.md, "Co-simulation speed").
    always_ff @(posedge clk) begin
        // A walk step runs once its bytes are in, or the whole frame is (the beat being taken included) and
        // the frame's length does not make it Malformed.
        logic [31:0] avail_now;
        logic        last_now, bad_now, walk_step;
        // Step 1 on the first beat: Ethernet, tags, ethertype, the IP header at l3.
        logic [31:0]          avail1;  // bytes known to exist from the first beat
        logic [15:0]          et1;
        logic [1:0]           tags1;
        logic                 vlan_cut;
        logic [3:0]           ver1;
        logic [31:0]          l3;
        logic [HDR-1:0][7:0]  h1;      // byte i: frame byte l3 + i
        // A walk step: the STEP bytes from pos, out of the kept beats and the bus (zero past them).
        logic [8*(VIEW+STEP)-1:0] view;
        logic [31:0]              woff;
        logic [STEP-1:0][7:0]     hw;  // byte i: frame byte pos + i
        // Decoded fields of the step's header, named after the model's variables.
        logic [7:0]  ihl_bytes, ah_len_bytes;
        logic [15:0] v4_total, v6_plen, udp_len;
        logic [13:0] v4_fragf;     // MF and the fragment offset (the reserved and DF bits are not used)
        logic [12:0] frag_offset;  // IPv6 fragment header: offset and M flag
        logic        frag_more;
        logic [31:0] ext_bytes, udp_end_raw, udp_data, udp_n;

        avail_now = eof ? len : nbw + (take ? 32'(keep_count) : 32'd0);
        last_now = eof || (take && s_last);
        bad_now = avail_now > 32'd65535 || (len_check && ip_end > avail_now);
        walk_step = en && active && !walk_done && (pos + 32'(STEP) <= avail_now || (last_now && !bad_now));

        // The record enters the output pipeline first, read before this edge's step changes the result
        // registers (Verilator then needs no copy of them).
        if (!rst && en && complete) prec[0] <= record();

        // Reset and the first beat of a frame (step 1) start every walker and result register from the same
        // value; step 1's own assignments below come later in this block and take precedence.
        if (rst || take_first) begin
            st <= S_DONE;
            pos <= '0;
            pend <= '0;
            first_hdr <= '0;
            proto <= '0;
            proto_byte <= '0;
            is_v6 <= 1'b0;
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
        end
        if (rst) begin
            pv <= '0;
            for (int i = 0; i < STAGES; i++) prec[i] <= '0;
            active <= 1'b0;
            nb <= '0;
            eof <= 1'b0;
            len <= '0;
        end else if (en) begin
            // The output pipeline: the record of a complete frame enters it.
            pv[0] <= complete;
            for (int i = 1; i < STAGES; i++) begin
                pv[i] <= pv[i-1];
                prec[i] <= prec[i-1];
            end
            if (complete) active <= 1'b0;
            // Stream side.
            if (take) begin
                nb <= take_first ? 32'd1 : nb + 32'd1;
                eof <= s_last;
                if (s_last) len <= (take_first ? 32'd0 : nbw) + 32'(keep_count);
            end
            if (take_first) begin
                avail1 = s_last ? 32'(keep_count) : 32'(W);
                tags1 = 2'd0;
                vlan_cut = 1'b0;
                et1 = {s_data[8*12 +: 8], s_data[8*13 +: 8]};
                if (tpid(et1)) begin
                    if (avail1 < 32'd18) vlan_cut = 1'b1;
                    else begin
                        tags1 = 2'd1;
                        et1 = {s_data[8*16 +: 8], s_data[8*17 +: 8]};
                        if (tpid(et1)) begin
                            if (avail1 < 32'd22) vlan_cut = 1'b1;
                            else begin
                                tags1 = 2'd2;
                                et1 = {s_data[8*20 +: 8], s_data[8*21 +: 8]};
                            end
                        end
                    end
                end
                ver1 = et1 == 16'h0800 ? 4'd4 : et1 == 16'h86DD ? 4'd6 : 4'd0;
                l3 = 32'd14 + {28'd0, tags1, 2'b00};
                case (tags1)  // l3 is 14, 18 or 22: W >= 64 holds the HDR bytes from any of them
                    2'd0: h1 = s_data[8*14 +: 8*HDR];
                    2'd1: h1 = s_data[8*18 +: 8*HDR];
                    default: h1 = s_data[8*22 +: 8*HDR];
                endcase
                ihl_bytes = {2'b00, h1[0][3:0], 2'b00};
                v4_total = {h1[2], h1[3]};
                v4_fragf = {h1[6][5:0], h1[7]};
                v6_plen = {h1[4], h1[5]};

                // Step 1 starts the frame: every walker and result register gets its value (cleared above).
                active <= 1'b1;
                if (avail1 < 32'd14) begin
                    kind <= K_MALFORMED;
                    err <= E_ETH;
                end else if (vlan_cut) begin
                    kind <= K_MALFORMED;
                    err <= E_VLAN;
                    vlan <= tags1;
                end else if (ver1 == 4'd0) begin
                    vlan <= tags1;  // other ethertype, or a third tag: NotIp
                end else if (l3 >= avail1) begin
                    vlan <= tags1;
                    kind <= K_MALFORMED;
                    err <= E_NO_IP;
                end else if (h1[0][7:4] != ver1) begin
                    vlan <= tags1;
                    l3_off <= l3;
                    kind <= K_MALFORMED;
                    err <= E_VERSION;
                end else begin
                    vlan <= tags1;
                    l3_off <= l3;
                    ipver <= ver1;
                    if (ver1 == 4'd4) begin
                        if (!fits(l3, 32'd20, avail1)) begin
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
                            ip_end <= l3 + 32'(v4_total);
                            l3_len <= 32'(v4_total);
                            v4opt <= ihl_bytes > 8'd20;
                            addr_set <= 1'b1;
                            src <= {96'd0, h1[15], h1[14], h1[13], h1[12]};
                            dst <= {96'd0, h1[19], h1[18], h1[17], h1[16]};
                            frag <= v4_fragf[12:0] != 13'd0 || v4_fragf[13];
                            if (v4_fragf[12:0] != 13'd0) begin  // a later fragment: no L4 header here
                                kind <= K_NOTIPSEC;
                                nho <= l3 + 32'd9;
                                if (h1[9] == 8'd50 || h1[9] == 8'd51) iproto <= h1[9];
                                st <= S_DONE;
                            end else begin
                                pend <= l3 + 32'(v4_total);
                                proto <= h1[9];
                                proto_byte <= l3 + 32'd9;
                                is_v6 <= 1'b0;
                                pos <= l3 + 32'(ihl_bytes);
                                st <= S_WALK;
                            end
                        end
                    end else begin
                        if (!fits(l3, 32'd40, avail1)) begin
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
                            ip_end <= l3 + 32'd40 + 32'(v6_plen);
                            l3_len <= 32'd40 + 32'(v6_plen);
                            addr_set <= 1'b1;
                            for (int i = 0; i < 16; i++) begin
                                src[8*i +: 8] <= h1[8 + i];
                                dst[8*i +: 8] <= h1[24 + i];
                            end
                            pend <= l3 + 32'd40 + 32'(v6_plen);
                            proto <= h1[6];
                            proto_byte <= l3 + 32'd6;
                            first_hdr <= l3 + 32'd40;
                            is_v6 <= 1'b1;
                            pos <= l3 + 32'd40;
                            st <= S_WALK;
                        end
                    end
                end
            end else if (walk_step) begin
                view = {(8*STEP)'(0), s_data, win};
                woff = pos + 32'(KEPT * W) - nbw;
                hw = woff < 32'(VIEW) ? view[VIB'({woff[VB-1:0], 3'b000}) +: 8*STEP] : '0;
                ext_bytes = (32'(hw[1]) + 32'd1) << 3;
                frag_offset = {hw[2], hw[3][7:3]};
                frag_more = hw[3][0];
                ah_len_bytes = hw[1];  // Payload Len; (len + 2) * 4 bytes
                udp_len = {hw[4], hw[5]};
                udp_end_raw = pos + 32'(udp_len);
                udp_data = pos + 32'd8;
                udp_n = (udp_end_raw > pend ? pend : udp_end_raw) - udp_data;

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
                        proto <= hw[0];
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
                        frag <= frag || frag_offset != 13'd0 || frag_more;
                        if (frag_offset != 13'd0) begin  // a later fragment
                            kind <= K_NOTIPSEC;
                            nho <= pos;
                            if (hw[0] == 8'd50 || hw[0] == 8'd51) iproto <= hw[0];
                            st <= S_DONE;
                        end else begin
                            proto <= hw[0];
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
                            spi <= {hw[0], hw[1], hw[2], hw[3]};
                            nho <= proto_byte;
                            kind <= K_ESP;
                        end
                    end else begin
                        ipsec_off <= pos;
                        iproto <= 8'd50;
                        spi <= {hw[0], hw[1], hw[2], hw[3]};
                        seq <= {hw[4], hw[5], hw[6], hw[7]};
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
                            seq <= {hw[8], hw[9], hw[10], hw[11]};
                        end
                        ipsec_off <= pos;
                        iproto <= 8'd51;
                        spi <= {hw[4], hw[5], hw[6], hw[7]};
                        nho <= proto_byte;
                        kind <= K_AH;
                    end
                end else if (proto == 8'd17) begin  // UDP
                    st <= S_DONE;
                    if (!fits(pos, 32'd8, pend)) begin
                        kind <= frag ? K_NOTIPSEC : K_MALFORMED;
                        err <= frag ? 5'd0 : E_UDP_TRUNC;
                    end else if ({hw[2], hw[3]} != 16'd4500) begin
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
                        if ((udp_n == 32'd1 && hw[8] == 8'hFF) ||
                            (udp_n >= 32'd4 && {hw[8], hw[9], hw[10], hw[11]} == 32'd0) ||
                            udp_n < 32'd8) begin
                            kind <= K_UDPNONESP;
                        end else begin
                            kind <= K_UDPESP;
                            ipsec_off <= udp_data;
                            iproto <= 8'd50;
                            spi <= {hw[8], hw[9], hw[10], hw[11]};
                            seq <= {hw[12], hw[13], hw[14], hw[15]};
                        end
                    end
                end else begin
                    kind <= K_NOTIPSEC;
                    st <= S_DONE;
                end
            end
        end
        // The kept beats shift last, after the walk step has read them: Verilator then shifts them in place
        // rather than through a copy of all KEPT beats on every edge.
        if (rst || (en && take)) win <= rst ? '0 : {s_data, win[8*KEPT*W-1:8*W]};
    end

    // Offsets above 16 bits only occur in frames over 65535 bytes, which are Malformed.
    logic unused_ok;
    assign unused_ok = &{1'b0, l3_off[31:16], udp_off[31:16], ipsec_off[31:16], nho[31:16]};

    if (W < 64 || (W & (W - 1)) != 0) begin : g_bad_width
        $error("rx_parser: W must be a power of two, at least 64 (step 1 reads the first 64 bytes)");
    end
    if (LATENCY < 2) begin : g_bad_latency
        $error("rx_parser: LATENCY must be at least 2 (the record is registered, then the output stage)");
    end
endmodule
