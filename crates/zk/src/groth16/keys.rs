//! Keys on disk: [`KeyStore`] caches development keys per circuit, checked by hash on load;
//! [`load_keys`] reads keys produced elsewhere (a ceremony).

use super::{
    CircuitShape, ConstraintMatrices, Groth16Error, Proof, ProvingKey, Result, VerifyingKey,
    dev_setup, prove_with,
};
use crate::Fr;
use alloy::primitives::{B256, keccak256};
use ark_relations::gr1cs::ConstraintSynthesizer;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_std::rand::{CryptoRng, RngCore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The first line of every manifest; a new format gets a new version (v2: the proving key is
/// stored uncompressed).
const MANIFEST_VERSION_LINE: &str = "ply groth16 keys v2";

/// What a manifest records about a set of keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyManifest {
    /// The seed of the development setup that made the keys.
    pub seed: u64,
    /// The circuit the keys were made for.
    pub shape: CircuitShape,
    /// Keccak-256 of the proving key file.
    pub pk_keccak256: B256,
    /// Keccak-256 of the verifying key file.
    pub vk_keccak256: B256,
}

impl KeyManifest {
    /// The manifest file's text.
    pub fn to_text(&self) -> String {
        format!(
            "{MANIFEST_VERSION_LINE}\nsetup: dev (NOT a ceremony: insecure for production)\n\
             seed: {}\nconstraints: {}\npublic_inputs: {}\nwitnesses: {}\nfingerprint: {}\n\
             pk_keccak256: {}\nvk_keccak256: {}\n",
            self.seed,
            self.shape.constraints,
            self.shape.public_inputs,
            self.shape.witnesses,
            self.shape.fingerprint,
            self.pk_keccak256,
            self.vk_keccak256,
        )
    }

    fn parse(path: &Path, text: &str) -> Result<Self> {
        let bad = |reason: String| Groth16Error::BadManifest { path: path.to_owned(), reason };
        let mut lines = text.lines();
        let version = lines.next().unwrap_or_default();
        if version != MANIFEST_VERSION_LINE {
            return Err(bad(format!(
                "the first line is {version:?}, expected {MANIFEST_VERSION_LINE:?}"
            )));
        }
        let fields: Vec<(&str, &str)> = lines.filter_map(|l| l.split_once(": ")).collect();
        let field = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| *value)
                .ok_or_else(|| bad(format!("no `{name}` line")))
        };
        let number = |name: &str| -> Result<u64> {
            field(name)?.parse().map_err(|e| bad(format!("`{name}`: {e}")))
        };
        let hash = |name: &str| -> Result<B256> {
            field(name)?.parse().map_err(|e| bad(format!("`{name}`: {e}")))
        };
        Ok(Self {
            seed: number("seed")?,
            shape: CircuitShape {
                constraints: number("constraints")? as usize,
                public_inputs: number("public_inputs")? as usize,
                witnesses: number("witnesses")? as usize,
                fingerprint: hash("fingerprint")?,
            },
            pk_keccak256: hash("pk_keccak256")?,
            vk_keccak256: hash("vk_keccak256")?,
        })
    }
}

/// A proving key, its verifying key, their manifest and the constraint matrices of their
/// circuit: everything a prover needs.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The proving key.
    pub pk: ProvingKey,
    /// The verifying key (the same as `pk.vk`).
    pub vk: VerifyingKey,
    /// What the store recorded about them.
    pub manifest: KeyManifest,
    /// The circuit's matrices, built when the keys were loaded (their fingerprint is the
    /// manifest's).
    pub matrices: Arc<ConstraintMatrices>,
}

impl Keys {
    /// Proves `circuit` (a circuit of these keys' shape) with [`prove_with`]: only its witness
    /// is synthesized.
    pub fn prove<C, R>(&self, circuit: C, rng: &mut R) -> Result<Proof>
    where
        C: ConstraintSynthesizer<Fr>,
        R: RngCore + CryptoRng,
    {
        prove_with(&self.pk, &self.matrices, circuit, rng)
    }
}

/// A directory of development keys, one set per circuit name.
///
/// # Files
///
/// For a circuit named `NAME`, a key store directory holds:
///
/// - `NAME.pk`: the proving key, arkworks' uncompressed serialization (`CanonicalSerialize`);
/// - `NAME.vk`: the verifying key, arkworks' compressed serialization;
/// - `NAME.manifest`: a text file of `key: value` lines, version first, written last (so a
///   directory with a manifest holds a complete set):
///
/// ```text
/// ply groth16 keys v2
/// setup: dev (NOT a ceremony: insecure for production)
/// seed: 42
/// constraints: 3
/// public_inputs: 1
/// witnesses: 3
/// fingerprint: 0x…            (CircuitShape::fingerprint)
/// pk_keccak256: 0x…           (Keccak-256 of NAME.pk)
/// vk_keccak256: 0x…           (Keccak-256 of NAME.vk)
/// ```
///
/// Loading checks both files against the manifest's hashes. The verifying key, which is what
/// L1 trusts, is then validated point by point as it is decoded; the proving key is decoded
/// without the curve and subgroup checks (0.4 s instead of 36 s for the devnet's 160 MB key
/// on the 2-core machine): its bytes are the ones this store wrote, and a proving key with a
/// bad point could only make proofs that fail verification, never a false one that passes.
///
/// **The keys come from [`dev_setup`]: NOT a ceremony, insecure for production.**
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    /// A store in `dir` (created when keys are first saved).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The paths of the proving key, verifying key and manifest of circuit `name`.
    pub fn paths(&self, name: &str) -> (PathBuf, PathBuf, PathBuf) {
        (
            self.dir.join(format!("{name}.pk")),
            self.dir.join(format!("{name}.vk")),
            self.dir.join(format!("{name}.manifest")),
        )
    }

    /// The keys of circuit `name` if the store has them (each file checked against the hash
    /// in the manifest and validated as it is decoded); otherwise runs [`dev_setup`] on
    /// `circuit_shape` with `seed`, saves the keys and returns them. Either way the circuit's
    /// matrices are built once, for [`Keys::prove`].
    ///
    /// Cached keys made for a different circuit than `circuit_shape` (other constraints) are
    /// an error ([`Groth16Error::ShapeMismatch`]), as are corrupt files: nothing is
    /// overwritten silently.
    pub fn load_or_setup<C>(&self, name: &str, circuit_shape: C, seed: u64) -> Result<Keys>
    where
        C: ConstraintSynthesizer<Fr> + Clone,
    {
        let matrices = Arc::new(ConstraintMatrices::of(circuit_shape.clone())?);
        let shape = *matrices.shape();
        let (_, _, manifest_path) = self.paths(name);
        if manifest_path.exists() {
            let keys = self.load(name, matrices)?;
            if keys.manifest.shape != shape {
                return Err(Groth16Error::ShapeMismatch {
                    path: manifest_path,
                    cached: Box::new(keys.manifest.shape),
                    given: Box::new(shape),
                });
            }
            return Ok(keys);
        }
        let (pk, vk) = dev_setup(circuit_shape, seed)?;
        self.save(name, pk, vk, matrices, seed)
    }

    /// The keys of circuit `name`, each file checked against the hash in the manifest (the
    /// verifying key also validated as it is decoded: points on the curve and in the right
    /// subgroup), with the circuit's `matrices`.
    fn load(&self, name: &str, matrices: Arc<ConstraintMatrices>) -> Result<Keys> {
        let (pk_path, vk_path, manifest_path) = self.paths(name);
        let text = read(&manifest_path)?;
        let text = String::from_utf8(text).map_err(|_| Groth16Error::BadManifest {
            path: manifest_path.clone(),
            reason: "not UTF-8".into(),
        })?;
        let manifest = KeyManifest::parse(&manifest_path, &text)?;
        let pk: ProvingKey =
            read_checked(&pk_path, manifest.pk_keccak256, Compress::No, Validate::No)?;
        let vk: VerifyingKey =
            read_checked(&vk_path, manifest.vk_keccak256, Compress::Yes, Validate::Yes)?;
        if pk.vk != vk {
            return Err(Groth16Error::KeyPairMismatch { pk_path, vk_path });
        }
        Ok(Keys { pk, vk, manifest, matrices })
    }

    fn save(
        &self,
        name: &str,
        pk: ProvingKey,
        vk: VerifyingKey,
        matrices: Arc<ConstraintMatrices>,
        seed: u64,
    ) -> Result<Keys> {
        let shape = *matrices.shape();
        let (pk_path, vk_path, manifest_path) = self.paths(name);
        std::fs::create_dir_all(&self.dir).map_err(|source| Groth16Error::Io {
            action: "creating",
            path: self.dir.clone(),
            source,
        })?;
        let pk_keccak256 = write_key(&pk_path, &pk, Compress::No)?;
        let vk_keccak256 = write_key(&vk_path, &vk, Compress::Yes)?;
        let manifest = KeyManifest { seed, shape, pk_keccak256, vk_keccak256 };
        write_atomic(&manifest_path, manifest.to_text().as_bytes())?;
        Ok(Keys { pk, vk, manifest, matrices })
    }
}

/// Keys produced elsewhere (e.g. by a ceremony): a proving key and a verifying key, each in
/// arkworks' serialization of `ark_groth16::{ProvingKey, VerifyingKey}<Bn254>`, compressed or
/// not (a [`KeyStore`]'s files are both). Each is validated as it is decoded, and the verifying
/// key must be the one inside the proving key.
pub fn load_keys(
    pk_path: impl AsRef<Path>,
    vk_path: impl AsRef<Path>,
) -> Result<(ProvingKey, VerifyingKey)> {
    let (pk_path, vk_path) = (pk_path.as_ref(), vk_path.as_ref());
    let pk: ProvingKey = decode_either(pk_path, &read(pk_path)?)?;
    let vk: VerifyingKey = decode_either(vk_path, &read(vk_path)?)?;
    if pk.vk != vk {
        return Err(Groth16Error::KeyPairMismatch {
            pk_path: pk_path.to_owned(),
            vk_path: vk_path.to_owned(),
        });
    }
    Ok((pk, vk))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Groth16Error::Io {
        action: "reading",
        path: path.to_owned(),
        source,
    })
}

/// Decodes a validated key, compressed or, failing that, uncompressed (the compressed error is
/// the one reported).
fn decode_either<T: CanonicalDeserialize>(path: &Path, bytes: &[u8]) -> Result<T> {
    decode(path, bytes, Compress::Yes, Validate::Yes)
        .or_else(|e| decode(path, bytes, Compress::No, Validate::Yes).map_err(|_| e))
}

fn decode<T: CanonicalDeserialize>(
    path: &Path,
    bytes: &[u8],
    compress: Compress,
    validate: Validate,
) -> Result<T> {
    let mut reader = bytes;
    let value = T::deserialize_with_mode(&mut reader, compress, validate)
        .map_err(|e| Groth16Error::BadKey { path: path.to_owned(), reason: e.to_string() })?;
    if !reader.is_empty() {
        return Err(Groth16Error::BadKey {
            path: path.to_owned(),
            reason: format!("{} bytes left over after the key", reader.len()),
        });
    }
    Ok(value)
}

fn read_checked<T: CanonicalDeserialize>(
    path: &Path,
    expected: B256,
    compress: Compress,
    validate: Validate,
) -> Result<T> {
    let bytes = read(path)?;
    let found = keccak256(&bytes);
    if found != expected {
        return Err(Groth16Error::HashMismatch { path: path.to_owned(), expected, found });
    }
    decode(path, &bytes, compress, validate)
}

/// Writes `key` to `path`; returns the Keccak-256 of the bytes written.
fn write_key<T: CanonicalSerialize>(path: &Path, key: &T, compress: Compress) -> Result<B256> {
    let mut bytes = Vec::with_capacity(key.serialized_size(compress));
    key.serialize_with_mode(&mut bytes, compress).map_err(|e| Groth16Error::BadKey {
        path: path.to_owned(),
        reason: format!("could not serialize: {e}"),
    })?;
    write_atomic(path, &bytes)?;
    Ok(keccak256(&bytes))
}

/// Writes through a temporary file and a rename, so a crash leaves the old file or the new
/// one, never half of one.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let io = |action, source| Groth16Error::Io { action, path: path.to_owned(), source };
    std::fs::write(&tmp, bytes).map_err(|e| io("writing", e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("renaming into place", e))
}
