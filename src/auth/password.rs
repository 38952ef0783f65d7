//! Password hashing (Argon2id) and the minimum password policy.
//!
//! Hashes are stored as self-describing PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), so
//! the cost parameters can be raised later without invalidating existing hashes: verification
//! always uses the parameters recorded in the stored string.

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Minimum number of characters (Unicode scalar values, not bytes) in a new password.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Hashes a password with Argon2id (crate defaults, random 16-byte salt) into a PHC string.
///
/// Fails only if the operating system's random number generator fails.
pub fn hash_password(plain: &str) -> anyhow::Result<String> {
    let hash = Argon2::default().hash_password(plain.as_bytes()).context("hashing password with Argon2id")?;
    Ok(hash.to_string())
}

/// Checks a password against a stored PHC string.
///
/// Returns `false` for a wrong password *and* for a malformed or unsupported stored hash: the
/// login page must not reveal which of the two happened.
#[must_use]
pub fn verify_password(plain: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default().verify_password(plain.as_bytes(), &parsed).is_ok()
}

/// Enforces the minimum policy for a new password: at least [`MIN_PASSWORD_CHARS`] characters,
/// including at least one letter and one digit.
///
/// Kept deliberately simple (NIST SP 800-63B discourages complex composition rules); the error
/// is a user-facing English sentence.
pub fn check_password_policy(plain: &str) -> Result<(), &'static str> {
    if plain.chars().count() < MIN_PASSWORD_CHARS {
        return Err("the password must be at least 8 characters long");
    }
    if !plain.chars().any(char::is_alphabetic) {
        return Err("the password must contain at least one letter");
    }
    if !plain.chars().any(|c| c.is_ascii_digit()) {
        return Err("the password must contain at least one digit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        // Arrange
        let phc = hash_password("correct horse 42").unwrap_or_default();
        // Act / Assert
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(verify_password("correct horse 42", &phc));
        assert!(!verify_password("correct horse 43", &phc));
        assert!(!verify_password("", &phc));
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        let a = hash_password("s3cret-pass").unwrap_or_default();
        let b = hash_password("s3cret-pass").unwrap_or_default();
        assert_ne!(a, b);
        assert!(verify_password("s3cret-pass", &a) && verify_password("s3cret-pass", &b));
    }

    #[test]
    fn non_ascii_passwords_round_trip() {
        let phc = hash_password("密码安全2025").unwrap_or_default();
        assert!(verify_password("密码安全2025", &phc));
        assert!(!verify_password("密码安全2026", &phc));
    }

    #[test]
    fn a_malformed_stored_hash_never_verifies() {
        assert!(!verify_password("anything1", ""));
        assert!(!verify_password("anything1", "not-a-phc-string"));
        assert!(!verify_password("anything1", "$argon2id$v=19$m=19456,t=2,p=1$AAAA"));
    }

    #[test]
    fn the_policy_accepts_a_letter_and_digit_password_of_eight_characters() {
        assert_eq!(check_password_policy("abcdefg1"), Ok(()));
        assert_eq!(check_password_policy("审批流程密码12"), Ok(()));
    }

    #[test]
    fn the_policy_rejects_short_letter_only_and_digit_only_passwords() {
        assert!(check_password_policy("abc1234").is_err());
        assert!(check_password_policy("").is_err());
        assert!(check_password_policy("abcdefgh").is_err());
        assert!(check_password_policy("12345678").is_err());
        assert!(check_password_policy("!!!!!!!!").is_err());
    }
}
