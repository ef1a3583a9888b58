//! SHA-256 (FIPS 180-4), natively ([`sha256`]) and in-circuit ([`constraints::sha256_var`]).
//!
//! The batch commitment is hashed with SHA-256 because L1 recomputes it for a few hundred gas;
//! in-circuit it costs about 26,500 constraints per 64-byte block (the count of the
//! well-known R1CS SHA-256 circuits: one constraint a bit for `ch`, two for `maj` and for each
//! three-way XOR, and one decomposition per addition). Written here over
//! [`UInt32`](ark_r1cs_std::uint32::UInt32) because `ark-crypto-primitives` (which has a
//! SHA-256 gadget) is not a dependency of this workspace.

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The message padded to a whole number of 64-byte blocks: `0x80`, zeros, the bit length (u64 BE).
fn pad(data: &[u8]) -> Vec<u8> {
    let mut padded = data.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    padded
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h = H0;
    for block in pad(data).chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (state, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *state = state.wrapping_add(v);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// The SHA-256 gadget: the twin of [`sha256`](super::sha256).
pub(crate) mod constraints {
    use super::{H0, K};
    use crate::Fr;
    use ark_r1cs_std::{boolean::Boolean, uint32::UInt32};
    use ark_relations::gr1cs::SynthesisError;

    type Word = UInt32<Fr>;

    /// `x >> by`, free (a rewiring of bits).
    fn shr(x: &Word, by: usize) -> Word {
        let bits: Vec<Boolean<Fr>> =
            (0..32).map(|i| x.bits.get(i + by).cloned().unwrap_or(Boolean::FALSE)).collect();
        Word::from_bits_le(&bits)
    }

    /// `ch(e, f, g) = (e ∧ f) ⊕ (¬e ∧ g)`: `f` where `e` is set, else `g`; one constraint a bit.
    fn ch(e: &Word, f: &Word, g: &Word) -> Result<Word, SynthesisError> {
        bitwise(e, f, g, |e, f, g| e.select(f, g))
    }

    /// `maj(a, b, c)`, the majority of each bit: `c` where `a` and `b` differ, else `a`; two
    /// constraints a bit.
    fn maj(a: &Word, b: &Word, c: &Word) -> Result<Word, SynthesisError> {
        bitwise(a, b, c, |a, b, c| (a ^ b).select(c, a))
    }

    /// The word whose bit `i` is `op` of bit `i` of `x`, `y` and `z`.
    fn bitwise(
        x: &Word,
        y: &Word,
        z: &Word,
        op: impl Fn(&Boolean<Fr>, &Boolean<Fr>, &Boolean<Fr>) -> Result<Boolean<Fr>, SynthesisError>,
    ) -> Result<Word, SynthesisError> {
        let bits = (0..32)
            .map(|i| op(&x.bits[i], &y.bits[i], &z.bits[i]))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Word::from_bits_le(&bits))
    }

    /// The 32 big-endian bits of a word of the message as a word.
    fn word_from_be_bits(bits: &[Boolean<Fr>]) -> Word {
        let le: Vec<Boolean<Fr>> = bits.iter().rev().cloned().collect();
        Word::from_bits_le(&le)
    }

    /// SHA-256 of a message given as big-endian bits (its length a whole number of bytes),
    /// returned as 256 big-endian bits. The length is fixed when the circuit is built, so the
    /// padding is constant.
    pub fn sha256_var(message: &[Boolean<Fr>]) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
        assert!(message.len().is_multiple_of(8), "SHA-256 input must be whole bytes");
        let bit_len = message.len() as u64;
        let mut bits = message.to_vec();
        bits.push(Boolean::TRUE);
        while bits.len() % 512 != 448 {
            bits.push(Boolean::FALSE);
        }
        bits.extend((0..64).rev().map(|i| Boolean::constant((bit_len >> i) & 1 == 1)));

        let mut h: Vec<Word> = H0.iter().map(|v| Word::constant(*v)).collect();
        for block in bits.chunks(512) {
            let mut w: Vec<Word> = block.chunks(32).map(word_from_be_bits).collect();
            for i in 16..64 {
                let s0 =
                    w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ shr(&w[i - 15], 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ shr(&w[i - 2], 10);
                w.push(Word::wrapping_add_many(&[w[i - 16].clone(), s0, w[i - 7].clone(), s1])?);
            }
            let mut v = h.clone();
            for i in 0..64 {
                let [a, b, c, d, e, f, g, hh] =
                    [&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]];
                let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
                let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
                // T1 = h + Σ1 + ch + K + w; e' = d + T1 and a' = T1 + Σ0 + maj, each summed
                // in one addition (T1 is never decomposed into bits on its own).
                let t1 = [hh.clone(), s1, ch(e, f, g)?, Word::constant(K[i]), w[i].clone()];
                let new_e = Word::wrapping_add_many(&[&t1[..], std::slice::from_ref(d)].concat())?;
                let new_a = Word::wrapping_add_many(&[&t1[..], &[s0, maj(a, b, c)?]].concat())?;
                v = vec![
                    new_a,
                    a.clone(),
                    b.clone(),
                    c.clone(),
                    new_e,
                    e.clone(),
                    f.clone(),
                    g.clone(),
                ];
            }
            h = h
                .iter()
                .zip(v)
                .map(|(state, x)| Word::wrapping_add_many(&[state.clone(), x]))
                .collect::<Result<_, _>>()?;
        }
        Ok(h.iter().flat_map(|word| word.bits.iter().rev().cloned()).collect())
    }
}
