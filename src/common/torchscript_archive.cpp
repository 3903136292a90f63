// The pickles of a TorchScript archive, checked before LibTorch reads them (torchscript_archive.hpp).
#include <cstdint>
#include <cstring>
#include <string>

#include "common/torchscript_archive.hpp"

namespace echo {
namespace {

std::uint64_t le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// Bytes of the argument that follows each pickle opcode: >0 fixed, -n a little-endian length of n bytes
// followed by that many bytes, -10 one newline-terminated line, -20 two lines, 0 none. LibTorch's Unpickler
// knows a subset; an opcode not listed here ends the scan (LibTorch refuses it before any large allocation).
int argument_kind(unsigned char op) {
  switch (op) {
    case 0x80: case 'K': case 'q': case 'h': case 0x82: return 1;   // PROTO BININT1 BINPUT BINGET EXT1
    case 'M': case 0x83: return 2;                                   // BININT2 EXT2
    case 'J': case 'r': case 'j': case 0x84: return 4;               // BININT LONG_BINPUT LONG_BINGET EXT4
    case 'G': case 0x95: return 8;                                   // BINFLOAT FRAME
    case 'C': case 0x8c: case 'U': case 0x8a: return -1;             // SHORT_BINBYTES SHORT_BINUNICODE SHORT_BINSTRING LONG1
    case 'X': case 'B': case 'T': case 0x8b: return -4;              // BINUNICODE BINBYTES BINSTRING LONG4
    case 0x8d: case 0x8e: case 0x96: return -8;                      // BINUNICODE8 BINBYTES8 BYTEARRAY8
    case 'I': case 'L': case 'F': case 'S': case 'V': case 'P': case 'g': case 'p': return -10;
    case 'c': case 'i': return -20;                                  // GLOBAL INST: module and name lines
    case '(': case '0': case '1': case '2': case 'N': case 0x88: case 0x89: case 't': case 0x85: case 0x86:
    case 0x87: case ')': case ']': case '}': case 'a': case 'e': case 's': case 'u': case 'd': case 'l':
    case 'R': case 'b': case 0x81: case 0x92: case 'Q': case 0x94: case 0x8f: case 0x90: case 0x91:
    case 0x93: case 'o':
      return 0;
    default: return 99;  // unknown (STOP included: handled by the caller)
  }
}

// "" or why LibTorch must not read this pickle. LibTorch allocates before it reads: the memo table up to a
// put's index (31 GB from one damaged byte of a LONG_BINPUT, found by the model fuzzer) and a string of its
// declared length. So a put must name the next memo slot (picklers number them in order) and no argument
// may run past the record's end.
std::string pickle_problem(const unsigned char* p, std::size_t size) {
  std::size_t pos = 0;
  std::uint64_t memo_slots = 0;
  while (pos < size) {
    const unsigned char op = p[pos++];
    if (op == '.') return "";  // STOP
    const int kind = argument_kind(op);
    if (kind == 99) return "";
    const std::size_t left = size - pos;
    if ((op == 'q' || op == 'r') && left >= static_cast<std::size_t>(kind)) {  // BINPUT, LONG_BINPUT
      const std::uint64_t slot = le(p + pos, kind);
      if (slot > memo_slots) {
        return "memo slot " + std::to_string(slot) + " put at byte " + std::to_string(pos - 1) + " where the next is " +
               std::to_string(memo_slots);
      }
      if (slot == memo_slots) ++memo_slots;
    }
    if (op == 0x94) ++memo_slots;  // MEMOIZE
    auto past_end = [&](std::uint64_t bytes) {
      return "opcode 0x" + std::string(1, "0123456789abcdef"[op >> 4]) + "0123456789abcdef"[op & 15] + " at byte " +
             std::to_string(pos - 1) + " declares " + std::to_string(bytes) + " bytes where " + std::to_string(left) + " remain";
    };
    if (kind > 0) {
      if (static_cast<std::size_t>(kind) > left) return past_end(static_cast<std::uint64_t>(kind));
      pos += static_cast<std::size_t>(kind);
    } else if (kind == -10 || kind == -20) {
      for (int line = 0; line < (kind == -20 ? 2 : 1); ++line) {
        const void* newline = std::memchr(p + pos, '\n', size - pos);
        if (newline == nullptr) return past_end(size - pos + 1);
        pos = static_cast<std::size_t>(static_cast<const unsigned char*>(newline) - p) + 1;
      }
    } else if (kind < 0) {
      const int width = -kind;
      if (static_cast<std::size_t>(width) > left) return past_end(static_cast<std::uint64_t>(width));
      const std::uint64_t length = le(p + pos, width);
      if (length > left - static_cast<std::size_t>(width)) return past_end(length);
      pos += static_cast<std::size_t>(width) + static_cast<std::size_t>(length);
    }
  }
  return "";
}

constexpr std::uint32_t kCentralDirectoryEntry = 0x02014b50, kLocalHeader = 0x04034b50, kEndOfDirectory = 0x06054b50;

}  // namespace

std::string torchscript_archive_problem(const std::string& archive) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(archive.data());
  const std::size_t size = archive.size();
  if (size < 22) return "";  // not a zip: LibTorch refuses it
  // The end-of-central-directory record: within the last 22 + 65535 bytes (its comment).
  std::size_t end = size - 22;
  const std::size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  while (le(bytes + end, 4) != kEndOfDirectory) {
    if (end == lowest) return "";  // LibTorch refuses it
    --end;
  }
  const std::uint64_t entries = le(bytes + end + 10, 2);
  std::uint64_t entry = le(bytes + end + 16, 4);
  for (std::uint64_t i = 0; i < entries; ++i) {
    if (entry > size || size - entry < 46 || le(bytes + entry, 4) != kCentralDirectoryEntry) return "";
    const std::uint64_t method = le(bytes + entry + 10, 2), stored_size = le(bytes + entry + 20, 4);
    const std::uint64_t name_length = le(bytes + entry + 28, 2);
    const std::uint64_t next = entry + 46 + name_length + le(bytes + entry + 30, 2) + le(bytes + entry + 32, 2);
    const std::uint64_t local = le(bytes + entry + 42, 4);
    if (entry + 46 + name_length > size) return "";
    const std::string name(archive.data() + entry + 46, static_cast<std::size_t>(name_length));
    const bool pickle = name.size() > 4 && name.compare(name.size() - 4, 4, ".pkl") == 0;
    if (pickle && method == 0 && local <= size && size - local >= 30 && le(bytes + local, 4) == kLocalHeader) {
      const std::uint64_t data = local + 30 + le(bytes + local + 26, 2) + le(bytes + local + 28, 2);
      if (data > size || stored_size > size - data) return "the record '" + name + "' runs past the end of the archive";
      const std::string problem = pickle_problem(bytes + data, static_cast<std::size_t>(stored_size));
      if (!problem.empty()) return "the record '" + name + "' is damaged: " + problem;
    }
    entry = next;
  }
  return "";
}

}  // namespace echo
