//! Integration tests of the rollup backbone (one binary).

mod sequencer;
