//! The second factor: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second
//! steps, what every authenticator app speaks) and one-time recovery codes.
//!
//! Codes are checked with `totp-rs`, one step either side of now (a phone's
//! clock drifts, and a code typed at the end of its step arrives in the
//! next). The step a code matched is returned so the caller can refuse it
//! a second time (RFC 6238 §5.2): see `storage::two_factor`.

use anyhow::Context;
use qrcode::{EcLevel, QrCode, render::svg};
use rand::Rng;
use totp_rs::{Builder, Secret, Totp};

use crate::domain::FieldViolation;

/// The issuer an authenticator app shows beside the account.
pub const ISSUER: &str = "Tasktracker";
/// How many recovery codes a user holds.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Bytes of a new shared secret: 160 bits, RFC 4226's recommendation.
const SECRET_BYTES: usize = 20;
/// The alphabet of recovery codes: Crockford's base32 in lower case (no
/// `i`, `l`, `o` or `u`), 5 bits a character.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters of a recovery code: 50 random bits.
const RECOVERY_CODE_LEN: usize = 10;

/// A new random shared secret, base32 (the form stored and shown).
pub fn new_secret() -> String {
    let mut bytes = [0_u8; SECRET_BYTES];
    rand::rng().fill(&mut bytes);
    Secret::from(bytes.to_vec()).to_base32()
}

fn totp(secret: &str, account: &str) -> anyhow::Result<Totp> {
    let bytes = Secret::try_from_base32(secret).map_err(|error| anyhow::anyhow!("stored TOTP secret: {error}"))?;
    // A label may not hold a colon (it separates issuer and account).
    let account = account.replace(':', "_");
    Builder::new()
        .with_secret(bytes.to_vec())
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|error| anyhow::anyhow!("TOTP parameters: {error:?}"))
}

/// The `otpauth://` URI an authenticator app imports (the QR code's
/// content) for `account` (the user's email).
pub fn otpauth_uri(secret: &str, account: &str) -> anyhow::Result<String> {
    totp(secret, account)?.to_url().map_err(|error| anyhow::anyhow!("otpauth URI: {error:?}"))
}

/// `uri` as a QR code, an SVG document (black on white, with its quiet
/// zone; about 200 pixels wide).
pub fn qr_svg(uri: &str) -> anyhow::Result<String> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).context("QR code")?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// The time step `code` matches at `unix_seconds` (one step of drift either
/// way), if any.
pub fn matching_step(secret: &str, code: &str, unix_seconds: u64) -> anyhow::Result<Option<i64>> {
    let step = totp(secret, "check")?.check(code, unix_seconds);
    Ok(step.map(|step| i64::try_from(step).unwrap_or(i64::MAX)))
}

/// The code of `secret` at `unix_seconds` (for tests and tools).
pub fn code_at(secret: &str, unix_seconds: u64) -> anyhow::Result<String> {
    Ok(totp(secret, "code")?.generate(unix_seconds).to_string())
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or(0)
}

/// `count` new recovery codes, as shown to the user (`xxxxx-xxxxx`).
pub fn new_recovery_codes(count: usize) -> Vec<String> {
    let mut rng = rand::rng();
    (0..count)
        .map(|_| {
            let chars: String = (0..RECOVERY_CODE_LEN)
                .map(|_| char::from(RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())]))
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A second factor as typed: a code from the authenticator app or a
/// recovery code.
#[derive(Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// Six digits.
    Totp(String),
    /// A recovery code, normalised (lower case, no separators).
    Recovery(String),
}

impl SecondFactor {
    /// Reads `input` (spaces and dashes ignored, any case): six digits are
    /// a TOTP code, ten characters of the recovery alphabet a recovery code.
    pub fn parse(field: &str, input: &str) -> Result<Self, FieldViolation> {
        let normalised: String =
            input.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_lowercase()).collect();
        if normalised.is_empty() {
            return Err(FieldViolation::new(field, "is required: the 6-digit code from your authenticator app"));
        }
        if normalised.len() == 6 && normalised.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Self::Totp(normalised));
        }
        if normalised.len() == RECOVERY_CODE_LEN && normalised.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
            return Ok(Self::Recovery(normalised));
        }
        Err(FieldViolation::new(
            field,
            "must be the 6-digit code from your authenticator app or a recovery code (xxxxx-xxxxx)",
        ))
    }

    /// A TOTP code only (enrolment needs the app to work).
    pub fn parse_totp(field: &str, input: &str) -> Result<String, FieldViolation> {
        match Self::parse(field, input)? {
            Self::Totp(code) => Ok(code),
            Self::Recovery(_) => {
                Err(FieldViolation::new(field, "must be the 6-digit code from your authenticator app"))
            }
        }
    }
}

/// The stored form of a recovery code (normalised as [`SecondFactor`]
/// reads it): SHA-256, as for other high-entropy secrets.
pub fn recovery_code_digest(shown: &str) -> String {
    let normalised: String = shown.chars().filter(|c| *c != '-').map(|c| c.to_ascii_lowercase()).collect();
    super::tokens::digest(&normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 vectors (secret "12345678901234567890",
    /// 8 digits there); an authenticator shows the last six. Checked by a
    /// hand-written HOTP (RFC 4226 §5.3) and by the code path the server
    /// uses, so neither can agree with the other by accident.
    const VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    /// HOTP by hand: HMAC-SHA-1 of the big-endian counter, dynamic
    /// truncation, modulo 10^8.
    fn hand_hotp(key: &[u8], counter: u64) -> u32 {
        // HMAC-SHA-1 (RFC 2104) over sha1's block of 64 bytes.
        use sha1_smol_free::sha1;
        let mut block = [0_u8; 64];
        block[..key.len()].copy_from_slice(key);
        let inner_key: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
        let outer_key: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
        let inner = sha1(&[inner_key.as_slice(), &counter.to_be_bytes()].concat());
        let mac = sha1(&[outer_key.as_slice(), &inner].concat());
        let offset = usize::from(mac[19] & 0x0f);
        let binary = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
        binary % 100_000_000
    }

    /// A minimal SHA-1 (FIPS 180-4) so the check shares no code with the
    /// crate under test.
    mod sha1_smol_free {
        pub fn sha1(message: &[u8]) -> [u8; 20] {
            let mut h: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
            let mut padded = message.to_vec();
            padded.push(0x80);
            while padded.len() % 64 != 56 {
                padded.push(0);
            }
            padded.extend_from_slice(&((message.len() as u64) * 8).to_be_bytes());
            for chunk in padded.chunks(64) {
                let mut w = [0_u32; 80];
                for (i, word) in chunk.chunks(4).enumerate() {
                    w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
                }
                for i in 16..80 {
                    w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
                }
                let [mut a, mut b, mut c, mut d, mut e] = h;
                for (i, word) in w.iter().enumerate() {
                    let (f, k) = match i {
                        0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                        20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                        40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                        _ => (b ^ c ^ d, 0xCA62_C1D6),
                    };
                    let temp = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*word);
                    (e, d, c, b, a) = (d, c, b.rotate_left(30), a, temp);
                }
                for (state, value) in h.iter_mut().zip([a, b, c, d, e]) {
                    *state = state.wrapping_add(value);
                }
            }
            let mut out = [0_u8; 20];
            for (i, word) in h.iter().enumerate() {
                out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
            }
            out
        }
    }

    #[test]
    fn rfc_6238_vectors_by_hand_and_through_the_server_code() {
        let secret = Secret::from(RFC_SECRET.to_vec()).to_base32();
        for (time, expected) in VECTORS {
            let by_hand = format!("{:08}", hand_hotp(RFC_SECRET, time / 30));
            assert_eq!(by_hand, expected, "hand-written HOTP at {time}");
            let six = &expected[2..];
            assert_eq!(code_at(&secret, time).unwrap(), six, "server code at {time}");
            let step = i64::try_from(time / 30).unwrap();
            assert_eq!(matching_step(&secret, six, time).unwrap(), Some(step), "checked at {time}");
        }
    }

    #[test]
    fn codes_match_one_step_either_side_and_no_further() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let code = code_at(&secret, now).unwrap();
        let step = i64::try_from(now / 30).unwrap();
        assert_eq!(matching_step(&secret, &code, now + 30).unwrap(), Some(step), "a step late");
        assert_eq!(matching_step(&secret, &code, now - 30).unwrap(), Some(step), "a step early");
        assert_eq!(matching_step(&secret, &code, now + 90).unwrap(), None, "three steps late");
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert_eq!(matching_step(&secret, &wrong, now).unwrap(), None);
    }

    #[test]
    fn secrets_uris_and_qr_codes() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
        assert_ne!(secret, new_secret());
        let uri = otpauth_uri(&secret, "ada@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/Tasktracker:ada%40example.com?secret="), "{uri}");
        assert!(uri.contains(&secret) && uri.contains("issuer=Tasktracker"), "{uri}");
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && svg.ends_with("</svg>"), "{}", &svg[..100.min(svg.len())]);
        assert!(svg.len() < 64 * 1024, "{} bytes", svg.len());
    }

    #[test]
    fn second_factors_are_read_leniently_and_refused_clearly() {
        assert!(matches!(SecondFactor::parse("code", " 123 456 "), Ok(SecondFactor::Totp(code)) if code == "123456"));
        let codes = new_recovery_codes(RECOVERY_CODE_COUNT);
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 11);
            let upper = code.to_uppercase();
            let Ok(SecondFactor::Recovery(read)) = SecondFactor::parse("code", &upper) else { panic!("{code}") };
            assert_eq!(super::super::tokens::digest(&read), recovery_code_digest(code));
        }
        for bad in ["", "12345", "1234567", "abc", "ilouilouil"] {
            assert!(SecondFactor::parse("code", bad).is_err(), "{bad:?}");
        }
        assert!(SecondFactor::parse_totp("code", &codes[0]).is_err());
    }
}
