//! The trail as JSON lines: one object per entry, for compliance officers'
//! tools and for third parties who re-verify the chain without holdfast.
//!
//! ```json
//! {"seq":1,"time":1700000000000,"time_utc":"2023-11-14T22:13:20.000Z","actor":"ops",
//!  "event":{"type":"hold_placed","hold_id":"h1","scope":{"kind":"prefix","bytes":"696e762f"},"reason":"case 7"},
//!  "prev_hash":"00…00","hash":"…","body":"01…"}
//! ```
//! (one line per entry in the real output). Conventions:
//! * byte strings (keys, prefixes, hashes, digests) are lower-case hex;
//!   text is a JSON string; times are integers, milliseconds since the
//!   Unix epoch (UTC), and the entry's time is also given as ISO 8601;
//!   an absent optional field is `null`.
//! * `body` is the hex of the entry's canonical body, so anyone can check
//!   `hash == SHA-256("holdfast-audit-v1" | body | prev_hash)` and
//!   `prev_hash == previous line's hash` with standard tools, and compare
//!   the other fields with `body` using `docs/FORMAT.md`.
//!
//! The JSON is written by hand (a dozen field kinds do not justify a serde
//! dependency); [`quote`] escapes `"`, `\` and every control character, so
//! any text an application passes stays one valid JSON string on one line.
//! Integers above 2^53 (only `seq` and purge counts could get there) lose
//! precision in JavaScript parsers.

use super::entry::{hex, AuditEntry};
use super::event::{AuditEvent, BypassAction, RecordId, RetentionMode, Scope};
use super::log::AuditLog;
use super::AuditCheckpoint;
use crate::{Error, Result};
use std::fmt::Write as _;
use std::io::Write;

impl AuditLog {
    /// Writes every entry, verified as in [`AuditLog::verify`], as one JSON
    /// object per line to `out`; returns the head exported. On a
    /// verification failure the lines already written stay in `out` and the
    /// error says where the chain broke.
    pub fn export_jsonl(&self, mut out: impl Write) -> Result<AuditCheckpoint> {
        let head = self.scan(&[self.checkpoint()], |entry| {
            let mut line = entry_json(entry)?;
            line.push('\n');
            out.write_all(line.as_bytes())
                .map_err(|e| Error::io("writing the audit export", e))
        })?;
        out.flush()
            .map_err(|e| Error::io("writing the audit export", e))?;
        Ok(head)
    }
}

/// One entry as a JSON object (without the newline).
pub fn entry_json(entry: &AuditEntry) -> Result<String> {
    let body = entry
        .canonical_body()
        .map_err(|why| Error::InvalidArgument(format!("audit entry: {why}")))?;
    let mut o = Obj::new();
    o.num("seq", entry.seq);
    o.num("time", entry.time);
    o.text("time_utc", &utc(entry.time));
    o.text("actor", &entry.actor);
    o.raw("event", &event_json(&entry.event));
    o.hex("prev_hash", &entry.prev_hash);
    o.hex("hash", &entry.hash);
    o.hex("body", &body);
    Ok(o.finish())
}

fn event_json(event: &AuditEvent) -> String {
    let mut o = Obj::new();
    o.text("type", event.name());
    match event {
        AuditEvent::PolicyDefined { policy, definition } => {
            o.text("policy", policy);
            o.text("definition", definition);
        }
        AuditEvent::DefaultPolicySet {
            prefix,
            policy,
            previous,
        } => {
            o.hex("prefix", prefix);
            o.opt_text("policy", policy.as_deref());
            o.opt_text("previous", previous.as_deref());
        }
        AuditEvent::RetentionSet {
            record_seq,
            key,
            retain_until,
            mode,
            expires_at,
            policy,
            event_pending,
            content_hash,
        } => {
            o.num("record_seq", record_seq);
            o.hex("key", key);
            o.opt_num("retain_until", *retain_until);
            o.opt_text("mode", mode.map(mode_name));
            o.opt_num("expires_at", *expires_at);
            o.opt_text("policy", policy.as_deref());
            o.opt_text("event_pending", event_pending.as_deref());
            o.opt_hex("content_hash", content_hash.as_ref().map(|h| &h[..]));
        }
        AuditEvent::RetentionExtended {
            key,
            mode,
            from,
            to,
        } => {
            o.hex("key", key);
            o.text("mode", mode_name(*mode));
            o.num("from", *from);
            o.num("to", *to);
        }
        AuditEvent::RetentionShortened {
            key,
            from,
            to,
            reason,
        } => {
            o.hex("key", key);
            o.num("from", *from);
            o.opt_num("to", *to);
            o.text("reason", reason);
        }
        AuditEvent::ModeChanged {
            key,
            from,
            to,
            retain_until,
            reason,
        } => {
            o.hex("key", key);
            o.text("from", mode_name(*from));
            o.text("to", mode_name(*to));
            o.num("retain_until", *retain_until);
            o.text("reason", reason);
        }
        AuditEvent::HoldPlaced {
            hold_id,
            scope,
            reason,
        }
        | AuditEvent::HoldReleased {
            hold_id,
            scope,
            reason,
        } => {
            o.text("hold_id", hold_id);
            o.raw("scope", &scope_json(scope));
            o.text("reason", reason);
        }
        AuditEvent::GovernanceBypass {
            key,
            action,
            retain_until,
            reason,
        } => {
            o.hex("key", key);
            o.text(
                "action",
                match action {
                    BypassAction::Overwrite => "overwrite",
                    BypassAction::Delete => "delete",
                },
            );
            o.num("retain_until", *retain_until);
            o.text("reason", reason);
        }
        AuditEvent::EventRecorded { event, scope, at } => {
            o.text("event", event);
            o.raw("scope", &scope_json(scope));
            o.num("at", *at);
        }
        AuditEvent::Disposed(receipt) => {
            match &receipt.record {
                RecordId::Key(key) => o.hex("key", key),
                RecordId::KeyDigest(digest) => o.hex("key_digest", digest),
            }
            o.num("written_at", receipt.written_at);
            o.opt_num("retain_until", receipt.retain_until);
            o.num("expires_at", receipt.expires_at);
            o.opt_text("policy", receipt.policy.as_deref());
            o.hex("content_hash", &receipt.content_hash);
            o.opt_text("approver", receipt.approver.as_deref());
        }
        AuditEvent::Purged {
            records,
            bytes,
            files,
        } => {
            o.num("records", *records);
            o.num("bytes", *bytes);
            o.num("files", *files);
        }
        AuditEvent::ClockAdvanced { from, to } => {
            o.num("from", *from);
            o.num("to", *to);
        }
        AuditEvent::TornTailRemoved { offset, bytes } => {
            o.num("offset", *offset);
            o.num("bytes", *bytes);
        }
    }
    o.finish()
}

fn scope_json(scope: &Scope) -> String {
    let mut o = Obj::new();
    match scope {
        Scope::Key(key) => {
            o.text("kind", "key");
            o.hex("bytes", key);
        }
        Scope::Prefix(prefix) => {
            o.text("kind", "prefix");
            o.hex("bytes", prefix);
        }
    }
    o.finish()
}

fn mode_name(mode: RetentionMode) -> &'static str {
    match mode {
        RetentionMode::Governance => "governance",
        RetentionMode::Compliance => "compliance",
    }
}

/// A JSON object being written, field by field.
struct Obj {
    out: String,
    empty: bool,
}

impl Obj {
    fn new() -> Self {
        Obj {
            out: String::from("{"),
            empty: true,
        }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        quote(key, &mut self.out);
        self.out.push(':');
    }

    fn raw(&mut self, key: &str, json: &str) {
        self.key(key);
        self.out.push_str(json);
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        quote(value, &mut self.out);
    }

    fn hex(&mut self, key: &str, value: &[u8]) {
        self.key(key);
        self.out.push('"');
        self.out.push_str(&hex(value));
        self.out.push('"');
    }

    fn num(&mut self, key: &str, value: impl std::fmt::Display) {
        self.key(key);
        let _ = write!(self.out, "{value}");
    }

    fn opt_text(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.text(key, v),
            None => self.raw(key, "null"),
        }
    }

    fn opt_hex(&mut self, key: &str, value: Option<&[u8]>) {
        match value {
            Some(v) => self.hex(key, v),
            None => self.raw(key, "null"),
        }
    }

    fn opt_num(&mut self, key: &str, value: Option<i64>) {
        match value {
            Some(v) => self.num(key, v),
            None => self.raw(key, "null"),
        }
    }

    fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// Appends `s` as a JSON string: `"` and `\` escaped, control characters
/// as `\n`, `\r`, `\t` or `\u00XX`; everything else as is (valid UTF-8).
pub(crate) fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `ms` since the Unix epoch as ISO 8601 UTC with milliseconds, e.g.
/// `2023-11-14T22:13:20.000Z`; years outside 0000–9999 carry a sign.
pub(crate) fn utc(ms: i64) -> String {
    const DAY_MS: i64 = 86_400_000;
    let (days, rem) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{year:+05}")
    };
    format!("{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (H. Hinnant's `civil_from_days`). No overflow for any `i64` day count
/// that an `i64` of milliseconds can produce.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_renders_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(utc(253_402_300_800_000), "+10000-01-01T00:00:00.000Z");
        assert_eq!(utc(-62_167_219_200_001), "-0001-12-31T23:59:59.999Z");
        // The extremes do not overflow.
        assert!(utc(i64::MAX).ends_with('Z'));
        assert!(utc(i64::MIN).starts_with('-'));
    }

    #[test]
    fn quote_escapes_everything_json_requires() {
        let mut out = String::new();
        quote("a\"b\\c\nd\re\tf\u{1}g\u{7f}h✓", &mut out);
        assert_eq!(out, r#""a\"b\\c\nd\re\tf\u0001g\u007fh✓""#);
    }
}
