//! The Unified Social Credit Code (统一社会信用代码, GB 32100-2015).
//!
//! Every enterprise that applies for a certification is identified by its USCC. We validate it
//! when it enters the system so that a typo is caught on the form, not weeks later by an officer
//! comparing paper records. Only the GB 32100 check character (position 18) is enforced; the
//! embedded GB 11714 organisation-code check is deliberately not a hard rule (RULES.md §7).
//!
//! Positions 3–8 are the region code of the *registration authority* at the time the code was
//! assigned. They say nothing reliable about the enterprise's current jurisdiction (属地), so this
//! module exposes no accessor for them: eligibility rules must use an explicit, confirmed
//! jurisdiction attribute instead.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The 31 characters a USCC may contain, in value order (I, O, S, V and Z are excluded).
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights for positions 1–17: `3^(i-1) mod 31`.
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// Number of characters in a USCC.
const LEN: usize = 18;

/// A syntactically valid Unified Social Credit Code whose check character matches.
///
/// The only way to obtain one is [`Uscc::parse`] (or deserialising, which calls it), so any
/// `Uscc` held by the domain is known to be well-formed and upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Uscc(#[serde(deserialize_with = "deserialize_checked")] String);

/// Why a string is not a valid USCC. Positions are 1-based, as printed on a business licence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// The code does not have exactly 18 characters.
    #[error("a unified social credit code has 18 characters, but {found} were given")]
    Length {
        /// Number of characters found (after trimming).
        found: usize,
    },
    /// A character outside the 31-character set (which excludes I, O, S, V and Z).
    #[error("character '{found}' at position {position} is not allowed in a unified social credit code")]
    Character {
        /// 1-based position of the offending character.
        position: usize,
        /// The character as it was entered.
        found: char,
    },
    /// Positions 3–8 (the registration authority's region code) must be digits.
    #[error("position {position} must be a digit (positions 3 to 8 are a region code)")]
    RegionDigits {
        /// 1-based position of the first non-digit.
        position: usize,
    },
    /// The check character (position 18) does not match the first 17 characters.
    #[error("check character '{found}' does not match: expected '{expected}'; please re-check the code")]
    Checksum {
        /// The check character computed from positions 1–17.
        expected: char,
        /// The check character that was entered.
        found: char,
    },
}

impl UsccError {
    /// The same message in Chinese, for the people who type the code.
    pub fn zh(&self) -> String {
        match self {
            UsccError::Length { found } => format!("统一社会信用代码应为 18 位，现为 {found} 位"),
            UsccError::Character { position, found } => {
                format!("第 {position} 位的“{found}”不能用于统一社会信用代码（不含 I、O、S、V、Z）")
            }
            UsccError::RegionDigits { position } => {
                format!("第 {position} 位应为数字（第 3 至 8 位是登记管理机关行政区划码）")
            }
            UsccError::Checksum { expected, found } => {
                format!("校验位“{found}”与前 17 位不符（应为“{expected}”），请核对代码")
            }
        }
    }
}

impl Uscc {
    /// Validates user input and returns the normalised (trimmed, upper-case) code.
    ///
    /// Lower-case letters are accepted because people type codes by hand; everything else that
    /// GB 32100-2015 forbids is rejected with the first problem found.
    pub fn parse(input: &str) -> Result<Uscc, UsccError> {
        let trimmed = input.trim();
        let found = trimmed.chars().count();
        if found != LEN {
            return Err(UsccError::Length { found });
        }

        let mut values = [0u32; LEN];
        for (index, c) in trimmed.chars().enumerate() {
            let position = index + 1;
            let value = char_value(c.to_ascii_uppercase()).ok_or(UsccError::Character { position, found: c })?;
            if (3..=8).contains(&position) && value > 9 {
                return Err(UsccError::RegionDigits { position });
            }
            values[index] = value;
        }

        let expected = check_char(&values);
        let found = trimmed.chars().last().map_or(' ', |c| c.to_ascii_uppercase());
        if expected != found {
            return Err(UsccError::Checksum { expected, found });
        }
        Ok(Uscc(trimmed.to_ascii_uppercase()))
    }

    /// Completes 17 characters with their check character: demo data and tests make valid codes
    /// this way instead of borrowing real companies' codes.
    pub fn complete(first17: &str) -> Option<Uscc> {
        let chars: Vec<char> = first17.chars().collect();
        if chars.len() != LEN - 1 {
            return None;
        }
        let mut values = [0u32; LEN];
        for (i, c) in chars.iter().enumerate() {
            values[i] = char_value(*c)?;
        }
        Uscc::parse(&format!("{first17}{}", check_char(&values))).ok()
    }

    /// The normalised code, e.g. for storage or display.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Uscc {
    type Err = UsccError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uscc::parse(s)
    }
}

impl AsRef<str> for Uscc {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Keeps deserialisation as strict as [`Uscc::parse`], so stored or posted codes cannot bypass it.
fn deserialize_checked<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let raw = String::deserialize(deserializer)?;
    Uscc::parse(&raw).map(|uscc| uscc.0).map_err(serde::de::Error::custom)
}

/// Value of an (upper-case) character in the USCC alphabet, or `None` if it is not allowed.
fn char_value(c: char) -> Option<u32> {
    let byte = u8::try_from(c).ok()?;
    let index = CHARSET.iter().position(|&allowed| allowed == byte)?;
    u32::try_from(index).ok()
}

/// Computes the GB 32100 check character from the values of positions 1–17.
fn check_char(values: &[u32; LEN]) -> char {
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(value, weight)| value * weight).sum();
    // 31 - (sum mod 31), with 31 mapped to 0: always an index in 0..31.
    let index = (31 - sum % 31) % 31;
    CHARSET.get(index as usize).map_or('0', |&byte| char::from(byte))
}

#[cfg(test)]
mod complete_tests {
    use super::Uscc;

    #[test]
    fn completing_a_known_code_gives_its_check_character() {
        assert_eq!(Uscc::complete("91440300192203821").unwrap().as_str(), "914403001922038216");
        assert!(Uscc::complete("9144030019220382").is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Valid vectors from RULES.md §7 (real, publicly published codes).
    const VALID: [&str; 4] = [
        "914403001922038216", // 华为技术有限公司, check '6'
        "9144030071526726XG", // 腾讯科技(深圳)有限公司, check 'G'
        "91310110666007217T", // hutool CreditCodeUtilTest, check 'T'
        "91440300708461136T", // 深圳市腾讯计算机系统有限公司, check 'T'
    ];

    #[test]
    fn published_codes_are_valid() {
        for code in VALID {
            let uscc = Uscc::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(uscc.as_str(), code);
        }
    }

    #[test]
    fn a_one_character_flip_of_the_check_character_is_rejected() {
        assert_eq!(Uscc::parse("914403001922038217"), Err(UsccError::Checksum { expected: '6', found: '7' }));
    }

    #[test]
    fn the_public_negative_vector_is_rejected() {
        assert_eq!(Uscc::parse("914403001922038210"), Err(UsccError::Checksum { expected: '6', found: '0' }));
        let zh = UsccError::Checksum { expected: '6', found: '0' }.zh();
        assert!(zh.contains("“0”") && zh.contains("“6”"), "{zh}");
    }

    #[test]
    fn made_up_codes_from_mock_data_are_rejected() {
        for code in ["91110000800088421P", "913301087254808020", "91110108555165137Q"] {
            assert!(matches!(Uscc::parse(code), Err(UsccError::Checksum { .. })), "{code} should fail the checksum");
        }
    }

    #[test]
    fn lowercase_input_is_accepted_and_normalised_to_uppercase() {
        let uscc = Uscc::parse("9144030071526726xg").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(uscc.as_str(), "9144030071526726XG");
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let uscc = Uscc::parse("  91310110666007217T\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(uscc.to_string(), "91310110666007217T");
    }

    #[test]
    fn excluded_letters_i_o_s_v_z_are_rejected_with_their_position() {
        for bad in ['I', 'O', 'S', 'V', 'Z', 'i', 'o', 's', 'v', 'z'] {
            let code = format!("9144030071526726{bad}G");
            assert_eq!(Uscc::parse(&code), Err(UsccError::Character { position: 17, found: bad }), "{code}");
        }
    }

    #[test]
    fn punctuation_and_non_ascii_characters_are_rejected() {
        assert_eq!(Uscc::parse("91440300-922038216"), Err(UsccError::Character { position: 9, found: '-' }));
        // A full-width digit counts as one character but is not in the alphabet.
        assert_eq!(Uscc::parse("９14403001922038216"), Err(UsccError::Character { position: 1, found: '９' }));
    }

    #[test]
    fn a_letter_in_the_region_code_is_rejected() {
        assert_eq!(Uscc::parse("9144A3001922038216"), Err(UsccError::RegionDigits { position: 5 }));
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        for (code, found) in [("", 0), ("91440300192203821", 17), ("9144030019220382166", 19)] {
            assert_eq!(Uscc::parse(code), Err(UsccError::Length { found }), "{code}");
        }
    }

    #[test]
    fn a_check_character_of_zero_is_computed_when_the_remainder_is_zero() {
        // Positions 1-17 all '0' give sum 0, so 31 - 0 = 31, which maps to '0'.
        assert!(Uscc::parse("000000000000000000").is_ok());
    }

    #[test]
    fn error_messages_are_readable() {
        let err = Uscc::parse("914403001922038217").err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("check character '7' does not match: expected '6'; please re-check the code")
        );
    }

    #[test]
    fn serialises_as_a_plain_string_and_deserialising_validates() {
        let uscc = Uscc::parse("914403001922038216").unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_string(&uscc).unwrap_or_default();
        assert_eq!(json, "\"914403001922038216\"");

        let back: Result<Uscc, _> = serde_json::from_str("\"9144030071526726xg\"");
        assert_eq!(back.ok().map(|u| u.to_string()).as_deref(), Some("9144030071526726XG"));
        let bad: Result<Uscc, _> = serde_json::from_str("\"914403001922038217\"");
        assert!(bad.is_err());
    }
}
