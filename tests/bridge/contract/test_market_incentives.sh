#!/usr/bin/env bash
# The incentives table of docs/bridge-protocol.md ("Incentives"), against the deployed MlcpMarket:
# 1. the expected value of cheating (solver) and of laziness (verifier, whistleblower) recomputed
#    from the contract's defaultEconomics for the reference task (8 checkpoints) equals the
#    documented figures exactly, and is negative for every N of 1..1024 tried;
# 2. the payouts those formulas assume are what the contract pays, at the default amounts:
#    S1/S2 (forced errors made certain, rate 10000, verifiers replaying all 8 checkpoints):
#      every flagger of a forced error is credited D + Fv + J/V when all V verifiers flag it;
#      a lazy verifier that approves it is credited nothing (its loss: D + Fv + J/V);
#    S3: a solver caught cheating is credited nothing (its loss: P + St; the submitter gets P
#      back); the whistleblower that disproved the root is credited B + St + the deposit of the
#      lazy verifier that approved it;
#    S4: a blind challenge against an honest solver is credited nothing (its loss: B).
source "$(dirname "$0")/../../../bridge/scripts/contract-lib.sh"

STEPS=2 M_TASKS=1 M_N=8 M_UNITS=1000 M_PRICE=10000000000000
deploy MlcpMarket
econ_load
P=$(task_payment)

# ---- 1. the table ----
# The documented expected values at the defaults for N = 8, in multiples of P.
DOC_SOLVER=-11/32 DOC_VERIFIER=-673/5120 DOC_WHISTLE=-1/10
# ev N P STAKE BOND FEE DEPOSIT JACKPOT RATE V M → lines "role value_in_P float value_in_wei"
ev() {
  "$PYTHON" - "$@" <<'PY'
import sys
from fractions import Fraction as F
N, P, St, B, Fv, D, J, rate, V, m = (int(x) for x in sys.argv[1:])
P = F(P); p = P / N; f = F(rate, 10000); kappa = 1  # kappa: a replay costs what the solver is paid
detect = 1 - (1 - F(m, N)) ** V                     # some verifier sampled the faked interval
solver = kappa * p - detect * (P + St)              # fake one interval's work
verifier = F(m, N) * (kappa * P - f * (D + Fv + F(J) / V))   # approve m samples unreplayed
whistle = -F(B)                                     # challenge without replaying: loses the game
for name, x in (("solver", solver), ("verifier", verifier), ("whistleblower", whistle)):
    print(name, x / P, float(x / P), x)
PY
}
EV=$(ev "$M_N" "$P" "$E_stake" "$E_bond" "$E_verifierFee" "$E_verifierDeposit" "$E_jackpot" "$E_forcedRateBps" \
  "$E_maxVerifiers" "$E_samplesPerVerifier")
say "expected values at the defaults, N = $M_N, P = $P wei (kappa = 1):"
say "$EV"
check_eq "EV of cheating (solver), in P" "$DOC_SOLVER" "$(awk '$1 == "solver" {print $2}' <<<"$EV")"
check_eq "EV of laziness (verifier), in P" "$DOC_VERIFIER" "$(awk '$1 == "verifier" {print $2}' <<<"$EV")"
check_eq "EV of laziness (whistleblower), in P" "$DOC_WHISTLE" "$(awk '$1 == "whistleblower" {print $2}' <<<"$EV")"
# Negative for every task size, with the contract's defaults for that size.
for n in 1 2 3 4 8 16 64 256 1024; do
  (M_N=$n; econ_load
  vals=$(ev "$n" "$(task_payment)" "$E_stake" "$E_bond" "$E_verifierFee" "$E_verifierDeposit" "$E_jackpot" \
    "$E_forcedRateBps" "$E_maxVerifiers" "$E_samplesPerVerifier")
  awk '$3 >= 0 {exit 1}' <<<"$vals" || fail "an expected value is not negative for N = $n: $vals")
done

# ---- 2. the payouts behind the table, at the default amounts ----
D=$E_verifierDeposit Fv=$E_verifierFee J=$E_jackpot V=$E_maxVerifiers B=$E_bond St=$E_stake
read -r -a TRUE <<<"$(task_roots honest 1)"
E_forcedRateBps=10000 E_samplesPerVerifier=$M_N
# S1: two honest verifiers; S2: an honest and a lazy one (both jobs at once).
declare -A TASK SEEDS JF REGS ANCHORS VFLAGS VANCH
for s in S1 S2; do
  create_market_job
  TASK[$s]=$FIRST_TASK SEEDS[$s]=$(hash_of 5d "$FIRST_TASK")
  accept_task "$SOLVER" "$FIRST_TASK" "${SEEDS[$s]}"
  anchor_seed "$FIRST_TASK"
  JF[$s]=$(forced_of "${SEEDS[$s]}" "$SEED_ANCHOR" 10000 "$M_N")
  ANCHORS[$s]=$SEED_ANCHOR
done
VERIFIERS=("$VERIFIER:S1:1" "$REFEREE:S1:2" "$RELAYER:S2:3" "$STRANGER:S2:4")   # role:job:secret
for v in "${VERIFIERS[@]}"; do
  IFS=: read -r role s sec <<<"$v"
  register_verifier "$role" "${TASK[$s]}" "$(hash_of 74 "$sec")"
  REGS[$v]="$V_SLOT $V_REG_BLOCK"
done
for s in S1 S2; do
  roots=("${TRUE[@]}")
  j=${JF[$s]}
  roots[$((j - 1))]=$(forced_root "${TASK[$s]}" "$j" "${TRUE[$((j - 1))]}" "${SEEDS[$s]}")
  commit_roots "$SOLVER" "${TASK[$s]}" "${roots[@]}"
done
for v in "${VERIFIERS[@]}"; do
  IFS=: read -r role s sec <<<"$v"
  read -r slot reg <<<"${REGS[$v]}"
  verifier_sample "${TASK[$s]}" "$reg" "$(hash_of 74 "$sec")" "$M_N" "$M_N"
  if ((role == STRANGER)); then VFLAGS[$v]=0; else VFLAGS[$v]=$(flags_for "${TASK[$s]}" "${TRUE[@]}"); fi
  VANCH[$v]=$V_ANCHOR
  TO=$CHECKERS tx "$role" "commitVerdicts(uint256,uint256,bytes32)" "${TASK[$s]}" "$slot" \
    "$(verdicts_commitment "${VFLAGS[$v]}" "$(hash_of 74 "$sec")")"
done
phase_load "${TASK[S2]}"   # the last one committed: the latest deadlines
time_to $((PH_T1 + 1))
for v in "${VERIFIERS[@]}"; do
  IFS=: read -r role s sec <<<"$v"
  read -r slot reg <<<"${REGS[$v]}"
  TO=$CHECKERS tx "$role" "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" "${TASK[$s]}" "$slot" \
    "$(hash_of 74 "$sec")" "${VANCH[$v]}" "${VFLAGS[$v]}"
done
time_to $((PH_T2 + 1))
for s in S1 S2; do
  j=${JF[$s]}
  tx "$SOLVER" "revealSeed(uint256,bytes32,bytes32,bytes32)" "${TASK[$s]}" "${SEEDS[$s]}" "${ANCHORS[$s]}" "${TRUE[$((j - 1))]}"
done
time_to $((PH_END + 1))
for s in S1 S2; do tx "$STRANGER" "settle(uint256)" "${TASK[$s]}"; done
for role in $VERIFIER $REFEREE; do
  check_eq "S1: a flagger among V = $V flaggers is credited D + Fv + J/V" "$(py "$D + $Fv + $J // $V")" \
    "$(checkers_owed "$(addr_of "$role")")"
done
check_eq "S2: the lazy verifier is credited nothing (it lost D + Fv + J/V against S1)" 0 \
  "$(checkers_owed "$(addr_of "$STRANGER")")"
check_eq "S2: the sole flagger is credited D + Fv + J + the lazy deposit" "$(py "2 * $D + $Fv + $J")" \
  "$(checkers_owed "$(addr_of "$RELAYER")")"

# S3: a cheating solver, a lazy verifier approving everything, a whistleblower disproving root 3.
E_forcedRateBps=0
create_market_job
T=$FIRST_TASK
VALUE=$St tx "$SOLVER2" "acceptJob(uint256)" "$T"
register_verifier "$DEPLOYER" "$T" "$(hash_of 74 5)"
REG=$V_REG_BLOCK
commit_roots "$SOLVER2" "$T" $(task_roots fault:5:0 1)
verifier_sample "$T" "$REG" "$(hash_of 74 5)" "$M_N" "$M_N"
TO=$CHECKERS tx "$DEPLOYER" "commitVerdicts(uint256,uint256,bytes32)" "$T" 0 "$(verdicts_commitment 0 "$(hash_of 74 5)")"
phase_load "$T"
time_to $((PH_T1 + 1))
TO=$CHECKERS tx "$DEPLOYER" "revealVerdicts(uint256,uint256,bytes32,bytes32,uint8)" "$T" 0 "$(hash_of 74 5)" "$V_ANCHOR" 0
time_to $((PH_T2 + 1))
SUB0=$(owed "$(addr_of "$SUBMITTER")")
VALUE=$B tx "$WHISTLEBLOWER" "challenge(uint256,uint256,bytes32)" "$T" 3 "${TRUE[2]}"
GAME_SOLVER=$SOLVER2 GAME_CHALLENGER=$WHISTLEBLOWER play_dispute "$T" fault:5:0 honest 2
tx "$REFEREE" "resolve(uint256,bool)" "$T" false
check_eq "S3: the cheating solver is credited nothing (an honest one: P + St)" 0 "$(owed "$(addr_of "$SOLVER2")")"
check_eq "S3: the whistleblower is credited B + St + the approving verifier's deposit" "$(py "$B + $St + $D")" \
  "$(owed "$(addr_of "$WHISTLEBLOWER")")"
check_eq "S3: the approving verifier is credited nothing" 0 "$(checkers_owed "$(addr_of "$DEPLOYER")")"
check_eq "S3: the submitter is credited P + the budget but the deposit (unused slot fee, lazy fee, jackpot)" \
  "$(py "$SUB0 + $P + $V * $Fv + $J")" "$(owed "$(addr_of "$SUBMITTER")")"

# S4: a blind challenge against an honest solver.
create_market_job
T=$FIRST_TASK
VALUE=$St tx "$SOLVER" "acceptJob(uint256)" "$T"
commit_roots "$SOLVER" "$T" "${TRUE[@]}"
phase_load "$T"
time_to $((PH_T2 + 1))
VALUE=$B tx "$CHALLENGER" "challenge(uint256,uint256,bytes32)" "$T" 3 "$(root_of fault:5:0 3)"
play_dispute "$T" honest fault:5:0 2
SOL0=$(owed "$(addr_of "$SOLVER")")
tx "$REFEREE" "resolve(uint256,bool)" "$T" true
check_eq "S4: the blind challenger is credited nothing (it lost B)" 0 "$(owed "$(addr_of "$CHALLENGER")")"
check_eq "S4: the solver is credited the bond" "$(py "$SOL0 + $B")" "$(owed "$(addr_of "$SOLVER")")"
echo "PASS: the documented expected values (solver $DOC_SOLVER P, verifier $DOC_VERIFIER P, whistleblower $DOC_WHISTLE P) match the contract's defaults and the payouts they assume"
