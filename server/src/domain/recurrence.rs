//! Recurrence rules: an RFC 5545 RRULE evaluated in an IANA time zone,
//! and when the next occurrence of a recurring task falls.
//!
//! The rule is expanded in local time from its start (DTSTART, the
//! series' anchor): a task due at 09:00 in Europe/Berlin stays due at 09:00
//! there across daylight saving changes. Month days a month lacks are
//! skipped, as RFC 5545 says (`BYMONTHDAY=31` has no April instant);
//! `BYMONTHDAY=-1` is every month's last day.

use chrono::{LocalResult, TimeZone, Utc};
use rrule::{Frequency, RRule, Unvalidated};
use tasktracker_proto::v1;

use super::{FieldViolation, Invalid, Violations, time::Micros};

/// Longest rule text.
pub const MAX_RULE_LENGTH: usize = 500;
/// Largest `COUNT`.
pub const MAX_COUNT: u32 = 1_000;
/// Largest `INTERVAL`.
pub const MAX_INTERVAL: u16 = 1_000;
/// Most instants the expansion looks at before giving up on finding the
/// next one (the crate's own iteration limits apply too).
const LOOKAHEAD: u16 = 2;

/// When the next occurrence falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecurrenceMode {
    /// The rule's next instant after the current occurrence's due time.
    FromDue,
    /// The rule restarted on the completion day: its first instant after
    /// the completion.
    FromCompletion,
}

impl RecurrenceMode {
    pub fn from_proto(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match v1::RecurrenceMode::try_from(value) {
            Ok(v1::RecurrenceMode::Unspecified | v1::RecurrenceMode::FromDue) => Ok(Self::FromDue),
            Ok(v1::RecurrenceMode::FromCompletion) => Ok(Self::FromCompletion),
            Err(_) => Err(FieldViolation::new(field, format!("unknown mode {value}"))),
        }
    }

    pub fn to_proto(self) -> v1::RecurrenceMode {
        match self {
            Self::FromDue => v1::RecurrenceMode::FromDue,
            Self::FromCompletion => v1::RecurrenceMode::FromCompletion,
        }
    }

    pub fn stored(self) -> i16 {
        self.to_proto() as i16
    }

    pub fn from_stored(value: i16) -> Self {
        Self::from_proto("", value.into()).unwrap_or(Self::FromDue)
    }
}

/// A valid recurrence: the rule parses, its frequency is at most hourly,
/// its COUNT and INTERVAL are bounded, and the zone exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Recurrence {
    /// The RRULE value without the `RRULE:` prefix.
    rule: String,
    zone: chrono_tz::Tz,
    mode: RecurrenceMode,
}

impl Recurrence {
    /// Parses `recurrence`, naming `{prefix}.rule`, `{prefix}.time_zone`
    /// and `{prefix}.mode` in its violations.
    pub fn parse(prefix: &str, recurrence: &v1::Recurrence) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let rule = violations.check(parse_rule(&format!("{prefix}.rule"), &recurrence.rule));
        let zone_field = format!("{prefix}.time_zone");
        let zone = match recurrence.time_zone.as_str() {
            "" => Some(chrono_tz::Tz::UTC),
            name => violations.check(
                name.parse::<chrono_tz::Tz>()
                    .map_err(|_| FieldViolation::new(&zone_field, format!("`{name}` is not an IANA time zone"))),
            ),
        };
        let mode = violations.check(RecurrenceMode::from_proto(&format!("{prefix}.mode"), recurrence.mode));
        violations.finish()?;
        let (rule, zone, mode) = (rule.expect("checked"), zone.expect("checked"), mode.expect("checked"));
        Ok(Self { rule, zone, mode })
    }

    /// A recurrence as stored (it was valid when stored); `None` if it no
    /// longer parses.
    pub fn from_stored(rule: &str, zone: &str, mode: i16) -> Option<Self> {
        let rule = parse_rule("", rule).ok()?;
        let zone = zone.parse().ok()?;
        Some(Self { rule, zone, mode: RecurrenceMode::from_stored(mode) })
    }

    pub fn to_proto(&self) -> v1::Recurrence {
        v1::Recurrence {
            rule: self.rule.clone(),
            time_zone: self.zone.name().to_owned(),
            mode: self.mode.to_proto() as i32,
        }
    }

    pub fn rule(&self) -> &str {
        &self.rule
    }

    pub fn zone_name(&self) -> &str {
        self.zone.name()
    }

    pub fn mode(&self) -> RecurrenceMode {
        self.mode
    }

    /// The rule's COUNT, if it has one.
    pub fn count(&self) -> Option<u32> {
        self.parsed(&self.rule).get_count()
    }

    /// Checks the rule against its start (`anchor`): UNTIL must be in UTC
    /// and not before it. Names `{prefix}.rule`.
    pub fn check_start(&self, prefix: &str, anchor: Micros) -> Result<(), FieldViolation> {
        let start = self.local(anchor).ok_or_else(|| FieldViolation::new(format!("{prefix}.rule"), "bad start"))?;
        self.parsed(&self.rule)
            .validate(start)
            .map(|_| ())
            .map_err(|error| FieldViolation::new(format!("{prefix}.rule"), error.to_string()))
    }

    /// The next occurrence's due time after an occurrence due at `due` (if
    /// it has one) completed at `completed`, for a series that started at
    /// `anchor` and has had `so_far` occurrences since; `None` once the
    /// rule has no further instant (COUNT or UNTIL).
    pub fn next(&self, anchor: Micros, due: Option<Micros>, completed: Micros, so_far: u32) -> Option<Micros> {
        match self.mode {
            RecurrenceMode::FromDue => self.first_after(&self.rule, anchor, due.unwrap_or(completed)),
            RecurrenceMode::FromCompletion => {
                if self.count().is_some_and(|count| so_far >= count) {
                    return None;
                }
                // The rule restarts on the completion day, at the series'
                // local time of day; its COUNT is of the whole series.
                let time_of_day = self.local(anchor)?.time();
                let day = self.local(completed)?.date_naive();
                let start = match self.zone.from_local_datetime(&day.and_time(time_of_day)) {
                    LocalResult::Single(start) | LocalResult::Ambiguous(start, _) => start,
                    // In a daylight saving gap: the same wall time in UTC
                    // terms, an hour off at most.
                    LocalResult::None => self.zone.from_utc_datetime(&day.and_time(time_of_day)),
                };
                let without_count: Vec<&str> =
                    self.rule.split(';').filter(|part| !part.to_ascii_uppercase().starts_with("COUNT=")).collect();
                self.first_after(&without_count.join(";"), start.timestamp_micros(), completed)
            }
        }
    }

    /// The first instant after `after` of `rule` started at `anchor`.
    fn first_after(&self, rule: &str, anchor: Micros, after: Micros) -> Option<Micros> {
        let start = self.local(anchor)?;
        let set = self.parsed(rule).build(start).ok()?;
        let from = self.local(after)?;
        let dates = set.after(from).all(LOOKAHEAD).dates;
        dates.into_iter().map(|date| date.timestamp_micros()).find(|&instant| instant > after)
    }

    /// `micros` in the rule's zone.
    fn local(&self, micros: Micros) -> Option<chrono::DateTime<rrule::Tz>> {
        Some(Utc.timestamp_micros(micros).single()?.with_timezone(&rrule::Tz::Tz(self.zone)))
    }

    fn parsed(&self, rule: &str) -> RRule<Unvalidated> {
        rule.parse().expect("a parsed rule parses again")
    }
}

/// An RRULE value: parses, at most hourly, COUNT and INTERVAL bounded.
fn parse_rule(field: &str, text: &str) -> Result<String, FieldViolation> {
    let invalid = |message: String| FieldViolation::new(field, message);
    let text = text.trim();
    let text = match text.get(..6) {
        Some(prefix) if prefix.eq_ignore_ascii_case("RRULE:") => &text[6..],
        _ => text,
    };
    if text.is_empty() {
        return Err(invalid("is required".into()));
    }
    if text.chars().count() > MAX_RULE_LENGTH {
        return Err(invalid(format!("at most {MAX_RULE_LENGTH} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("must be one line: an RRULE value such as `FREQ=WEEKLY;BYDAY=TU`".into()));
    }
    let rule: RRule<Unvalidated> =
        text.parse().map_err(|error: rrule::RRuleError| invalid(format!("is not an RFC 5545 RRULE: {error}")))?;
    if matches!(rule.get_freq(), Frequency::Secondly | Frequency::Minutely) {
        return Err(invalid("FREQ must be HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY".into()));
    }
    if rule.get_count().is_some_and(|count| count == 0 || count > MAX_COUNT) {
        return Err(invalid(format!("COUNT must be 1 to {MAX_COUNT}")));
    }
    if rule.get_interval() > MAX_INTERVAL {
        return Err(invalid(format!("INTERVAL must be at most {MAX_INTERVAL}")));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time;

    fn recurrence(rule: &str, zone: &str, mode: v1::RecurrenceMode) -> Recurrence {
        let proto = v1::Recurrence { rule: rule.into(), time_zone: zone.into(), mode: mode as i32 };
        Recurrence::parse("task.recurrence", &proto).expect("valid")
    }

    fn at(text: &str) -> Micros {
        time::parse_rfc3339(text).expect("RFC 3339")
    }

    /// The first `n` due times of a from-due series starting at `anchor`.
    fn expand(recurrence: &Recurrence, anchor: &str, n: usize) -> Vec<Micros> {
        let anchor = at(anchor);
        let mut due = vec![anchor];
        while due.len() < n {
            let last = *due.last().expect("one");
            match recurrence.next(anchor, Some(last), last, 0) {
                Some(next) => due.push(next),
                None => break,
            }
        }
        due
    }

    fn violation(rule: &str, zone: &str) -> Vec<FieldViolation> {
        let proto = v1::Recurrence { rule: rule.into(), time_zone: zone.into(), mode: 0 };
        Recurrence::parse("task.recurrence", &proto).expect_err("invalid").0
    }

    #[test]
    fn nine_o_clock_in_berlin_stays_nine_o_clock_across_both_changes() {
        let daily = recurrence("FREQ=DAILY", "Europe/Berlin", v1::RecurrenceMode::FromDue);
        // 2026-10-25: CEST (UTC+2) ends; 2027-03-28: it begins again.
        let autumn = expand(&daily, "2026-10-24T07:00:00Z", 3);
        assert_eq!(autumn, [at("2026-10-24T07:00:00Z"), at("2026-10-25T08:00:00Z"), at("2026-10-26T08:00:00Z")]);
        let spring = expand(&daily, "2027-03-27T08:00:00Z", 3);
        assert_eq!(spring, [at("2027-03-27T08:00:00Z"), at("2027-03-28T07:00:00Z"), at("2027-03-29T07:00:00Z")]);
    }

    #[test]
    fn weekly_in_new_york_keeps_the_local_time_across_daylight_saving() {
        let weekly = recurrence("RRULE:FREQ=WEEKLY;BYDAY=TU", "America/New_York", v1::RecurrenceMode::FromDue);
        // 2027-03-14: EDT (UTC-4) begins; 2027-11-07: EST (UTC-5) again.
        let spring = expand(&weekly, "2027-03-09T14:00:00Z", 3);
        assert_eq!(spring, [at("2027-03-09T14:00:00Z"), at("2027-03-16T13:00:00Z"), at("2027-03-23T13:00:00Z")]);
        let autumn = expand(&weekly, "2027-11-02T13:00:00Z", 2);
        assert_eq!(autumn, [at("2027-11-02T13:00:00Z"), at("2027-11-09T14:00:00Z")]);
    }

    #[test]
    fn every_other_tuesday_skips_a_week() {
        let biweekly = recurrence("FREQ=WEEKLY;BYDAY=TU;INTERVAL=2", "UTC", v1::RecurrenceMode::FromDue);
        let due = expand(&biweekly, "2026-12-01T09:00:00Z", 3);
        assert_eq!(due, [at("2026-12-01T09:00:00Z"), at("2026-12-15T09:00:00Z"), at("2026-12-29T09:00:00Z")]);
    }

    #[test]
    fn the_31st_skips_months_without_one_and_minus_one_is_the_last_day() {
        let thirty_first = recurrence("FREQ=MONTHLY;BYMONTHDAY=31", "Europe/Berlin", v1::RecurrenceMode::FromDue);
        let due = expand(&thirty_first, "2027-01-31T08:00:00Z", 4);
        assert_eq!(
            due,
            [
                at("2027-01-31T08:00:00Z"),
                at("2027-03-31T07:00:00Z"),
                at("2027-05-31T07:00:00Z"),
                at("2027-07-31T07:00:00Z")
            ]
        );
        let last = recurrence("FREQ=MONTHLY;BYMONTHDAY=-1", "UTC", v1::RecurrenceMode::FromDue);
        let due = expand(&last, "2027-01-31T09:00:00Z", 4);
        assert_eq!(
            due,
            [
                at("2027-01-31T09:00:00Z"),
                at("2027-02-28T09:00:00Z"),
                at("2027-03-31T09:00:00Z"),
                at("2027-04-30T09:00:00Z")
            ]
        );
    }

    #[test]
    fn the_29th_of_february_comes_every_leap_year() {
        let leap = recurrence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "UTC", v1::RecurrenceMode::FromDue);
        let due = expand(&leap, "2028-02-29T09:00:00Z", 3);
        assert_eq!(due, [at("2028-02-29T09:00:00Z"), at("2032-02-29T09:00:00Z"), at("2036-02-29T09:00:00Z")]);
    }

    #[test]
    fn count_and_until_end_the_series() {
        let three = recurrence("FREQ=DAILY;COUNT=3", "UTC", v1::RecurrenceMode::FromDue);
        assert_eq!(expand(&three, "2026-12-01T09:00:00Z", 10).len(), 3);
        let until = recurrence("FREQ=DAILY;UNTIL=20261203T090000Z", "UTC", v1::RecurrenceMode::FromDue);
        assert_eq!(expand(&until, "2026-12-01T09:00:00Z", 10).len(), 3);
    }

    #[test]
    fn from_due_follows_the_schedule_however_late_the_task_is_done() {
        let weekly = recurrence("FREQ=WEEKLY", "UTC", v1::RecurrenceMode::FromDue);
        let anchor = at("2026-12-01T09:00:00Z");
        let next = weekly.next(anchor, Some(anchor), at("2026-12-20T10:00:00Z"), 1);
        assert_eq!(next, Some(at("2026-12-08T09:00:00Z")));
    }

    #[test]
    fn from_completion_restarts_the_cadence_on_the_completion_day() {
        let every_three_days = recurrence("FREQ=DAILY;INTERVAL=3", "Europe/Berlin", v1::RecurrenceMode::FromCompletion);
        // Due at 09:00 Berlin; done late on the 10th: due again on the 13th
        // at 09:00, not on the schedule of the first due date.
        let anchor = at("2026-12-01T08:00:00Z");
        let next = every_three_days.next(anchor, Some(anchor), at("2026-12-10T15:00:00Z"), 1);
        assert_eq!(next, Some(at("2026-12-13T08:00:00Z")));
        // Done before the time of day: the restarted rule's first instant
        // (that very day) is still ahead.
        let next = every_three_days.next(anchor, Some(anchor), at("2026-12-10T06:00:00Z"), 1);
        assert_eq!(next, Some(at("2026-12-10T08:00:00Z")));
        // Across the change to summer time, 09:00 local still.
        let next = every_three_days.next(anchor, Some(anchor), at("2027-03-27T12:00:00Z"), 1);
        assert_eq!(next, Some(at("2027-03-30T07:00:00Z")));
    }

    #[test]
    fn from_completion_counts_the_whole_series() {
        let twice = recurrence("FREQ=DAILY;COUNT=2", "UTC", v1::RecurrenceMode::FromCompletion);
        let anchor = at("2026-12-01T09:00:00Z");
        assert_eq!(twice.next(anchor, None, at("2026-12-05T10:00:00Z"), 1), Some(at("2026-12-06T09:00:00Z")));
        assert_eq!(twice.next(anchor, None, at("2026-12-06T10:00:00Z"), 2), None);
    }

    #[test]
    fn bad_rules_and_zones_are_named() {
        for rule in ["", "FREQ=SOMETIMES", "FREQ=MINUTELY", "FREQ=SECONDLY", "FREQ=DAILY;COUNT=5000", "FREQ=DAILY\nX"] {
            let violations = violation(rule, "UTC");
            assert_eq!(violations.len(), 1, "{rule:?}: {violations:?}");
            assert_eq!(violations[0].field, "task.recurrence.rule", "{rule:?}");
        }
        let violations = violation("FREQ=DAILY", "Mars/Olympus_Mons");
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].field, "task.recurrence.time_zone");
    }

    #[test]
    fn until_must_be_utc_and_after_the_start() {
        let local = recurrence("FREQ=DAILY;UNTIL=20261201T090000", "Europe/Berlin", v1::RecurrenceMode::FromDue);
        assert!(local.check_start("task.recurrence", at("2026-11-01T08:00:00Z")).is_err());
        let utc = recurrence("FREQ=DAILY;UNTIL=20261201T090000Z", "Europe/Berlin", v1::RecurrenceMode::FromDue);
        assert!(utc.check_start("task.recurrence", at("2026-11-01T08:00:00Z")).is_ok());
    }
}
