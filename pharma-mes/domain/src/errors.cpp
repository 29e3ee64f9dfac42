#include "mes/domain/errors.hpp"

namespace mes {

std::string_view to_string(Code code) {
  switch (code) {
    case Code::kInvalid:
      return "invalid";
    case Code::kNotFound:
      return "not_found";
    case Code::kConflict:
      return "conflict";
    case Code::kForbidden:
      return "forbidden";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kAccountLocked:
      return "account_locked";
    case Code::kAccountInactive:
      return "account_inactive";
    case Code::kPasswordExpired:
      return "password_expired";
    case Code::kPasswordRejected:
      return "password_rejected";
    case Code::kSignatureRequired:
      return "signature_required";
    case Code::kBadSignature:
      return "bad_signature";
    case Code::kIllegalTransition:
      return "illegal_transition";
    case Code::kOutOfSequence:
      return "out_of_sequence";
    case Code::kReasonRequired:
      return "reason_required";
    case Code::kOutOfLimits:
      return "out_of_limits";
    case Code::kEquipmentUnavailable:
      return "equipment_unavailable";
    case Code::kLotNotReleased:
      return "lot_not_released";
    case Code::kSameUser:
      return "same_user";
    case Code::kUnknownDevice:
      return "unknown_device";
    case Code::kNotReleasable:
      return "not_releasable";
    case Code::kRecordImmutable:
      return "record_immutable";
    case Code::kAttestationRequired:
      return "attestation_required";
    case Code::kNotQualified:
      return "not_qualified";
    case Code::kStorage:
      return "storage";
  }
  return "?";
}

}  // namespace mes
