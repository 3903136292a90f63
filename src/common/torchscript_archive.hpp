// A TorchScript archive checked before LibTorch reads it (shared by the segmentation engine and the VLM).
#pragma once
#include <string>

namespace echo {

// Why LibTorch must not read this TorchScript archive, or "" when it may: each stored pickle record (*.pkl)
// is walked opcode by opcode; a memo put that skips ahead of the next slot, or a string, bytes or number
// argument that runs past the record, is refused. LibTorch 1.13's Unpickler allocates what they declare
// before reading (31 GB from one damaged memo index of a model whose manifest hash was made to match, found by
// the model fuzzer). A hash proves the bytes are the manifest's, not that they are sound. Not a zip: ""
// (LibTorch refuses it itself).
std::string torchscript_archive_problem(const std::string& archive);

}  // namespace echo
