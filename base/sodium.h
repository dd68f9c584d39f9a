// libsodium is initialised once per process, before its first use, by whichever subsystem gets
// there first (hashes, node keys, the volunteer channel).
#pragma once

namespace mlcp {

// Calls sodium_init() once (thread-safe); throws Error when libsodium cannot initialise.
void ensureSodium();

}  // namespace mlcp
