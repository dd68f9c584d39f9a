// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {MlcpGame} from "./MlcpGame.sol";

/// What MlcpCheckers reads from its market: a task's state and verification deadlines.
interface IMlcpMarketPhases {
    function checkPhase(uint256 taskId) external view returns (MlcpGame.JobState state, uint256 t1, uint256 t2);
}

/// @title MlcpCheckers — the verifiers' side of an MlcpMarket (issue #17): verifier slots
/// (deposit, secret sample, committed then revealed verdicts), the verification budget of each
/// task (verifier fees and the forced-error jackpot) and its accounting when the task ends.
/// Created by MlcpMarket's constructor (MlcpMarket.checkers()); the market forwards each job's
/// verification budget (openJob) and, when a task ends, asks for its accounting (closeTask):
/// what goes to the submitter (unused budget, forfeited deposits) and to a winning challenger
/// (a whistleblower: the deposits of the verifiers that approved the root it disproved) is sent
/// back to the market, which credits it there; verifiers are credited here and withdraw here.
/// docs/bridge-protocol.md has the rules.
contract MlcpCheckers {
    enum VerifierStatus { None, Open, Registered, Anchored, Committed, Revealed }

    /// Per task: where its verification stands, and a copy of the job's parameters (one word,
    /// so registering reads one slot).
    struct TaskChecks {
        // word 0
        uint64 group;                // the market job's first task id (0: unknown task)
        uint32 n;                    // checkpoints of the task
        uint8 verifiers;             // slots taken
        uint8 maxVerifiers;
        uint8 samplesPerVerifier;    // at most n
        uint128 jackpot;
        // word 1
        uint128 verifierFee;
        uint128 verifierDeposit;
    }

    struct Verifier {
        // word 0 (written by openJob, so registering overwrites instead of creating it)
        address account;
        uint32 registeredBlock;      // the sample's anchor is the hash of the next block
        VerifierStatus status;
        uint8 flags;                 // bit i: sample i flagged (its root is wrong)
        // word 1: keccak(SAMPLE_TAG, task, verifier, secret) -> keccak(., anchor) ->
        // keccak(., verdictsCommitment); after the reveal: the sample seed keccak(secret, anchor)
        bytes32 transcript;
    }

    /// The outcome closeTask is told (MlcpMarket._afterJobEnds).
    struct Outcome {
        MlcpGame.JobState how;       // Settled, SolverFailed, Cancelled or Voided
        uint256 forcedK;             // the revealed forced checkpoint, 0 if none
        uint256 failedK;             // the checkpoint whose root a challenger disproved, 0 if none
        bool completed;              // all roots were committed (the verdict phases ran)
    }

    bytes32 public constant SAMPLE_TAG = keccak256("mlcp.sample.v1");
    bytes32 public constant VERDICTS_TAG = keccak256("mlcp.verdicts.v1");

    address public immutable market;

    mapping(uint256 => TaskChecks) public taskChecks;                          // task id =>
    mapping(uint256 => mapping(uint256 => Verifier)) public verifiers;         // task => slot =>
    mapping(uint256 => mapping(uint256 => uint256)) public flagCount;          // task => checkpoint =>
    mapping(address => uint256) public owed;                                   // pull payments

    event VerifierRegistered(uint256 indexed taskId, uint256 slot, address indexed verifier);
    event SampleAnchored(uint256 indexed taskId, uint256 slot, bytes32 anchor);
    event VerdictsCommitted(uint256 indexed taskId, uint256 slot);
    event VerdictsRevealed(uint256 indexed taskId, uint256 slot, uint256[] sample, uint256 flags);
    event VerificationClosed(uint256 indexed taskId, uint256 forcedCheckpoint, uint256 flaggers, uint256 share,
        uint256 toSubmitter, uint256 toChallenger);
    event Credited(address indexed account, uint256 indexed jobId, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    error NotMarket();
    error UnknownTask();
    error BadJobState(MlcpGame.JobState state);
    error WrongValue(uint256 expected);
    error InvalidParameters();
    /// The call is allowed from opensAt to closesAt (block timestamps, both included).
    error NotInPhase(uint256 opensAt, uint256 closesAt);
    error NoVerifierSlot();
    error NotVerifier();
    error WrongVerifierStatus(VerifierStatus status);
    error AnchorUnavailable();
    error BadReveal();
    error NothingToWithdraw();
    error TransferFailed();

    constructor() {
        market = msg.sender;
    }

    modifier onlyMarket() {
        if (msg.sender != market) revert NotMarket();
        _;
    }

    // ---------------------------------------------------------------- from the market

    /// The market, at createMarketJob: the verification budget of tasks firstTask ..
    /// firstTask + numTasks - 1 as value (numTasks x (maxVerifiers x verifierFee + jackpot)).
    function openJob(uint256 firstTask, uint256 numTasks, uint32 n, uint128 verifierFee, uint128 verifierDeposit,
        uint128 jackpot, uint8 maxVerifiers, uint8 samplesPerVerifier) external payable onlyMarket
    {
        for (uint256 id = firstTask; id < firstTask + numTasks; ++id) {
            TaskChecks storage t = taskChecks[id];
            t.group = uint64(firstTask);
            t.n = n;
            t.maxVerifiers = maxVerifiers;
            t.samplesPerVerifier = samplesPerVerifier < n ? samplesPerVerifier : uint8(n);
            t.verifierFee = verifierFee;
            t.verifierDeposit = verifierDeposit;
            t.jackpot = jackpot;
            // Written now (status Open), so that registering pays 5k gas per word, not 22.1k.
            for (uint256 s = 0; s < maxVerifiers; ++s) {
                Verifier storage v = verifiers[id][s];
                v.status = VerifierStatus.Open;
                v.transcript = bytes32(uint256(1));
            }
        }
    }

    /// The market, when task `taskId` ended: credits the verifiers here, sends what goes to the
    /// submitter and to the winning challenger to the market and returns both.
    function closeTask(uint256 taskId, Outcome calldata o) external onlyMarket
        returns (uint256 toSubmitter, uint256 toChallenger)
    {
        TaskChecks storage t = taskChecks[taskId];
        uint256 fee = t.verifierFee;
        uint256 deposit = t.verifierDeposit;
        bool voided = o.how == MlcpGame.JobState.Voided;
        bool judged = o.how == MlcpGame.JobState.Settled;
        uint256 forcedK = voided ? 0 : o.forcedK;
        uint256 nv = t.verifiers;
        toSubmitter = (uint256(t.maxVerifiers) - nv) * fee;
        uint256 pool = t.jackpot;
        uint256[] memory pay = new uint256[](nv);
        bool[] memory won = new bool[](nv);
        uint256 winners;
        for (uint256 s = 0; s < nv; ++s) {
            Verifier storage v = verifiers[taskId][s];
            if (v.status != VerifierStatus.Revealed) {
                // Absent once the verdict phases ran: deposit forfeited; else (the solver never
                // finished, or the task was voided) the deposit goes back. No fee either way.
                if (o.completed && !voided) toSubmitter += deposit + fee;
                else { pay[s] = deposit; toSubmitter += fee; }
                continue;
            }
            if (voided) { pay[s] = deposit + fee; continue; }
            (bool approvedForced, bool flaggedForced, bool approvedFailed, bool falseFlag) =
                _judge(v, t.n, t.samplesPerVerifier, forcedK, o.failedK, judged);
            if (approvedForced) { pool += deposit; toSubmitter += fee; }
            else if (approvedFailed) { toChallenger += deposit; toSubmitter += fee; }
            else if (falseFlag) toSubmitter += deposit + fee;
            else pay[s] = deposit + fee;
            if (flaggedForced) { won[s] = true; ++winners; }
        }
        uint256 share;
        if (forcedK == 0 || winners == 0) {
            toSubmitter += pool;
        } else {
            share = pool / winners;
            toSubmitter += pool - share * winners;
        }
        for (uint256 s = 0; s < nv; ++s) _credit(verifiers[taskId][s].account, taskId, pay[s] + (won[s] ? share : 0));
        emit VerificationClosed(taskId, forcedK, winners, share, toSubmitter, toChallenger);
        uint256 back = toSubmitter + toChallenger;
        if (back != 0) {
            (bool ok,) = market.call{value: back}("");
            if (!ok) revert TransferFailed();
        }
    }

    // ---------------------------------------------------------------- verifiers

    /// A verifier takes a slot of task `taskId` (Accepted, or Committed until T1) with exactly the
    /// deposit as value and sampleCommitment = keccak256(abi.encode(SAMPLE_TAG, taskId, verifier,
    /// secret)) for a secret. Its sample is sampleOf(keccak256(abi.encode(secret,
    /// blockhash(registeredBlock + 1))), n, samplesPerVerifier), unknown to anyone else (the
    /// solver included) until it reveals.
    function registerVerifier(uint256 taskId, bytes32 sampleCommitment) external payable returns (uint256 slot) {
        TaskChecks storage t = taskChecks[taskId];
        if (t.group == 0) revert UnknownTask();
        _checkVerdictPhase(taskId);
        if (msg.value != t.verifierDeposit) revert WrongValue(t.verifierDeposit);
        slot = t.verifiers;
        if (slot >= t.maxVerifiers) revert NoVerifierSlot();
        if (sampleCommitment == 0) revert InvalidParameters();
        Verifier storage v = verifiers[taskId][slot];
        v.account = msg.sender;
        v.registeredBlock = uint32(block.number);
        v.status = VerifierStatus.Registered;
        v.transcript = sampleCommitment;
        t.verifiers = uint8(slot + 1);
        emit VerifierRegistered(taskId, slot, msg.sender);
    }

    /// Anyone, in the 256 blocks after the one after the registration: fixes the sample's anchor
    /// blockhash(registeredBlock + 1) into the verifier's transcript (commitVerdicts does it too,
    /// if still possible then).
    function anchorSample(uint256 taskId, uint256 slot) external {
        Verifier storage v = verifiers[taskId][slot];
        if (v.status != VerifierStatus.Registered) revert WrongVerifierStatus(v.status);
        _anchorSample(v, taskId, slot);
    }

    /// The verifier, until T1: verdictsCommitment = keccak256(abi.encode(VERDICTS_TAG, flags,
    /// secret)); flags bit i = 1 iff the root of its i-th sampled checkpoint is wrong.
    function commitVerdicts(uint256 taskId, uint256 slot, bytes32 verdictsCommitment) external {
        Verifier storage v = verifiers[taskId][slot];
        if (msg.sender != v.account) revert NotVerifier();
        _checkVerdictPhase(taskId);
        if (v.status == VerifierStatus.Registered) _anchorSample(v, taskId, slot);
        if (v.status != VerifierStatus.Anchored) revert WrongVerifierStatus(v.status);
        v.transcript = keccak256(abi.encode(v.transcript, verdictsCommitment));
        v.status = VerifierStatus.Committed;
        emit VerdictsCommitted(taskId, slot);
    }

    /// Anyone, in (T1, T2]: the verifier's secret, its sample's anchor and its flags (checked
    /// against the transcript). Each flag is counted against its checkpoint (flagCount).
    function revealVerdicts(uint256 taskId, uint256 slot, bytes32 secret, bytes32 anchor, uint8 flags) external {
        Verifier storage v = verifiers[taskId][slot];
        if (v.status != VerifierStatus.Committed) revert WrongVerifierStatus(v.status);
        (MlcpGame.JobState state, uint256 t1, uint256 t2) = IMlcpMarketPhases(market).checkPhase(taskId);
        if (state != MlcpGame.JobState.Committed) revert BadJobState(state);
        if (block.timestamp <= t1 || block.timestamp > t2) revert NotInPhase(t1 + 1, t2);
        bytes32 sampled = keccak256(abi.encode(SAMPLE_TAG, taskId, v.account, secret));
        bytes32 verdicts = keccak256(abi.encode(VERDICTS_TAG, flags, secret));
        if (keccak256(abi.encode(keccak256(abi.encode(sampled, anchor)), verdicts)) != v.transcript) {
            revert BadReveal();
        }
        TaskChecks storage t = taskChecks[taskId];
        uint256 m = t.samplesPerVerifier;
        if (flags >> m != 0) revert InvalidParameters();
        bytes32 seed = keccak256(abi.encode(secret, anchor));
        uint256[] memory sample = sampleOf(seed, t.n, m);
        for (uint256 i = 0; i < m; ++i) {
            if ((flags >> i) & 1 != 0) ++flagCount[taskId][sample[i]];
        }
        v.transcript = seed;
        v.flags = flags;
        v.status = VerifierStatus.Revealed;
        emit VerdictsRevealed(taskId, slot, sample, flags);
    }

    /// m distinct checkpoints of 1..n: k_t = 1 + uint256(keccak256(abi.encode(seed, t))) mod n for
    /// t = 0, 1, 2, ..., each kept unless already drawn, until m are kept (m <= n).
    function sampleOf(bytes32 seed, uint256 n, uint256 m) public pure returns (uint256[] memory sample) {
        if (m > n) revert InvalidParameters();
        sample = new uint256[](m);
        uint256 count;
        for (uint256 t = 0; count < m; ++t) {
            uint256 k = 1 + uint256(keccak256(abi.encode(seed, t))) % n;
            bool drawn;
            for (uint256 i = 0; i < count; ++i) {
                if (sample[i] == k) { drawn = true; break; }
            }
            if (!drawn) sample[count++] = k;
        }
    }

    /// Send everything credited to the caller.
    function withdraw() external {
        uint256 amount = owed[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        owed[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ---------------------------------------------------------------- internals

    /// What a revealed verifier's verdicts turned out to be. judged: the task settled, so a flag
    /// on a root that was not forced is false.
    function _judge(Verifier storage v, uint256 n, uint256 m, uint256 forcedK, uint256 failedK, bool judged)
        private view returns (bool approvedForced, bool flaggedForced, bool approvedFailed, bool falseFlag)
    {
        uint256[] memory sample = sampleOf(v.transcript, n, m);
        uint256 flags = v.flags;
        for (uint256 i = 0; i < m; ++i) {
            uint256 k = sample[i];
            bool flagged = (flags >> i) & 1 != 0;
            if (k == forcedK) {
                if (flagged) flaggedForced = true;
                else approvedForced = true;
            } else if (k == failedK) {
                if (!flagged) approvedFailed = true;
            } else if (flagged && judged) {
                falseFlag = true;
            }
        }
    }

    /// Registering and committing verdicts: the task is Accepted, or Committed until T1.
    function _checkVerdictPhase(uint256 taskId) private view {
        (MlcpGame.JobState state, uint256 t1,) = IMlcpMarketPhases(market).checkPhase(taskId);
        if (state == MlcpGame.JobState.Committed) {
            if (block.timestamp > t1) revert NotInPhase(0, t1);
        } else if (state != MlcpGame.JobState.Accepted) {
            revert BadJobState(state);
        }
    }

    function _anchorSample(Verifier storage v, uint256 taskId, uint256 slot) private {
        bytes32 anchor = blockhash(uint256(v.registeredBlock) + 1);
        if (anchor == 0) revert AnchorUnavailable();
        v.transcript = keccak256(abi.encode(v.transcript, anchor));
        v.status = VerifierStatus.Anchored;
        emit SampleAnchored(taskId, slot, anchor);
    }

    function _credit(address account, uint256 taskId, uint256 amount) private {
        if (amount == 0) return;
        owed[account] += amount;
        emit Credited(account, taskId, amount);
    }
}
