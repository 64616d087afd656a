#include "ov2_top.h"

#include <stdexcept>

#include "input_error.h"
#include "run_output.h"

namespace ov2 {

namespace {

size_t pool_size(const TimingParams& t, const MacConfig& mac) {
    // Every place a frame can wait inside the device: the MAC's FIFO full of minimum-size frames, the
    // stage FIFOs, the crypto lanes and the frame being written back.
    return MacRx::fifo_frames(t, mac) + size_t(t.stage_fifo_depth) * 3 + t.crypto_lanes + 8;
}

uint64_t host_memory_bytes(const TimingParams& t) {
    return uint64_t(t.rx_ring_entries) * (t.rx_buffer_bytes + RxDescriptor::kBytes) +
           uint64_t(t.cpl_ring_entries) * Completion::kBytes + (1 << 20);
}

}  // namespace

const char* timing_mode_name(TimingMode mode) { return mode == TimingMode::Fast ? "fast" : "cycle"; }

Ov2System::Ov2System(sc_core::sc_module_name name, const SimConfig& config, FrameSource& source,
                     std::vector<AddSa> sas, RunOutput* output)
    : sc_module(name), config_(config),
      mac_to_parser_("mac_to_parser", int(MacRx::fifo_frames(config.timing, config.mac))),
      crypto_to_wb_("crypto_to_wb", int(config.timing.stage_fifo_depth)) {
    config_.timing.validate();
    if (config_.sa_cam_bundles == 0 || config_.sa_cam_bundles > 2048)
        throw std::invalid_argument("sa_cam_bundles: " + std::to_string(config_.sa_cam_bundles) +
                                    "; expected 1 to 2048 (the CAM index register has 12 bits)");
    const TimingParams& t = config_.timing;
    const bool threads = config_.mode == TimingMode::Cycle;  // else FastPath moves the frames
    // The fast mode keeps its own frame contexts: the threads' pool (thousands of 2 KB buffers) stays empty.
    pool_ = std::make_unique<RxPacketPool>(threads ? pool_size(t, config_.mac) : 0, 2048);
    crypto_ = std::make_unique<CryptoEngine>(size_t(config_.sa_cam_bundles) * 2);
    cam_ = std::make_unique<SaCam>("sa_cam", config_.sa_cam_bundles);
    bus_ = std::make_unique<HostBus>("bus", t);
    memory_ = std::make_unique<HostMemory>("host_memory", host_memory_bytes(t));
    wb_ = std::make_unique<DescWb>("desc_wb", t, *pool_, threads);
    driver_ = std::make_unique<DriverShim>("driver_shim", t, config_.driver, *memory_, wb_->irq, transport_,
                                           std::move(sas), threads);
    mac_ = std::make_unique<MacRx>("mac_rx", t, config_.mac, source, *pool_, driver_->ready, threads);
    pipeline_ = std::make_unique<RxPipeline>("rx_pipeline", t, cam_->table(), *crypto_, threads);
    if (!threads)
        fast_ = std::make_unique<FastPath>("fast_path", FastBlocks{t, config_.mac, source, cam_->table(), *crypto_,
                                                                  *memory_, *driver_, *wb_, pool_size(t, config_.mac)});

    mac_->out(mac_to_parser_);
    pipeline_->in(mac_to_parser_);
    pipeline_->out(crypto_to_wb_);
    wb_->in(crypto_to_wb_);
    wb_->dma.bind(bus_->dma_in);
    driver_->mmio.bind(bus_->mmio_in);
    bus_->host_mem.bind(memory_->dma);
    bus_->wb_regs.bind(wb_->regs);

    transport_.delete_sa = [this](uint32_t handle) {
        if (fast_) fast_->sync_for_blocking_call();  // the MMIO starts at the indication's time
        driver_->oid_delete_sa(handle);
    };
    if (threads) {  // the cycle mode's HostBus commits lazily: the driver's handler is its one reader of host memory
        bus_->set_lazy_commit(true);
        driver_->before_host_read = [this] { bus_->commit_visible_now(); };
    }
    pipeline_->on_input_taken = [this](const RxPacket& pkt) { mac_->fifo_release(pkt.data.size()); };
    mac_->before_frame = [this](uint32_t frame) {
        if (driver_->has_scheduled_oids()) driver_->run_scheduled_oids(frame);
    };
    mac_->before_frame_idle = [this] { return !driver_->has_scheduled_oids(); };
    connect_crypto_to_cam();
    connect_observers(output);
    connect_rtl();
}

// The CAM's register socket goes to the RTL bridge, which passes every access on to SaCam (the table stays
// the entry and key RAM) and to the RTL, and the pipeline takes its lookups' answers from the RTL; the
// parser stage's parse and the writeback's encoder become the RTL's.
void Ov2System::connect_rtl() {
    if (config_.rtl.parser) {
        if (fast_)
            throw InputError("--rtl", "parser", "the RTL parser takes the frames of the cycle mode's parser stage",
                             "--mode cycle (the default) with --rtl parser");
        parser_rtl_ = std::make_unique<Rx2ParserBridge>("parser_rtl", config_.timing, config_.rtl.x_check);
        pipeline_->set_parser_swap(parser_rtl_.get());
    }
    if (config_.rtl.cam) {
        cam_rtl_ = std::make_unique<Tlm2CamBridge>("cam_rtl", config_.timing, cam_->table(), config_.sa_cam_bundles,
                                                   config_.rtl.x_check);
        bus_->cam_regs.bind(cam_rtl_->regs);
        cam_rtl_->to_cam.bind(cam_->regs);
        pipeline_->take_cam_answers_from(cam_rtl_.get());
    } else {
        bus_->cam_regs.bind(cam_->regs);
    }
    if (config_.rtl.wb) {
        wb_rtl_ = std::make_unique<Cpl2WbBridge>(config_.timing, config_.rtl.x_check);
        wb_->set_encoder(wb_rtl_.get());
    }
}

// The crypto engine keeps a key schedule per CAM entry and follows every change of the table.
void Ov2System::connect_crypto_to_cam() {
    cam_->table().on_entry_changed = [this](uint32_t index, const CamEntry& e, reg::SaCmdOp op) {
        if (op == reg::kSaCmdSetSeqHi) crypto_->set_seq_hi(index, e.seq_hi);
        else if (e.valid && e.inbound) crypto_->install(index, e);
        else crypto_->remove(index);
    };
}

void Ov2System::connect_observers(RunOutput* output) {
    if (fast_) {
        fast_->on_drop = [this, output](const RxPacket& pkt, MacDrop reason) {
            ++frames_out_;
            if (output) output->dropped(pkt, reason);
        };
        if (output) {
            fast_->on_arrival = [output](const RxPacket& pkt) { output->frame_arrived(pkt); };
            fast_->on_completion = [output](uint32_t frame, uint64_t at_ps) { output->completion_written(frame, at_ps); };
        }
    }
    mac_->on_drop = [this, output](const RxPacket& pkt, MacDrop reason) {
        ++frames_out_;
        if (output) output->dropped(pkt, reason);
    };
    driver_->on_indication = [this, output](const IndicationEvent& ev) {
        ++frames_out_;
        if (output) output->indicated(ev);
    };
    if (!output) return;
    mac_->on_arrival = [output](const RxPacket& pkt) { output->frame_arrived(pkt); };
    wb_->on_completion = [output](const Completion& c) { output->completion_written(c.frame_tag); };
}

std::string Ov2System::enable_trace(const std::string& file) {
    if (sc_core::sc_start_of_simulation_invoked())
        throw std::logic_error("enable_trace: only before the simulation starts");
    if (fast_)
        throw std::invalid_argument("--vcd: waveforms come from the cycle mode's threads; expected --mode cycle "
                                    "(the default) with --vcd");
    tracer_ = std::make_unique<Tracer>(resolve_vcd_path(file), name(),
                                       uint64_t(config_.timing.clock_ps()));
    // Declared in pipeline order: the order of the groups in the GTKWave view.
    mac_->trace(*tracer_, "parser");
    pipeline_->trace(*tracer_, "desc_wb");
    wb_->trace(*tracer_);
    // The GTKWave view puts each <block>_rtl group right after its twin <block>.
    if (parser_rtl_) parser_rtl_->trace(*tracer_);
    if (cam_rtl_) cam_rtl_->trace(*tracer_);
    if (wb_rtl_) wb_rtl_->trace(*tracer_);
    bus_->trace(*tracer_);
    driver_->trace(*tracer_);
    return tracer_->vcd_path();
}

void Ov2System::run() {
    sc_core::sc_start();  // returns when no process has anything left to do
    if (parser_rtl_) parser_rtl_->finish();
    if (cam_rtl_) cam_rtl_->finish();
    if (wb_rtl_) wb_rtl_->finish();
    if (tracer_) tracer_->close(now_ps(), mac_->stats().first_bit_ps);  // the view: from the first frame
    if (frames_out_ != frames_seen())
        throw std::logic_error("conservation violated: " + std::to_string(frames_seen()) +
                               " frames entered, " + std::to_string(frames_out_) + " left the system");
}

BusStats Ov2System::bus_stats() const {
    BusStats s = bus_->stats();
    if (!fast_) return s;
    const BusStats& f = fast_->stats().bus;  // the DMA side and the handler's register writes
    s.dma_writes += f.dma_writes;
    s.dma_reads += f.dma_reads;
    s.dma_bytes += f.dma_bytes;
    s.dma_errors += f.dma_errors;
    s.link_busy_ps += f.link_busy_ps;
    s.mmio_writes += f.mmio_writes;
    return s;
}

}  // namespace ov2
