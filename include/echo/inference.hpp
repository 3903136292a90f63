// echo/inference.hpp: the LV segmentation + view model and the engine that runs it (TorchScript inside,
// no LibTorch type here). A model is a TorchScript file plus a JSON manifest beside it (same stem + .json)
// that states the contract it meets; docs/model.md describes the contract and the reference model.
//
// Every function returns echo::Expected or a plain value; no exception leaves it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "echo/error.hpp"
#include "echo/sha256.hpp"  // sha256_hex, sha256_file_hex (were declared here)

namespace echo {

enum class Device { auto_select, cpu, cuda };
// auto_select: the model file's own precision on CPU (int8 for the default model), fp16 on CUDA.
enum class Precision { auto_select, fp32, int8, fp16 };

const char* device_name(Device device) noexcept;        // "auto", "cpu", "cuda"
const char* precision_name(Precision precision) noexcept;  // "auto", "fp32", "int8", "fp16"

struct EngineOptions {
  Device device = Device::auto_select;
  Precision precision = Precision::auto_select;
  // Intra-op threads (0 = all hardware threads). LibTorch keeps ONE process-wide thread count: the last
  // model loaded sets it for every model in the process (see docs/model.md, "Threads").
  int threads = 0;
  int max_batch = 32;  // frames per forward pass inside segment(); 1..1024
};

// The manifest (the JSON beside the .pt), as read.
struct ModelManifest {
  std::string contract;  // "echo.lv_segmentation"
  int contract_version = 0;
  std::string name, version, description, training_data;
  bool validated_on_real_patients = false;
  int input_size = 0;
  float input_mean = 0.0f, input_std = 1.0f;
  std::vector<std::string> view_labels;  // {"a4c", "a2c", "other"}
  std::string precision;                 // precision of the weights in the file: "fp32" or "int8"
  std::string quantized_engine;          // int8: "onednn" (x86) or "qnnpack" (ARM); empty for fp32
  std::string weights_sha256;            // lowercase hex SHA-256 of the .pt file
  std::string json;                      // the manifest text
};

// The contract this SDK runs (name and the versions it accepts).
inline constexpr const char* kSegmentationContract = "echo.lv_segmentation";
inline constexpr int kSegmentationContractVersion = 1;

// Parses a manifest and checks it against the contract (name, version, input size, normalisation, view
// labels, precision / engine names). Does not look at the weights. Errors: not_found, io_failed,
// model_invalid (with what did not fit).
Expected<ModelManifest> parse_model_manifest(const std::string& json_text, const std::string& source_name);
Expected<ModelManifest> read_model_manifest(const std::string& manifest_path);


struct SegmentationOutput {
  int frame_count = 0, size = 0;
  std::vector<std::uint8_t> lv_masks;     // frame_count * size * size, 255 = LV cavity, 0 elsewhere
  std::vector<float> view_probabilities;  // frame_count * view_labels.size(), softmax of the view logits

  const std::uint8_t* mask(int frame) const {
    return lv_masks.data() + static_cast<std::size_t>(frame) * size * size;
  }
  const float* view(int frame, int label_count) const {
    return view_probabilities.data() + static_cast<std::size_t>(frame) * label_count;
  }
};

// A loaded model: immutable after load; segment() may be called from many threads at once.
class SegmentationModel {
 public:
  // model_path: the .pt; the manifest is the same stem + ".json". Checks, in this order: the files exist,
  // the manifest meets the contract, the SHA-256 of the .pt matches the manifest, the requested device and
  // precision suit the file (and this build), the file loads, and one dummy forward gives outputs of the
  // contract's shapes. Anything else is refused with model_invalid / unsupported / not_found and a message
  // that names the file and what did not fit.
  static Expected<std::shared_ptr<const SegmentationModel>> load(const std::string& model_path,
                                                                 const EngineOptions& options = {});
  ~SegmentationModel();
  SegmentationModel(const SegmentationModel&) = delete;
  SegmentationModel& operator=(const SegmentationModel&) = delete;

  const ModelManifest& manifest() const;
  Device device() const;        // what it runs on (never auto_select)
  Precision precision() const;  // what it runs in (never auto_select)
  int input_size() const { return manifest().input_size; }
  int max_batch() const;

  // frames: frame_count x 1 x S x S floats (S = input_size), normalised per the input contract
  // (echo/preprocess.hpp preprocess()). Run in batches of max_batch. Deterministic: the same frames give
  // the same output, bit for bit, whatever thread calls. Errors: invalid_argument (null, count <= 0,
  // a non-finite value), internal (the runtime failed).
  Expected<SegmentationOutput> segment(const float* frames, int frame_count) const;

  struct Impl;

 private:
  explicit SegmentationModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The reference model shipped with the SDK for a precision (int8 -> lv_seg_int8.pt, fp32 / fp16 ->
// lv_seg_fp32.pt, auto -> fp32 when CUDA is available, else int8). Looks in $ECHO_MODEL_DIR, then the
// source tree's models/, then the install dir (<datadir>/echoanalyzer/models); returns the first that
// holds the file, else the install-dir path (so that load() reports it as not found).
std::string default_model_path(Precision precision = Precision::int8);

// True when this build links a CUDA LibTorch and a CUDA device is present.
bool cuda_available();

}  // namespace echo
