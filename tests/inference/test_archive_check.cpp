// torchscript_archive_problem (src/common/torchscript_archive.cpp): the pickle records of a TorchScript archive are
// walked before LibTorch reads them, because LibTorch allocates before it reads (the model fuzzer's finding: a
// LONG_BINPUT memo slot of 1 962 934 550 made it reserve 31 GB). Archives here are stored zips built by hand.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/torchscript_archive.hpp"

namespace {

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// A stored (uncompressed) zip of the given records, as PyTorch writes TorchScript archives.
std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& records) {
  std::string zip, directory;
  for (const auto& [name, data] : records) {
    const std::size_t local = zip.size();
    put_le(zip, 0x04034b50, 4), put_le(zip, 20, 2), put_le(zip, 0, 2), put_le(zip, 0, 2);  // version, flags, stored
    put_le(zip, 0, 4), put_le(zip, 0, 4);                                                  // time/date, CRC (unchecked here)
    put_le(zip, data.size(), 4), put_le(zip, data.size(), 4), put_le(zip, name.size(), 2), put_le(zip, 0, 2);
    zip += name + data;
    put_le(directory, 0x02014b50, 4), put_le(directory, 20, 2), put_le(directory, 20, 2), put_le(directory, 0, 2);
    put_le(directory, 0, 2), put_le(directory, 0, 4), put_le(directory, 0, 4);
    put_le(directory, data.size(), 4), put_le(directory, data.size(), 4), put_le(directory, name.size(), 2);
    put_le(directory, 0, 2), put_le(directory, 0, 2), put_le(directory, 0, 2), put_le(directory, 0, 2);
    put_le(directory, 0, 4), put_le(directory, local, 4);
    directory += name;
  }
  const std::size_t directory_at = zip.size();
  zip += directory;
  put_le(zip, 0x06054b50, 4), put_le(zip, 0, 2), put_le(zip, 0, 2), put_le(zip, records.size(), 2);
  put_le(zip, records.size(), 2), put_le(zip, directory.size(), 4), put_le(zip, directory_at, 4), put_le(zip, 0, 2);
  return zip;
}

// A small protocol-2 pickle: [1, 2, "ab"] with memo puts 0 and 1, as torch's pickler writes them.
std::string sound_pickle() {
  std::string p = "\x80\x02]q";
  p += '\0';
  p += "(K\x01K\x02X";
  put_le(p, 2, 4);
  p += "abr";
  put_le(p, 1, 4);
  p += "e.";
  return p;
}

std::string archive_with(const std::string& pickle) {
  return stored_zip({{"m/data.pkl", pickle}, {"m/data/0", std::string(64, '\x01')}, {"m/constants.pkl", sound_pickle()}});
}

TEST(ArchiveCheck, SoundPicklesPass) {
  EXPECT_EQ(echo::torchscript_archive_problem(archive_with(sound_pickle())), "");
  EXPECT_EQ(echo::torchscript_archive_problem("not a zip at all, LibTorch refuses it itself"), "");
}

TEST(ArchiveCheck, AMemoSlotAheadOfTheNextIsRefused) {
  std::string p = sound_pickle();
  const std::size_t put = p.find('r');
  p[put + 4] = 'u';  // the fuzzer's damage: the slot's high byte, 1 -> 0x75000001
  const std::string problem = echo::torchscript_archive_problem(archive_with(p));
  EXPECT_NE(problem.find("'m/data.pkl' is damaged: memo slot 1962934273 put at byte"), std::string::npos) << problem;
}

TEST(ArchiveCheck, AStringLongerThanItsRecordIsRefused) {
  std::string p = sound_pickle();
  const std::size_t unicode = p.find('X');
  p[unicode + 4] = 0x08;  // 2 -> 134 217 730 bytes
  const std::string problem = echo::torchscript_archive_problem(archive_with(p));
  EXPECT_NE(problem.find("declares 134217730 bytes where"), std::string::npos) << problem;
  EXPECT_NE(echo::torchscript_archive_problem(archive_with(sound_pickle().substr(0, 12))).find("declares"), std::string::npos);
}

TEST(ArchiveCheck, ARecordPastTheEndOfTheArchiveIsRefused) {
  std::string zip = archive_with(sound_pickle());
  const std::size_t directory = zip.rfind("m/data.pkl") - 46;  // its central-directory entry
  zip[directory + 21] = '\x7F';                                // stored size 32 512 bytes longer
  EXPECT_NE(echo::torchscript_archive_problem(zip).find("runs past the end"), std::string::npos);
}

}  // namespace
