// SA CAM: RTL twin of hw_model/sa_cam.{h,cpp} (SaCamTable). Same key (SPI + IP version + destination),
// same precedence (an exact destination before an all-zero wildcard destination, lowest index among equal
// candidates), same register interface (reg:: in hw_model/ov2_types.h) and the lookup contract of
// TimingParams::cam_latency_cycles: one lookup accepted per cycle, result LATENCY cycles later.
//
// Conventions (docs/rtl.md): one clock `clk`, everything on its rising edge; `rst` synchronous, active
// high, held for at least one cycle. Valid/ready handshakes: a transfer happens on a rising edge where
// both are 1; valid never depends on ready combinationally.
//
// Key material (SA_DATA words 12..28) is not stored here: a read-back returns it as zero, as the model's
// write-only keys do, and a key store next to the crypto engine copies it on the `upd_*` notification.
module sa_cam #(
    parameter int BUNDLES /*verilator public*/ = 1024,  // SA bundles; two entries each (AH + ESP), as SaCamTable(bundles)
    parameter int LATENCY /*verilator public*/ = 3  // cycles from lookup accepted to result valid (>= 2)
) (
    input  logic         clk,
    input  logic         rst,
    // Register bus: byte offsets in BAR0 (0x000-0xFFF), 32-bit aligned. At most one of reg_wr/reg_rd per
    // cycle. A write takes effect on the edge that samples it (SA_CMD executes on that edge); a read
    // answers with reg_rvalid and reg_rdata in the next cycle.
    input  logic         reg_wr,
    input  logic         reg_rd,
    input  logic [11:0]  reg_addr,
    input  logic [31:0]  reg_wdata,
    output logic         reg_rvalid,
    output logic [31:0]  reg_rdata,
    // Lookup request: the key as the parser produces it. Destination byte i of IpAddr::bytes sits at
    // lk_dst[8*i +: 8] (the SA_DATA8..11 packing). The table is read on the edge that accepts the key.
    input  logic         lk_valid,
    output logic         lk_ready,
    input  logic [31:0]  lk_spi,
    input  logic [7:0]   lk_ip_version,
    input  logic [127:0] lk_dst,
    // Lookup result, in request order.
    output logic         res_valid,
    input  logic         res_ready,
    output logic         res_hit,
    output logic         res_wildcard,  // the hit is a wildcard-destination entry
    output logic [11:0]  res_index,     // entry index (0 when there is no hit)
    // One-cycle pulse after a command changed an entry (write, invalidate, seq_hi), the model's
    // on_entry_changed: the crypto key schedule follows the table. No back-pressure.
    output logic         upd_valid,
    output logic [11:0]  upd_index,
    output logic [3:0]   upd_op,
    // Hold port (SaCamTable::hold/release): a frame in flight holds the bundle (index / 2) of the entry it
    // matched from its lookup until crypto is done with it. One hold and one release a cycle, no
    // back-pressure; a release of a bundle nobody holds is ignored. A hold and a release of the same bundle
    // on one edge leave its count as it was (the hold counts first).
    input  logic         hold_valid,
    input  logic [11:0]  hold_index,
    input  logic         rel_valid,
    input  logic [11:0]  rel_index,
    // One-cycle pulse after the last release of a bundle cleared its retiring entries (an invalidate of a
    // held entry is deferred to then): bit i of clr_mask for entry 2 * clr_bundle + i. The model's
    // on_entry_changed(.., invalidate) of the deferred clear.
    output logic         clr_valid,
    output logic [10:0]  clr_bundle,
    output logic [1:0]   clr_mask
);
    localparam int ENTRIES = 2 * BUNDLES;
    localparam int DATA_WORDS = 48;  // reg::kSaDataWords

    // Register offsets (reg:: namespace).
    localparam logic [11:0] A_CTRL = 12'h100, A_CAPS = 12'h104, A_AUTH = 12'h108, A_ENC = 12'h10C;
    localparam logic [11:0] A_UDP = 12'h110, A_CMD = 12'h120, A_STATUS = 12'h124, A_CAPACITY = 12'h128;
    localparam logic [11:0] A_DATA0 = 12'h200, A_DATA_END = 12'h2C0;  // 48 words
    localparam logic [3:0] OP_WRITE = 4'd1, OP_INVALIDATE = 4'd2, OP_SEQ_HI = 4'd3, OP_READ = 4'd4;
    localparam logic [31:0] STATUS_FAIL = 32'd1, STATUS_BUSY = 32'd2;  // reg::kSaStatusBusy
    localparam int HOLD_BITS = 8;  // up to 255 frames in flight per bundle: the pipeline holds far fewer

    // The fields of a CamEntry the device keeps (pack_cam_entry words 0..11).
    typedef struct packed {
        logic         valid, inbound, esn, tunnel, inner;
        logic [7:0]   ip_version, proto, slot;
        logic [31:0]  spi, seq_hi, udp_esp, enc_alg, auth_alg;
        logic [7:0]   icv_len, enc_key_len, auth_key_len;
        logic [31:0]  handle;
        logic [127:0] dst;
    } entry_t;

    // CamEntry{}: what an entry reads back as before its first write and after an invalidate.
    localparam entry_t DEFAULT_ENTRY = '{valid: 1'b0, inbound: 1'b1, esn: 1'b0, tunnel: 1'b0, inner: 1'b0,
                                         ip_version: 8'd4, proto: 8'd50, slot: 8'd0, spi: 32'd0,
                                         seq_hi: 32'd0, udp_esp: 32'd0, enc_alg: 32'd0, auth_alg: 32'd0,
                                         icv_len: 8'd0, enc_key_len: 8'd0, auth_key_len: 8'd0,
                                         handle: 32'd0, dst: 128'd0};

    // Entry storage is a RAM without reset, as a real table would be; `written` says which entries hold
    // data (the others read as DEFAULT_ENTRY) and `live` which ones can match (valid and inbound), so the
    // uninitialised contents are never observable.
    entry_t                mem[ENTRIES];
    logic [ENTRIES-1:0]    written;
    logic [ENTRIES-1:0]    live;
    logic [ENTRIES-1:0]    retiring;  // invalidated while held: unlinked, cleared at the last release
    logic [HOLD_BITS-1:0]  holds[BUNDLES];  // a RAM without reset: holds[b] counts only once counted[b]
    logic [BUNDLES-1:0]    counted;
    logic [31:0]           staging[DATA_WORDS];
    logic [31:0]           ctrl, caps, auth_mask, enc_mask, udp_esp_mask, status;

    // ---- register bus and commands --------------------------------------------------------------------

    function automatic entry_t unpack_staging();
        entry_t e;
        e.valid = staging[0][0];
        e.inbound = staging[0][1];
        e.esn = staging[0][2];
        e.tunnel = staging[0][3];
        e.inner = staging[0][4];
        e.ip_version = staging[0][15:8];
        e.proto = staging[0][23:16];
        e.slot = staging[0][31:24];
        e.spi = staging[1];
        e.seq_hi = staging[2];
        e.udp_esp = staging[3];
        e.enc_alg = staging[4];
        e.auth_alg = staging[5];
        e.icv_len = staging[6][7:0];
        e.enc_key_len = staging[6][15:8];
        e.auth_key_len = staging[6][23:16];
        e.handle = staging[7];
        e.dst = {staging[11], staging[10], staging[9], staging[8]};
        return e;
    endfunction

    // ---- hold port ------------------------------------------------------------------------------------
    // This edge's hold and release act before its register command: the command sees the hold count after
    // them, and a bundle whose last release is on this edge as already cleared. Hold counts, commands and
    // register reads are one clocked block; what it derives from the inputs (the hold/release terms, the
    // command's operands) are its blocking temporaries: the same logic in front of the same registers, but
    // continuous logic that reads an input is evaluated by Verilator on every eval() (docs/rtl.md,
    // "Co-simulation speed").
    localparam int BI = $clog2(ENTRIES) - 1;  // bundle index bits
    localparam int EI = $clog2(ENTRIES);      // entry index bits

    always_ff @(posedge clk) begin
        logic [BI-1:0]        hb, rb, cb;
        logic                 hold_ok, rel_seen, rel_dec, rel_last;
        logic [HOLD_BITS-1:0] hold_count, rel_count, cmd_count;  // before this edge
        logic [1:0]           clear_pair;  // retiring entries of bundle rb cleared on this edge
        logic [11:0]          cmd_index;
        logic [3:0]           cmd_op;
        logic [EI-1:0]        ci;
        logic                 cmd_in_range, cmd_cleared, cmd_written, cmd_retiring, cmd_held;
        entry_t               staged, cmd_entry;
        entry_t               read_entry;  // a retiring entry reads back as CamEntry{}, as in SaCamTable
        logic                 staged_ok;

        hb = hold_index[BI:1];
        rb = rel_index[BI:1];
        hold_ok = hold_valid && 32'(hold_index) < 32'(ENTRIES);
        rel_seen = rel_valid && 32'(rel_index) < 32'(ENTRIES);
        hold_count = counted[hb] ? holds[hb] : '0;
        rel_count = counted[rb] ? holds[rb] : '0;
        // A release of a bundle nobody holds is ignored (SaCamTable::release).
        rel_dec = rel_seen && (rel_count != '0 || (hold_ok && hb == rb));
        rel_last = rel_dec && rel_count == HOLD_BITS'(1) && !(hold_ok && hb == rb);
        clear_pair = rel_last ? retiring[{rb, 1'b0} +: 2] : 2'b00;
        // The command's entry as this edge's release leaves it, and its bundle's count after the
        // hold/release. Everything the block reads of its own registers is read here, before it writes any
        // (Verilator then updates them in place rather than through a copy of each on every edge).
        cmd_index = reg_wdata[11:0];
        cmd_op = reg_wdata[31:28];
        ci = cmd_index[EI-1:0];
        cmd_in_range = 32'(cmd_index) < 32'(ENTRIES);
        cb = cmd_index[BI:1];
        cmd_cleared = cb == rb && clear_pair[cmd_index[0]];
        cmd_written = written[ci] && !cmd_cleared;
        cmd_retiring = retiring[ci] && !cmd_cleared;
        cmd_count = counted[cb] ? holds[cb] : '0;
        cmd_held = cmd_count + HOLD_BITS'(hold_ok && hb == cb) - HOLD_BITS'(rel_dec && rb == cb) != '0;

        if (rst) begin
            counted <= '0;
        end else if (hold_ok && rel_dec && hb == rb) begin
            ;  // count unchanged
        end else begin
            if (hold_ok) begin
                holds[hb] <= hold_count + HOLD_BITS'(1);
                counted[hb] <= 1'b1;
            end
            if (rel_dec) holds[rb] <= rel_count - HOLD_BITS'(1);
        end

        upd_valid <= 1'b0;
        reg_rvalid <= 1'b0;
        clr_valid <= 1'b0;
        if (!rst && clear_pair != 2'b00) begin  // before the command: a write on this edge wins
            for (int i = 0; i < 2; i++)
                if (clear_pair[i]) begin
                    written[{rb, 1'(i)}] <= 1'b0;
                    retiring[{rb, 1'(i)}] <= 1'b0;
                end
            clr_valid <= 1'b1;
            clr_bundle <= 11'(rb);
            clr_mask <= clear_pair;
        end
        if (rst) begin
            written <= '0;
            live <= '0;
            retiring <= '0;
            clr_bundle <= '0;
            clr_mask <= '0;
            ctrl <= '0;
            caps <= '0;
            auth_mask <= '0;
            enc_mask <= '0;
            udp_esp_mask <= '0;
            status <= '0;
            for (int w = 0; w < DATA_WORDS; w++) staging[w] <= '0;
            reg_rdata <= '0;
            upd_index <= '0;
            upd_op <= '0;
        end else if (reg_wr) begin
            if (reg_addr >= A_DATA0 && reg_addr < A_DATA_END) begin
                staging[6'((reg_addr - A_DATA0) >> 2)] <= reg_wdata;
            end else begin
                case (reg_addr)
                    A_CTRL: ctrl <= reg_wdata;
                    A_CAPS: caps <= reg_wdata;
                    A_AUTH: auth_mask <= reg_wdata;
                    A_ENC: enc_mask <= reg_wdata;
                    A_UDP: udp_esp_mask <= reg_wdata;
                    A_CMD: begin
                        staged = unpack_staging();
                        cmd_entry = cmd_written ? mem[ci] : DEFAULT_ENTRY;
                        read_entry = cmd_retiring ? DEFAULT_ENTRY : cmd_entry;
                        // SaCamTable::execute's checks: index in range (cmd_in_range), key lengths within
                        // their arrays, IP version 4 or 6.
                        staged_ok = staged.enc_key_len <= 8'd32 && staged.auth_key_len <= 8'd32 &&
                                    (staged.ip_version == 8'd4 || staged.ip_version == 8'd6);
                        status <= 32'd0;
                        if (!cmd_in_range) begin
                            status <= STATUS_FAIL;
                        end else begin
                            case (cmd_op)
                                OP_WRITE:
                                    if (cmd_retiring) begin
                                        status <= STATUS_BUSY;  // not executed
                                    end else if (!staged_ok) begin
                                        status <= STATUS_FAIL;
                                    end else begin
                                        mem[ci] <= staged;
                                        written[ci] <= 1'b1;
                                        live[ci] <= staged.valid & staged.inbound;
                                        upd_valid <= 1'b1;
                                    end
                                OP_INVALIDATE:
                                    if (cmd_retiring) begin
                                        ;  // already invalidated; cleared at its bundle's last release
                                    end else if (cmd_held && cmd_entry.valid) begin
                                        live[ci] <= 1'b0;  // no new matches; cleared at the last release
                                        retiring[ci] <= 1'b1;
                                    end else begin
                                        written[ci] <= 1'b0;
                                        live[ci] <= 1'b0;
                                        upd_valid <= 1'b1;
                                    end
                                OP_SEQ_HI: begin
                                    // On a never-written entry this materialises CamEntry{} with seq_hi.
                                    mem[ci] <= '{valid: cmd_entry.valid, inbound: cmd_entry.inbound,
                                                 esn: cmd_entry.esn, tunnel: cmd_entry.tunnel,
                                                 inner: cmd_entry.inner, ip_version: cmd_entry.ip_version,
                                                 proto: cmd_entry.proto, slot: cmd_entry.slot,
                                                 spi: cmd_entry.spi, seq_hi: staging[0],
                                                 udp_esp: cmd_entry.udp_esp, enc_alg: cmd_entry.enc_alg,
                                                 auth_alg: cmd_entry.auth_alg, icv_len: cmd_entry.icv_len,
                                                 enc_key_len: cmd_entry.enc_key_len,
                                                 auth_key_len: cmd_entry.auth_key_len,
                                                 handle: cmd_entry.handle, dst: cmd_entry.dst};
                                    written[ci] <= 1'b1;
                                    upd_valid <= 1'b1;
                                end
                                OP_READ: begin
                                    // pack_cam_entry of the entry with its keys cleared: words 12..47 zero.
                                    staging[0] <= {read_entry.slot, read_entry.proto, read_entry.ip_version,
                                                   3'b000, read_entry.inner, read_entry.tunnel, read_entry.esn,
                                                   read_entry.inbound, read_entry.valid};
                                    staging[1] <= read_entry.spi;
                                    staging[2] <= read_entry.seq_hi;
                                    staging[3] <= read_entry.udp_esp;
                                    staging[4] <= read_entry.enc_alg;
                                    staging[5] <= read_entry.auth_alg;
                                    staging[6] <= {8'd0, read_entry.auth_key_len, read_entry.enc_key_len,
                                                   read_entry.icv_len};
                                    staging[7] <= read_entry.handle;
                                    staging[8] <= read_entry.dst[31:0];
                                    staging[9] <= read_entry.dst[63:32];
                                    staging[10] <= read_entry.dst[95:64];
                                    staging[11] <= read_entry.dst[127:96];
                                    for (int w = 12; w < DATA_WORDS; w++) staging[w] <= '0;
                                end
                                default: status <= STATUS_FAIL;
                            endcase
                        end
                        upd_index <= cmd_index;
                        upd_op <= cmd_op;
                    end
                    default: ;  // read-only or unmapped: ignored, as SaCamTable::write_register does
                endcase
            end
        end else if (reg_rd) begin
            reg_rvalid <= 1'b1;
            if (reg_addr >= A_DATA0 && reg_addr < A_DATA_END) begin
                reg_rdata <= staging[6'((reg_addr - A_DATA0) >> 2)];
            end else begin
                case (reg_addr)
                    A_CTRL: reg_rdata <= ctrl;
                    A_CAPS: reg_rdata <= caps;
                    A_AUTH: reg_rdata <= auth_mask;
                    A_ENC: reg_rdata <= enc_mask;
                    A_UDP: reg_rdata <= udp_esp_mask;
                    A_STATUS: reg_rdata <= status;
                    A_CAPACITY: reg_rdata <= 32'(ENTRIES);
                    default: reg_rdata <= '0;
                endcase
            end
        end
    end

    // ---- lookup pipeline --------------------------------------------------------------------------------
    // Stage 1 compares the key with every entry and priority-encodes the lowest exact and the lowest
    // wildcard match, stage 2 picks exact before wildcard, stages 3..LATENCY carry it. The whole pipeline
    // holds while the result waits for res_ready.

    logic adv;
    assign adv = !res_valid || res_ready;
    assign lk_ready = adv && !rst;

    // {exact found, exact index, wildcard found, wildcard index}. Only live entries take part; a 32-entry
    // group without one is skipped at once, and the groups after the one holding the lowest exact match are
    // not scanned (for the simulation's speed: an exact match decides the result, so the outputs are the
    // same; only the unused wildcard fields of s1_match may differ).
    typedef struct packed {
        logic        exact;
        logic [11:0] exact_index;
        logic        wild;
        logic [11:0] wild_index;
    } match_t;

    localparam int GROUPS = (ENTRIES + 31) / 32;
    logic [GROUPS*32-1:0] live_groups;  // `live`, padded to whole groups
    assign live_groups = (GROUPS * 32)'(live);

    function automatic match_t find(input logic [31:0] spi, input logic [7:0] version, input logic [127:0] dst);
        match_t m;
        m = '0;
        for (int g = 0; g < GROUPS && !m.exact; g++) begin
            logic [31:0] group;  // the group's live bits, read once
            group = live_groups[g * 32 +: 32];
            if (group != 32'd0) begin
                for (int j = 0; j < 32; j++) begin
                    if (group[j]) begin
                        if (mem[g * 32 + j].spi == spi && mem[g * 32 + j].ip_version == version) begin
                            if (mem[g * 32 + j].dst == dst && !m.exact) begin
                                m.exact = 1'b1;
                                m.exact_index = 12'(g * 32 + j);
                            end else if (mem[g * 32 + j].dst == 128'd0 && !m.wild) begin
                                m.wild = 1'b1;
                                m.wild_index = 12'(g * 32 + j);
                            end
                        end
                    end
                end
            end
        end
        return m;
    endfunction

    logic   s1_valid;
    match_t s1_match;

    always_ff @(posedge clk) begin
        if (rst) begin
            s1_valid <= 1'b0;
            s1_match <= '0;
        end else if (adv) begin
            s1_valid <= lk_valid;
            if (lk_valid) s1_match <= find(lk_spi, lk_ip_version, lk_dst);
        end
    end

    logic [12:0] exact_pick, wild_pick;  // {found, index}
    assign exact_pick = {s1_match.exact, s1_match.exact_index};
    assign wild_pick = {s1_match.wild, s1_match.wild_index};

    logic        p_valid[2:LATENCY];
    logic        p_hit[2:LATENCY];
    logic        p_wild[2:LATENCY];
    logic [11:0] p_index[2:LATENCY];

    always_ff @(posedge clk) begin
        if (rst) begin
            for (int s = 2; s <= LATENCY; s++) begin
                p_valid[s] <= 1'b0;
                p_hit[s] <= 1'b0;
                p_wild[s] <= 1'b0;
                p_index[s] <= '0;
            end
        end else if (adv) begin
            p_valid[2] <= s1_valid;
            p_hit[2] <= s1_valid && (exact_pick[12] || wild_pick[12]);
            p_wild[2] <= s1_valid && !exact_pick[12] && wild_pick[12];
            p_index[2] <= !s1_valid ? 12'd0 : exact_pick[12] ? exact_pick[11:0] :
                          wild_pick[12] ? wild_pick[11:0] : 12'd0;
            for (int s = 3; s <= LATENCY; s++) begin
                p_valid[s] <= p_valid[s-1];
                p_hit[s] <= p_hit[s-1];
                p_wild[s] <= p_wild[s-1];
                p_index[s] <= p_index[s-1];
            end
        end
    end

    assign res_valid = p_valid[LATENCY];
    assign res_hit = p_hit[LATENCY];
    assign res_wildcard = p_wild[LATENCY];
    assign res_index = p_index[LATENCY];

    // Parameter checks at elaboration (the index register has 12 bits, as reg::kSaCmd).
    if (LATENCY < 2) begin : g_bad_latency
        $error("sa_cam: LATENCY must be at least 2");
    end
    if (ENTRIES > 4096 || BUNDLES < 1) begin : g_bad_bundles
        $error("sa_cam: BUNDLES must be 1..2048 (12-bit entry index)");
    end
endmodule
