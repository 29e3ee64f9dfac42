// Typed records and exact quantities (#18 "First: typed records"): one canonical store form per
// record type, read back field for field; a stored body of the wrong shape is refused naming
// the field; quantities are exact decimals to the millionth.
#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "mes/domain/records.hpp"

namespace {

using namespace mes;
using json = nlohmann::json;

TEST(Quantity, ParsesAndPrintsCanonicalDecimals) {
  const std::pair<const char*, const char*> cases[] = {
      {"12.5", "12.5"}, {"0.000001", "0.000001"},     {"-3", "-3"}, {"7.", "7"},
      {"+2.50", "2.5"}, {"1000000000", "1000000000"}, {"-0", "0"},  {".25", "0.25"}};
  for (const auto& [in, out] : cases) {
    auto q = Quantity::parse(in);
    ASSERT_TRUE(q) << in;
    EXPECT_EQ(q->text(), out) << in;
  }
  for (const char* bad : {"", "-", ".", "1.0000001", "1e3", "1,5", " 1", "1000000000.000001",
                          "99999999999", "0x10", "1.2.3"}) {
    EXPECT_FALSE(Quantity::parse(bad)) << bad;
  }
}

TEST(Quantity, SumsAreExactWhereDoublesDrift) {
  Quantity total;
  for (int i = 0; i < 10; ++i) total = total + *Quantity::parse("0.1");
  EXPECT_EQ(total, Quantity::whole(1));
  double drift = 0;
  for (int i = 0; i < 10; ++i) drift += 0.1;
  EXPECT_NE(drift, 1.0);  // what the records held before
  EXPECT_EQ((*Quantity::parse("12.1") - *Quantity::parse("2")).text(), "10.1");
}

TEST(Quantity, ExactlyAcceptsOnlyDecimalsOfAtMostSixPlaces) {
  EXPECT_EQ(Quantity::exactly(12.5)->text(), "12.5");
  EXPECT_EQ(Quantity::exactly(0.1)->text(), "0.1");
  EXPECT_FALSE(Quantity::exactly(0.1 + 0.2));  // 0.30000000000000004
  EXPECT_FALSE(Quantity::exactly(1e-7));
  EXPECT_FALSE(Quantity::exactly(2e9));
  EXPECT_FALSE(Quantity::exactly(std::nan("")));
  EXPECT_EQ(Quantity::nearest(0.1 + 0.2)->text(), "0.3");
}

TEST(Quantity, EveryDecimalSurvivesTheJsonNumberRoundTrip) {
  std::mt19937_64 rng(18);
  std::uniform_int_distribution<std::int64_t> micros(-Quantity::kMaxMicros, Quantity::kMaxMicros);
  for (int i = 0; i < 100'000; ++i) {
    const auto q = *Quantity::of_micros(micros(rng));
    const json stored = json::parse(json(q.to_double()).dump());
    ASSERT_EQ(Quantity::exactly(stored.get<double>()), q) << q.text();
    ASSERT_EQ(Quantity::parse(q.text()), q);
  }
}

Lot sample_lot() {
  Lot lot;
  lot.id = "L-1";
  lot.material = "API-1";
  lot.quantity = *Quantity::parse("500.25");
  lot.unit = "kg";
  lot.expires_at = 1'800'000'000'000;
  lot.status = LotStatus::kReleased;
  lot.consumed = *Quantity::parse("10.1");
  lot.meta = {3, false, ""};
  return lot;
}

TEST(TypedRecords, EachTypeReadsBackFieldForField) {
  const Lot lot = sample_lot();
  const Document lot_doc = to_document(lot);
  EXPECT_EQ(lot_doc.type, "lot");
  EXPECT_EQ(lot_doc.parent, "API-1");
  EXPECT_EQ(lot_doc.state, "released");
  EXPECT_EQ(decode<Lot>(lot_doc), lot);
  EXPECT_EQ(lot.remaining().text(), "490.15");

  const Equipment e{
      "SC-1", "Floor scale",           "scale",           "Site 1", "room-c",      "Dispensing",
      "Bay",  EquipmentStatus::kInUse, 1'800'000'000'000, "B-7",    {2, false, ""}};
  const Document e_doc = to_document(e);
  EXPECT_EQ(e_doc.parent, "Bay");
  EXPECT_EQ(e_doc.state, "in_use");
  EXPECT_EQ(decode<Equipment>(e_doc), e);

  const Sensor s{"A-temp",
                 "room-a",
                 "temperature",
                 "C",
                 18,
                 25,
                 15,
                 30,
                 60,
                 1'800'000'000'000,
                 1'700'000'000'000,
                 {1, true, "decommissioned"}};
  const Document s_doc = to_document(s);
  EXPECT_TRUE(s_doc.voided);
  EXPECT_EQ(decode<Sensor>(s_doc), s);
}

TEST(TypedRecords, OneCanonicalFormWithSortedKeysAndDataApartFromFlow) {
  const Document doc = to_document(sample_lot());
  EXPECT_EQ(doc.body, R"({"data":{"expires_at":1800000000000,"material":"API-1","quantity":500.25,)"
                      R"("unit":"kg"},"flow":{"consumed":10.1,"status":"released"}})");
  EXPECT_EQ(to_document(*decode<Lot>(doc)).body, doc.body);
}

TEST(TypedRecords, AStoredBodyOfTheWrongShapeIsRefusedNamingTheField) {
  Document doc = to_document(sample_lot());
  const std::pair<const char*, const char*> cases[] = {
      {R"({"data":{"material":"API-1","quantity":"5"},"flow":{"status":"released"}})",
       "data.quantity"},
      {R"({"data":{"quantity":5},"flow":{"status":"released"}})", "data.material"},
      {R"({"data":{"material":"API-1","quantity":5},"flow":{"status":"lost"}})", "flow.status"},
      {R"({"data":{"material":"API-1","quantity":5}})", "flow"},
      {R"({"data":{"material":"API-1","quantity":1e300},"flow":{"status":"released"}})",
       "data.quantity"},
      {"not json", "data"},
  };
  for (const auto& [body, field] : cases) {
    doc.body = body;
    auto lot = decode<Lot>(doc);
    ASSERT_FALSE(lot) << body;
    EXPECT_EQ(lot.error().code, Code::kStorage);
    EXPECT_EQ(lot.error().field, field) << body;
  }
  doc = to_document(sample_lot());
  doc.type = "equipment";
  EXPECT_EQ(decode<Lot>(doc).error().code, Code::kStorage);
}

TEST(TypedRecords, BodiesWrittenByEarlierVersionsStillRead) {
  // Consumed as a sum of doubles, no unit, no expiry: as the untyped service wrote it.
  Document doc{"lot",
               "L-OLD",
               4,
               "API-1",
               "released",
               R"({"data":{"material":"API-1","quantity":5.0},)"
               R"("flow":{"consumed":0.30000000000000004,"status":"released"}})",
               false,
               {}};
  auto lot = decode<Lot>(doc);
  ASSERT_TRUE(lot) << lot.error().message;
  EXPECT_EQ(lot->consumed.text(), "0.3");
  EXPECT_EQ(lot->remaining().text(), "4.7");
  EXPECT_EQ(lot->expires_at, 0);
  EXPECT_EQ(lot->meta.version, 4);
}

}  // namespace
