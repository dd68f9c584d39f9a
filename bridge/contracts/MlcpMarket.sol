// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {MlcpGame} from "./MlcpGame.sol";
import {MlcpCheckers} from "./MlcpCheckers.sol";

/// @title MlcpMarket — the economics of the mlcp protocol (issue #17, after the Gensyn design) on
/// top of MlcpGame's escrow, commitments and dispute game; its verifiers' side (slots, samples,
/// verdicts, the verification budget) is the MlcpCheckers contract it creates (checkers()).
/// docs/bridge-protocol.md has the protocol as numbered steps, the randomness, the forced-error
/// scheme and the incentives.
///
///  - Work-priced escrow with refunds. createMarketJob records the work estimate (units per
///    checkpoint interval) and the price per unit; the escrow is, per task, the solver's payment
///    P = checkpointsPerTask x unitsPerCheckpoint x pricePerUnit plus a verification budget
///    (maxVerifiers x verifierFee + jackpot, held by MlcpCheckers). What verification does not
///    use is credited back to the submitter, here, when the task ends, to the wei.
///  - Tasks. A job of T tasks is T consecutive job ids of the game (task t = firstTask + t - 1),
///    each with its own solver, stake, commitments, challenge window and dispute. Task t > 1
///    starts from task t-1's final root: it can be accepted only once that root exists (and,
///    with forced errors, was revealed genuine); its initialRoot is then set to it (by the
///    acceptance, or with forced errors by task t-1's revealSeed).
///    It settles only after task t-1 settled; if task t-1 fails, voidTask ends it with refunds.
///  - Forced errors (solver -> verifiers). The solver's committed seed mixed with the hash of the
///    block after its acceptance decides, with probability forcedRateBps, that one checkpoint j
///    must carry a deliberately wrong root forcedRoot(task, j, trueRoot, seed). After the
///    verdicts the solver reveals the seed (and the true root, which replaces the forced one).
///    The verifiers that flagged j share the jackpot plus the deposits of those that approved
///    it (MlcpCheckers.closeTask).
///  - Whistleblowers check the verifiers through the dispute game: a challenger that disproves a
///    root is paid, besides the solver's stake, the deposits of the verifiers that approved it.
///  - Referee committees: createCommittee(members, k); a task of a committee job is resolved by
///    resolveSigned with k member signatures.
///
/// Phases of a committed task (T0 = windowEnd - challengeWindow, which moves with a paused
/// window like windowEnd itself; checkPhase):
///   (.., T1]  T1 = T0 + verdictWindow   verifiers register (from acceptance on), commit verdicts
///   (T1, T2]  T2 = T1 + phaseWindow     verifiers reveal (sample secret + flags)
///   (T2, T3]  T3 = T2 + phaseWindow     the solver reveals its seed (missed: timeout fails it)
///   challenges: after T2 and, with forced errors, after the seed reveal; until windowEnd.
contract MlcpMarket is MlcpGame {
    // ---------------------------------------------------------------- parameters

    /// What a market job is (createMarketJob). Amounts in wei, times in seconds.
    struct JobSpec {
        bytes32 specHash;
        bytes32 initialRoot;         // root of checkpoint 0 of task 1
        uint32 numTasks;             // T
        uint32 checkpointsPerTask;   // N of each task
        uint32 stepsPerCheckpoint;   // S
        uint64 unitsPerCheckpoint;   // work estimate of one checkpoint interval (e.g. GFLOP)
        uint128 pricePerUnit;        // wei per unit
        uint32 commitTimeout;
        uint32 challengeWindow;      // > verdictWindow + 2 x phaseWindow
        uint32 moveTimeout;
        uint32 verdictWindow;        // from the final root to the verdict commitments' deadline T1
        uint32 phaseWindow;          // each of: verdict reveal, seed reveal
        uint32 committee;            // createCommittee id; 0: `referee` alone (k = n = 1)
        address referee;
    }

    /// The incentives of a market job, per task (defaultEconomics gives the defaults).
    struct Economics {
        uint128 stake;               // solver's
        uint128 bond;                // challenger's
        uint128 verifierFee;         // paid to each verifier whose verdicts hold
        uint128 verifierDeposit;     // lost by a verifier that approves a forced error or a root a
                                     //   challenger disproves, flags a correct root, or does not
                                     //   reveal its verdicts
        uint128 jackpot;             // shared by the verifiers that flag a forced error
        uint16 forcedRateBps;        // probability (1/10000) that a task carries a forced error
        uint8 maxVerifiers;          // verifier slots per task (1..16)
        uint8 samplesPerVerifier;    // checkpoints each verifier replays (1..8; at most N used)
    }

    struct Group {                   // one market job, keyed by its first task id
        // word 0
        uint64 firstTask;
        uint32 numTasks;
        uint32 verdictWindow;
        uint32 phaseWindow;
        uint32 committee;
        uint16 forcedRateBps;
        // word 1
        uint128 pricePerUnit;
        uint64 unitsPerCheckpoint;
    }

    struct Task {
        // word 0
        uint64 group;                // the job's first task id (0: not a market task)
        uint32 index;                // 1..numTasks
        uint32 acceptBlock;          // the seed's anchor is the hash of the next block
        uint32 forcedCheckpoint;     // set by revealSeed when the seed forced an error
        uint32 failedCheckpoint;     // the checkpoint whose root a challenger disproved
        uint8 flags;                 // SEED_REQUIRED | SEED_ANCHORED | SEED_REVEALED
        // word 1: keccak(SEED_TAG, task, solver, seed), then keccak(that, anchor)
        bytes32 seedTranscript;
    }

    struct Committee {
        uint8 threshold;             // k
        address[] members;           // n
    }

    uint8 internal constant SEED_REQUIRED = 1;
    uint8 internal constant SEED_ANCHORED = 2;
    uint8 internal constant SEED_REVEALED = 4;
    uint256 internal constant BPS = 10000;
    /// Longest challenge window of a market job (so that T0 = windowEnd - challengeWindow never
    /// underflows, whatever the block time).
    uint256 internal constant MAX_WINDOW = 3650 days;

    bytes32 public constant SEED_TAG = keccak256("mlcp.seed.v1");
    bytes32 public constant FORCED_TAG = keccak256("mlcp.forced.v1");
    /// initialRoot of task t > 1 until task t-1's final root is final (then: that root).
    bytes32 public constant PENDING_ROOT = bytes32(uint256(1));

    /// The verifiers' contract (slots, samples, verdicts, verification budgets) of this market.
    MlcpCheckers public immutable checkers;

    mapping(uint256 => Group) public groups;                                   // firstTask => job
    mapping(uint256 => Task) public tasks;                                     // task id =>
    mapping(uint256 => Committee) internal _committees;
    mapping(uint256 => mapping(address => uint256)) public committeeIndex;     // id => member => 1-based
    uint256 public committeeCount;

    // ---------------------------------------------------------------- events

    event MarketJobCreated(uint256 indexed firstTask, address indexed submitter, uint256 numTasks,
        uint256 taskPayment, uint256 escrow);
    event CommitteeCreated(uint256 indexed committee, address[] members, uint256 threshold);
    event SeedAnchored(uint256 indexed taskId, bytes32 anchor);
    event SeedRevealed(uint256 indexed taskId, uint256 forcedCheckpoint, bytes32 trueRoot);
    event TaskVoided(uint256 indexed taskId);

    // ---------------------------------------------------------------- errors

    error SeedRequired();
    error NoSeed();
    error AlreadyAnchored();
    error AnchorUnavailable();
    error BadReveal();
    error BadForcedRoot();
    error SeedNotRevealed();
    /// The call is allowed from opensAt to closesAt (block timestamps, both included).
    error NotInPhase(uint256 opensAt, uint256 closesAt);
    error PredecessorNotFinal();
    error PredecessorNotSettled();
    error NotVoidable();
    error UnknownCommittee();
    error NotCheckers();

    constructor() {
        checkers = new MlcpCheckers();
    }

    /// Only MlcpCheckers pays in (closeTask's amounts for submitters and challengers).
    receive() external payable {
        if (msg.sender != address(checkers)) revert NotCheckers();
    }

    // ---------------------------------------------------------------- creation

    /// A committee of n distinct referees of which k must sign a verdict (1 <= k <= n <= 32).
    function createCommittee(address[] calldata members, uint8 threshold) external returns (uint256 id) {
        uint256 n = members.length;
        if (threshold == 0 || threshold > n || n > 32) revert InvalidParameters();
        id = ++committeeCount;
        Committee storage c = _committees[id];
        c.threshold = threshold;
        for (uint256 i = 0; i < n; ++i) {
            address m = members[i];
            if (m == address(0) || committeeIndex[id][m] != 0) revert InvalidParameters();
            committeeIndex[id][m] = i + 1;
            c.members.push(m);
        }
        emit CommitteeCreated(id, members, threshold);
    }

    function committee(uint256 id) external view returns (uint256 threshold, address[] memory members) {
        Committee storage c = _committees[id];
        return (c.threshold, c.members);
    }

    /// The defaults, from the task payment P = checkpointsPerTask x unitsPerCheckpoint x
    /// pricePerUnit and the interval price p = unitsPerCheckpoint x pricePerUnit
    /// (docs/bridge-protocol.md, "Incentives"): stake P, bond P/10, verifierFee 5p/4 (one sampled
    /// checkpoint), verifierDeposit 8P, jackpot P/10, forcedRateBps 2500, 2 verifiers of 1 sample
    /// each (amounts rounded down, at least 1 wei).
    function defaultEconomics(JobSpec calldata spec) external pure returns (Economics memory e) {
        uint256 p = uint256(spec.unitsPerCheckpoint) * spec.pricePerUnit;
        uint256 pay = p * spec.checkpointsPerTask;
        if (pay == 0 || pay * 8 > type(uint128).max) revert InvalidParameters();
        e.stake = uint128(pay);
        e.bond = uint128(_atLeastOne(pay / 10));
        e.verifierFee = uint128(_atLeastOne(p * 5 / 4));
        e.verifierDeposit = uint128(pay * 8);
        e.jackpot = uint128(_atLeastOne(pay / 10));
        e.forcedRateBps = 2500;
        e.maxVerifiers = 2;
        e.samplesPerVerifier = 1;
    }

    /// A job of spec.numTasks tasks (ids firstTask .. firstTask + numTasks - 1). Value = the whole
    /// escrow: numTasks x (P + maxVerifiers x verifierFee + jackpot); the verification budget
    /// goes to checkers(). Each task is a game job with escrow P (what its solver is paid), stake
    /// and bond from `econ`, and `referee` as its referee (0 for a committee of more than one).
    function createMarketJob(JobSpec calldata spec, Economics calldata econ) external payable
        returns (uint256 firstTask)
    {
        uint256 pay = uint256(spec.checkpointsPerTask) * spec.unitsPerCheckpoint * spec.pricePerUnit;
        address referee = spec.referee;
        if (spec.committee != 0) {
            Committee storage c = _committees[spec.committee];
            if (c.threshold == 0) revert UnknownCommittee();
            referee = c.members.length == 1 ? c.members[0] : address(0);
        }
        if (spec.numTasks == 0 || pay == 0 || pay > type(uint128).max || spec.challengeWindow > MAX_WINDOW
            || spec.verdictWindow == 0
            || spec.phaseWindow == 0 || uint256(spec.verdictWindow) + 2 * uint256(spec.phaseWindow)
                >= spec.challengeWindow || (spec.committee == 0 && referee == address(0))
            || econ.stake == 0 || econ.bond == 0 || econ.verifierDeposit == 0 || econ.forcedRateBps > BPS
            || econ.maxVerifiers == 0 || econ.maxVerifiers > 16 || econ.samplesPerVerifier == 0
            || econ.samplesPerVerifier > 8) {
            revert InvalidParameters();
        }
        uint256 budget = uint256(econ.maxVerifiers) * econ.verifierFee + econ.jackpot;
        uint256 total = spec.numTasks * (pay + budget);
        if (msg.value != total) revert WrongValue(total);
        uint8 flags = econ.forcedRateBps != 0 ? SEED_REQUIRED : 0;
        for (uint256 t = 1; t <= spec.numTasks; ++t) {
            uint256 id = _newJob(spec.specHash, t == 1 ? spec.initialRoot : PENDING_ROOT, spec.checkpointsPerTask,
                spec.stepsPerCheckpoint, uint128(pay), econ.stake, econ.bond, spec.commitTimeout,
                spec.challengeWindow, spec.moveTimeout, referee);
            if (t == 1) firstTask = id;
            Task storage task = tasks[id];
            task.group = uint64(firstTask);
            task.index = uint32(t);
            task.flags = flags;
            // Non-zero now, so that acceptTask overwrites the word instead of creating it.
            if (flags != 0) task.seedTranscript = PENDING_ROOT;
        }
        Group storage g = groups[firstTask];
        g.firstTask = uint64(firstTask);
        g.numTasks = spec.numTasks;
        g.verdictWindow = spec.verdictWindow;
        g.phaseWindow = spec.phaseWindow;
        g.committee = spec.committee;
        g.forcedRateBps = econ.forcedRateBps;
        g.pricePerUnit = spec.pricePerUnit;
        g.unitsPerCheckpoint = spec.unitsPerCheckpoint;
        checkers.openJob{value: spec.numTasks * budget}(firstTask, spec.numTasks, spec.checkpointsPerTask,
            econ.verifierFee, econ.verifierDeposit, econ.jackpot, econ.maxVerifiers, econ.samplesPerVerifier);
        emit MarketJobCreated(firstTask, msg.sender, spec.numTasks, pay, total);
    }

    // ---------------------------------------------------------------- solver

    /// A solver takes task `taskId` with exactly its stake as value and, when the job has forced
    /// errors, seedCommitment = keccak256(abi.encode(SEED_TAG, taskId, solver, seed)) for a secret
    /// seed. (acceptJob(taskId) is the same call without a seed.)
    function acceptTask(uint256 taskId, bytes32 seedCommitment) external payable {
        Job storage j = _job(taskId);
        _accept(j, taskId);
        _onAccept(j, taskId, seedCommitment);
    }

    /// Anyone, in the 256 blocks after the one after the acceptance: fixes the anchor of the
    /// solver's seed, blockhash(acceptBlock + 1), into the seed transcript.
    function anchorSeed(uint256 taskId) external {
        Task storage t = tasks[taskId];
        uint8 flags = t.flags;
        if (flags & SEED_REQUIRED == 0 || t.acceptBlock == 0) revert NoSeed();
        if (flags & SEED_ANCHORED != 0) revert AlreadyAnchored();
        bytes32 anchor = blockhash(uint256(t.acceptBlock) + 1);
        if (anchor == 0) revert AnchorUnavailable();
        t.seedTranscript = keccak256(abi.encode(t.seedTranscript, anchor));
        t.flags = flags | SEED_ANCHORED;
        emit SeedAnchored(taskId, anchor);
    }

    /// Anyone, in (T2, T3]: the solver's seed and the anchor. The task carries a forced error iff
    /// forcedCheckpointOf(seed, anchor, forcedRateBps, N) = j != 0; root j must then be
    /// forcedRoot(taskId, j, trueRoot, seed), and trueRoot replaces it. (trueRoot is ignored when
    /// nothing was forced.)
    function revealSeed(uint256 taskId, bytes32 seed, bytes32 anchor, bytes32 trueRoot) external {
        Job storage j = _job(taskId);
        Task storage t = tasks[taskId];
        uint8 flags = t.flags;
        if (flags & (SEED_ANCHORED | SEED_REVEALED) != SEED_ANCHORED) revert NoSeed();
        if (j.state != JobState.Committed) revert BadJobState(j.state);
        Group storage g = groups[t.group];
        (, uint256 t2, uint256 t3) = _phases(j, g);
        if (block.timestamp <= t2 || block.timestamp > t3) revert NotInPhase(t2 + 1, t3);
        if (keccak256(abi.encode(keccak256(abi.encode(SEED_TAG, taskId, j.solver, seed)), anchor))
            != t.seedTranscript) revert BadReveal();
        uint256 n = j.numCheckpoints;
        uint256 k = forcedCheckpointOf(seed, anchor, g.forcedRateBps, n);
        if (k != 0) {
            if (roots[taskId][k] != forcedRoot(taskId, k, trueRoot, seed)) revert BadForcedRoot();
            roots[taskId][k] = trueRoot;
            t.forcedCheckpoint = uint32(k);
        } else {
            trueRoot = bytes32(0);
        }
        t.flags = flags | SEED_REVEALED;
        // The final root is final now: it is the next task's start (acceptTask checks it is set).
        if (t.index < g.numTasks) jobs[taskId + 1].initialRoot = k == n ? trueRoot : roots[taskId][n];
        emit SeedRevealed(taskId, k, trueRoot);
    }

    /// The checkpoint a seed forces, 0 for none: with F = uint256(keccak256(abi.encode(seed,
    /// anchor))), F mod 10000 < rateBps forces checkpoint 1 + (F / 10000) mod n.
    function forcedCheckpointOf(bytes32 seed, bytes32 anchor, uint256 rateBps, uint256 n)
        public pure returns (uint256)
    {
        if (n == 0) revert InvalidParameters();
        uint256 f = uint256(keccak256(abi.encode(seed, anchor)));
        return f % BPS < rateBps ? 1 + (f / BPS) % n : 0;
    }

    /// The deliberately wrong root a solver commits at forced checkpoint k:
    /// keccak256(abi.encode(FORCED_TAG, block.chainid, address(this), taskId, k, trueRoot, seed)).
    function forcedRoot(uint256 taskId, uint256 k, bytes32 trueRoot, bytes32 seed) public view returns (bytes32) {
        return keccak256(abi.encode(FORCED_TAG, block.chainid, address(this), taskId, k, trueRoot, seed));
    }

    // ---------------------------------------------------------------- tasks

    /// Anyone: task `taskId`'s predecessor failed, was cancelled or voided, so no one will pay
    /// for work from its start. If not disputed (Open, Accepted or Committed) the task ends
    /// Voided: its solver gets its stake back, the submitter the escrow and the unused
    /// verification budget, verifiers their deposits (and fee, if they revealed verdicts).
    function voidTask(uint256 taskId) external {
        Job storage j = _job(taskId);
        if (tasks[taskId].index < 2) revert NotVoidable();
        JobState ps = jobs[taskId - 1].state;
        JobState s = j.state;
        if ((ps != JobState.SolverFailed && ps != JobState.Cancelled && ps != JobState.Voided)
            || (s != JobState.Open && s != JobState.Accepted && s != JobState.Committed)) revert NotVoidable();
        j.state = JobState.Voided;
        emit TaskVoided(taskId);
        if (s != JobState.Open) _credit(j.solver, taskId, j.stake);
        _credit(j.submitter, taskId, j.escrow);
        _afterJobEnds(j, taskId, JobState.Voided, address(0), 0);
    }

    /// A task's state and its verification deadlines T1 (verdict commitments) and T2 (verdict
    /// reveals); zeros before its final root. (T3, the seed reveal's, is T2 + phaseWindow.)
    function checkPhase(uint256 taskId) external view returns (JobState state, uint256 t1, uint256 t2) {
        Job storage j = jobs[taskId];
        state = j.state;
        uint256 gid = tasks[taskId].group;
        if (j.windowEnd != 0 && gid != 0) (t1, t2,) = _phases(j, groups[gid]);
    }

    // ---------------------------------------------------------------- hooks

    function _onAccept(Job storage j, uint256 jobId, bytes32 seedCommitment) internal override {
        Task storage t = tasks[jobId];
        if (t.group == 0) return;
        if (t.flags & SEED_REQUIRED != 0) {
            if (seedCommitment == 0) revert SeedRequired();
            t.seedTranscript = seedCommitment;
        }
        t.acceptBlock = uint32(block.number);
        if (t.index > 1) {
            // Task t-1's final root must exist (and stand: no failed predecessor). With forced
            // errors it is final once t-1's seed is revealed, and revealSeed wrote it here.
            uint256 pred = jobId - 1;
            Job storage p = jobs[pred];
            JobState ps = p.state;
            if (ps != JobState.Committed && ps != JobState.Disputed && ps != JobState.Settled) {
                revert PredecessorNotFinal();
            }
            if (t.flags & SEED_REQUIRED == 0) j.initialRoot = roots[pred][p.numCheckpoints];
            else if (j.initialRoot == PENDING_ROOT) revert PredecessorNotFinal();
        }
    }

    function _beforeChallenge(Job storage j, uint256 jobId) internal view override {
        Task storage t = tasks[jobId];
        if (t.group == 0) return;
        if (t.flags & SEED_REQUIRED != 0) {
            if (t.flags & SEED_REVEALED == 0) revert SeedNotRevealed();
        } else {
            (, uint256 t2,) = _phases(j, groups[t.group]);
            if (block.timestamp <= t2) revert NotInPhase(t2 + 1, j.windowEnd);
        }
    }

    function _beforeSettle(Job storage, uint256 jobId) internal view override {
        Task storage t = tasks[jobId];
        if (t.group == 0) return;
        if (t.flags & (SEED_REQUIRED | SEED_REVEALED) == SEED_REQUIRED) revert SeedNotRevealed();
        if (t.index > 1 && jobs[jobId - 1].state != JobState.Settled) revert PredecessorNotSettled();
    }

    /// A committed task whose solver did not reveal its seed by T3 fails: stake and escrow to
    /// the submitter (as for a missed commit deadline).
    function _timeoutOther(Job storage j, uint256 jobId) internal override returns (bool) {
        Task storage t = tasks[jobId];
        if (j.state != JobState.Committed || t.flags & (SEED_REQUIRED | SEED_REVEALED) != SEED_REQUIRED) {
            return false;
        }
        (,, uint256 t3) = _phases(j, groups[t.group]);
        if (block.timestamp <= t3) revert DeadlineNotPassed();
        j.state = JobState.SolverFailed;
        emit SolverFailed(jobId, j.solver, Outcome.SeedNotRevealed);
        _credit(j.submitter, jobId, uint256(j.escrow) + j.stake);
        _afterJobEnds(j, jobId, JobState.SolverFailed, address(0), 0);
        return true;
    }

    function _memberIndex(Job storage j, uint256 jobId, address signer) internal view override returns (uint256) {
        uint256 c = groups[tasks[jobId].group].committee;
        return c == 0 ? super._memberIndex(j, jobId, signer) : committeeIndex[c][signer];
    }

    function _threshold(Job storage j, uint256 jobId) internal view override returns (uint256) {
        uint256 c = groups[tasks[jobId].group].committee;
        return c == 0 ? super._threshold(j, jobId) : _committees[c].threshold;
    }

    /// The verification accounting of a task that ended: MlcpCheckers credits its verifiers and
    /// sends back what goes to the submitter and to the winning challenger.
    function _afterJobEnds(Job storage j, uint256 jobId, JobState how, address challenger, uint256 failedK)
        internal override
    {
        Task storage t = tasks[jobId];
        if (t.group == 0) return;
        if (failedK != 0) t.failedCheckpoint = uint32(failedK);
        (uint256 toSubmitter, uint256 toChallenger) = checkers.closeTask(jobId, MlcpCheckers.Outcome({
            how: how, forcedK: t.forcedCheckpoint, failedK: failedK, completed: j.committed == j.numCheckpoints}));
        _credit(j.submitter, jobId, toSubmitter);
        _credit(challenger, jobId, toChallenger);
    }

    // ---------------------------------------------------------------- internals

    /// T1..T3 of a committed task (windowEnd set).
    function _phases(Job storage j, Group storage g) private view returns (uint256 t1, uint256 t2, uint256 t3) {
        uint256 phase = g.phaseWindow;
        t1 = uint256(j.windowEnd) - j.challengeWindow + g.verdictWindow;
        t2 = t1 + phase;
        t3 = t2 + phase;
    }

    function _atLeastOne(uint256 x) private pure returns (uint256) {
        return x == 0 ? 1 : x;
    }
}
