#include "bridge/contract_errors.h"

#include <map>

namespace mlcp::bridge {

std::string explainContractError(const std::string& name) {
  static const std::map<std::string, std::string> kWhy = {
      {"AlreadyAnchored", "the seed is already anchored"},
      {"AnchorUnavailable",
       "the anchor block is more than 256 blocks old (or not mined yet): it can no longer be "
       "fixed, so clients anchor at once"},
      {"BadForcedRoot",
       "the committed root of the forced checkpoint is not the forced root of this true root and "
       "seed"},
      {"BadJobState", "the job (or task) is not in a state that allows this call"},
      {"BadReveal", "the revealed secret or anchor does not match the commitment on chain"},
      {"BadSegment", "the chosen segment is out of range"},
      {"BadSignature", "the signature is malformed, high-s, or not by the expected key"},
      {"ChallengeWindowClosed", "the challenge window has closed"},
      {"ChallengeWindowOpen", "the challenge window is still open: settle after it"},
      {"ClaimsMismatch", "the claims sent back are not the solver's posted claims"},
      {"DeadlineNotPassed", "the deadline has not passed yet"},
      {"DeadlinePassed", "the deadline has passed"},
      {"DisputeOpen", "a dispute of this job is open"},
      {"DuplicateSigner", "the same referee signed twice"},
      {"InvalidParameters", "a parameter is out of its allowed range (docs/bridge-protocol.md)"},
      {"NoDisagreement", "the challenger's hash equals the solver's: there is nothing to dispute"},
      {"NoSeed",
       "the task has no seed to anchor or reveal (none required, not accepted, or not "
       "anchored)"},
      {"NoVerifierSlot", "every verifier slot of the task is taken"},
      {"NotChallenger", "only the challenger may make this move"},
      {"NotCheckers", "only the market's MlcpCheckers may pay in"},
      {"NotCommitteeMember", "a signature is not by a member of the job's referee committee"},
      {"NotEnoughSignatures", "fewer referees signed than the committee's threshold"},
      {"NotInPhase", "the call is allowed only between opensAt and closesAt (block timestamps)"},
      {"NotMarket", "only the market may call this"},
      {"NotReferee", "only the job's referee may resolve it directly"},
      {"NotSolver", "only the job's solver may do this"},
      {"NotSubmitter", "only the job's submitter may do this"},
      {"NotVerifier", "only the verifier holding the slot may do this"},
      {"NotVoidable",
       "the task cannot be voided: its predecessor did not fail, or it is "
       "disputed or ended"},
      {"NotYourTurn", "it is the other party's move"},
      {"NothingToTimeOut", "no deadline of this job has passed"},
      {"NothingToWithdraw", "nothing is owed to this account"},
      {"PredecessorNotFinal",
       "the previous task's final root is not final yet (all its roots committed and, with "
       "forced errors, its seed revealed)"},
      {"PredecessorNotSettled", "the previous task has not settled yet"},
      {"SeedNotRevealed", "the solver's seed is not revealed yet"},
      {"SeedRequired",
       "this job has forced errors: accept with a seed commitment (`mlcp bridge task accept`)"},
      {"TransferFailed", "the payment could not be sent"},
      {"UnknownCommittee", "no committee has this id"},
      {"UnknownJob", "no job has this id"},
      {"UnknownTask", "no market task has this id"},
      {"WrongClaimCount", "the number of claimed hashes is not the expected one"},
      {"WrongIndex", "checkpoints are committed in order: the expected index is the argument"},
      {"WrongPhase", "the dispute is in another phase"},
      {"WrongValue", "the value sent must be exactly the expected amount (wei)"},
      {"WrongVerifierStatus", "the verifier's slot is not at the step this call needs"},
  };
  auto it = kWhy.find(name);
  return it == kWhy.end() ? std::string() : it->second;
}

}  // namespace mlcp::bridge
