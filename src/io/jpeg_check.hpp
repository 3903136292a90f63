// A libjpeg read of a JPEG stream's header, before GDCM decodes it: GDCM's IJG codec calls assert(0) (abort)
// when libjpeg raises any warning while reading the header (gdcmJPEGBITSCodec.hxx, DecodeByStreams), e.g.
// "extraneous bytes before marker" in a damaged stream.
#pragma once
#include <cstddef>

namespace echo::io_detail {

// True when libjpeg warns while reading the header of the JPEG stream (SOI .. SOS) in data[0, size).
// Errors (which GDCM survives) are not reported here.
bool jpeg_header_warns(const char* data, std::size_t size);

// The sample precision of the first frame header (SOF0..SOF15) of the JPEG stream, or -1 when there is none
// before the data ends. GDCM's JPEG codecs exist for 8, 12 and 16 bits: other precisions made it assert
// (JPEG8Codec::GetHeaderInfo) or dereference null (JPEGCodec::Decode, a precision of 33), found by the fuzzer.
int jpeg_sample_precision(const char* data, std::size_t size);

}  // namespace echo::io_detail
