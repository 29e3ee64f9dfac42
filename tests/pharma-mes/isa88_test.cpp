// The ISA-88 state x command table, cell by cell, and the transient states.
#include <gtest/gtest.h>

#include <map>

#include "mes/domain/isa88.hpp"

namespace {

using namespace mes::isa88;

// ANSI/ISA-88.01's example state transition matrix. Rows: states; columns: Start Pause Resume Hold
// Restart Stop Abort Reset; "-" = refused.
// clang-format off
const std::map<std::string, std::vector<std::string>> kTable = {
    //              Start      Pause      Resume     Hold       Restart       Stop        Abort       Reset
    {"Idle",       {"Running", "-",       "-",       "-",       "-",          "-",        "-",        "-"}},
    {"Running",    {"-",       "Pausing", "-",       "Holding", "-",          "Stopping", "Aborting", "-"}},
    {"Complete",   {"-",       "-",       "-",       "-",       "-",          "-",        "-",        "Idle"}},
    {"Pausing",    {"-",       "-",       "-",       "Holding", "-",          "Stopping", "Aborting", "-"}},
    {"Paused",     {"-",       "-",       "Running", "Holding", "-",          "Stopping", "Aborting", "-"}},
    {"Holding",    {"-",       "-",       "-",       "-",       "-",          "Stopping", "Aborting", "-"}},
    {"Held",       {"-",       "-",       "-",       "-",       "Restarting", "Stopping", "Aborting", "-"}},
    {"Restarting", {"-",       "-",       "-",       "Holding", "-",          "Stopping", "Aborting", "-"}},
    {"Stopping",   {"-",       "-",       "-",       "-",       "-",          "-",        "Aborting", "-"}},
    {"Stopped",    {"-",       "-",       "-",       "-",       "-",          "-",        "Aborting", "Idle"}},
    {"Aborting",   {"-",       "-",       "-",       "-",       "-",          "-",        "-",        "-"}},
    {"Aborted",    {"-",       "-",       "-",       "-",       "-",          "-",        "-",        "Idle"}},
};
// clang-format on

TEST(Isa88, EveryCellOfTheStateCommandTable) {
  ASSERT_EQ(kTable.size(), kAllStates.size());
  int legal = 0;
  for (State s : kAllStates) {
    const auto& row = kTable.at(std::string(to_string(s)));
    ASSERT_EQ(row.size(), kAllCommands.size());
    for (std::size_t c = 0; c < kAllCommands.size(); ++c) {
      const auto next = next_state(s, kAllCommands[c]);
      const std::string got = next ? std::string(to_string(*next)) : "-";
      EXPECT_EQ(got, row[c]) << to_string(s) << " x " << to_string(kAllCommands[c]);
      legal += next ? 1 : 0;
    }
  }
  EXPECT_EQ(legal, 25);
}

TEST(Isa88, TransientStatesSettleAndOthersStay) {
  EXPECT_EQ(settle(State::kPausing), State::kPaused);
  EXPECT_EQ(settle(State::kHolding), State::kHeld);
  EXPECT_EQ(settle(State::kRestarting), State::kRunning);
  EXPECT_EQ(settle(State::kStopping), State::kStopped);
  EXPECT_EQ(settle(State::kAborting), State::kAborted);
  int transient = 0;
  for (State s : kAllStates) {
    if (is_transient(s)) {
      ++transient;
      EXPECT_FALSE(is_transient(settle(s)));
    } else {
      EXPECT_EQ(settle(s), s);
    }
  }
  EXPECT_EQ(transient, 5);
  EXPECT_TRUE(is_final(State::kComplete));
  EXPECT_TRUE(is_final(State::kStopped));
  EXPECT_TRUE(is_final(State::kAborted));
  EXPECT_FALSE(is_final(State::kHeld));
}

TEST(Isa88, NamesRoundTrip) {
  for (State s : kAllStates) EXPECT_EQ(parse_state(to_string(s)), s);
  for (Command c : kAllCommands) EXPECT_EQ(parse_command(to_string(c)), c);
  EXPECT_FALSE(parse_state("running"));
  EXPECT_FALSE(parse_command(""));
}

}  // namespace
