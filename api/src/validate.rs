//! Checks of user input at the edge: lengths in characters, control characters, resident ID
//! numbers (GB 11643), phone numbers, and the masking that keeps their shape.

use crate::error::{Result, bad_input};

/// Text of `min..=max` characters (not bytes), without NUL or other control characters except
/// tab, line feed and carriage return. Blank text counts as empty.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let count = value.chars().count();
    if value.trim().is_empty() && min > 0 {
        return Err(bad_input(field, format!("{field} must not be empty")));
    }
    if count < min || count > max {
        return Err(bad_input(
            field,
            format!("{field} must be {min} to {max} characters long"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(bad_input(
            field,
            format!("{field} contains a control character"),
        ));
    }
    Ok(())
}

/// Optional text: absent is fine, present must satisfy [`text`] with a minimum of 1.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<()> {
    match value {
        Some(v) => text(field, v, 1, max),
        None => Ok(()),
    }
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The GB 11643 check character for the first 17 digits of a resident ID number.
pub fn id_check_char(first17: &str) -> Option<char> {
    let digits: Vec<u32> = first17
        .chars()
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()?;
    if digits.len() != 17 {
        return None;
    }
    let sum: u32 = digits.iter().zip(ID_WEIGHTS).map(|(d, w)| d * w).sum();
    Some(ID_CHECK[(sum % 11) as usize])
}

/// Validates an 18-character resident ID number and returns it normalised (trailing `x` → `X`).
pub fn id_number(field: &str, value: &str) -> Result<String> {
    let normalised = value.trim().to_uppercase();
    let bad = || {
        bad_input(
            field,
            "not a valid resident ID number (18 characters with a correct check digit)",
        )
    };
    if normalised.chars().count() != 18 || !normalised.is_ascii() {
        return Err(bad());
    }
    let (first17, last) = normalised.split_at(17);
    let expected = id_check_char(first17).ok_or_else(bad)?;
    if !last.starts_with(expected) {
        return Err(bad());
    }
    let birth = &first17[6..14];
    if chrono::NaiveDate::parse_from_str(birth, "%Y%m%d").is_err() {
        return Err(bad());
    }
    Ok(normalised)
}

/// The characters of a unified social credit code (GB 32100-2015): digits and the capital
/// letters other than I, O, Z, S and V; a character's value is its position here.
const CREDIT_CODE_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_CODE_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// An organisation's unified social credit code (统一社会信用代码): 18 characters whose last is
/// the check character over the first 17. Upper-cased; returned normalised.
pub fn credit_code(field: &str, value: &str) -> Result<String> {
    let normalised = value.trim().to_uppercase();
    let bad = || {
        bad_input(
            field,
            "not a valid unified social credit code (18 characters with a correct check character)",
        )
    };
    let values: Vec<u32> = normalised
        .chars()
        .map(|c| CREDIT_CODE_CHARS.find(c).map(|i| i as u32))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    if values.len() != 18 {
        return Err(bad());
    }
    let sum: u32 = values[..17]
        .iter()
        .zip(CREDIT_CODE_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    if values[17] != (31 - sum % 31) % 31 {
        return Err(bad());
    }
    Ok(normalised)
}

/// A mainland mobile number: 11 digits starting 13–19.
pub fn mobile(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    let ok = v.len() == 11
        && v.chars().all(|c| c.is_ascii_digit())
        && v.starts_with('1')
        && matches!(v.as_bytes()[1], b'3'..=b'9');
    if ok {
        Ok(v.to_string())
    } else {
        Err(bad_input(
            field,
            "not a mainland mobile number (11 digits, 13x–19x)",
        ))
    }
}

/// A mobile number, or a landline with area code (`0571-88886666` or `057188886666`).
pub fn phone(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if mobile(field, v).is_ok() {
        return Ok(v.to_string());
    }
    let (area, local) = match v.split_once('-') {
        Some((a, l)) => (a, l),
        None if v.len() >= 10 => v.split_at(
            if v.len() == 11 && v.starts_with("01") || v.starts_with("02") {
                3
            } else {
                4
            },
        ),
        None => ("", v),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let ok = area.starts_with('0')
        && (3..=4).contains(&area.len())
        && digits(area)
        && (7..=8).contains(&local.len())
        && digits(local);
    if ok {
        Ok(v.to_string())
    } else {
        Err(bad_input(field, "not a valid phone number"))
    }
}

/// Keeps the first `keep_head` and last `keep_tail` characters and stars the rest, so the
/// masked value has the shape of the original (`3301**********1234`, `138****5678`).
pub fn mask(value: &str, keep_head: usize, keep_tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= keep_head + keep_tail {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_head || i >= chars.len() - keep_tail {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

pub fn mask_id_number(value: &str) -> String {
    mask(value, 4, 4)
}

pub fn mask_phone(value: &str) -> String {
    mask(value, 3, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_sample_id_numbers_pass_the_check_digit() {
        assert_eq!(
            id_number("id", "11010519491231002x").unwrap(),
            "11010519491231002X"
        );
        assert_eq!(
            id_number("id", "440524188001010014").unwrap(),
            "440524188001010014"
        );
    }

    #[test]
    fn published_credit_codes_pass_and_a_changed_character_does_not() {
        for code in [
            "91350100M000100Y43",
            "91110000600037341L",
            "91440300708461136t",
        ] {
            assert_eq!(credit_code("c", code).unwrap(), code.to_uppercase());
        }
        // One character changed, a letter the standard leaves out, a short code.
        for code in [
            "91350100M000100Y44",
            "91350100M000100I43",
            "91350100M000100Y4",
        ] {
            assert!(credit_code("c", code).is_err(), "{code}");
        }
    }

    #[test]
    fn wrong_check_digit_or_length_or_birth_date_is_refused() {
        assert!(id_number("id", "110105194912310021").is_err());
        assert!(id_number("id", "11010519491231002").is_err());
        assert!(id_number("id", "110105194913310027").is_err()); // month 13
        assert!(id_number("id", "１１０１０５１９４９１２３１００２X").is_err()); // full-width digits
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        assert!(text("title", &"信".repeat(200), 1, 200).is_ok());
        assert!(text("title", &"信".repeat(201), 1, 200).is_err());
        assert!(text("title", "  ", 1, 200).is_err());
        assert!(text("title", "a\u{0}b", 1, 200).is_err());
        assert!(text("content", "line one\nline two\ttab", 1, 200).is_ok());
    }

    #[test]
    fn phones() {
        assert!(mobile("phone", "13812345678").is_ok());
        assert!(mobile("phone", "12812345678").is_err());
        assert!(mobile("phone", "1381234567").is_err());
        assert!(phone("phone", "0571-88886666").is_ok());
        assert!(phone("phone", "010-12345678").is_ok());
        assert!(phone("phone", "88886666").is_err());
    }

    #[test]
    fn masks_keep_the_shape() {
        assert_eq!(mask_id_number("330106199001011234"), "3301**********1234");
        assert_eq!(mask_phone("13812345678"), "138****5678");
    }
}
