//! Dates shown and edited as `YYYY-MM-DD` (UTC), converted to and from
//! protobuf timestamps without a calendar library.

use prost_types::Timestamp;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` of a timestamp (UTC).
pub fn to_day(timestamp: &Timestamp) -> String {
    let (year, month, day) = civil_from_days(timestamp.seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DD HH:MM UTC` of a timestamp.
pub fn to_day_time(timestamp: &Timestamp) -> String {
    let seconds_of_day = timestamp.seconds.rem_euclid(86_400);
    format!("{} {:02}:{:02} UTC", to_day(timestamp), seconds_of_day / 3_600, seconds_of_day % 3_600 / 60)
}

/// Midnight UTC of a `YYYY-MM-DD` day; `None` for anything else.
pub fn from_day(text: &str) -> Option<Timestamp> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i64 = parts.next().filter(|p| p.len() == 4)?.parse().ok()?;
    let month: i64 = parts.next().filter(|p| p.len() == 2)?.parse().ok()?;
    let day: i64 = parts.next().filter(|p| p.len() == 2)?.parse().ok()?;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    Some(Timestamp { seconds: days_from_civil(year, month, day) * 86_400, nanos: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        for day in ["1970-01-01", "2000-02-29", "2026-12-31", "1969-07-20", "2400-03-01"] {
            assert_eq!(to_day(&from_day(day).unwrap()), day);
        }
        assert_eq!(from_day("1970-01-02").unwrap().seconds, 86_400);
        assert_eq!(from_day("2026-11-24").unwrap().seconds, 1_795_478_400);
    }

    #[test]
    fn times_show_hours_and_minutes() {
        let timestamp = Timestamp { seconds: 1_795_478_400 + 13 * 3_600 + 5 * 60 + 59, nanos: 0 };
        assert_eq!(to_day_time(&timestamp), "2026-11-24 13:05 UTC");
    }

    #[test]
    fn invalid_days_are_rejected() {
        for text in ["", "2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "tomorrow", "2026-04-31"] {
            assert_eq!(from_day(text), None, "{text}");
        }
    }
}
