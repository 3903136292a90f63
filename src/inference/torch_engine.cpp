// The TorchScript engine: the only translation unit of the stage that includes LibTorch (each one costs
// ~10 s and ~1 GB to compile).
#include <torch/cuda.h>
#include <torch/script.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "echo/inference.hpp"
#include "common/bounded_read.hpp"
#include "common/torchscript_archive.hpp"
#include "inference/engine_internal.hpp"

namespace echo {
namespace {

constexpr std::uintmax_t kMaxModelBytes = std::uintmax_t(1) << 30;

// LibTorch keeps the quantised engine and the intra-op thread count process-wide; loads are serialised
// and an int8 model for another engine than the one already in use is refused.
std::mutex g_load_mutex;
std::string g_engine_in_use;  // guarded by g_load_mutex

tl::unexpected<Error> model_error(ErrorCode code, const std::string& path, const std::string& reason) {
  return make_error(code, "model '" + path + "': " + reason);
}

std::string shape_text(const at::Tensor& t) {
  std::string out = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) out += (i ? ", " : "") + std::to_string(t.size(i));
  return out + "]";
}

struct Resolved {
  Device device = Device::cpu;
  Precision precision = Precision::fp32;
};

// Which device and precision a file of the manifest's precision runs in, given the request.
Expected<Resolved> resolve_device_precision(const ModelManifest& m, const EngineOptions& o,
                                            const std::string& path) {
  const bool have_cuda = cuda_available();
  if (o.device == Device::cuda && !have_cuda) {
    return model_error(ErrorCode::unsupported, path,
                       "CUDA was requested but this build has no CUDA LibTorch or no CUDA device is present");
  }
  if (m.precision == "int8") {
    if (o.precision == Precision::fp32 || o.precision == Precision::fp16) {
      return model_error(ErrorCode::unsupported, path,
                         std::string("the file holds int8 weights; ") + precision_name(o.precision) +
                             " needs the fp32 model file (lv_seg_fp32.pt)");
    }
    if (o.device == Device::cuda) {
      return model_error(ErrorCode::unsupported, path,
                         "int8 TorchScript (eager-quantised) models run only on the CPU quantised engines "
                         "(onednn, qnnpack); on CUDA load the fp32 file with precision fp16 or fp32");
    }
    return Resolved{Device::cpu, Precision::int8};
  }
  // fp32 file
  if (o.precision == Precision::int8) {
    return model_error(ErrorCode::unsupported, path,
                       "int8 was requested but the file holds fp32 weights; int8 needs a model quantised "
                       "ahead of time (lv_seg_int8.pt, models/export_lv.py)");
  }
  Device device = o.device;
  if (device == Device::auto_select) device = have_cuda ? Device::cuda : Device::cpu;
  if (o.precision == Precision::fp16 && device != Device::cuda) {
    return model_error(ErrorCode::unsupported, path, "fp16 runs on CUDA only; use fp32 or int8 on the CPU");
  }
  Precision precision = o.precision;
  if (precision == Precision::auto_select) precision = device == Device::cuda ? Precision::fp16 : Precision::fp32;
  return Resolved{device, precision};
}

// Sets the process-wide quantised engine (before torch::jit::load: weights are repacked at load).
Expected<void> select_quantized_engine(const std::string& engine_name, const std::string& path) {
  at::QEngine wanted;
  if (engine_name == "onednn") {
    wanted = at::QEngine::ONEDNN;
  } else if (engine_name == "qnnpack") {
    wanted = at::QEngine::QNNPACK;
  } else if (engine_name == "x86") {
    wanted = at::QEngine::X86;
  } else {
    wanted = at::QEngine::FBGEMM;
  }
  const auto& supported = at::globalContext().supportedQEngines();
  if (std::find(supported.begin(), supported.end(), wanted) == supported.end()) {
    std::string names;
    for (auto e : supported) {
      if (e != at::QEngine::NoQEngine) names += (names.empty() ? "" : ", ") + c10::toString(e);
    }
    return model_error(ErrorCode::unsupported, path,
                       "quantised engine '" + engine_name + "' is not in this LibTorch (it has: " + names +
                           "); export the int8 model for one of those");
  }
  if (!g_engine_in_use.empty() && g_engine_in_use != engine_name) {
    return model_error(ErrorCode::unsupported, path,
                       "an int8 model for engine '" + g_engine_in_use +
                           "' is already loaded in this process; LibTorch's quantised engine is process-wide, "
                           "so a model for '" + engine_name + "' cannot run beside it");
  }
  at::globalContext().setQEngine(wanted);
  return {};
}

Expected<std::string> read_whole_file(const std::string& path) {
  auto bytes = read_bounded_file(path, kMaxModelBytes);
  if (!bytes) return model_error(bytes.error().code, path, bytes.error().message);
  return bytes;
}

}  // namespace

struct SegmentationModel::Impl {
  ModelManifest manifest;
  Device device = Device::cpu;
  Precision precision = Precision::fp32;
  int max_batch = 32;
  // forward() is not const in the LibTorch API, but running a loaded module from several threads at once is
  // supported (it changes no module state); nothing else touches it after load.
  mutable torch::jit::Module module;

  at::Tensor to_device_input(const float* frames, int count) const {
    const int s = manifest.input_size;
    at::Tensor input = torch::from_blob(const_cast<float*>(frames), {count, 1, s, s}, torch::kFloat32).clone();
    if (device == Device::cuda) {
      input = input.to(torch::kCUDA);
      if (precision == Precision::fp16) input = input.to(torch::kHalf);
    }
    return input;
  }

  // One forward pass; returns (lv logits, view logits) as contiguous CPU float tensors.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& input) const {
    c10::InferenceMode inference_guard;
    const auto output = module.forward({input});
    if (!output.isTuple()) throw std::runtime_error("the model's forward() does not return a tuple");
    const auto& elements = output.toTupleRef().elements();
    if (elements.size() != 2 || !elements[0].isTensor() || !elements[1].isTensor()) {
      throw std::runtime_error("the model's forward() must return (lv_logits, view_logits)");
    }
    auto lv = elements[0].toTensor().to(torch::kCPU, torch::kFloat32).contiguous();
    auto view = elements[1].toTensor().to(torch::kCPU, torch::kFloat32).contiguous();
    return {lv, view};
  }
};

SegmentationModel::SegmentationModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SegmentationModel::~SegmentationModel() = default;
const ModelManifest& SegmentationModel::manifest() const { return impl_->manifest; }
Device SegmentationModel::device() const { return impl_->device; }
Precision SegmentationModel::precision() const { return impl_->precision; }
int SegmentationModel::max_batch() const { return impl_->max_batch; }

bool cuda_available() {
  try {
    return torch::cuda::is_available() && torch::cuda::device_count() > 0;
  } catch (const std::exception&) {
    return false;
  }
}

namespace {

// Runs a batch of 2 zero frames and checks the output shapes and values against the contract.
Expected<void> check_dummy_forward(const SegmentationModel::Impl& impl, const std::string& path) {
  const int s = impl.manifest.input_size;
  const int labels = static_cast<int>(impl.manifest.view_labels.size());
  std::vector<float> zeros(static_cast<std::size_t>(2) * s * s, 0.0f);
  at::Tensor lv, view;
  try {
    std::tie(lv, view) = impl.forward(impl.to_device_input(zeros.data(), 2));
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    return model_error(ErrorCode::model_invalid, path,
                       "a test forward pass on 2 x 1 x " + std::to_string(s) + " x " + std::to_string(s) +
                           " failed: " + what);
  }
  const std::vector<std::int64_t> lv_expected{2, 1, s, s}, view_expected{2, labels};
  if (lv.sizes().vec() != lv_expected) {
    return model_error(ErrorCode::model_invalid, path,
                       "lv_logits have shape " + shape_text(lv) + ", the contract needs [2, 1, " +
                           std::to_string(s) + ", " + std::to_string(s) + "] for 2 input frames");
  }
  if (view.sizes().vec() != view_expected) {
    return model_error(ErrorCode::model_invalid, path,
                       "view_logits have shape " + shape_text(view) + ", the contract needs [2, " +
                           std::to_string(labels) + "] (one logit per view label) for 2 input frames");
  }
  if (!torch::isfinite(lv).all().item<bool>() || !torch::isfinite(view).all().item<bool>()) {
    return model_error(ErrorCode::model_invalid, path, "a test forward pass gave non-finite outputs");
  }
  return {};
}

Expected<void> check_options(const EngineOptions& options, const std::string& path) {
  if (options.max_batch < 1 || options.max_batch > 1024) {
    return make_error(ErrorCode::invalid_argument,
                      "loading '" + path + "': max_batch " + std::to_string(options.max_batch) +
                          " is outside [1, 1024]");
  }
  if (options.threads < 0 || options.threads > 1024) {
    return make_error(ErrorCode::invalid_argument,
                      "loading '" + path + "': threads " + std::to_string(options.threads) +
                          " is outside [0, 1024]");
  }
  return {};
}

}  // namespace

Expected<std::shared_ptr<const SegmentationModel>> SegmentationModel::load(const std::string& model_path,
                                                                           const EngineOptions& options) {
  if (auto ok = check_options(options, model_path); !ok) return tl::unexpected(ok.error());
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model_path, ec)) {
    return model_error(ErrorCode::not_found, model_path, "the file does not exist");
  }
  auto manifest = read_model_manifest(manifest_path_for(model_path));
  if (!manifest) return tl::unexpected(manifest.error());

  auto bytes = read_whole_file(model_path);
  if (!bytes) return tl::unexpected(bytes.error());
  const std::string actual_sha = sha256_hex(bytes->data(), bytes->size());
  if (actual_sha != manifest->weights_sha256) {
    return model_error(ErrorCode::model_invalid, model_path,
                       "SHA-256 " + actual_sha + " does not match the manifest's " + manifest->weights_sha256 +
                           " (the file was altered, truncated or belongs to another manifest); refused");
  }
  if (const std::string problem = torchscript_archive_problem(*bytes); !problem.empty())
    return model_error(ErrorCode::model_invalid, model_path, "the TorchScript archive is damaged: " + problem);
  auto resolved = resolve_device_precision(*manifest, options, model_path);
  if (!resolved) return tl::unexpected(resolved.error());

  auto impl = std::make_unique<Impl>();
  impl->manifest = std::move(*manifest);
  impl->device = resolved->device;
  impl->precision = resolved->precision;
  impl->max_batch = options.max_batch;

  std::lock_guard<std::mutex> lock(g_load_mutex);
  if (impl->precision == Precision::int8) {
    if (auto ok = select_quantized_engine(impl->manifest.quantized_engine, model_path); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  const int hardware_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(options.threads > 0 ? options.threads : hardware_threads);
  try {
    std::istringstream stream(std::move(*bytes));
    impl->module = torch::jit::load(stream, torch::kCPU);
    impl->module.eval();
    if (impl->device == Device::cuda) {
      impl->module.to(torch::kCUDA);
      if (impl->precision == Precision::fp16) impl->module.to(torch::kHalf);
    }
    impl->module = torch::jit::freeze(impl->module);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    return model_error(ErrorCode::model_invalid, model_path, "TorchScript could not load it: " + what);
  }
  if (auto ok = check_dummy_forward(*impl, model_path); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_shipped_manifest(actual_sha, manifest_path_for(model_path)); !ok) return tl::unexpected(ok.error());
  if (impl->precision == Precision::int8) g_engine_in_use = impl->manifest.quantized_engine;  // only once loaded
  return std::shared_ptr<const SegmentationModel>(new SegmentationModel(std::move(impl)));
}

Expected<SegmentationOutput> SegmentationModel::segment(const float* frames, int frame_count) const {
  if (frames == nullptr || frame_count <= 0) {
    return make_error(ErrorCode::invalid_argument, "segment: frames must be non-null with frame_count > 0");
  }
  const int s = impl_->manifest.input_size;
  const std::size_t frame_floats = static_cast<std::size_t>(s) * s;
  const int labels = static_cast<int>(impl_->manifest.view_labels.size());
  for (std::size_t i = 0; i < frame_floats * frame_count; ++i) {
    if (!std::isfinite(frames[i])) {
      return make_error(ErrorCode::invalid_argument,
                        "segment: frame " + std::to_string(i / frame_floats) + " holds a non-finite value");
    }
  }
  SegmentationOutput out;
  out.frame_count = frame_count;
  out.size = s;
  out.lv_masks.resize(frame_floats * frame_count);
  out.view_probabilities.resize(static_cast<std::size_t>(labels) * frame_count);
  try {
    for (int first = 0; first < frame_count; first += impl_->max_batch) {
      const int count = std::min(impl_->max_batch, frame_count - first);
      auto [lv, view] = impl_->forward(impl_->to_device_input(frames + frame_floats * first, count));
      if (lv.numel() != static_cast<std::int64_t>(frame_floats) * count || view.numel() != labels * count) {
        return make_error(ErrorCode::internal, "segment: the model returned outputs of an unexpected size");
      }
      const float* logits = lv.data_ptr<float>();
      std::uint8_t* masks = out.lv_masks.data() + frame_floats * first;
      for (std::size_t i = 0; i < frame_floats * count; ++i) masks[i] = logits[i] > 0.0f ? 255 : 0;
      const at::Tensor probabilities = torch::softmax(view, 1).contiguous();
      std::copy_n(probabilities.data_ptr<float>(), labels * count,
                  out.view_probabilities.data() + static_cast<std::size_t>(labels) * first);
    }
  } catch (const std::exception& e) {
    std::string what = e.what();
    return make_error(ErrorCode::internal, "segment: the runtime failed: " + what.substr(0, what.find('\n')));
  }
  return out;
}

}  // namespace echo
