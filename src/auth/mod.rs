//! Authentication primitives: password hashing and session tokens.
//!
//! This module knows nothing about HTTP. The `AuthUser` extractor in `http` reads the bearer
//! token or cookie and calls [`jwt::JwtKeys::verify`]; the login handler calls
//! [`password::verify_password`] and [`jwt::JwtKeys::issue`]. Whether a user may act on a given
//! step is decided in `domain`, not here.

pub mod jwt;
pub mod password;
