// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title MlcpGame — the part of the mlcp protocol every deployment shares: escrow, stake,
/// signed checkpoint commitments, the on-chain dispute bisection, the referee's verdict (one
/// referee, or k of n signatures) and pull payments. Two contracts are built on it
/// (docs/bridge-protocol.md):
///   MlcpJobs    one solver, one challenger, one referee per job (what the C++ client drives);
///   MlcpMarket  the protocol's economics (issue #17): work-priced escrow with refunds, jobs split
///               into tasks, sampling verifiers, whistleblowers, forced errors, referee committees.
///
/// Protocol (one job; a market task is a job too):
///  1. A Submitter calls createJob with the escrowed payment as value, the job's spec hash, the
///     root of the initial checkpoint (index 0), the number of checkpoints N and steps per
///     checkpoint S, the solver's stake, the challenger's bond, three durations and a Referee.
///  2. A Solver calls acceptJob with exactly the stake as value. It must commit roots 1..N, in
///     order, before acceptedAt + commitTimeout. Each root is signed by the solver's key
///     (checkpointDigest), so anyone (a relayer, a gateway flushing an outbox) may send it.
///  3. The final commitment opens the challenge window: until windowEnd a Verifier may challenge
///     checkpoint k (1 <= k <= N): it agrees with root k-1 and disagrees with root k, posts the
///     bond and its own root for k. One dispute at a time per job.
///  4. Bisection over the S steps of interval k (positions 0..S: root k-1, the per-step state
///     hashes, root k), then over the operators of the one disputed step (positions
///     0..numOps+1, see postOperators): the solver posts the hashes at up to ARITY-1 evenly
///     spaced points of the current interval [lo, hi] (postClaims; postOperators first, with the
///     step's operator count), the challenger picks the first segment it disagrees with and
///     states its own hash at that segment's end (chooseSegment). Each move has a deadline of
///     moveTimeout seconds; a party that misses it loses (anyone calls timeout).
///  5. When the interval is one operator, the Referee recomputes it off-chain from the agreed
///     inputs and calls resolve(solverCorrect), or anyone sends resolveSigned with the
///     signatures of k of the job's n referees (verdictDigest). The referee(s) also have
///     moveTimeout seconds; if silent, the dispute is dropped with no fault (the bond goes back).
///  6. Solver wrong: the challenger gets its bond back plus the solver's stake, the submitter
///     gets the escrow back; the job ends (SolverFailed). Challenger wrong: the solver gets the
///     bond, the job returns to Committed. The window is paused during a dispute: when the job
///     returns to Committed, windowEnd = now + the time that was left at the challenge.
///  7. After windowEnd with no dispute open, anyone calls settle: the solver gets escrow + stake.
///  8. Every payout is credited to `owed`; accounts pull it with withdraw.
///
/// Times are block timestamps in seconds, stored as uint32 (valid until 2106); durations are
/// uint32 seconds. The internal hooks (_onAccept ... _afterJobEnds) are empty here; MlcpMarket
/// fills them in.
abstract contract MlcpGame {
    // ---------------------------------------------------------------- types and storage

    /// Voided: a market task whose predecessor failed (MlcpMarket.voidTask); never in MlcpJobs.
    enum JobState { None, Open, Accepted, Committed, Disputed, Settled, SolverFailed, Cancelled, Voided }

    /// Steps: bisection over the steps of the challenged checkpoint interval.
    /// OperatorCount: the interval is one step; the solver must post its operator count.
    /// Operators: bisection over the operators of that step.
    /// Verdict: one operator left; waiting for the referee.
    enum Phase { None, Steps, OperatorCount, Operators, Verdict }

    /// Why a dispute or a job ended (DisputeResolved.outcome, SolverFailed.outcome).
    /// SeedNotRevealed: a market task's solver did not reveal its forced-error seed in time.
    enum Outcome { Verdict, SolverTimedOut, ChallengerTimedOut, RefereeTimedOut, SeedNotRevealed }

    struct Job {
        // slot 0
        address submitter;
        JobState state;
        uint32 numCheckpoints;   // N: roots 1..N are committed by the solver
        uint32 committed;        // roots committed so far (the next index is committed + 1)
        // slot 1: everything a commitment reads, so the final one touches no other slot
        address solver;
        uint32 commitDeadline;   // roots 1..N by then (set on accept)
        uint32 windowEnd;        // challenges until then (set by the final commitment)
        uint32 challengeWindow;  // seconds from the last commitment to windowEnd
        // slot 2
        address referee;         // the single referee (k = n = 1); 0 for a committee (MlcpMarket)
        uint32 stepsPerCheckpoint;
        uint32 commitTimeout;    // seconds from accept to the last commitment
        uint32 moveTimeout;      // seconds per bisection move and for the referee
        // slot 3
        uint128 escrow;          // the solver's payment
        uint128 stake;
        // slot 4
        uint128 bond;
        // slots 5, 6
        bytes32 specHash;
        bytes32 initialRoot;     // root of checkpoint 0 (the job's initial state)
    }

    struct Dispute {
        // slot 0
        address challenger;
        Phase phase;
        bool solverTurn;         // Steps/Operators: whose move it is
        uint32 checkpoint;       // k: agreed root k-1, disputed root k
        uint32 deadline;         // the current move (or verdict) is due by then
        // slot 1
        uint32 lo;               // agreed position (step of the interval, or operator)
        uint32 hi;               // disputed position
        uint32 step;             // Operator phases: the disputed step (1-based within the run)
        uint32 numOps;           // Operator phases: the solver's operator count for `step`
        uint32 windowLeft;       // seconds of the challenge window left when the challenge came
        uint64 id;               // unique per contract (disputeCount at the challenge)
        // slots 2..5
        bytes32 claimsHash;      // keccak256(abi.encodePacked(hashes)) of the solver's last claims
        bytes32 hashLo;          // the agreed hash at lo (0 = the agreed start: root k-1 / step input)
        bytes32 solverHashHi;    // the solver's hash at hi
        bytes32 challengerHashHi;// the challenger's hash at hi
    }

    /// Points the solver posts per move: up to ARITY-1 hashes splitting [lo, hi] into ARITY parts.
    uint256 public constant ARITY = 8;

    /// Domain tag of checkpoint commitments (see checkpointDigest).
    bytes32 public constant CHECKPOINT_TAG = keccak256("mlcp.checkpoint.v1");

    /// Domain tag of the referees' verdict signatures (see verdictDigest).
    bytes32 public constant VERDICT_TAG = keccak256("mlcp.verdict.v1");

    /// secp256k1 n / 2: signatures with a higher s are refused (EIP-2), so each has one encoding.
    uint256 internal constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    uint256 public jobCount;
    mapping(uint256 => Job) public jobs;
    mapping(uint256 => Dispute) internal _disputes;                  // jobId => the open dispute
    mapping(uint256 => mapping(uint256 => bytes32)) public roots;   // jobId => index => root
    mapping(address => uint256) public owed;                         // pull payments
    uint256 public disputeCount;                                     // disputes ever opened

    // ---------------------------------------------------------------- events

    event JobCreated(uint256 indexed jobId, address indexed submitter, address indexed referee,
        bytes32 specHash, bytes32 initialRoot, uint32 numCheckpoints, uint32 stepsPerCheckpoint,
        uint256 escrow, uint256 stake, uint256 bond);
    event JobCancelled(uint256 indexed jobId);
    event JobAccepted(uint256 indexed jobId, address indexed solver, uint256 commitDeadline);
    event CheckpointCommitted(uint256 indexed jobId, uint256 indexed index, bytes32 root);
    event ChallengeWindowOpened(uint256 indexed jobId, uint256 windowEnd);
    event Challenged(uint256 indexed jobId, address indexed challenger, uint256 checkpoint,
        bytes32 challengerRoot, uint256 deadline);
    event ClaimsPosted(uint256 indexed jobId, Phase phase, uint256 lo, uint256 hi, bytes32[] hashes,
        uint256 deadline);
    event OperatorsPosted(uint256 indexed jobId, uint256 step, uint256 numOps);
    event SegmentChosen(uint256 indexed jobId, Phase phase, uint256 lo, uint256 hi, bytes32 hashLo,
        bytes32 solverHash, bytes32 challengerHash, uint256 deadline);
    event VerdictRequested(uint256 indexed jobId, uint256 checkpoint, uint256 step, uint256 operatorIndex,
        bytes32 hashLo, bytes32 solverHash, bytes32 challengerHash, uint256 deadline);
    event DisputeResolved(uint256 indexed jobId, address indexed winner, Outcome outcome);
    event SolverFailed(uint256 indexed jobId, address indexed solver, Outcome outcome);
    event CommitDeadlineMissed(uint256 indexed jobId, address indexed solver, uint256 committed);
    event JobSettled(uint256 indexed jobId, address indexed solver, uint256 amount);
    event Credited(address indexed account, uint256 indexed jobId, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- errors

    error InvalidParameters();
    error UnknownJob();
    error BadJobState(JobState state);
    error WrongValue(uint256 expected);
    error NotSubmitter();
    error NotSolver();
    error NotChallenger();
    error NotReferee();
    error NotYourTurn();
    error WrongPhase(Phase phase);
    error WrongIndex(uint256 expected);
    error BadSignature();
    error DeadlinePassed();
    error DeadlineNotPassed();
    error ChallengeWindowOpen();
    error ChallengeWindowClosed();
    error DisputeOpen();
    error WrongClaimCount(uint256 expected);
    error ClaimsMismatch();
    error BadSegment();
    error NoDisagreement();
    error NothingToTimeOut();
    error NothingToWithdraw();
    error TransferFailed();
    /// resolveSigned: a signature does not recover to a member of the job's committee (a
    /// stranger's, or a member's over another dispute, job, contract, chain or verdict).
    error NotCommitteeMember();
    /// resolveSigned: two signatures from the same member.
    error DuplicateSigner();
    /// resolveSigned: fewer valid member signatures than the committee's threshold.
    error NotEnoughSignatures(uint256 required);

    // ---------------------------------------------------------------- job lifecycle

    /// Step 1. Value = escrow. Returns the new job id (1, 2, ...).
    function createJob(bytes32 specHash, bytes32 initialRoot, uint32 numCheckpoints,
        uint32 stepsPerCheckpoint, uint128 stake, uint128 bond, uint32 commitTimeout,
        uint32 challengeWindow, uint32 moveTimeout, address referee) external payable returns (uint256 jobId)
    {
        if (msg.value == 0 || msg.value > type(uint128).max || referee == address(0)) revert InvalidParameters();
        jobId = _newJob(specHash, initialRoot, numCheckpoints, stepsPerCheckpoint, uint128(msg.value), stake, bond,
            commitTimeout, challengeWindow, moveTimeout, referee);
    }

    /// The submitter takes a job back before any solver accepted it; the escrow is credited.
    function cancelJob(uint256 jobId) external {
        Job storage j = _job(jobId);
        if (msg.sender != j.submitter) revert NotSubmitter();
        if (j.state != JobState.Open) revert BadJobState(j.state);
        j.state = JobState.Cancelled;
        emit JobCancelled(jobId);
        _credit(j.submitter, jobId, j.escrow);
        _afterJobEnds(j, jobId, JobState.Cancelled, address(0), 0);
    }

    /// Step 2. Value = the job's stake exactly.
    function acceptJob(uint256 jobId) external payable {
        Job storage j = _job(jobId);
        _accept(j, jobId);
        _onAccept(j, jobId, bytes32(0));
    }

    /// The digest the solver signs for root `index` of job `jobId` (EIP-191 "personal_sign" of a
    /// 32-byte message):
    ///   message = keccak256(abi.encode(CHECKPOINT_TAG, block.chainid, address(this), jobId, index, root))
    ///   digest  = keccak256("\x19Ethereum Signed Message:\n32" ++ message)
    function checkpointMessage(uint256 jobId, uint256 index, bytes32 root) public view returns (bytes32 message) {
        // = keccak256(abi.encode(CHECKPOINT_TAG, block.chainid, address(this), jobId, index, root)),
        // hashed in unallocated memory (the commitment is the protocol's most frequent call).
        bytes32 tag = CHECKPOINT_TAG;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, tag)
            mstore(add(p, 0x20), chainid())
            mstore(add(p, 0x40), address())
            mstore(add(p, 0x60), jobId)
            mstore(add(p, 0x80), index)
            mstore(add(p, 0xa0), root)
            message := keccak256(p, 0xc0)
        }
    }

    function checkpointDigest(uint256 jobId, uint256 index, bytes32 root) public view returns (bytes32) {
        return _ethSigned(checkpointMessage(jobId, index, root));
    }

    /// Step 2. Commit root `index` (must be committed + 1), signed by the solver; anyone may send it.
    function commitCheckpoint(uint256 jobId, uint256 index, bytes32 root, uint8 v, bytes32 r, bytes32 s) external {
        Job storage j = _job(jobId);
        (uint256 committed, uint256 n, address solver) = _beginCommit(j);
        if (index != committed + 1) revert WrongIndex(committed + 1);
        _checkSignature(solver, jobId, index, root, v, r, s);
        roots[jobId][index] = root;
        emit CheckpointCommitted(jobId, index, root);
        _endCommit(j, jobId, index, n);
    }

    /// Step 2, batched: roots firstIndex .. firstIndex + roots.length - 1, each with its own
    /// signature (the same digest as commitCheckpoint, so an outbox may send either way).
    function commitCheckpoints(uint256 jobId, uint256 firstIndex, bytes32[] calldata rootList,
        uint8[] calldata vs, bytes32[] calldata rs, bytes32[] calldata ss) external
    {
        Job storage j = _job(jobId);
        (uint256 committed, uint256 n, address solver) = _beginCommit(j);
        uint256 count = rootList.length;
        if (count == 0 || vs.length != count || rs.length != count || ss.length != count) revert InvalidParameters();
        if (firstIndex != committed + 1) revert WrongIndex(committed + 1);
        uint256 last = firstIndex + count - 1;
        if (last > n) revert WrongIndex(n);
        for (uint256 i = 0; i < count; ++i) {
            uint256 index = firstIndex + i;
            _checkSignature(solver, jobId, index, rootList[i], vs[i], rs[i], ss[i]);
            roots[jobId][index] = rootList[i];
            emit CheckpointCommitted(jobId, index, rootList[i]);
        }
        _endCommit(j, jobId, last, n);
    }

    /// Step 7. After the window, with no dispute open: escrow + stake to the solver.
    function settle(uint256 jobId) external {
        Job storage j = _job(jobId);
        if (j.state == JobState.Disputed) revert DisputeOpen();
        if (j.state != JobState.Committed) revert BadJobState(j.state);
        if (block.timestamp <= j.windowEnd) revert ChallengeWindowOpen();
        _beforeSettle(j, jobId);
        j.state = JobState.Settled;
        uint256 amount = uint256(j.escrow) + j.stake;
        emit JobSettled(jobId, j.solver, amount);
        _credit(j.solver, jobId, amount);
        _afterJobEnds(j, jobId, JobState.Settled, address(0), 0);
    }

    /// Step 8. Send everything credited to the caller.
    function withdraw() external {
        uint256 amount = owed[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        owed[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ---------------------------------------------------------------- dispute game

    /// Step 3. Value = the job's bond. The caller agrees with root k-1 and claims `challengerRoot`
    /// (different from the solver's) for checkpoint k.
    function challenge(uint256 jobId, uint256 k, bytes32 challengerRoot) external payable {
        Job storage j = _job(jobId);
        if (j.state == JobState.Disputed) revert DisputeOpen();
        if (j.state != JobState.Committed) revert BadJobState(j.state);
        if (block.timestamp > j.windowEnd) revert ChallengeWindowClosed();
        if (msg.value != j.bond) revert WrongValue(j.bond);
        if (k == 0 || k > j.numCheckpoints) revert WrongIndex(j.numCheckpoints);
        _beforeChallenge(j, jobId);
        bytes32 solverRoot = roots[jobId][k];
        if (challengerRoot == solverRoot) revert NoDisagreement();
        j.state = JobState.Disputed;
        Dispute storage d = _disputes[jobId];
        uint32 deadline = uint32(block.timestamp + j.moveTimeout);
        d.challenger = msg.sender;
        d.checkpoint = uint32(k);
        d.deadline = deadline;
        d.lo = 0;
        d.hi = j.stepsPerCheckpoint;
        d.step = 0;
        d.numOps = 0;
        d.windowLeft = uint32(j.windowEnd - block.timestamp);
        d.id = uint64(++disputeCount);
        d.hashLo = bytes32(0);
        d.solverHashHi = solverRoot;
        d.challengerHashHi = challengerRoot;
        if (j.stepsPerCheckpoint == 1) {
            d.phase = Phase.OperatorCount;
        } else {
            d.phase = Phase.Steps;
            d.solverTurn = true;
        }
        emit Challenged(jobId, msg.sender, k, challengerRoot, deadline);
    }

    /// Step 4, solver: the hashes at the points of [lo, hi] (see claimPoints), in order.
    function postClaims(uint256 jobId, bytes32[] calldata hashes) external {
        (Job storage j, Dispute storage d) = _move(jobId, true);
        if (d.phase != Phase.Steps && d.phase != Phase.Operators) revert WrongPhase(d.phase);
        _postClaims(j, d, jobId, hashes);
    }

    /// Step 4, solver, once the interval is one step s: the number of operators of step s and
    /// the hashes at the points of [0, numOps + 1]. Position 0 is the step's agreed input;
    /// position q in 1..numOps is the operator prefix-chain hash after operators 0..q-1;
    /// position numOps + 1 is the solver's hash of the step's output (solverHashHi, unchanged:
    /// its state hash after s, or root k when s ends the interval). The disputed "operator" lo
    /// is then an operator index in 0..numOps-1, or numOps: the step's output hash as computed
    /// from agreed operator outputs.
    function postOperators(uint256 jobId, uint32 numOps, bytes32[] calldata hashes) external {
        (Job storage j, Dispute storage d) = _move(jobId, false);
        if (msg.sender != j.solver) revert NotSolver();
        if (d.phase != Phase.OperatorCount) revert WrongPhase(d.phase);
        if (numOps == 0 || numOps == type(uint32).max) revert InvalidParameters();
        uint32 step = uint32((d.checkpoint - 1) * uint256(j.stepsPerCheckpoint) + d.hi);
        d.step = step;
        d.numOps = numOps;
        d.lo = 0;
        d.hi = numOps + 1;
        d.phase = Phase.Operators;
        emit OperatorsPosted(jobId, step, numOps);
        _postClaims(j, d, jobId, hashes);
    }

    /// Step 4, challenger: `hashes` are the solver's last claims again (checked against their
    /// hash), `segment` in [0, parts) the first segment [p_segment, p_segment+1] whose start the
    /// challenger agrees with and whose end it disputes, `challengerHash` its own hash at the end.
    function chooseSegment(uint256 jobId, uint256 segment, bytes32[] calldata hashes, bytes32 challengerHash) external {
        (Job storage j, Dispute storage d) = _move(jobId, false);
        if (msg.sender != d.challenger) revert NotChallenger();
        if (d.phase != Phase.Steps && d.phase != Phase.Operators) revert WrongPhase(d.phase);
        if (d.solverTurn) revert NotYourTurn();
        if (keccak256(abi.encodePacked(hashes)) != d.claimsHash) revert ClaimsMismatch();
        uint256 lo = d.lo;
        uint256 width = d.hi - lo;
        uint256 parts = width < ARITY ? width : ARITY;
        if (segment >= parts) revert BadSegment();
        if (segment > 0) d.hashLo = hashes[segment - 1];
        bytes32 solverHash = segment + 1 < parts ? hashes[segment] : d.solverHashHi;
        if (challengerHash == solverHash) revert NoDisagreement();
        uint32 newLo = uint32(lo + width * segment / parts);
        uint32 newHi = uint32(lo + width * (segment + 1) / parts);
        d.lo = newLo;
        d.hi = newHi;
        d.solverHashHi = solverHash;
        d.challengerHashHi = challengerHash;
        uint32 deadline = uint32(block.timestamp + j.moveTimeout);
        d.deadline = deadline;
        emit SegmentChosen(jobId, d.phase, newLo, newHi, d.hashLo, solverHash, challengerHash, deadline);
        if (newHi - newLo > 1) {
            d.solverTurn = true;
        } else if (d.phase == Phase.Steps) {
            d.phase = Phase.OperatorCount;
        } else {
            _requestVerdict(j, d, jobId);
        }
    }

    /// Step 5. The job's single referee recomputed operator `lo` of step `step` from the agreed
    /// inputs. (A committee's verdict comes through resolveSigned.)
    function resolve(uint256 jobId, bool solverCorrect) external {
        Job storage j = _job(jobId);
        Dispute storage d = _disputes[jobId];
        if (msg.sender != j.referee) revert NotReferee();
        if (d.phase != Phase.Verdict) revert WrongPhase(d.phase);
        if (block.timestamp > d.deadline) revert DeadlinePassed();
        _applyVerdict(j, d, jobId, solverCorrect);
    }

    /// Step 5, by signatures (anyone sends them): the verdict of at least k of the job's n
    /// referees, each an EIP-191 signature of verdictMessage(jobId, solverCorrect) — which names
    /// the chain, this contract, the job, the dispute (its id) and the verdict. Signers must be
    /// distinct members; any order; signatures beyond k are checked too. For a single referee
    /// (every MlcpJobs job) k = n = 1: the referee's signature.
    function resolveSigned(uint256 jobId, bool solverCorrect, uint8[] calldata vs, bytes32[] calldata rs,
        bytes32[] calldata ss) external
    {
        Job storage j = _job(jobId);
        Dispute storage d = _disputes[jobId];
        if (d.phase != Phase.Verdict) revert WrongPhase(d.phase);
        if (block.timestamp > d.deadline) revert DeadlinePassed();
        uint256 count = vs.length;
        if (rs.length != count || ss.length != count) revert InvalidParameters();
        bytes32 digest = verdictDigest(jobId, solverCorrect);
        uint256 seen;
        for (uint256 i = 0; i < count; ++i) {
            if (uint256(ss[i]) > HALF_ORDER) revert BadSignature();
            address signer = _recover(digest, vs[i], rs[i], ss[i]);
            uint256 member = signer == address(0) ? 0 : _memberIndex(j, jobId, signer);
            if (member == 0) revert NotCommitteeMember();
            uint256 bit = 1 << (member - 1);
            if (seen & bit != 0) revert DuplicateSigner();
            seen |= bit;
        }
        uint256 required = _threshold(j, jobId);
        if (count < required) revert NotEnoughSignatures(required);
        _applyVerdict(j, d, jobId, solverCorrect);
    }

    /// The message each referee signs for the verdict on the job's current dispute:
    ///   keccak256(abi.encode(VERDICT_TAG, block.chainid, address(this), jobId, disputeId(jobId), solverCorrect))
    /// (solverCorrect as one 32-byte word, 1 or 0), EIP-191 "personal_sign"-prefixed into verdictDigest.
    function verdictMessage(uint256 jobId, bool solverCorrect) public view returns (bytes32) {
        return keccak256(abi.encode(VERDICT_TAG, block.chainid, address(this), jobId, _disputes[jobId].id,
            solverCorrect));
    }

    function verdictDigest(uint256 jobId, bool solverCorrect) public view returns (bytes32) {
        return _ethSigned(verdictMessage(jobId, solverCorrect));
    }

    /// Anyone: end whatever is overdue. During a dispute the party whose move is overdue loses
    /// (a silent referee drops the dispute with the bond refunded); an accepted job whose roots are
    /// not all committed by commitDeadline fails (stake and escrow to the submitter).
    function timeout(uint256 jobId) external {
        Job storage j = _job(jobId);
        if (j.state == JobState.Disputed) {
            Dispute storage d = _disputes[jobId];
            if (block.timestamp <= d.deadline) revert DeadlineNotPassed();
            if (d.phase == Phase.Verdict) {
                address challenger = d.challenger;
                _reopenWindow(j, d, jobId);
                emit DisputeResolved(jobId, address(0), Outcome.RefereeTimedOut);
                _credit(challenger, jobId, j.bond);
            } else if (d.phase == Phase.OperatorCount || d.solverTurn) {
                _solverLoses(j, d, jobId, Outcome.SolverTimedOut);
            } else {
                _challengerLoses(j, d, jobId, Outcome.ChallengerTimedOut);
            }
        } else if (j.state == JobState.Accepted) {
            if (block.timestamp <= j.commitDeadline) revert DeadlineNotPassed();
            j.state = JobState.SolverFailed;
            emit CommitDeadlineMissed(jobId, j.solver, j.committed);
            _credit(j.submitter, jobId, uint256(j.escrow) + j.stake);
            _afterJobEnds(j, jobId, JobState.SolverFailed, address(0), 0);
        } else if (!_timeoutOther(j, jobId)) {
            revert NothingToTimeOut();
        }
    }

    // ---------------------------------------------------------------- views

    /// The job's open dispute (all zero when none). The fields of the Dispute struct but its id
    /// (disputeId).
    function disputes(uint256 jobId) external view returns (address challenger, Phase phase, bool solverTurn,
        uint32 checkpoint, uint32 deadline, uint32 lo, uint32 hi, uint32 step, uint32 numOps, uint32 windowLeft,
        bytes32 claimsHash, bytes32 hashLo, bytes32 solverHashHi, bytes32 challengerHashHi)
    {
        Dispute storage d = _disputes[jobId];
        return (d.challenger, d.phase, d.solverTurn, d.checkpoint, d.deadline, d.lo, d.hi, d.step, d.numOps,
            d.windowLeft, d.claimsHash, d.hashLo, d.solverHashHi, d.challengerHashHi);
    }

    /// The id of the job's open dispute (0 when none): what verdictMessage names.
    function disputeId(uint256 jobId) external view returns (uint256) {
        return _disputes[jobId].id;
    }

    /// The positions at which the solver's next claims are due: p_i = lo + (hi-lo)*i/parts for
    /// i = 1 .. parts-1, parts = min(ARITY, hi-lo). Empty when no claims are due.
    function claimPoints(uint256 jobId) external view returns (uint256[] memory points) {
        Dispute storage d = _disputes[jobId];
        if ((d.phase != Phase.Steps && d.phase != Phase.Operators) || !d.solverTurn) return points;
        uint256 width = d.hi - d.lo;
        uint256 parts = width < ARITY ? width : ARITY;
        points = new uint256[](parts - 1);
        for (uint256 i = 1; i < parts; ++i) points[i - 1] = d.lo + width * i / parts;
    }

    // ---------------------------------------------------------------- hooks (MlcpMarket)

    /// After the common acceptance checks and state change.
    function _onAccept(Job storage j, uint256 jobId, bytes32 seedCommitment) internal virtual {}

    /// Before a challenge is opened (after the window and value checks).
    function _beforeChallenge(Job storage j, uint256 jobId) internal view virtual {}

    /// Before a job settles (after the state and window checks).
    function _beforeSettle(Job storage j, uint256 jobId) internal view virtual {}

    /// After a job ended (Settled, SolverFailed, Cancelled) and its solver/submitter payouts were
    /// credited. For a solver that lost a dispute: the winning challenger and the checkpoint.
    function _afterJobEnds(Job storage j, uint256 jobId, JobState how, address challenger, uint256 checkpoint)
        internal virtual {}

    /// timeout() in a state the game does not time out itself; true if it handled the call.
    function _timeoutOther(Job storage, uint256) internal virtual returns (bool) {
        return false;
    }

    /// 1-based index of `signer` in the job's committee, 0 if not a member. Here: the referee.
    function _memberIndex(Job storage j, uint256, address signer) internal view virtual returns (uint256) {
        return signer == j.referee ? 1 : 0;
    }

    /// Signatures required for a verdict (k). Here: 1.
    function _threshold(Job storage, uint256) internal view virtual returns (uint256) {
        return 1;
    }

    // ---------------------------------------------------------------- internals

    function _newJob(bytes32 specHash, bytes32 initialRoot, uint32 numCheckpoints, uint32 stepsPerCheckpoint,
        uint128 escrow, uint128 stake, uint128 bond, uint32 commitTimeout, uint32 challengeWindow,
        uint32 moveTimeout, address referee) internal returns (uint256 jobId)
    {
        if (numCheckpoints == 0 || stepsPerCheckpoint == 0 || commitTimeout == 0 || challengeWindow == 0
            || moveTimeout == 0) {
            revert InvalidParameters();
        }
        jobId = ++jobCount;
        Job storage j = jobs[jobId];
        j.submitter = msg.sender;
        j.state = JobState.Open;
        j.numCheckpoints = numCheckpoints;
        j.referee = referee;
        j.stepsPerCheckpoint = stepsPerCheckpoint;
        j.commitTimeout = commitTimeout;
        j.challengeWindow = challengeWindow;
        j.escrow = escrow;
        j.stake = stake;
        j.bond = bond;
        j.moveTimeout = moveTimeout;
        j.specHash = specHash;
        j.initialRoot = initialRoot;
        emit JobCreated(jobId, msg.sender, referee, specHash, initialRoot, numCheckpoints, stepsPerCheckpoint,
            escrow, stake, bond);
    }

    function _job(uint256 jobId) internal view returns (Job storage j) {
        j = jobs[jobId];
        if (j.state == JobState.None) revert UnknownJob();
    }

    function _accept(Job storage j, uint256 jobId) internal {
        if (j.state != JobState.Open) revert BadJobState(j.state);
        if (msg.value != j.stake) revert WrongValue(j.stake);
        j.state = JobState.Accepted;
        j.solver = msg.sender;
        uint32 deadline = uint32(block.timestamp + j.commitTimeout);
        j.commitDeadline = deadline;
        emit JobAccepted(jobId, msg.sender, deadline);
    }

    function _beginCommit(Job storage j) private view returns (uint256 committed, uint256 n, address solver) {
        if (j.state != JobState.Accepted) revert BadJobState(j.state);
        if (block.timestamp > j.commitDeadline) revert DeadlinePassed();
        return (j.committed, j.numCheckpoints, j.solver);
    }

    function _endCommit(Job storage j, uint256 jobId, uint256 last, uint256 n) private {
        if (last != n) {
            j.committed = uint32(last);
        } else {
            j.committed = uint32(last);   // (one write of slot 0 with the state)
            j.state = JobState.Committed;
            uint32 windowEnd = uint32(block.timestamp + j.challengeWindow);
            j.windowEnd = windowEnd;
            emit ChallengeWindowOpened(jobId, windowEnd);
        }
    }

    /// keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", message)), in scratch space.
    function _ethSigned(bytes32 message) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            mstore(0x00, "\x19Ethereum Signed Message:\n32")
            mstore(0x1c, message)
            digest := keccak256(0x00, 0x3c)
        }
    }

    function _checkSignature(address solver, uint256 jobId, uint256 index, bytes32 root, uint8 v, bytes32 r,
        bytes32 s) private view
    {
        // Low-s only (EIP-2), so a signature has one valid encoding. (solver is never 0, so an
        // unrecoverable signature, 0 from _recover, is refused too.)
        if (uint256(s) > HALF_ORDER) revert BadSignature();
        if (_recover(checkpointDigest(jobId, index, root), v, r, s) != solver) revert BadSignature();
    }

    /// ecrecover (precompile 1), 0 when the signature does not recover.
    function _recover(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal view returns (address signer) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, digest)
            mstore(add(p, 0x20), v)
            mstore(add(p, 0x40), r)
            mstore(add(p, 0x60), s)
            mstore(0x00, 0)
            pop(staticcall(gas(), 1, p, 0x80, 0x00, 0x20))
            signer := mload(0x00)
        }
    }

    /// Common checks of a dispute move: job disputed, before the deadline, and for solver moves
    /// (solverMove) the caller is the solver and it is its turn.
    function _move(uint256 jobId, bool solverMove) private view returns (Job storage j, Dispute storage d) {
        j = _job(jobId);
        if (j.state != JobState.Disputed) revert BadJobState(j.state);
        d = _disputes[jobId];
        if (solverMove) {
            if (msg.sender != j.solver) revert NotSolver();
            if (!d.solverTurn) revert NotYourTurn();
        }
        if (block.timestamp > d.deadline) revert DeadlinePassed();
    }

    function _postClaims(Job storage j, Dispute storage d, uint256 jobId, bytes32[] calldata hashes) private {
        uint256 lo = d.lo;
        uint256 hi = d.hi;
        uint256 width = hi - lo;
        uint256 parts = width < ARITY ? width : ARITY;
        if (hashes.length != parts - 1) revert WrongClaimCount(parts - 1);
        d.claimsHash = keccak256(abi.encodePacked(hashes));
        d.solverTurn = false;
        uint32 deadline = uint32(block.timestamp + j.moveTimeout);
        d.deadline = deadline;
        emit ClaimsPosted(jobId, d.phase, lo, hi, hashes, deadline);
    }

    function _requestVerdict(Job storage j, Dispute storage d, uint256 jobId) private {
        d.phase = Phase.Verdict;
        d.solverTurn = false;
        uint32 deadline = uint32(block.timestamp + j.moveTimeout);
        d.deadline = deadline;
        emit VerdictRequested(jobId, d.checkpoint, d.step, d.lo, d.hashLo, d.solverHashHi, d.challengerHashHi,
            deadline);
    }

    function _applyVerdict(Job storage j, Dispute storage d, uint256 jobId, bool solverCorrect) private {
        if (solverCorrect) _challengerLoses(j, d, jobId, Outcome.Verdict);
        else _solverLoses(j, d, jobId, Outcome.Verdict);
    }

    /// Step 6, solver wrong: bond + stake to the challenger, escrow back to the submitter.
    function _solverLoses(Job storage j, Dispute storage d, uint256 jobId, Outcome outcome) private {
        address challenger = d.challenger;
        uint256 checkpoint = d.checkpoint;
        delete _disputes[jobId];
        j.state = JobState.SolverFailed;
        emit DisputeResolved(jobId, challenger, outcome);
        emit SolverFailed(jobId, j.solver, outcome);
        _credit(challenger, jobId, uint256(j.bond) + j.stake);
        _credit(j.submitter, jobId, j.escrow);
        _afterJobEnds(j, jobId, JobState.SolverFailed, challenger, checkpoint);
    }

    /// Step 6, challenger wrong: the bond to the solver; the job is Committed again.
    function _challengerLoses(Job storage j, Dispute storage d, uint256 jobId, Outcome outcome) private {
        _reopenWindow(j, d, jobId);
        emit DisputeResolved(jobId, j.solver, outcome);
        _credit(j.solver, jobId, j.bond);
    }

    /// A dispute that does not end the job pauses the challenge window: it reopens with the time
    /// that was left when the challenge came, so a challenge (the solver's own, say) near the end
    /// of the window cannot shut out other challengers.
    function _reopenWindow(Job storage j, Dispute storage d, uint256 jobId) private {
        uint32 windowEnd = uint32(block.timestamp + d.windowLeft);
        delete _disputes[jobId];
        j.state = JobState.Committed;
        j.windowEnd = windowEnd;
        emit ChallengeWindowOpened(jobId, windowEnd);
    }

    function _credit(address account, uint256 jobId, uint256 amount) internal {
        if (amount == 0) return;
        owed[account] += amount;
        emit Credited(account, jobId, amount);
    }
}
