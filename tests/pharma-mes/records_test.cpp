// Typed records and exact quantities (#18 "First: typed records"): one canonical store form per
// record type, read back field for field; a stored body of the wrong shape is refused naming
// the field; quantities are exact decimals to the millionth.
#include <gtest/gtest.h>

#include <tuple>

#include <random>

#include <nlohmann/json.hpp>

#include "mes/domain/records.hpp"

namespace {

using namespace mes;
using json = nlohmann::json;

// A stored body decodes as R and encodes back byte for byte, with the same indexed state and
// parent: every signature over it holds.
template <typename R>
void expect_round_trip(const std::string& id, const std::string& parent, const std::string& state,
                       const std::string& body) {
  const Document doc{std::string(R::kType), id, 3, parent, state, body, false, {}};
  auto record = decode<R>(doc);
  ASSERT_TRUE(record) << record.error().message;
  const Document again = to_document(*record);
  EXPECT_EQ(again.body, body) << id;
  EXPECT_EQ(again.state, state) << id;
  EXPECT_EQ(again.parent, parent) << id;
}

// `body` with its first `from` replaced by `to`.
std::string replaced(std::string body, const std::string& from, const std::string& to) {
  const auto at = body.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? body : body.replace(at, from.size(), to);
}

// Each {body, field}: `doc` with that body is refused as kStorage naming the field.
template <typename R>
void expect_refused(Document doc,
                    const std::vector<std::pair<std::string, std::string>>& bodies_and_fields) {
  for (const auto& [body, field] : bodies_and_fields) {
    doc.body = body;
    auto read = decode<R>(doc);
    ASSERT_FALSE(read) << body;
    EXPECT_EQ(read.error().code, Code::kStorage);
    EXPECT_EQ(read.error().field, field) << body;
  }
}

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

TEST(TypedRecords, MastersDeviationsAlarmsAndTrainingsReadBackFieldForField) {
  MasterRecipe m;
  m.product = "TABLET";
  m.version = 3;
  m.base_size = 100;
  m.status = MasterStatus::kApproved;
  m.theoretical_yield = 95;
  m.yield_low_pct = 90;
  m.yield_high_pct = 102;
  m.phases = {PhaseSpec{"Granulation",
                        "Charge",
                        "Charge API",
                        "Weigh API into R-101",
                        "reactor",
                        30,
                        true,
                        {ParameterSpec{"speed", "rpm", 20, 15, 25}},
                        {ChargeSpec{"API-1", 10, 2, "kg"}}}};
  m.meta = {2, false, ""};
  const Document m_doc = to_document(m);
  EXPECT_EQ(m_doc.id, "TABLET@3");
  EXPECT_EQ(m_doc.parent, "TABLET");
  EXPECT_EQ(m_doc.state, "approved");
  EXPECT_EQ(decode<MasterRecipe>(m_doc), m);

  const Deviation d{"B-1-DEV-1",     "B-1",
                    "out_of_limits", "speed 30",
                    "op1",           1'700'000'000'000,
                    false,           DeviationStatus::kClosed,
                    "accepted",      "CAPA-1",
                    "qa1",           1'700'000'100'000,
                    {2, false, ""}};
  const Document d_doc = to_document(d);
  EXPECT_EQ(d_doc.parent, "B-1");
  EXPECT_EQ(d_doc.state, "closed");
  EXPECT_EQ(decode<Deviation>(d_doc), d);

  const Alarm a{
      "ALM-1", "A-temp",      "room-a",          "temperature",  "action",
      31.5,    "C",           1'700'000'000'000, {"B-1", "B-2"}, AlarmStatus::kAcknowledged,
      "op1",   "door closed", 1'700'000'050'000, {2, false, ""}};
  const Document a_doc = to_document(a);
  EXPECT_EQ(a_doc.parent, "room-a");
  EXPECT_EQ(decode<Alarm>(a_doc), a);

  const Training t{"TRN-000001",      "op1", "master:TABLET", "sup1", "SOP-100 rev 2",
                   1'700'000'000'000, 0,     {1, false, ""}};
  const Document t_doc = to_document(t);
  EXPECT_EQ(t_doc.parent, "op1");
  EXPECT_EQ(decode<Training>(t_doc), t);
  const Charge c{"B-1/001/2",   "L-API-1", "B-1", 1, "API-1", *Quantity::parse("10.125"),
                 {1, false, ""}};
  Document c_doc = to_document(c);
  EXPECT_EQ(c_doc.parent, "L-API-1");
  EXPECT_EQ(c_doc.state, "B-1");
  EXPECT_EQ(decode<Charge>(c_doc), c);
  c_doc.state = "B-2";
  EXPECT_EQ(decode<Charge>(c_doc).error().field, "index") << "listed under another batch";

  const TrailReview r{"B-1/R1", "B-1",         40, 1234, std::string(64, 'a'), std::string(64, 'b'),
                      3,        {1, false, ""}};
  EXPECT_EQ(decode<TrailReview>(to_document(r)), r);
  EXPECT_TRUE(t.current_at(1'700'000'000'000));
  EXPECT_FALSE(t.current_at(1'699'999'999'999)) << "not before it was given";
}

TEST(TypedRecords, OpenDeviationsAndActiveAlarmsKeepTheBodiesTheUntypedServiceWrote) {
  // Byte for byte as the service wrote them before they were typed: record hashes and
  // signatures over them stay valid, and a record rewritten by the typed service looks the same.
  const std::string deviation =
      R"({"data":{"automatic":true,"batch":"B-1","cause":"environmental_excursion",)"
      R"j("description":"A-temp 31 C beyond its action limit (ALM-1)","opened_at":1700000000000,)j"
      R"("opened_by":"sensor-ingest"},"flow":{"capa":"","disposition":"","status":"open"}})";
  Document doc{"deviation", "B-1-DEV-1", 1, "B-1", "open", deviation, false, {}};
  auto d = decode<Deviation>(doc);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(to_document(*d).body, deviation);
  const std::string alarm =
      R"({"data":{"at":1700000000000,"batches":[],"kind":"temperature","level":"data_gap",)"
      R"("room":"room-a","sensor":"A-temp","unit":"C","value":0.0},"flow":{"status":"active"}})";
  doc = Document{"alarm", "ALM-1", 1, "room-a", "active", alarm, false, {}};
  auto a = decode<Alarm>(doc);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(to_document(*a).body, alarm);
}

TEST(TypedRecords, AMasterOfTheWrongShapeIsRefusedNamingWhere) {
  MasterRecipe m;
  m.product = "TABLET";
  m.version = 1;
  m.phases = {PhaseSpec{"U", "O", "P", "", "", 0, false, {}, {}}};
  Document doc = to_document(m);
  const std::pair<std::string, std::string> cases[] = {
      {R"({"data":{"product":"TABLET","version":1,"base_size":1,"phases":{}},"flow":{"status":"draft"}})",
       "data.phases"},
      {R"({"data":{"product":"TABLET","version":1,"base_size":1,"phases":[5]},"flow":{"status":"draft"}})",
       "data.phases[0]"},
      {R"({"data":{"product":"TABLET","version":1,"base_size":1,"phases":[{"unit_procedure":"U",)"
       R"("operation":"O","phase":"P","charges":[{"material":"X"}]}]},"flow":{"status":"draft"}})",
       "data.phases[0].charges.quantity"},
      {R"({"data":{"product":"TABLET","version":2,"base_size":1,"phases":[]},"flow":{"status":"draft"}})",
       "data.version"},
      {R"({"data":{"product":"TABLET","version":1,"base_size":1,"phases":[]},"flow":{"status":"ok"}})",
       "flow.status"},
  };
  for (const auto& [body, field] : cases) {
    doc.body = body;
    auto read = decode<MasterRecipe>(doc);
    ASSERT_FALSE(read) << body;
    EXPECT_EQ(read.error().code, Code::kStorage);
    EXPECT_EQ(read.error().field, field) << body;
  }
}

TEST(TypedRecords, StepsKeepTheBodiesTheUntypedServiceWrote) {
  // Real step bodies the service wrote before steps were typed (pending, running and held with a
  // changed parameter, complete with weighings, verified, aborted with a refused weighing):
  // each decodes and encodes back byte for byte, so every verification signature over them holds.
  const std::tuple<const char*, const char*, const char*> bodies[] = {
      {"B-1/001", "complete",
       R"j({"data":{"actors":["op1"],"batch":"B-1","equipment":"R-101","n":1,"parameters":{},"phase":"Charge API and excipient","started_at":1767225600000,"started_by":"op1","weighings":[{"accepted":true,"at":1767225900000,"by":"op1","gross":12.1,"high":10.2,"lot":"L-API-1","low":9.8,"material":"API-1","net":10.1,"reason_code":"","scale":"SC-1","tare":2.0},{"accepted":true,"at":1767225900000,"by":"op1","gross":42.0,"high":42.0,"lot":"L-EXC-1","low":38.0,"material":"EXC-1","net":40.0,"reason_code":"","scale":"SC-1","tare":2.0}]},"flow":{"completed_at":1767225900000,"completed_by":"op1","status":"complete","verification":"62ad7b8ddfd833a1d87fe302","verified_at":1767225900000,"verified_by":"op2"}})j"},
      {"B-1/002", "complete",
       R"j({"data":{"actors":["op1"],"batch":"B-1","n":2,"parameters":{"speed":{"at":1767226200000,"by":"op1","changed":false,"high":25.0,"in_limits":true,"low":15.0,"unit":"rpm","value":20.0},"time":{"at":1767226200000,"by":"op1","changed":false,"high":12.0,"in_limits":true,"low":8.0,"unit":"min","value":10.0}},"phase":"Blend","started_at":1767225900000,"started_by":"op1","weighings":[]},"flow":{"completed_at":1767226200000,"completed_by":"op1","status":"complete"}})j"},
      {"B-2/001", "aborted",
       R"j({"data":{"actors":["op1"],"batch":"B-2","equipment":"R-101","n":1,"parameters":{},"phase":"Charge API and excipient","started_at":1767226200000,"started_by":"op1","weighings":[{"accepted":false,"at":1767226200000,"by":"op1","gross":22.1,"high":10.2,"lot":"L-API-1","low":9.8,"material":"API-1","net":20.1,"reason_code":"out_of_tolerance","scale":"SC-1","tare":2.0},{"accepted":true,"at":1767226200000,"by":"op1","gross":12.1,"high":10.2,"lot":"L-API-1","low":9.8,"material":"API-1","net":10.1,"reason_code":"","scale":"SC-1","tare":2.0}]},"flow":{"held":false,"status":"aborted"}})j"},
      {"B-2/002", "pending",
       R"j({"data":{"actors":[],"batch":"B-2","n":2,"parameters":{},"phase":"Blend","weighings":[]},"flow":{"status":"pending"}})j"},
      {"B-3/001", "complete",
       R"j({"data":{"actors":["op1"],"batch":"B-3","equipment":"R-101","n":1,"parameters":{},"phase":"Charge API and excipient","started_at":1767226200000,"started_by":"op1","weighings":[{"accepted":true,"at":1767226200000,"by":"op1","gross":12.1,"high":10.2,"lot":"L-API-1","low":9.8,"material":"API-1","net":10.1,"reason_code":"","scale":"SC-1","tare":2.0},{"accepted":true,"at":1767226200000,"by":"op1","gross":42.0,"high":42.0,"lot":"L-EXC-1","low":38.0,"material":"EXC-1","net":40.0,"reason_code":"","scale":"SC-1","tare":2.0}]},"flow":{"completed_at":1767226200000,"completed_by":"op1","status":"complete","verification":"879d7a3d488f7ccd984357a0","verified_at":1767226200000,"verified_by":"op2"}})j"},
      {"B-3/002", "running",
       R"j({"data":{"actors":["op1"],"batch":"B-3","n":2,"parameters":{"speed":{"at":1767226200000,"by":"op1","changed":true,"high":25.0,"in_limits":true,"low":15.0,"unit":"rpm","value":21.0}},"phase":"Blend","started_at":1767226200000,"started_by":"op1","weighings":[]},"flow":{"held":true,"status":"running"}})j"},
  };
  for (const auto& [id, state, body] : bodies) {
    expect_round_trip<Step>(id, std::string(id).substr(0, 3), state, body);
  }
  Document doc{"step", "B-1/001", 1, "B-1", "running", std::get<2>(bodies[0]), false, {}};
  auto step = decode<Step>(doc);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->accepted_net("API-1").text(), "10.1");
  EXPECT_EQ(step->weighings.size(), 2u);
  doc.body = R"({"data":{"batch":"B-1","n":1,"weighings":[{"material":"API-1","lot":"L-1",)"
             R"("net":"ten","accepted":true}]},"flow":{"status":"running"}})";
  EXPECT_EQ(decode<Step>(doc).error().field, "data.weighings[0].net");
  doc.body = R"({"data":{"batch":"B-1","n":1,"parameters":{"speed":{"value":true}}},)"
             R"("flow":{"status":"running"}})";
  EXPECT_EQ(decode<Step>(doc).error().field, "data.parameters.speed");
}

TEST(TypedRecords, BatchesKeepTheBodiesTheUntypedServiceWrote) {
  // Real batch bodies the service wrote before batches were typed (released with an output lot,
  // reviewed and ended on an instance; aborted after a hold with scaled charges; held now with
  // charges scaled by 0.333; idle; and one of a master with a theoretical yield): each decodes
  // and encodes back byte for byte, so every review and release signature over them holds.
  const std::tuple<const char*, const char*, const char*> bodies[] = {
      {"B-1", "Complete",
       R"j({"data":{"base_size":100.0,"created_at":1767225600000,"created_by":"sup1","master":"TABLET@1","master_hash":"2ecb1718c78eb517684cd1222a026b79418f1bffd65284f66bfeb4b0638fb2ea","output":95.0,"output_lot":"OUT-1","phases":[{"charges":[{"material":"API-1","quantity":10.0,"tolerance_pct":2.0,"unit":"kg"},{"material":"EXC-1","quantity":40.0,"tolerance_pct":5.0,"unit":"kg"}],"equipment_class":"reactor","instructions":"Weigh API-1 and EXC-1 into R-101","operation":"Charge","parameters":[],"phase":"Charge API and excipient","second_person_verification":true,"standard_minutes":30,"unit_procedure":"Granulation"},{"charges":[],"equipment_class":"","instructions":"Blend at 20 rpm for 10 minutes","operation":"Blend","parameters":[{"high":25.0,"low":15.0,"name":"speed","target":20.0,"unit":"rpm"},{"high":12.0,"low":8.0,"name":"time","target":10.0,"unit":"min"}],"phase":"Blend","second_person_verification":false,"standard_minutes":10,"unit_procedure":"Granulation"}],"product":"TABLET","scale":1.0,"size":100.0,"size_unit":"kg","version":1},"flow":{"current_step":3,"disposition":"released","disposition_at":1767226200000,"disposition_by":"qa1","disposition_reason":"meets specification","ended_at":1767226200000,"ended_on":"mes-blue","events":[{"at":1767225600000,"by":"op1","command":"Start","from":"Idle","reason":"","to":"Running"}],"held_ms":0,"performers":["op1","op2"],"reviewed":true,"reviewed_exceptions":0,"started_at":1767225600000,"trail_review":"B-1/R1"}})j"},
      {"B-2", "Aborted",
       R"j({"data":{"base_size":100.0,"created_at":1767226200000,"created_by":"sup1","master":"TABLET@1","master_hash":"2ecb1718c78eb517684cd1222a026b79418f1bffd65284f66bfeb4b0638fb2ea","phases":[{"charges":[{"material":"API-1","quantity":15.0,"tolerance_pct":2.0,"unit":"kg"},{"material":"EXC-1","quantity":60.0,"tolerance_pct":5.0,"unit":"kg"}],"equipment_class":"reactor","instructions":"Weigh API-1 and EXC-1 into R-101","operation":"Charge","parameters":[],"phase":"Charge API and excipient","second_person_verification":true,"standard_minutes":30,"unit_procedure":"Granulation"},{"charges":[],"equipment_class":"","instructions":"Blend at 20 rpm for 10 minutes","operation":"Blend","parameters":[{"high":25.0,"low":15.0,"name":"speed","target":20.0,"unit":"rpm"},{"high":12.0,"low":8.0,"name":"time","target":10.0,"unit":"min"}],"phase":"Blend","second_person_verification":false,"standard_minutes":10,"unit_procedure":"Granulation"}],"product":"TABLET","scale":1.5,"size":150.0,"size_unit":"kg","version":1},"flow":{"current_step":1,"disposition":"","ended_at":1767226320000,"ended_on":"mes-blue","events":[{"at":1767226200000,"by":"op1","command":"Start","from":"Idle","reason":"","to":"Running"},{"at":1767226260000,"by":"op1","command":"Hold","from":"Running","reason":"pump fault","to":"Held"},{"at":1767226320000,"by":"sup1","command":"Abort","from":"Held","reason":"scrapped","to":"Aborted"}],"held_ms":60000,"performers":["op1","sup1"],"reviewed":false,"started_at":1767226200000}})j"},
      {"B-3", "Held",
       R"j({"data":{"base_size":100.0,"created_at":1767226320000,"created_by":"sup1","master":"TABLET@1","master_hash":"2ecb1718c78eb517684cd1222a026b79418f1bffd65284f66bfeb4b0638fb2ea","phases":[{"charges":[{"material":"API-1","quantity":3.3299999999999996,"tolerance_pct":2.0,"unit":"kg"},{"material":"EXC-1","quantity":13.319999999999999,"tolerance_pct":5.0,"unit":"kg"}],"equipment_class":"reactor","instructions":"Weigh API-1 and EXC-1 into R-101","operation":"Charge","parameters":[],"phase":"Charge API and excipient","second_person_verification":true,"standard_minutes":30,"unit_procedure":"Granulation"},{"charges":[],"equipment_class":"","instructions":"Blend at 20 rpm for 10 minutes","operation":"Blend","parameters":[{"high":25.0,"low":15.0,"name":"speed","target":20.0,"unit":"rpm"},{"high":12.0,"low":8.0,"name":"time","target":10.0,"unit":"min"}],"phase":"Blend","second_person_verification":false,"standard_minutes":10,"unit_procedure":"Granulation"}],"product":"TABLET","scale":0.33299999999999996,"size":33.3,"size_unit":"kg","version":1},"flow":{"current_step":1,"disposition":"","events":[{"at":1767226320000,"by":"op1","command":"Start","from":"Idle","reason":"","to":"Running"},{"at":1767226320000,"by":"op1","command":"Hold","from":"Running","reason":"waiting for QA","to":"Held"}],"held_ms":0,"held_since":1767226320000,"performers":["op1"],"reviewed":false,"started_at":1767226320000}})j"},
      {"B-4", "Idle",
       R"j({"data":{"base_size":100.0,"created_at":1767226320000,"created_by":"sup1","master":"TABLET@1","master_hash":"2ecb1718c78eb517684cd1222a026b79418f1bffd65284f66bfeb4b0638fb2ea","phases":[{"charges":[{"material":"API-1","quantity":10.0,"tolerance_pct":2.0,"unit":"kg"},{"material":"EXC-1","quantity":40.0,"tolerance_pct":5.0,"unit":"kg"}],"equipment_class":"reactor","instructions":"Weigh API-1 and EXC-1 into R-101","operation":"Charge","parameters":[],"phase":"Charge API and excipient","second_person_verification":true,"standard_minutes":30,"unit_procedure":"Granulation"},{"charges":[],"equipment_class":"","instructions":"Blend at 20 rpm for 10 minutes","operation":"Blend","parameters":[{"high":25.0,"low":15.0,"name":"speed","target":20.0,"unit":"rpm"},{"high":12.0,"low":8.0,"name":"time","target":10.0,"unit":"min"}],"phase":"Blend","second_person_verification":false,"standard_minutes":10,"unit_procedure":"Granulation"}],"product":"TABLET","scale":1.0,"size":100.0,"size_unit":"kg","version":1},"flow":{"current_step":1,"disposition":"","events":[],"held_ms":0,"performers":[],"reviewed":false}})j"},
      {"B-5", "Complete",
       R"j({"data":{"base_size":100.0,"created_at":1767225600000,"created_by":"sup1","master":"TABLET@1","master_hash":"2ecb1718c78eb517684cd1222a026b79418f1bffd65284f66bfeb4b0638fb2ea","output":95.0,"output_lot":"OUT-1","phases":[{"charges":[{"material":"API-1","quantity":10.0,"tolerance_pct":2.0,"unit":"kg"},{"material":"EXC-1","quantity":40.0,"tolerance_pct":5.0,"unit":"kg"}],"equipment_class":"reactor","instructions":"Weigh API-1 and EXC-1 into R-101","operation":"Charge","parameters":[],"phase":"Charge API and excipient","second_person_verification":true,"standard_minutes":30,"unit_procedure":"Granulation"},{"charges":[],"equipment_class":"","instructions":"Blend at 20 rpm for 10 minutes","operation":"Blend","parameters":[{"high":25.0,"low":15.0,"name":"speed","target":20.0,"unit":"rpm"},{"high":12.0,"low":8.0,"name":"time","target":10.0,"unit":"min"}],"phase":"Blend","second_person_verification":false,"standard_minutes":10,"unit_procedure":"Granulation"}],"product":"TABLET","scale":1.0,"size":100.0,"size_unit":"kg","theoretical_yield":95.0,"version":1,"yield_high_pct":105.0,"yield_low_pct":90.0},"flow":{"current_step":3,"disposition":"released","disposition_at":1767226200000,"disposition_by":"qa1","disposition_reason":"meets specification","ended_at":1767226200000,"ended_on":"mes-blue","events":[{"at":1767225600000,"by":"op1","command":"Start","from":"Idle","reason":"","to":"Running"}],"held_ms":0,"performers":["op1","op2"],"reviewed":true,"reviewed_exceptions":0,"started_at":1767225600000,"trail_review":"B-5/R1"}})j"},
  };
  for (const auto& [id, state, body] : bodies)
    expect_round_trip<Batch>(id, "TABLET@1", state, body);
  Document doc{"batch", "B-1", 4, "TABLET@1", "Complete", std::get<2>(bodies[0]), false, {}};
  auto released = decode<Batch>(doc);
  ASSERT_TRUE(released);
  EXPECT_EQ(released->state, isa88::State::kComplete);
  EXPECT_EQ(released->disposition, Disposition::kReleased);
  EXPECT_EQ(released->output, 95.0);
  EXPECT_EQ(released->output_lot, "OUT-1");
  EXPECT_EQ(released->step_count(), 2u);
  EXPECT_EQ(released->reviewed_exceptions, 0);
  EXPECT_EQ(released->events.at(0).command, "Start");
  doc.body = std::get<2>(bodies[2]);
  auto held = decode<Batch>(doc);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->recipe.phases.at(0).charges.at(0).quantity, 10 * (33.3 / 100));
  EXPECT_NE(held->held_since, 0);
  EXPECT_FALSE(held->output.has_value());
  doc.body = std::get<2>(bodies[4]);
  EXPECT_EQ(decode<Batch>(doc)->recipe.theoretical_yield, 95.0);

  // Of the wrong shape: named.
  const std::string good = std::get<2>(bodies[3]);
  const auto with = [&](const std::string& from, const std::string& to) {
    return replaced(good, from, to);
  };
  expect_refused<Batch>(
      doc, {
               {with(R"("size":100.0)", R"("size":"big")"), "data.size"},
               {with(R"("disposition":"")", R"("disposition":"maybe")"), "flow.disposition"},
               {with(R"("events":[])", R"("events":[{"at":"noon"}])"), "flow.events[0].at"},
               {with(R"("master":"TABLET@1")", R"("master":"OTHER@1")"), "data.master"},
               {with(R"(,"flow":{)", R"(,"flaw":{)"), "flow"},
           });
  doc.body = good;
  doc.state = "Sleeping";
  EXPECT_EQ(decode<Batch>(doc).error().field, "state");
}

TEST(TypedRecords, UsersKeepTheBodiesTheServiceWrote) {
  // Real account bodies (the first administrator; a deactivated operator who attested the
  // e-signature's meaning; QA) and one of an account stored before identity verification was
  // recorded, locked with a reset password: each decodes and encodes back byte for byte.
  const std::
      tuple<const char*, const char*, const char*>
          bodies
              [] =
                  {
                      {"admin1", "active",
                       R"j({"data":{"created_at":1767225600000,"full_name":"Ada Admin","identity_evidence":"first administrator, created at the server console","identity_verified_at":1767225600000,"identity_verified_by":"system","roles":"admin"},"flow":{"failed_logins":0,"must_change_password":false,"password_hash":"$argon2id$v=19$m=8,t=1,p=1$bPZufpPnuAMevYZRLRtQig$2z36PW8DKWkdiIwt2EziQArbu8FyVxvKqcCozOSeJHo","password_set_at":1767225600000,"status":"active"}})j"},
                      {"op2", "deactivated",
                       R"j({"data":{"created_at":1767225600000,"full_name":"Name of op2","identity_evidence":"badge and passport checked in person","identity_verified_at":1767225600000,"identity_verified_by":"admin1","roles":"operator"},"flow":{"failed_logins":0,"must_change_password":false,"password_hash":"$argon2id$v=19$m=8,t=1,p=1$KC5xaMDRslf8EmtP69LcmQ$tiXV+Y7p6aikTPgqAHUBD/qHuuVYTdBBdGD42QbyG9c","password_set_at":1767225600000,"signature_attested_at":1767225900000,"signature_statement_sha256":"520cc60a105711eb64d7de96203afc02eb5b6b88991b5d2d83c335d50ec78c01","status":"deactivated"}})j"},
                      {"qa1", "active",
                       R"j({"data":{"created_at":1767225600000,"full_name":"Name of qa1","identity_evidence":"badge and passport checked in person","identity_verified_at":1767225600000,"identity_verified_by":"admin1","roles":"qa"},"flow":{"failed_logins":0,"must_change_password":false,"password_hash":"$argon2id$v=19$m=8,t=1,p=1$VOBB5EZf02WkzOd88daAsw$NSdrJJDIw8ZymncOdxuppE6LPLbEg22YzhMdsmF05x8","password_set_at":1767225600000,"signature_attested_at":1767225600000,"signature_statement_sha256":"520cc60a105711eb64d7de96203afc02eb5b6b88991b5d2d83c335d50ec78c01","status":"active"}})j"},
                      {"op1", "locked", R"j({"data":{"created_at":1767225600000,"full_name":"Name of op1","roles":"operator"},"flow":{"failed_logins":5,"must_change_password":true,"password_hash":"$argon2id$v=19$m=8,t=1,p=1$3ZPERgki0urpfLV6+B6hwQ$w5hPRyyhR5Qn6bvg1pygjcwUgEfAwCkiKXlbVc0bGrI","password_set_at":1767226200000,"status":"locked"}})j"},
                  };
  for (const auto& [id, state, body] : bodies) expect_round_trip<User>(id, "", state, body);
  Document doc{"user", "op2", 2, "", "deactivated", std::get<2>(bodies[1]), false, {}};
  auto op2 = decode<User>(doc);
  ASSERT_TRUE(op2);
  EXPECT_EQ(op2->status, AccountStatus::kDeactivated);
  EXPECT_EQ(op2->roles, role_bit(Role::kOperator));
  EXPECT_TRUE(op2->identity_verified());
  EXPECT_TRUE(op2->signature_attested());
  doc.body = std::get<2>(bodies[3]);
  auto op1 = decode<User>(doc);
  ASSERT_TRUE(op1);
  EXPECT_EQ(op1->status, AccountStatus::kLocked);
  EXPECT_TRUE(op1->must_change_password);
  EXPECT_FALSE(op1->identity_verified());
  // Of the wrong shape: named, never read as a default (an unknown role as no role, a status
  // nobody wrote as active, a failure count as zero).
  const std::string good = std::get<2>(bodies[2]);
  const auto with = [&](const std::string& from, const std::string& to) {
    return replaced(good, from, to);
  };
  expect_refused<User>(
      doc, {
               {with(R"("roles":"qa")", R"("roles":"qa,pilot")"), "data.roles"},
               {with(R"("status":"active")", R"("status":"sleeping")"), "flow.status"},
               {with(R"("failed_logins":0)", R"("failed_logins":"none")"), "flow.failed_logins"},
               {with(R"("must_change_password":false)", R"("must_change_password":0)"),
                "flow.must_change_password"},
           });
}

}  // namespace
