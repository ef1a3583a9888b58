//! The development accounts of the standard test mnemonic, as anvil and hardhat derive them.
//!
//! These keys are public knowledge: anything sent to them on a real network is lost to whoever
//! watches them first. They exist so that a dev chain, its tests and its users agree on funded
//! accounts without any setup.

use crate::{Address, Error, Result, U256};
use alloy::signers::local::PrivateKeySigner;

/// The standard test mnemonic (`m/44'/60'/0'/0/i` gives the dev accounts).
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// The private keys of the first ten accounts of [`DEV_MNEMONIC`], precomputed because BIP-39
/// seed derivation is deliberately slow (a test checks them against the mnemonic).
pub const DEV_PRIVATE_KEYS: [&str; 10] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// The balance every dev account starts with: 10,000 ETH, as on anvil.
pub const DEV_BALANCE: U256 = U256::from_limbs([0x19e0c9bab2400000, 0x21e, 0, 0]);

/// The signer of dev account `index` (0 to 9).
pub fn dev_signer(index: usize) -> Result<PrivateKeySigner> {
    let key = DEV_PRIVATE_KEYS
        .get(index)
        .ok_or(Error::NoSuchDevAccount { index, max: DEV_PRIVATE_KEYS.len() - 1 })?;
    parse_private_key(key)
}

/// The signers of all ten dev accounts.
pub fn dev_signers() -> Vec<PrivateKeySigner> {
    (0..DEV_PRIVATE_KEYS.len()).map(|i| dev_signer(i).expect("constant keys are valid")).collect()
}

/// The addresses of all ten dev accounts.
pub fn dev_addresses() -> Vec<Address> {
    dev_signers().iter().map(|s| s.address()).collect()
}

/// Parses a hex private key, with or without `0x`.
pub fn parse_private_key(hex: &str) -> Result<PrivateKeySigner> {
    hex.trim()
        .trim_start_matches("0x")
        .parse::<PrivateKeySigner>()
        .map_err(|e| Error::InvalidPrivateKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::local::{MnemonicBuilder, coins_bip39::English};

    #[test]
    fn precomputed_keys_match_the_mnemonic() {
        for (i, signer) in dev_signers().iter().enumerate() {
            let derived = MnemonicBuilder::<English>::default()
                .phrase(DEV_MNEMONIC)
                .index(i as u32)
                .unwrap()
                .build()
                .unwrap();
            assert_eq!(derived.address(), signer.address(), "account {i}");
        }
    }

    #[test]
    fn dev_balance_is_ten_thousand_ether() {
        assert_eq!(DEV_BALANCE, U256::from(10_000u64) * U256::from(crate::ETHER));
    }

    #[test]
    fn bad_keys_and_indices_are_errors() {
        assert!(matches!(dev_signer(10), Err(Error::NoSuchDevAccount { index: 10, max: 9 })));
        assert!(parse_private_key("0x1234").is_err());
        assert_eq!(
            parse_private_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
                .unwrap()
                .address(),
            dev_addresses()[0]
        );
    }
}
