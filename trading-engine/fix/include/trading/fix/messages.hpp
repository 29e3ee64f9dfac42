// The FIX messages the venue exchanges, as plain structs: what the QuickFIX island hands to the
// gateway and what the gateway asks it to send. No QuickFIX types here, and C++14 so both sides
// compile it. Prices and quantities stay decimal text exactly as on the wire (the gateway turns
// them into integer price units and lots); chars are the FIX enum values, 0 when absent.
// Plain values; thread-safe to copy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trading {
namespace fix {

// One application message from a trader, already validated by QuickFIX against the venue's
// dictionary (required tags, types, enum values).
struct Request {
  enum class Kind : std::uint8_t {
    kNewOrder,      // D
    kCancel,        // F
    kReplace,       // G
    kStatus,        // H
    kMassCancel,    // q
    kMarketData,    // V
    kSecurityList,  // x
  };
  Kind kind = Kind::kNewOrder;
  std::uint32_t session = 0;     // index of the session in AcceptorSettings::sessions
  std::int64_t received_ns = 0;  // monotonic clock when the message reached the application
  int msg_seq_num = 0;
  bool poss_dup = false;          // 43=Y: a resend of a message that may have been seen already
  std::string cl_ord_id;          // 11
  std::string orig_cl_ord_id;     // 41
  std::string order_id;           // 37
  std::string account;            // 1
  std::string symbol;             // 55
  std::string price;              // 44, decimal text
  std::string quantity;           // 38, decimal text
  char side = 0;                  // 54
  char ord_type = 0;              // 40
  char time_in_force = 0;         // 59
  char mass_cancel_type = 0;      // 530
  std::string ord_status_req_id;  // 790
  // Market data request (V)
  std::string md_req_id;             // 262
  char subscription_type = 0;        // 263
  int market_depth = 0;              // 264
  std::vector<char> md_entry_types;  // 269 in NoMDEntryTypes
  std::vector<std::string> symbols;  // 55 in NoRelatedSym
  // Security list request (x)
  std::string security_req_id;         // 320
  int security_list_request_type = 0;  // 559
};

struct ExecutionReport {
  std::string order_id, cl_ord_id, orig_cl_ord_id, exec_id, ord_status_req_id;
  char exec_type = '0';
  char ord_status = '0';
  int ord_rej_reason = -1;  // -1: absent
  std::string account, symbol;
  char side = '1';
  char ord_type = 0;
  char time_in_force = 0;
  std::string order_qty, price;  // empty: absent
  std::string last_qty, last_px, trade_id;
  std::string leaves_qty = "0", cum_qty = "0", avg_px = "0";
  std::string text;
};

struct OrderCancelReject {
  std::string order_id = "NONE", cl_ord_id, orig_cl_ord_id, account, text;
  char ord_status = '8';
  char response_to = '1';  // 1 cancel, 2 cancel/replace
  int reason = 99;         // CxlRejReason
};

struct MassCancelReport {
  std::string cl_ord_id, order_id, symbol, account, text;
  char request_type = '7';
  char response = '7';  // '0' rejected
  int reject_reason = -1;
  int affected = 0;
};

struct MarketDataEntry {
  char update_action = 0;  // 279 (incremental only)
  char type = '0';         // 269: 0 bid, 1 offer, 2 trade
  std::string symbol;      // incremental only
  std::string price, size;
  int position = 0;  // 290, 1-based level; 0 = absent
  int orders = -1;   // 346; -1 = absent
  std::string trade_id;
};

struct MarketDataSnapshot {
  std::string md_req_id, symbol;
  std::vector<MarketDataEntry> entries;
};

struct MarketDataIncremental {
  std::string md_req_id;
  std::vector<MarketDataEntry> entries;
};

struct MarketDataReject {
  std::string md_req_id, text;
  char reason = 0;  // 281; 0 = absent is not possible (0 means unknown symbol): use has_reason
  bool has_reason = false;
};

struct SecurityListEntry {
  std::string symbol, min_price_increment, round_lot, description;
};

struct SecurityList {
  std::string security_req_id, security_response_id;
  int result = 0;
  std::vector<SecurityListEntry> securities;
};

}  // namespace fix
}  // namespace trading
