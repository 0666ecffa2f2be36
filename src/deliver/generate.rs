//! New client secrets, for rotation: generated here (boruta has no regenerate-secret
//! endpoint in its admin API), written to the store, then sent to boruta.
//!
//! They look like the ones boruta generates: 86 characters of `[A-Za-z0-9]`. boruta_auth
//! at cfdb52d (master's pin), `lib/boruta/adapters/token_generator.ex`: `@token_length 86`,
//! `@alphanum_chars` A-Z a-z 0-9, bytes from `:crypto.strong_rand_bytes`, a byte kept only
//! below `div(256, 62) * 62` = 248 and mapped with `rem(byte, 62)` (rejection sampling,
//! no modulo bias). At 1587483 (what 0.9 and 0.10 pin) the same file uses
//! `use Puid, bits: 512, charset: :alphanum`: 512 bits over 62 characters is also 86
//! characters. Same here, from the operating system's random source.

use secrecy::zeroize::Zeroize;
use secrecy::SecretString;

/// The length of a generated secret.
pub const SECRET_LENGTH: usize = 86;
/// The characters of a generated secret, in boruta's order.
pub const SECRET_ALPHABET: &[u8; 62] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Random bytes at or above this are dropped: below it each character is equally likely.
const UNBIASED_LIMIT: u8 = (256 / SECRET_ALPHABET.len() * SECRET_ALPHABET.len()) as u8;

/// The operating system's random source failed (it practically never does).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot generate a client secret: the operating system's random source failed: {0}")]
pub struct RandomError(String);

/// A new client secret: [`SECRET_LENGTH`] characters of [`SECRET_ALPHABET`] from the
/// operating system's random source.
pub fn new_client_secret() -> Result<SecretString, RandomError> {
    use rand::TryRngCore;
    generate_with(|buffer| {
        rand::rngs::OsRng
            .try_fill_bytes(buffer)
            .map_err(|e| RandomError(e.to_string()))
    })
}

/// A secret from the bytes `fill` gives, batch after batch, until it is long enough.
fn generate_with(
    mut fill: impl FnMut(&mut [u8]) -> Result<(), RandomError>,
) -> Result<SecretString, RandomError> {
    // Exactly the final length: the String becomes the secret's box without a copy that
    // would be left behind unzeroed.
    let mut secret = String::with_capacity(SECRET_LENGTH);
    // About 3% of bytes are dropped: one batch of twice the length almost always suffices.
    let mut batch = [0u8; SECRET_LENGTH * 2];
    let filled = loop {
        if let Err(e) = fill(&mut batch) {
            break Err(e);
        }
        take_unbiased(&batch, &mut secret);
        if secret.len() == SECRET_LENGTH {
            break Ok(());
        }
    };
    batch.zeroize();
    match filled {
        Ok(()) => Ok(SecretString::from(secret)),
        Err(e) => {
            secret.zeroize();
            Err(e)
        }
    }
}

/// Appends to `secret`, up to [`SECRET_LENGTH`], one character per byte of `bytes` that
/// is below [`UNBIASED_LIMIT`].
fn take_unbiased(bytes: &[u8], secret: &mut String) {
    for &byte in bytes {
        if secret.len() == SECRET_LENGTH {
            return;
        }
        if byte < UNBIASED_LIMIT {
            let index = usize::from(byte) % SECRET_ALPHABET.len();
            secret.push(char::from(SECRET_ALPHABET[index]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn generated_secrets_are_86_alphanumerics_each_new_and_use_every_character() {
        let secrets: Vec<String> = (0..1000)
            .map(|_| new_client_secret().unwrap().expose_secret().to_string())
            .collect();
        for secret in &secrets {
            assert_eq!(secret.len(), SECRET_LENGTH);
            assert!(
                secret.bytes().all(|b| b.is_ascii_alphanumeric()),
                "{secret}"
            );
        }
        let distinct: std::collections::BTreeSet<&String> = secrets.iter().collect();
        assert_eq!(distinct.len(), secrets.len());
        // 86,000 characters: each of the 62 is expected about 1,387 times; one that never
        // comes (or comes rarely) would mean a broken mapping.
        let mut counts = [0u32; 256];
        for byte in secrets.iter().flat_map(|s| s.bytes()) {
            counts[usize::from(byte)] += 1;
        }
        for &c in SECRET_ALPHABET {
            let n = counts[usize::from(c)];
            assert!(
                (1100..1700).contains(&n),
                "{} came {n} times",
                char::from(c)
            );
        }
    }

    #[test]
    fn bytes_past_the_unbiased_limit_are_dropped() {
        assert_eq!(UNBIASED_LIMIT, 248);
        let mut out = String::new();
        take_unbiased(&[0, 61, 62, 247, 248, 255, 25, 26], &mut out);
        assert_eq!(out, "A9A9Za");
    }

    #[test]
    fn batches_are_drawn_until_the_secret_is_complete() {
        // The first batch holds only bytes to drop, the second ten usable ones, the
        // third the rest.
        let mut batches = 0;
        let secret = generate_with(|buffer| {
            batches += 1;
            match batches {
                1 => buffer.fill(250),
                2 => {
                    buffer.fill(255);
                    buffer[..10].fill(1);
                }
                _ => buffer.fill(2),
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(batches, 3);
        assert_eq!(
            secret.expose_secret(),
            format!("{}{}", "B".repeat(10), "C".repeat(76))
        );
    }

    #[test]
    fn a_failing_random_source_is_an_error() {
        let error = generate_with(|_| Err(RandomError("no entropy".into()))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot generate a client secret: the operating system's random source failed: no entropy"
        );
    }
}
