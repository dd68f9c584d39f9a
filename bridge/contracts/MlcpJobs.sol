// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {MlcpGame} from "./MlcpGame.sol";

/// @title MlcpJobs — escrow, checkpoint commitments, on-chain dispute bisection and pull payments
/// for mlcp training jobs with one solver, one challenger at a time and one referee per job
/// (issue #5; protocol as numbered steps in docs/bridge-protocol.md). Everything is in MlcpGame;
/// this contract adds nothing, so that the deployment the C++ client makes stays small (its
/// offline deploy has a fixed 3M gas limit). The protocol's economics (tasks, verifiers,
/// whistleblowers, forced errors, referee committees) are in MlcpMarket, built on the same game.
contract MlcpJobs is MlcpGame {}
