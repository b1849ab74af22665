// ciottest: a SoapySDR device module that streams an IQ file like a HackRF, with faults on
// demand. It lets ciot-sweep's live path (SoapySource, `scan --device`, `devices`) be tested
// without hardware. Build: tests/soapy-device/build.sh OUTDIR, then
// SOAPY_SDR_PLUGIN_PATH=OUTDIR.
//
// Device arguments (all optional except `file` for streaming):
//   file=PATH            raw interleaved IQ to stream (ci8 or cf32, see file_format)
//   file_format=ci8|cf32 sample format of the file (default ci8)
//   rate_factor=X        pace at X times the set sample rate; 0 = as fast as possible (default 1)
//   loop=0|1             restart at the end of the file (default 0)
//   overflow_at=S:N;...  at stream sample S skip N samples and return SOAPY_SDR_OVERFLOW once;
//                        the next read carries SOAPY_SDR_HAS_TIME with the true time, so the
//                        reader can measure the skip (every read carries its time anyway)
//   timeout_at=S:K       at stream sample S, K consecutive reads return SOAPY_SDR_TIMEOUT
//                        (each after waiting its timeout, capped at 20 ms)
//   lost_at=S            after S samples every read throws (the C API returns
//                        SOAPY_SDR_STREAM_ERROR with the message), as a lost USB device does
//   serial=...           the serial number reported (default ciottest-0001)
//
// "Stream sample" is the index of a sample in the stream, skipped samples included, so an
// overflow at S of N samples is a gap [S, S+N) in the reader's sample indices.
//
// End of the file without loop: the read returns 0 samples with SOAPY_SDR_END_BURST, and
// from then on the sensor `stream_ended` reads "true" (it is "false" before). A reader that
// gets 0 samples checks that sensor and ends cleanly ("device stream ended"); a real device
// never ends, so nothing else is overloaded with that meaning.
//
// Like a HackRF: one RX channel, native format CS8 with full scale 128 (CF32 converted:
// x / 128), gain elements AMP (0 or 14), LNA (0-40 step 8), VGA (0-62 step 2), sample rates
// 2-20 MS/s, baseband filter bandwidths 1.75-28 MHz, 1-6000 MHz, antenna "TX/RX", hardware
// time = stream sample index / rate. setFrequency retunes (recorded: readSetting("retunes")
// gives the frequencies set, comma-separated) and streaming goes on.

#include <SoapySDR/Device.hpp>
#include <SoapySDR/Formats.hpp>
#include <SoapySDR/Registry.hpp>
#include <SoapySDR/Time.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

const char *DRIVER = "ciottest";
const char *DEFAULT_SERIAL = "ciottest-0001";

long long parse_ll(const std::string &s, const char *what) {
    try {
        size_t used = 0;
        long long v = std::stoll(s, &used);
        if (used != s.size() || v < 0) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception &) {
        throw std::runtime_error(std::string("ciottest: bad ") + what + " value '" + s + "'");
    }
}

double parse_double(const std::string &s, const char *what) {
    try {
        size_t used = 0;
        double v = std::stod(s, &used);
        if (used != s.size() || !std::isfinite(v) || v < 0) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception &) {
        throw std::runtime_error(std::string("ciottest: bad ") + what + " value '" + s + "'");
    }
}

std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, sep)) {
        if (!cur.empty()) out.push_back(cur);
    }
    return out;
}

std::string arg(const SoapySDR::Kwargs &a, const char *key, const std::string &def = "") {
    auto it = a.find(key);
    return it == a.end() ? def : it->second;
}

struct Overflow {
    long long at;
    long long count;
    bool done;
};

struct RxStream {
    bool cf32;  // else CS8
};

class CiotTestDevice : public SoapySDR::Device {
  public:
    explicit CiotTestDevice(const SoapySDR::Kwargs &args) : args_(args) {
        serial_ = arg(args, "serial", DEFAULT_SERIAL);
        file_ = arg(args, "file");
        std::string ff = arg(args, "file_format", "ci8");
        if (ff == "ci8" || ff == "cs8") {
            file_cf32_ = false;
        } else if (ff == "cf32" || ff == "cf32_le") {
            file_cf32_ = true;
        } else {
            throw std::runtime_error("ciottest: file_format must be ci8 or cf32, not '" + ff + "'");
        }
        rate_factor_ = parse_double(arg(args, "rate_factor", "1"), "rate_factor");
        loop_ = arg(args, "loop", "0") == "1";
        for (const auto &item : split(arg(args, "overflow_at"), ';')) {
            auto p = split(item, ':');
            if (p.size() != 2) throw std::runtime_error("ciottest: overflow_at wants S:N;S:N, not '" + item + "'");
            overflows_.push_back({parse_ll(p[0], "overflow_at"), parse_ll(p[1], "overflow_at"), false});
        }
        std::sort(overflows_.begin(), overflows_.end(),
                  [](const Overflow &a, const Overflow &b) { return a.at < b.at; });
        std::string t = arg(args, "timeout_at");
        if (!t.empty()) {
            auto p = split(t, ':');
            if (p.size() != 2) throw std::runtime_error("ciottest: timeout_at wants S:K, not '" + t + "'");
            timeout_at_ = parse_ll(p[0], "timeout_at");
            timeout_count_ = parse_ll(p[1], "timeout_at");
        }
        std::string l = arg(args, "lost_at");
        if (!l.empty()) lost_at_ = parse_ll(l, "lost_at");

        if (!file_.empty()) {
            std::ifstream in(file_, std::ios::binary);
            if (!in) throw std::runtime_error("ciottest: cannot open file '" + file_ + "'");
            std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            size_t bps = file_cf32_ ? 8 : 2;
            size_t n = bytes.size() / bps;
            iq_.resize(2 * n);
            if (file_cf32_) {
                std::memcpy(iq_.data(), bytes.data(), n * 8);
            } else {
                for (size_t i = 0; i < 2 * n; i++) iq_[i] = static_cast<float>(static_cast<int8_t>(bytes[i]));
                for (auto &v : iq_) v /= 128.0f;
            }
            num_samples_ = static_cast<long long>(n);
        }
    }

    // Identification
    std::string getDriverKey() const override { return DRIVER; }
    std::string getHardwareKey() const override { return "ciottest-file-device"; }
    SoapySDR::Kwargs getHardwareInfo() const override {
        SoapySDR::Kwargs k;
        k["serial"] = serial_;
        k["file"] = file_;
        return k;
    }

    // Channels and antennas
    size_t getNumChannels(const int dir) const override { return dir == SOAPY_SDR_RX ? 1 : 0; }
    std::vector<std::string> listAntennas(const int, const size_t) const override { return {"TX/RX"}; }
    void setAntenna(const int, const size_t, const std::string &name) override {
        if (name != "TX/RX") throw std::runtime_error("ciottest: no antenna '" + name + "'");
    }
    std::string getAntenna(const int, const size_t) const override { return "TX/RX"; }

    // Gains, HackRF-like
    std::vector<std::string> listGains(const int, const size_t) const override { return {"LNA", "AMP", "VGA"}; }
    bool hasGainMode(const int, const size_t) const override { return false; }
    void setGain(const int, const size_t, const std::string &name, const double value) override {
        std::lock_guard<std::mutex> g(mu_);
        SoapySDR::Range r = range_of(name);
        double v = std::min(std::max(value, r.minimum()), r.maximum());
        if (r.step() > 0) v = r.minimum() + std::round((v - r.minimum()) / r.step()) * r.step();
        gains_[name] = v;
    }
    double getGain(const int, const size_t, const std::string &name) const override {
        std::lock_guard<std::mutex> g(mu_);
        range_of(name);
        auto it = gains_.find(name);
        return it == gains_.end() ? 0.0 : it->second;
    }
    SoapySDR::Range getGainRange(const int, const size_t, const std::string &name) const override {
        return range_of(name);
    }

    // Frequency
    void setFrequency(const int, const size_t, const double frequency, const SoapySDR::Kwargs &) override {
        std::lock_guard<std::mutex> g(mu_);
        if (frequency < 1e6 || frequency > 6e9) throw std::runtime_error("ciottest: frequency out of range");
        frequency_ = frequency;
        retunes_.push_back(frequency);
    }
    void setFrequency(const int dir, const size_t ch, const std::string &, const double frequency,
                      const SoapySDR::Kwargs &args) override {
        setFrequency(dir, ch, frequency, args);
    }
    double getFrequency(const int, const size_t) const override {
        std::lock_guard<std::mutex> g(mu_);
        return frequency_;
    }
    double getFrequency(const int dir, const size_t ch, const std::string &) const override {
        return getFrequency(dir, ch);
    }
    std::vector<std::string> listFrequencies(const int, const size_t) const override { return {"RF"}; }
    SoapySDR::RangeList getFrequencyRange(const int, const size_t) const override {
        return {SoapySDR::Range(1e6, 6e9)};
    }
    SoapySDR::RangeList getFrequencyRange(const int, const size_t, const std::string &) const override {
        return {SoapySDR::Range(1e6, 6e9)};
    }

    // Sample rate and bandwidth
    void setSampleRate(const int, const size_t, const double rate) override {
        if (rate < 1e6 || rate > 20e6) throw std::runtime_error("ciottest: sample rate out of range (1-20 MS/s)");
        std::lock_guard<std::mutex> g(mu_);
        rate_ = rate;
    }
    double getSampleRate(const int, const size_t) const override {
        std::lock_guard<std::mutex> g(mu_);
        return rate_;
    }
    std::vector<double> listSampleRates(const int, const size_t) const override {
        return {1.92e6, 2e6, 3.84e6, 4e6, 7.68e6, 8e6, 10e6, 12.5e6, 15.36e6, 16e6, 20e6};
    }
    SoapySDR::RangeList getSampleRateRange(const int, const size_t) const override {
        return {SoapySDR::Range(1e6, 20e6)};
    }
    void setBandwidth(const int, const size_t, const double bw) override {
        std::lock_guard<std::mutex> g(mu_);
        // Nearest HackRF baseband filter at or below the request (the MAX2837's list).
        double best = bandwidths().front();
        for (double b : bandwidths())
            if (b <= bw) best = b;
        bandwidth_ = best;
    }
    double getBandwidth(const int, const size_t) const override {
        std::lock_guard<std::mutex> g(mu_);
        return bandwidth_;
    }
    std::vector<double> listBandwidths(const int, const size_t) const override { return bandwidths(); }
    SoapySDR::RangeList getBandwidthRange(const int, const size_t) const override {
        SoapySDR::RangeList r;
        for (double b : bandwidths()) r.push_back(SoapySDR::Range(b, b));
        return r;
    }

    // Time
    bool hasHardwareTime(const std::string &what) const override { return what.empty(); }
    long long getHardwareTime(const std::string &) const override {
        std::lock_guard<std::mutex> g(mu_);
        return SoapySDR::ticksToTimeNs(pos_, rate_);
    }

    // Sensors and settings
    std::vector<std::string> listSensors(void) const override { return {"stream_ended"}; }
    std::string readSensor(const std::string &key) const override {
        std::lock_guard<std::mutex> g(mu_);
        if (key == "stream_ended") return ended_ ? "true" : "false";
        throw std::runtime_error("ciottest: no sensor '" + key + "'");
    }
    std::string readSetting(const std::string &key) const override {
        std::lock_guard<std::mutex> g(mu_);
        if (key == "retunes") {
            std::ostringstream o;
            o.precision(17);
            for (size_t i = 0; i < retunes_.size(); i++) o << (i ? "," : "") << retunes_[i];
            return o.str();
        }
        return "";
    }

    // Streams
    std::vector<std::string> getStreamFormats(const int, const size_t) const override {
        return {SOAPY_SDR_CS8, SOAPY_SDR_CF32};
    }
    std::string getNativeStreamFormat(const int, const size_t, double &fullScale) const override {
        fullScale = 128;
        return SOAPY_SDR_CS8;
    }
    SoapySDR::Stream *setupStream(const int direction, const std::string &format,
                                  const std::vector<size_t> &channels, const SoapySDR::Kwargs &) override {
        if (direction != SOAPY_SDR_RX) throw std::runtime_error("ciottest: receive only");
        if (channels.size() > 1 || (channels.size() == 1 && channels[0] != 0))
            throw std::runtime_error("ciottest: one channel (0)");
        if (format != SOAPY_SDR_CS8 && format != SOAPY_SDR_CF32)
            throw std::runtime_error("ciottest: stream format must be CS8 or CF32, not " + format);
        if (file_.empty()) throw std::runtime_error("ciottest: no file= argument to stream");
        auto *s = new RxStream{format == SOAPY_SDR_CF32};
        return reinterpret_cast<SoapySDR::Stream *>(s);
    }
    void closeStream(SoapySDR::Stream *stream) override { delete reinterpret_cast<RxStream *>(stream); }
    size_t getStreamMTU(SoapySDR::Stream *) const override { return 65536; }
    int activateStream(SoapySDR::Stream *, const int, const long long, const size_t) override {
        std::lock_guard<std::mutex> g(mu_);
        active_ = true;
        start_ = std::chrono::steady_clock::now();
        paced_from_ = pos_;
        return 0;
    }
    int deactivateStream(SoapySDR::Stream *, const int, const long long) override {
        std::lock_guard<std::mutex> g(mu_);
        active_ = false;
        return 0;
    }

    int readStream(SoapySDR::Stream *stream, void *const *buffs, const size_t numElems, int &flags,
                   long long &timeNs, const long timeoutUs) override {
        auto *rx = reinterpret_cast<RxStream *>(stream);
        std::unique_lock<std::mutex> g(mu_);
        flags = 0;
        if (!active_) return SOAPY_SDR_STREAM_ERROR;
        if (lost_at_ >= 0 && pos_ >= lost_at_) {
            throw std::runtime_error("ciottest " + serial_ + ": device lost (USB transfer failed: no such device)");
        }
        if (timeout_at_ >= 0 && pos_ >= timeout_at_ && timeouts_given_ < timeout_count_) {
            timeouts_given_++;
            g.unlock();
            std::this_thread::sleep_for(std::chrono::microseconds(std::min<long>(timeoutUs, 20000)));
            return SOAPY_SDR_TIMEOUT;
        }
        for (auto &o : overflows_) {
            if (!o.done && pos_ >= o.at) {
                o.done = true;
                pos_ += o.count;
                return SOAPY_SDR_OVERFLOW;
            }
        }
        if (ended_ || (!loop_ && pos_ >= num_samples_)) {
            ended_ = true;
            flags |= SOAPY_SDR_END_BURST;
            return 0;
        }
        long long n = static_cast<long long>(numElems);
        // Stop short of the next event, so it happens exactly at its sample.
        for (const auto &o : overflows_)
            if (!o.done && o.at > pos_) n = std::min(n, o.at - pos_);
        if (timeout_at_ > pos_ && timeouts_given_ < timeout_count_) n = std::min(n, timeout_at_ - pos_);
        if (lost_at_ > pos_) n = std::min(n, lost_at_ - pos_);
        if (!loop_) n = std::min(n, num_samples_ - pos_);
        // Pacing: sample k of this activation is due at k / (rate * factor) seconds.
        if (rate_factor_ > 0) {
            double fs = rate_ * rate_factor_;
            auto due = [&](long long k) {
                return start_ + std::chrono::nanoseconds(static_cast<long long>(1e9 * double(k - paced_from_) / fs));
            };
            // Wait for at least min(n, 4096) samples, or the timeout.
            long long want = std::min<long long>(n, 4096);
            auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(timeoutUs);
            auto when = due(pos_ + want);
            if (when > deadline) {
                g.unlock();
                std::this_thread::sleep_until(deadline);
                return SOAPY_SDR_TIMEOUT;
            }
            g.unlock();
            std::this_thread::sleep_until(when);
            g.lock();
            double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
            long long avail = paced_from_ + static_cast<long long>(elapsed * fs) - pos_;
            n = std::max(want, std::min(n, avail));
        }
        timeNs = SoapySDR::ticksToTimeNs(pos_, rate_);
        flags |= SOAPY_SDR_HAS_TIME;
        for (long long i = 0; i < n; i++) {
            long long k = num_samples_ > 0 ? (pos_ + i) % num_samples_ : 0;
            float re = num_samples_ > 0 ? iq_[2 * k] : 0.0f;
            float im = num_samples_ > 0 ? iq_[2 * k + 1] : 0.0f;
            if (rx->cf32) {
                float *out = static_cast<float *>(buffs[0]);
                out[2 * i] = re;
                out[2 * i + 1] = im;
            } else {
                int8_t *out = static_cast<int8_t *>(buffs[0]);
                out[2 * i] = to_cs8(re);
                out[2 * i + 1] = to_cs8(im);
            }
        }
        pos_ += n;
        return static_cast<int>(n);
    }

  private:
    static int8_t to_cs8(float x) {
        float v = std::nearbyint(x * 128.0f);
        if (!(v >= -128.0f)) v = (v > 0) ? 127.0f : -128.0f;  // NaN and -inf
        if (v > 127.0f) v = 127.0f;
        return static_cast<int8_t>(v);
    }
    static std::vector<double> bandwidths() {
        return {1.75e6, 2.5e6, 3.5e6, 5e6, 5.5e6, 6e6, 7e6, 8e6, 9e6, 10e6, 12e6, 14e6, 15e6, 20e6, 24e6, 28e6};
    }
    static SoapySDR::Range range_of(const std::string &name) {
        if (name == "AMP") return SoapySDR::Range(0, 14, 14);
        if (name == "LNA") return SoapySDR::Range(0, 40, 8);
        if (name == "VGA") return SoapySDR::Range(0, 62, 2);
        throw std::runtime_error("ciottest: no gain element '" + name + "'");
    }

    SoapySDR::Kwargs args_;
    std::string serial_;
    std::string file_;
    bool file_cf32_ = false;
    double rate_factor_ = 1.0;
    bool loop_ = false;
    std::vector<Overflow> overflows_;
    long long timeout_at_ = -1;
    long long timeout_count_ = 0;
    long long timeouts_given_ = 0;
    long long lost_at_ = -1;
    std::vector<float> iq_;
    long long num_samples_ = 0;

    mutable std::mutex mu_;
    std::map<std::string, double> gains_{{"AMP", 0.0}, {"LNA", 16.0}, {"VGA", 16.0}};
    double frequency_ = 847e6;
    double rate_ = 10e6;
    double bandwidth_ = 8e6;
    std::vector<double> retunes_;
    bool active_ = false;
    bool ended_ = false;
    long long pos_ = 0;
    long long paced_from_ = 0;
    std::chrono::steady_clock::time_point start_;
};

SoapySDR::KwargsList find_ciottest(const SoapySDR::Kwargs &args) {
    // Only the driver key selects this device (the registry already filters on it); a serial
    // that is not ours filters it out.
    std::string serial = arg(args, "serial", DEFAULT_SERIAL);
    SoapySDR::Kwargs dev = args;
    dev["driver"] = DRIVER;
    dev["serial"] = serial;
    dev["label"] = "ciot-sweep test device (file replay) " + serial;
    return {dev};
}

SoapySDR::Device *make_ciottest(const SoapySDR::Kwargs &args) { return new CiotTestDevice(args); }

SoapySDR::Registry register_ciottest(DRIVER, &find_ciottest, &make_ciottest, SOAPY_SDR_ABI_VERSION);

}  // namespace
