//! The block tree and its proofs.

use alloy::primitives::{B256, keccak256};
use ply_plasma::merkle::{TREE_DEPTH, empty_subtrees};
use ply_plasma::{BlockTree, Error, InclusionProof};

fn leaves(n: usize) -> Vec<B256> {
    (0..n).map(|i| keccak256((i as u64).to_be_bytes())).collect()
}

#[test]
fn every_leaf_proves_and_no_other_position_does() {
    for n in [1usize, 2, 3, 5, 8, 33] {
        let l = leaves(n);
        let tree = BlockTree::new(l.clone()).unwrap();
        for (i, leaf) in l.iter().enumerate() {
            let proof = tree.proof(i).unwrap();
            assert!(proof.verify(*leaf, i as u64, tree.root()), "n {n} leaf {i}");
            assert!(!proof.verify(*leaf, (i ^ 1) as u64, tree.root()));
            assert!(!proof.verify(keccak256(leaf), i as u64, tree.root()));
            assert!(
                !proof.verify(*leaf, i as u64 + (1 << 16), tree.root()),
                "indices beyond the tree"
            );
        }
        assert!(matches!(tree.proof(n), Err(Error::NoSuchTransaction { .. })));
    }
}

#[test]
fn empty_block_and_padding() {
    let empty = BlockTree::new(vec![]).unwrap();
    assert_eq!(empty.root(), empty_subtrees()[TREE_DEPTH]);
    // a block of one leaf has the single-leaf proof
    let one = BlockTree::new(leaves(1)).unwrap();
    assert_eq!(one.proof(0).unwrap(), InclusionProof::single_leaf());
}

#[test]
fn malformed_proofs_and_full_blocks_are_refused() {
    for len in [0usize, 511, 513, 544] {
        assert_eq!(
            InclusionProof::from_bytes(&vec![0u8; len]),
            Err(Error::MalformedProof { length: len })
        );
    }
    assert!(matches!(
        BlockTree::new(vec![B256::ZERO; (1 << 16) + 1]),
        Err(Error::BlockFull { .. })
    ));
}
