// Our JPEG 2000 path (src/io/jpeg2000_decode.cpp): frames encoded here by OpenJPEG's encoder from known pixels
// (lossless, grey 8 and 12 bits, colour with the reversible colour transform) must decode to those pixels; the
// marker-segment check that runs before GDCM sees a file must pass sound codestreams and name what is wrong
// in damaged ones (the segment that GDCM's own walk would have read past the buffer on, found by the dicom
// fuzzer); damaged copies decode or give a reason, never a crash.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <openjpeg.h>

#include "io/jpeg_check.hpp"
#include "io/lossless_decode.hpp"

namespace {

using echo::io_detail::DecodeTarget;
using echo::io_detail::decode_jpeg2000;
using echo::io_detail::jpeg2000_first_fragment_problem;
using echo::io_detail::jpeg2000_header_problem;

struct Image {
  int rows = 0, cols = 0, components = 1, bits_stored = 8;
  std::vector<std::uint16_t> samples;  // pixel-interleaved
  int bytes_per_sample() const { return bits_stored > 8 ? 2 : 1; }
  DecodeTarget target() const { return {rows, cols, components, bytes_per_sample()}; }
};

Image make_image(int rows, int cols, int components, int bits_stored, unsigned seed) {
  Image image{rows, cols, components, bits_stored, {}};
  std::mt19937 rng(seed);
  const int max_value = (1 << bits_stored) - 1;
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x)
      for (int c = 0; c < components; ++c) {
        const int ramp = (x * 7 + y * 3 + c * 40) % (max_value + 1);
        image.samples.push_back(static_cast<std::uint16_t>(y < rows / 2 ? ramp : static_cast<int>(rng() % (max_value + 1))));
      }
  return image;
}

// --- OpenJPEG's encoder into memory -------------------------------------------------------------------------
struct Sink {
  std::vector<unsigned char> bytes;
  std::size_t pos = 0;
};
OPJ_SIZE_T write_sink(void* data, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (s->pos + n > s->bytes.size()) s->bytes.resize(s->pos + n);
  std::memcpy(s->bytes.data() + s->pos, data, n);
  s->pos += n;
  return n;
}
OPJ_OFF_T skip_sink(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<Sink*>(user);
  s->pos += static_cast<std::size_t>(n);
  if (s->pos > s->bytes.size()) s->bytes.resize(s->pos);
  return n;
}
OPJ_BOOL seek_sink(OPJ_OFF_T n, void* user) {
  static_cast<Sink*>(user)->pos = static_cast<std::size_t>(n);
  return OPJ_TRUE;
}

// A lossless (5/3 wavelet) J2K codestream of `image`; the colour transform when asked (DICOM YBR_RCT).
std::vector<unsigned char> encode(const Image& image, bool colour_transform) {
  std::vector<opj_image_cmptparm_t> params(static_cast<std::size_t>(image.components));
  for (auto& p : params) {
    std::memset(&p, 0, sizeof p);
    p.dx = p.dy = 1;
    p.w = static_cast<OPJ_UINT32>(image.cols);
    p.h = static_cast<OPJ_UINT32>(image.rows);
    p.prec = static_cast<OPJ_UINT32>(image.bits_stored);
  }
  opj_image_t* img = opj_image_create(static_cast<OPJ_UINT32>(image.components), params.data(),
                                      image.components == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
  img->x1 = static_cast<OPJ_UINT32>(image.cols);
  img->y1 = static_cast<OPJ_UINT32>(image.rows);
  const std::size_t pixels = static_cast<std::size_t>(image.rows) * static_cast<std::size_t>(image.cols);
  for (int c = 0; c < image.components; ++c)
    for (std::size_t i = 0; i < pixels; ++i) img->comps[c].data[i] = image.samples[i * static_cast<std::size_t>(image.components) + c];
  opj_cparameters_t parameters;
  opj_set_default_encoder_parameters(&parameters);
  parameters.tcp_numlayers = 1;
  parameters.tcp_rates[0] = 0;  // lossless
  parameters.cp_disto_alloc = 1;
  parameters.tcp_mct = colour_transform ? 1 : 0;
  parameters.numresolution = 3;
  opj_codec_t* codec = opj_create_compress(OPJ_CODEC_J2K);
  Sink sink;
  opj_stream_t* stream = opj_stream_default_create(OPJ_FALSE);
  opj_stream_set_user_data(stream, &sink, nullptr);
  opj_stream_set_write_function(stream, write_sink);
  opj_stream_set_skip_function(stream, skip_sink);
  opj_stream_set_seek_function(stream, seek_sink);
  const bool ok = opj_setup_encoder(codec, &parameters, img) && opj_start_compress(codec, img, stream) &&
                  opj_encode(codec, stream) && opj_end_compress(codec, stream);
  opj_stream_destroy(stream);
  opj_destroy_codec(codec);
  opj_image_destroy(img);
  EXPECT_TRUE(ok) << "OpenJPEG could not encode the test image";
  return sink.bytes;
}

std::vector<std::uint16_t> decoded_samples(const std::vector<unsigned char>& out, int bytes_per_sample) {
  std::vector<std::uint16_t> samples;
  for (std::size_t i = 0; i < out.size(); i += static_cast<std::size_t>(bytes_per_sample))
    samples.push_back(static_cast<std::uint16_t>(bytes_per_sample == 2 ? out[i] | out[i + 1] << 8 : out[i]));
  return samples;
}

std::string decode(const std::vector<unsigned char>& stream, const DecodeTarget& target, std::vector<unsigned char>& out) {
  out.assign(echo::io_detail::decoded_bytes(target), 0);
  return decode_jpeg2000(stream.data(), stream.size(), target, out.data());
}

// The byte offset of the first marker segment `marker` after SOC (walking the segment lengths).
std::size_t segment_at(const std::vector<unsigned char>& s, std::uint16_t marker) {
  std::size_t pos = 2;
  while (pos + 4 <= s.size()) {
    const std::uint16_t m = static_cast<std::uint16_t>(s[pos] << 8 | s[pos + 1]);
    if (m == marker) return pos;
    pos += 2 + static_cast<std::size_t>(s[pos + 2] << 8 | s[pos + 3]);
  }
  ADD_FAILURE() << "marker " << marker << " not found";
  return 0;
}

TEST(Jpeg2000Decode, LosslessFramesDecodeToTheirPixels) {
  struct Case { int components, bits; bool mct; };
  for (const Case c : {Case{1, 8, false}, Case{1, 12, false}, Case{3, 8, true}, Case{3, 8, false}}) {
    const Image image = make_image(37, 53, c.components, c.bits, 11);
    const auto stream = encode(image, c.mct);
    ASSERT_EQ(jpeg2000_header_problem(stream.data(), stream.size()), "");
    std::vector<unsigned char> out;
    ASSERT_EQ(decode(stream, image.target(), out), "") << c.components << " components, " << c.bits << " bits";
    EXPECT_EQ(decoded_samples(out, image.bytes_per_sample()), image.samples) << c.components << " components, " << c.bits << " bits";
  }
}

TEST(Jpeg2000Decode, AFrameOfAnotherSizeOrComponentCountIsRefused) {
  const Image image = make_image(20, 30, 1, 8, 3);
  const auto stream = encode(image, false);
  std::vector<unsigned char> out;
  EXPECT_NE(decode(stream, DecodeTarget{20, 31, 1, 1}, out).find("30 x 20 pixels of 1 component where the header declares 31 x 20"), std::string::npos)
      << decode(stream, DecodeTarget{20, 31, 1, 1}, out);
  EXPECT_NE(decode(stream, DecodeTarget{20, 30, 3, 1}, out).find("components"), std::string::npos);
  const Image deep = make_image(20, 30, 1, 12, 3);
  EXPECT_NE(decode(encode(deep, false), DecodeTarget{20, 30, 1, 1}, out).find("12 bits"), std::string::npos);
}

TEST(Jpeg2000Decode, ASegmentLongerThanTheFragmentIsNamed) {
  auto stream = encode(make_image(16, 16, 1, 8, 5), false);
  // The fuzzer's case: a tile-part header segment whose length runs past the end of the fragment.
  const std::size_t cod = segment_at(stream, 0xFF52);
  stream[cod + 2] = 0xDF;
  const std::string problem = jpeg2000_header_problem(stream.data(), stream.size());
  EXPECT_NE(problem.find("marker 0xFF52 at byte " + std::to_string(cod)), std::string::npos) << problem;
  EXPECT_NE(problem.find("remain"), std::string::npos) << problem;
  std::vector<unsigned char> out;
  EXPECT_EQ(decode(stream, DecodeTarget{16, 16, 1, 1}, out), problem);
}

TEST(Jpeg2000Decode, ShortCodingStyleNoSocAndNoStartOfDataAreNamed) {
  const auto sound = encode(make_image(16, 16, 1, 8, 6), false);
  auto short_cod = sound;
  const std::size_t cod = segment_at(short_cod, 0xFF52);
  short_cod[cod + 2] = 0, short_cod[cod + 3] = 8;  // Lcod 8: the transform byte would lie in the next segment
  EXPECT_NE(jpeg2000_header_problem(short_cod.data(), short_cod.size()).find("(COD) segment is 8 bytes"), std::string::npos);
  auto no_soc = sound;
  no_soc[1] = 0xD8;
  EXPECT_NE(jpeg2000_header_problem(no_soc.data(), no_soc.size()).find("SOC"), std::string::npos);
  const std::size_t sot = segment_at(sound, 0xFF90);
  EXPECT_NE(jpeg2000_header_problem(sound.data(), sot + 12).find("before its start of data"), std::string::npos);
  EXPECT_NE(jpeg2000_header_problem(sound.data(), 3).find("SOC"), std::string::npos);
}

TEST(Jpeg2000Decode, Jp2BoxesMustFitAndHoldACodestream) {
  const auto codestream = encode(make_image(16, 16, 1, 8, 7), false);
  auto box = [](std::uint32_t length, const char* type) {
    std::vector<unsigned char> b = {static_cast<unsigned char>(length >> 24), static_cast<unsigned char>(length >> 16),
                                    static_cast<unsigned char>(length >> 8), static_cast<unsigned char>(length)};
    b.insert(b.end(), type, type + 4);
    return b;
  };
  const std::vector<unsigned char> signature = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
  std::vector<unsigned char> jp2 = signature;
  auto c = box(static_cast<std::uint32_t>(codestream.size() + 8), "jp2c");
  jp2.insert(jp2.end(), c.begin(), c.end());
  jp2.insert(jp2.end(), codestream.begin(), codestream.end());
  EXPECT_EQ(jpeg2000_header_problem(jp2.data(), jp2.size()), "");
  std::vector<unsigned char> overlong = signature;
  auto o = box(static_cast<std::uint32_t>(codestream.size() + 100), "jp2c");
  overlong.insert(overlong.end(), o.begin(), o.end());
  overlong.insert(overlong.end(), codestream.begin(), codestream.end());
  EXPECT_NE(jpeg2000_header_problem(overlong.data(), overlong.size()).find("JP2 box declares"), std::string::npos);
  std::vector<unsigned char> no_codestream = signature;
  auto x = box(12, "xml ");
  no_codestream.insert(no_codestream.end(), x.begin(), x.end());
  no_codestream.insert(no_codestream.end(), 4, 0);
  EXPECT_NE(jpeg2000_header_problem(no_codestream.data(), no_codestream.size()).find("no codestream box"), std::string::npos);
}

// The first fragment's header is read by OpenJPEG here, because GDCM leaks OpenJPEG's codec when that read
// fails or the components are not 1 or 3 alike.
TEST(Jpeg2000Decode, TheFirstFragmentMustHaveAReadableHeaderOfOneOrThreeComponents) {
  const auto grey = encode(make_image(16, 16, 1, 8, 8), false);
  EXPECT_EQ(jpeg2000_first_fragment_problem(grey.data(), grey.size()), "");
  const auto colour = encode(make_image(16, 16, 3, 8, 8), true);
  EXPECT_EQ(jpeg2000_first_fragment_problem(colour.data(), colour.size()), "");
  const auto two = encode(make_image(16, 16, 2, 8, 8), false);
  EXPECT_EQ(jpeg2000_header_problem(two.data(), two.size()), "");  // sound marker segments
  EXPECT_NE(jpeg2000_first_fragment_problem(two.data(), two.size()).find("2 components (1 or 3 expected)"), std::string::npos);
  auto unreadable = grey;
  unreadable[segment_at(unreadable, 0xFF51) + 41] = 0;  // SIZ: the first component's horizontal separation 0
  const std::string problem = jpeg2000_first_fragment_problem(unreadable.data(), unreadable.size());
  EXPECT_EQ(jpeg2000_header_problem(unreadable.data(), unreadable.size()), "");
  EXPECT_NE(problem.find("the JPEG 2000 header cannot be read"), std::string::npos) << problem;
}

// Damaged copies (truncations and single-byte flips): a decode or a reason, and never a write past `out`
// (the buffer is exactly the declared size; ASan builds catch an overrun).
TEST(Jpeg2000Decode, DamagedStreamsDecodeOrGiveAReason) {
  const Image image = make_image(24, 24, 3, 8, 9);
  const auto sound = encode(image, true);
  std::mt19937 rng(17);
  int refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    auto damaged = sound;
    if (trial % 3 == 0) damaged.resize(rng() % damaged.size());
    else damaged[rng() % damaged.size()] ^= static_cast<unsigned char>(1 + rng() % 255);
    std::vector<unsigned char> out;
    const std::string reason = decode(damaged, image.target(), out);
    if (!reason.empty()) ++refused;
  }
  EXPECT_GT(refused, 0);  // the damage reaches the checks
}

}  // namespace
