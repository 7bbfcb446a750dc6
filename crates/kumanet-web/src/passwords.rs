//! Password hashing (R8.3): Argon2id, m=19456 KiB, t=2, p=1, on the blocking pool behind a
//! semaphore so two cores are never swamped. Issued one-time passwords (R6.1).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use tokio::sync::Semaphore;

use crate::error::WebError;

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Verified against when the login id is unknown, so both cases cost the same (ASVS 6.3.8).
    dummy: Arc<String>,
    params: Params,
    /// Password verifications done so far: the measure of what a login costs (ASVS 6.3.8).
    verifications: Arc<AtomicU64>,
}

fn argon(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

impl Hasher {
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Hasher, WebError> {
        let params = Params::new(memory_kib.max(19_456), iterations.max(2), 1, None)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        let salt = SaltString::generate(&mut OsRng);
        let dummy = argon(&params)
            .hash_password(b"kumanet dummy password", &salt)
            .map_err(|e| WebError::Internal(e.to_string()))?
            .to_string();
        let permits = Arc::new(Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));
        Ok(Hasher { permits, dummy: Arc::new(dummy), params, verifications: Arc::default() })
    }

    pub async fn hash(&self, password: &str) -> Result<String, WebError> {
        let password = password.to_string();
        let params = self.params.clone();
        self.blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon(&params)
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| WebError::Internal(e.to_string()))
        })
        .await
    }

    /// How many verifications this hasher has done (each one is an Argon2id computation).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Does `password` match `hash`? With `None`, verifies against the dummy and says no.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, WebError> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy.to_string(), str::to_string);
        let password = password.to_string();
        let params = self.params.clone();
        let ok = self
            .blocking(move || {
                let parsed = PasswordHash::new(&hash).map_err(|e| WebError::Internal(e.to_string()))?;
                Ok(argon(&params).verify_password(password.as_bytes(), &parsed).is_ok())
            })
            .await?;
        Ok(ok && known)
    }

    /// R8.2: does `password` match any of these hashes (the history)?
    pub async fn matches_any(&self, password: &str, hashes: Vec<String>) -> Result<bool, WebError> {
        for h in hashes {
            if self.verify(password, Some(&h)).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, WebError> + Send + 'static,
    ) -> Result<T, WebError> {
        let _permit = self.permits.acquire().await.map_err(|e| WebError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(f).await.map_err(|e| WebError::Internal(e.to_string()))?
    }
}

/// R6.1: a random one-time password, easy to read aloud and type on a phone:
/// four groups of four from an alphabet without look-alikes, joined by '-', so it always has
/// letters, digits and a symbol. About 80 bits.
pub fn issue_password() -> String {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let mut rng = rand::thread_rng();
    let groups: Vec<String> = (0..4)
        .map(|_| {
            let digit_at = rng.gen_range(0..4);
            (0..4)
                .map(|i| {
                    let set = if i == digit_at { DIGITS } else { LETTERS };
                    char::from(set[rng.gen_range(0..set.len())])
                })
                .collect()
        })
        .collect();
    groups.join("-")
}

/// A random token of `bytes` bytes, hex: session tokens, CSRF tokens, the setup token.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// Tokens are stored only as their SHA-256.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r6_1_issued_passwords_are_random_and_mixed() {
        let a = issue_password();
        let b = issue_password();
        assert_ne!(a, b);
        assert_eq!(a.chars().count(), 19);
        assert!(a.chars().any(|c| c.is_ascii_digit()));
        assert!(a.chars().any(|c| c.is_ascii_alphabetic()));
        assert!(a.contains('-'));
    }

    #[tokio::test]
    async fn r8_3_argon2id_with_required_parameters() {
        let h = Hasher::new(19_456, 2).unwrap();
        let hash = h.hash("correct horse battery 9!").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(h.verify("correct horse battery 9!", Some(&hash)).await.unwrap());
        assert!(!h.verify("wrong", Some(&hash)).await.unwrap());
        assert!(!h.verify("kumanet dummy password", None).await.unwrap());
    }
}
