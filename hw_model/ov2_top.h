// The whole system: MAC -> parser -> SA CAM -> crypto engine -> descriptor writeback -> bus -> host memory,
// and the driver shim (miniport + transport) programming the device through the bus.
//
//   FrameSource -> MacRx =fifo=> RxPipeline(parser, CAM lookup, crypto) =fifo=> DescWb --dma--> HostBus
//   DriverShim --mmio--> HostBus --> DescWb.regs / SaCam.regs        HostBus --> HostMemory <-- DriverShim
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "bus.h"
#include "cpl2wb_bridge.h"
#include "crypto_engine.h"
#include "desc_wb.h"
#include "driver_shim.h"
#include "fast_path.h"
#include "host_memory.h"
#include "host_transport.h"
#include "mac_rx.h"
#include "rx2parser_bridge.h"
#include "rx_pipeline.h"
#include "sa_cam.h"
#include "timing_params.h"
#include "tlm2cam_bridge.h"
#include "trace.h"

namespace ov2 {

class RunOutput;

// cycle: the SystemC threads of every block (the reference); fast: one thread computing the same
// timing arithmetically (hw_model/fast_path.h, docs/timing.md "Fast mode").
enum class TimingMode { Cycle, Fast };
const char* timing_mode_name(TimingMode mode);
// `--rtl`: Verilated RTL blocks co-simulated in place of their SystemC twins (docs/rtl.md).
struct RtlSwap {
    bool cam = false, parser = false, wb = false;
    bool x_check = false;  // --rtl-xcheck: a shadow instance of each block with other X values must agree
    bool any() const { return cam || parser || wb; }
};

struct SimConfig {
    TimingMode mode = TimingMode::Cycle;
    TimingParams timing;
    MacConfig mac;
    DriverConfig driver;
    uint32_t sa_cam_bundles = 1024;  // device table size in SA bundles (two entries each), at most 2048
    RtlSwap rtl;
};

class Ov2System : public sc_core::sc_module {
public:
    Ov2System(sc_core::sc_module_name name, const SimConfig& config, FrameSource& source, std::vector<AddSa> sas,
              RunOutput* output);

    // Runs until every frame of the source has left the system (indicated or dropped).
    void run();

    // Waveform output: before run(), makes the run write a VCD of the pipeline to resolve_vcd_path(file)
    // and a GTKWave save file beside it (docs/waveforms.md). Returns the VCD's path. Tracing records
    // changes only: it waits for nothing and notifies nothing, so results are the same without it.
    std::string enable_trace(const std::string& file);
    const Tracer* tracer() const { return tracer_.get(); }

    const SimConfig& config() const { return config_; }
    MacRx& mac() { return *mac_; }
    RxPipeline& pipeline() { return *pipeline_; }
    SaCam& cam() { return *cam_; }
    CryptoEngine& crypto() { return *crypto_; }
    DescWb& wb() { return *wb_; }
    HostBus& bus() { return *bus_; }
    HostMemory& memory() { return *memory_; }
    DriverShim& driver() { return *driver_; }
    TransportModel& transport() { return transport_; }
    Tlm2CamBridge* cam_rtl() { return cam_rtl_.get(); }  // null without --rtl cam
    Rx2ParserBridge* parser_rtl() { return parser_rtl_.get(); }  // null without --rtl parser
    Cpl2WbBridge* wb_rtl() { return wb_rtl_.get(); }      // null without --rtl wb
    uint64_t frames_out() const { return frames_out_; }
    // What the run did, from whichever mode ran the frames.
    bool fast() const { return fast_ != nullptr; }
    uint32_t frames_seen() const { return fast_ ? fast_->frames_seen() : mac_->frames_seen(); }
    const MacStats& mac_stats() const { return fast_ ? fast_->stats().mac : mac_->stats(); }
    const RxPathStats& rx_stats() const { return fast_ ? fast_->stats().rx : pipeline_->stats(); }
    const DescWbStats& wb_stats() const { return fast_ ? fast_->stats().wb : wb_->stats(); }
    BusStats bus_stats() const;
    uint64_t crypto_busy_ps() const { return fast_ ? fast_->stats().crypto_busy_ps : pipeline_->crypto_busy_ps(); }

private:
    void connect_crypto_to_cam();
    void connect_observers(RunOutput* output);
    void connect_rtl();

    SimConfig config_;
    std::unique_ptr<RxPacketPool> pool_;
    std::unique_ptr<CryptoEngine> crypto_;
    TransportModel transport_;
    FrameFifo mac_to_parser_;
    FrameFifo crypto_to_wb_;
    std::unique_ptr<SaCam> cam_;
    std::unique_ptr<MacRx> mac_;
    std::unique_ptr<RxPipeline> pipeline_;
    std::unique_ptr<DescWb> wb_;
    std::unique_ptr<HostBus> bus_;
    std::unique_ptr<HostMemory> memory_;
    std::unique_ptr<DriverShim> driver_;
    std::unique_ptr<FastPath> fast_;
    std::unique_ptr<Tlm2CamBridge> cam_rtl_;
    std::unique_ptr<Rx2ParserBridge> parser_rtl_;
    std::unique_ptr<Cpl2WbBridge> wb_rtl_;
    std::unique_ptr<Tracer> tracer_;
    uint64_t frames_out_ = 0;
};

}  // namespace ov2
