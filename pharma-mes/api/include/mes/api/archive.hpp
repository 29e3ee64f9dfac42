// A batch's sealed archive (Annex 11 §17, 21 CFR 211.180, ALCOA Enduring and Available): one
// JSON file holding the batch as it stands — every record it is made of (the batch, its steps,
// deviations, charges and trail reviews, the master it ran, the lots it consumed and made, the
// equipment and sensors of its rooms) with its record hash, every audit entry about them, their
// electronic signatures, the readings of its rooms' sensors over its run, the latest signed
// checkpoint, and the printable record (record.json, record.pdf) — and a manifest of each part's
// SHA-256 signed with the site's Ed25519 key. Api::batch_archive builds it; verify_archive checks
// it offline, years later, without the database: the manifest's signature, each part against the
// manifest, each audit entry against its own hash, each record against the record hash its
// trail wrote, each signature's seal against the record it signs. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mes::api {

inline constexpr std::string_view kArchiveFormat = "pharma-mes archive 1";

struct ArchiveReport {
  std::string batch, public_key, created_at, created_by;
  std::size_t parts = 0, records = 0, entries = 0, signatures = 0, readings = 0;
  std::vector<std::string> problems;  // empty: the archive verifies
  bool ok() const { return problems.empty(); }
};

// Checks an archive's text; `expected_public_key` (hex), when given, must be the key that sealed
// it (an auditor compares it with the site's registered key, not the one the file names).
ArchiveReport verify_archive(std::string_view archive_text,
                             std::string_view expected_public_key = {});

}  // namespace mes::api
