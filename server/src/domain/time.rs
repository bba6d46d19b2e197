//! Time as stored: microseconds since the Unix epoch.

use prost_types::Timestamp;

use super::FieldViolation;

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// Seconds in a day, for retention periods.
pub const DAY: i64 = 86_400;

/// The current time.
pub fn now() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_micros() as i64)
        .unwrap_or_default()
}

/// Seconds to microseconds.
pub const fn seconds(seconds: i64) -> Micros {
    seconds * 1_000_000
}

pub fn to_timestamp(micros: Micros) -> Timestamp {
    Timestamp { seconds: micros.div_euclid(1_000_000), nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32 }
}

pub fn to_optional_timestamp(micros: Option<Micros>) -> Option<Timestamp> {
    micros.map(to_timestamp)
}

/// Years 1 to 9999, the range RFC 3339 (and `google.protobuf.Timestamp`) allows.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

/// Parses a request timestamp, naming `field` if it is out of range.
pub fn from_timestamp(field: &str, timestamp: &Timestamp) -> Result<Micros, FieldViolation> {
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&timestamp.seconds) || !(0..1_000_000_000).contains(&timestamp.nanos) {
        return Err(FieldViolation::new(field, "timestamp out of range (years 1 to 9999)"));
    }
    Ok(timestamp.seconds * 1_000_000 + i64::from(timestamp.nanos) / 1_000)
}

/// Parses an RFC 3339 timestamp or a `YYYY-MM-DD` date (midnight UTC).
pub fn parse_rfc3339(text: &str) -> Option<Micros> {
    let full = if text.len() == 10 { format!("{text}T00:00:00Z") } else { text.to_owned() };
    let timestamp: Timestamp = full.parse().ok()?;
    from_timestamp("", &timestamp).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_micros() {
        for micros in [0, 1, -1, 1_700_000_000_123_456, -62_135_596_800_000_000] {
            let timestamp = to_timestamp(micros);
            assert_eq!(from_timestamp("t", &timestamp).unwrap(), micros);
        }
    }

    #[test]
    fn out_of_range_timestamps_name_the_field() {
        let error = from_timestamp("task.due_time", &Timestamp { seconds: i64::MAX, nanos: 0 }).unwrap_err();
        assert_eq!(error.field, "task.due_time");
        assert!(from_timestamp("t", &Timestamp { seconds: 0, nanos: -1 }).is_err());
    }

    #[test]
    fn dates_and_rfc3339_parse() {
        assert_eq!(parse_rfc3339("1970-01-02"), Some(seconds(DAY)));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500_000));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
