// The SOX control report and the sealed archive of a venue's records (issue #17).
//
// `trading-engine report sox --journal DIR --from DATE --to DATE --out DIR [--public-key HEX |
// --signing-key FILE] [--admin-log FILE]` tests each control over the period from the records
// alone (the journal, its checkpoints and the admin log; the venue need not run) and writes
// sox-report.json, sox-report.csv and a printable sox-report.html: per control an id, what it
// checks, the evidence (counts, approvals with both identities, the journal's verification with
// its chain head and last checkpoint, reconciliations, admin actions, the builds that wrote the
// journal with their deployment evidence ids) and pass or fail. Prints one JSON line; exit 0 when
// every control passed, 1 when one failed, 2 on bad usage.
//
// `trading-engine archive seal --journal DIR [--report DIR] --out DIR --signing-key FILE` copies
// the journal, its checkpoints, the admin log and the report into a new directory and seals it
// (manifest of SHA-256 hashes, Ed25519-signed: guardrails' evidence bundle); `archive verify DIR
// [--public-key HEX]` checks the seal, the admin log's chain and the journal's chain offline,
// years later. The sealed directory is what goes to the estate's Object Lock bucket.
#pragma once

namespace trading::app {

int report_command(int argc, char** argv);   // argv[1] == "report"
int archive_command(int argc, char** argv);  // argv[1] == "archive"

}  // namespace trading::app
