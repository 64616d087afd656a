// Descriptor writeback, completion-record encoder: RTL twin of Completion::encode() (hw_model/ov2_types.cpp),
// the 32-byte record DescWb DMAs into the completion ring. Byte i of the record is cpl_record[8*i +: 8]:
//   0 frame_tag(4) 4 length(2) 6 ipsec_flags(2) 8 handle(4) 12 inner_handle(4) 16 crypto_status
//   17 next_header 18 pad_length 19 unprocessed_reason 20 seq_low(4) 24 timestamp_ps (low 7 bytes)
//   31 status: bit0 done
// all little-endian. The ring addressing, the DMA and the done-byte-last ordering stay in the SystemC block.
//
// Conventions (docs/rtl.md): rising edge of `clk`, `rst` synchronous active high. One record a cycle;
// LATENCY cycles from the input transfer to the record being valid; the pipeline holds while the output
// is not taken, so back-pressure reaches in_ready in the same cycle.
module desc_wb #(
    parameter int LATENCY /*verilator public*/ = 1,  // cycles, >= 1 (output registered)
    parameter int TIMESTAMP_BYTES = 7 // record bytes 24..30: 2^56 ps = 20 hours
) (
    input  logic         clk,
    input  logic         rst,
    input  logic         in_valid,
    output logic         in_ready,
    input  logic [31:0]  in_frame_tag,
    input  logic [15:0]  in_length,
    input  logic [15:0]  in_ipsec_flags,
    input  logic [31:0]  in_handle,
    input  logic [31:0]  in_inner_handle,
    input  logic [7:0]   in_crypto_status,
    input  logic [7:0]   in_next_header,
    input  logic [7:0]   in_pad_length,
    input  logic [7:0]   in_unprocessed_reason,
    input  logic [31:0]  in_seq_low,
    input  logic [63:0]  in_timestamp_ps,
    input  logic         in_done,
    output logic         cpl_valid,
    input  logic         cpl_ready,
    output logic [255:0] cpl_record
);
    localparam int TS_BITS = 8 * TIMESTAMP_BYTES;

    logic [255:0] encoded;
    // Bits of the time stamp beyond the record's 7 bytes are dropped, as put_le(.., 7) does.
    logic [63:0] ts_unused;
    assign ts_unused = in_timestamp_ps >> TS_BITS;

    always_comb begin
        encoded = '0;
        encoded[0 +: 32] = in_frame_tag;
        encoded[32 +: 16] = in_length;
        encoded[48 +: 16] = in_ipsec_flags;
        encoded[64 +: 32] = in_handle;
        encoded[96 +: 32] = in_inner_handle;
        encoded[128 +: 8] = in_crypto_status;
        encoded[136 +: 8] = in_next_header;
        encoded[144 +: 8] = in_pad_length;
        encoded[152 +: 8] = in_unprocessed_reason;
        encoded[160 +: 32] = in_seq_low;
        encoded[192 +: TS_BITS] = in_timestamp_ps[TS_BITS-1:0];
        encoded[248 +: 8] = {7'd0, in_done};
    end

    logic adv;
    assign adv = !cpl_valid || cpl_ready;
    assign in_ready = adv && !rst;

    logic         p_valid[1:LATENCY];
    logic [255:0] p_record[1:LATENCY];

    always_ff @(posedge clk) begin
        if (rst) begin
            for (int s = 1; s <= LATENCY; s++) begin
                p_valid[s] <= 1'b0;
                p_record[s] <= '0;
            end
        end else if (adv) begin
            p_valid[1] <= in_valid;
            if (in_valid) p_record[1] <= encoded;
            for (int s = 2; s <= LATENCY; s++) begin
                p_valid[s] <= p_valid[s-1];
                p_record[s] <= p_record[s-1];
            end
        end
    end

    assign cpl_valid = p_valid[LATENCY];
    assign cpl_record = p_record[LATENCY];

    if (LATENCY < 1) begin : g_bad_latency
        $error("desc_wb: LATENCY must be at least 1");
    end
    if (TIMESTAMP_BYTES < 1 || TIMESTAMP_BYTES > 7) begin : g_bad_ts
        $error("desc_wb: TIMESTAMP_BYTES must be 1..7 (byte 31 is the status byte)");
    end

    // ts_unused only documents the truncation; lint would otherwise flag the dropped bits as unused.
    logic unused_ok;
    assign unused_ok = &{1'b0, ts_unused};
endmodule
