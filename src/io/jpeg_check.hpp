// A libjpeg read of a JPEG stream's header, before GDCM decodes it: GDCM's IJG codec calls assert(0) (abort)
// when libjpeg raises any warning while reading the header (gdcmJPEGBITSCodec.hxx, DecodeByStreams), e.g.
// "extraneous bytes before marker" in a damaged stream.
#pragma once
#include <cstddef>
#include <string>

namespace echo::io_detail {

// True when libjpeg warns while reading the header of the JPEG stream (SOI .. SOS) in data[0, size).
// Errors (which GDCM survives) are not reported here.
bool jpeg_header_warns(const char* data, std::size_t size);

// The sample precision of the first frame header (SOF0..SOF15) of the JPEG stream, or -1 when there is none
// before the data ends. GDCM's JPEG codecs exist for 8, 12 and 16 bits: other precisions made it assert
// (JPEG8Codec::GetHeaderInfo) or dereference null (JPEGCodec::Decode, a precision of 33), found by the fuzzer.
int jpeg_sample_precision(const char* data, std::size_t size);

// Why GDCM must not read this JPEG 2000 fragment, or "" when it may. GDCM walks the marker segments of the
// first fragment while it reads the file (JPEG2000Codec::GetHeaderInfo, parsej2k_imp) without checking that
// a segment fits in the fragment, and segfaults on one that does not (found by the dicom fuzzer). Checked:
// the JP2 boxes if the fragment is a JP2 file, then every marker segment from SOC to the first SOD.
std::string jpeg2000_header_problem(const unsigned char* data, std::size_t size);

// The same for the first fragment, which GDCM also hands to OpenJPEG's header reader while it reads the file
// (Bitmap::ComputeLossyFlag): its JPEG2000Codec::GetHeaderInfo leaks OpenJPEG's codec when that read fails or
// the image is not 1 or 3 like components (a damaged file per leak, found as an OOM by the dicom fuzzer), so
// the header is read here first, with everything released, and such a fragment is refused.
std::string jpeg2000_first_fragment_problem(const unsigned char* data, std::size_t size);

// Why GDCM must not read a JPEG-LS file whose first fragment this is, or "" when it may: while reading the
// file GDCM hands that fragment to CharLS's header reader (JPEGLSCodec::GetHeaderInfo, from
// Bitmap::ComputeLossyFlag) and leaks a copy of the fragment when CharLS refuses it (an OOM after ~840 000
// inputs of the dicom fuzzer). The same CharLS call is made here first, releasing everything.
std::string jpeg_ls_first_fragment_problem(const unsigned char* data, std::size_t size);

// Why GDCM must not read an RLE file with this frame, or "" when it may: GDCM decodes every RLE frame while it
// reads the file (RLECodec::Decode, from Bitmap::ComputeLossyFlag), trusting the segment count, the offsets
// and the run lengths, and writes past its buffer on a frame that lies about them (a segfault found by the
// dicom fuzzer). The frame is unpacked here without output, with decode_rle's checks.
std::string rle_frame_problem(const unsigned char* data, std::size_t size, int rows, int cols, int components,
                              int bytes_per_sample);

inline constexpr const char* kRleLosslessSyntax = "1.2.840.10008.1.2.5";

// 1.2.840.10008.1.2.4.90 to .93: JPEG 2000 Part 1 and Part 2, lossless-only or not.
bool is_jpeg2000_syntax(const std::string& transfer_syntax_uid);

}  // namespace echo::io_detail
