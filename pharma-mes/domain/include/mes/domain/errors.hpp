// The MES's refusals: a stable code (API clients and tests match on it), a message for people
// and, when one input is at fault, the field. Value types.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mes {

enum class Code {
  kInvalid,            // malformed input (empty name, negative quantity, ...)
  kNotFound,           // no such record
  kConflict,           // already exists / stale version
  kForbidden,          // the role matrix does not allow it (11.10(d),(g))
  kUnauthenticated,    // wrong user id or password, or no valid session
  kAccountLocked,      // too many failed logins, or locked by an administrator
  kAccountInactive,    // deactivated user id
  kPasswordExpired,    // must change the password before anything else (11.300)
  kPasswordRejected,   // a new password that breaks the policy
  kSignatureRequired,  // a signing needs the components 11.200 asks for
  kBadSignature,       // signature components do not match
  kIllegalTransition,  // the ISA-88 table does not allow the command in this state
  kOutOfSequence,      // a step before its predecessor, or after the batch ended (11.10(f))
  kReasonRequired,     // a change of a GMP record without a reason (11.10(e))
  kOutOfLimits,        // refused value (weighing outside tolerance, limits not numeric)
  kEquipmentUnavailable,
  kLotNotReleased,
  kSameUser,             // second-person verification or release by someone who may not
  kUnknownDevice,        // a reading from an unregistered scale or sensor (11.10(h))
  kNotReleasable,        // release preconditions not met
  kRecordImmutable,      // an approved master, a signed or terminal record
  kAttestationRequired,  // a first signing without the attestation of its meaning (11.100(c))
  kNotQualified,         // identity not verified (11.100(b)) or no current training (11.10(i))
  kStorage,              // the store failed (not the caller's fault)
};

std::string_view to_string(Code code);

struct Error {
  Code code = Code::kInvalid;
  std::string message;
  std::string field;  // the input at fault, or empty

  friend bool operator==(const Error&, const Error&) = default;
};

template <typename T>
using Result = core::Result<T, Error>;

inline tl::unexpected<Error> refuse(Code code, std::string message, std::string field = {}) {
  return tl::unexpected<Error>(Error{code, std::move(message), std::move(field)});
}

}  // namespace mes
