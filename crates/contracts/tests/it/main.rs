//! Integration tests for `ply-contracts`: the checked-in artifacts are fresh (`artifacts`), the
//! bindings encode and decode what the ABI says (`abi`, `rollup_abi`), and they agree with the
//! bytecode when it runs in an EVM (`evm`, `rollup_evm`).

mod abi;
mod artifacts;
mod evm;
mod rollup_abi;
mod rollup_evm;
