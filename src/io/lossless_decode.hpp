// Our own decoders for the DICOM codecs whose third-party decoder paths fail badly on damaged data:
// GDCM's IJG JPEG Lossless path calls assert(0) on a libjpeg warning (an abort of the host process),
// CharLS spends seconds of CPU on some damaged JPEG-LS scans, and GDCM's JPEG 2000 path reads past its buffer
// in its own marker walk and asserts on decoded images that differ from the header, and GDCM's RLE decoder
// writes past its buffer when segment offsets or run lengths lie. The decoders here check every length and
// every code against the bytes given, cost O(bytes + pixels), and never read outside `data` or write outside
// `out`. Found by the dicom fuzzer (docs/reliability.md).
#pragma once
#include <cstddef>
#include <string>

namespace echo::io_detail {

// What the DICOM header declares for one frame; a stream that does not match is refused.
struct DecodeTarget {
  int rows = 0;
  int cols = 0;
  int components = 1;        // 1 (grey) or 3 (colour)
  int bytes_per_sample = 1;  // 1 or 2 (Bits Allocated 8 or 16)
};

// Output layout of both decoders: rows x cols pixels, the components of a pixel next to each other (colour by
// pixel, whatever the scan's interleave), each sample bytes_per_sample bytes, 16-bit samples little-endian:
// exactly rows * cols * components * bytes_per_sample bytes.
inline std::size_t decoded_bytes(const DecodeTarget& t) {
  return static_cast<std::size_t>(t.rows) * static_cast<std::size_t>(t.cols) * static_cast<std::size_t>(t.components) *
         static_cast<std::size_t>(t.bytes_per_sample);
}

// One JPEG Lossless frame (ITU-T T.81 process 14, Huffman, non-hierarchical: DICOM 1.2.840.10008.1.2.4.57 and
// .70), predictors 1-7, point transform, restart intervals. Returns "" on success, else the reason (a phrase
// without the file name, e.g. "Huffman code not in the table at byte 812").
std::string decode_jpeg_lossless(const unsigned char* data, std::size_t size, const DecodeTarget& target,
                                 unsigned char* out);

// One JPEG-LS frame (ITU-T T.87: DICOM 1.2.840.10008.1.2.4.80 lossless and .81 near-lossless), every
// interleave mode, preset parameters (LSE). Returns "" on success, else the reason.
std::string decode_jpeg_ls(const unsigned char* data, std::size_t size, const DecodeTarget& target, unsigned char* out);

// One JPEG 2000 frame (ISO/IEC 15444-1: DICOM 1.2.840.10008.1.2.4.90 lossless and .91), a bare codestream or
// a JP2 file, through OpenJPEG with the bytes given as its only input; the marker segments are checked first
// (jpeg2000_header_problem) and the decoded size, component count and precision must match `target`.
// Colour transforms (YBR_RCT / YBR_ICT) are undone by OpenJPEG: RGB out. Returns "" on success, else the reason.
std::string decode_jpeg2000(const unsigned char* data, std::size_t size, const DecodeTarget& target, unsigned char* out);

// One RLE Lossless frame (DICOM PS3.5 Annex G: 1.2.840.10008.1.2.5): the header must declare one segment per
// byte of each sample, and each segment must unpack to exactly rows x cols bytes within its own bytes.
// Returns "" on success, else the reason.
std::string decode_rle(const unsigned char* data, std::size_t size, const DecodeTarget& target, unsigned char* out);

}  // namespace echo::io_detail
