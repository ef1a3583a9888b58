//! Integration tests of `ply-sidechain`.

mod fixtures;
