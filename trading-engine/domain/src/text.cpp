#include "trading/domain/events.hpp"
#include "trading/domain/types.hpp"

namespace trading {

std::string_view to_string(Side s) { return s == Side::kBuy ? "buy" : "sell"; }

std::string_view to_string(TimeInForce t) {
  switch (t) {
    case TimeInForce::kDay:
      return "day";
    case TimeInForce::kGtc:
      return "gtc";
    case TimeInForce::kIoc:
      return "ioc";
    case TimeInForce::kFok:
      return "fok";
  }
  return "?";
}

std::string_view reject_text(RejectCode code) {
  switch (code) {
    case RejectCode::kUnknownSymbol:
      return "unknown symbol";
    case RejectCode::kUnknownAccount:
      return "unknown account";
    case RejectCode::kNonPositiveQuantity:
      return "quantity must be positive";
    case RejectCode::kNonPositivePrice:
      return "limit price must be positive";
    case RejectCode::kPriceOffTick:
      return "price is not a multiple of the tick size";
    case RejectCode::kQuantityOffLot:
      return "quantity is not a multiple of the lot size";
    case RejectCode::kDuplicateOrderId:
      return "order id already used";
    case RejectCode::kUnknownOrder:
      return "unknown order (not resting)";
    case RejectCode::kNotOrderOwner:
      return "order belongs to another account";
    case RejectCode::kReplaceBelowFilled:
      return "new quantity is not above the filled quantity";
    case RejectCode::kTradingDisabled:
      return "trading is disabled for this instrument";
    case RejectCode::kMaxOrderQty:
      return "quantity above the account's maximum order quantity";
    case RejectCode::kMaxOrderNotional:
      return "notional above the account's maximum order notional";
    case RejectCode::kPriceCollar:
      return "price outside the collar around the last trade";
    case RejectCode::kCreditLimit:
      return "open exposure would exceed the account's credit limit";
    case RejectCode::kThrottled:
      return "message rate above the account's limit";
    case RejectCode::kDuplicateClientOrderId:
      return "client order id already used today";
    case RejectCode::kRestrictedSymbol:
      return "the account may not trade this symbol";
    case RejectCode::kAccountKilled:
      return "the account's kill switch is engaged";
    case RejectCode::kVenueKilled:
      return "the venue-wide kill switch is engaged";
    case RejectCode::kSymbolHalted:
      return "trading in this symbol is halted";
    case RejectCode::kPriceOutsideBand:
      return "price outside the limit-up/limit-down band";
    case RejectCode::kPriceOutOfRange:
      return "price above the venue's maximum";
    case RejectCode::kQuantityOutOfRange:
      return "quantity above the venue's maximum";
    case RejectCode::kInvalidLimits:
      return "invalid risk limits";
    case RejectCode::kDuplicateReference:
      return "the account or session already exists";
    case RejectCode::kVenueHalted:
      return "trading on the venue is halted";
  }
  return "rejected";
}

std::string_view to_string(CancelReason reason) {
  switch (reason) {
    case CancelReason::kRequested:
      return "requested";
    case CancelReason::kMassCancel:
      return "mass cancel";
    case CancelReason::kIocRemainder:
      return "IOC remainder";
    case CancelReason::kMarketRemainder:
      return "market order remainder";
    case CancelReason::kFokUnfillable:
      return "FOK could not fill entirely";
    case CancelReason::kSelfTrade:
      return "self-trade prevention";
    case CancelReason::kKillSwitch:
      return "kill switch";
    case CancelReason::kPriceBand:
      return "price band";
  }
  return "canceled";
}

}  // namespace trading
