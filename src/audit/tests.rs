//! Tests of the audit trail on a simulated disk: round trips, tampering of
//! every kind, truncation against checkpoints, torn tails, crashes, failed
//! fsyncs and the JSON export re-verified from its own lines.

use super::entry::{hex, HASH_DOMAIN};
use super::file::{audit_file_name, AUDIT_FILE_NUMBER, AUDIT_MAGIC};
use super::samples::samples;
use super::*;
use crate::fs::{
    CallKind, Fault, FaultPlan, FaultyFileSystem, FileSystem, OpenMode, PowerCut, SimFileSystem,
    UnsyncedFate,
};
use crate::options::RecoveryMode;
use crate::wal::format::{encode_record, encode_segment_header, SEGMENT_HEADER_LEN};
use crate::wal::read_segment;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A sync mark's frame: header and payload.
const MARK_FRAME_LEN: usize = crate::wal::format::FRAME_HEADER_LEN + super::file::SYNC_MARK_LEN;

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

fn path() -> PathBuf {
    dir().join(audit_file_name(AUDIT_FILE_NUMBER))
}

fn fresh() -> (SimFileSystem, AuditLog) {
    let fs = SimFileSystem::new(7);
    fs.create_dir_all(&dir()).unwrap();
    let log = AuditLog::open(&fs, &dir()).unwrap();
    (fs, log)
}

/// Appends `n` entries cycling through every event kind.
fn fill(log: &mut AuditLog, n: usize) -> Vec<AuditEntry> {
    let events = samples();
    (0..n)
        .map(|i| {
            let actor = format!("user-{}", i % 3);
            let time = 1_700_000_000_000 + i as i64 * 1000;
            log.append(time, actor, events[i % events.len()].clone())
                .unwrap()
        })
        .collect()
}

fn file_bytes(fs: &SimFileSystem) -> Vec<u8> {
    fs.live_image().file(&path()).unwrap().to_vec()
}

/// A machine booted from `fs`'s disk with the audit file replaced.
fn boot_with(fs: &SimFileSystem, bytes: &[u8]) -> SimFileSystem {
    let mut image = fs.live_image();
    image.set_file(&path(), Bytes::copy_from_slice(bytes));
    SimFileSystem::from_image(&image, 11)
}

/// Rewrites the audit file under a live handle.
fn overwrite(fs: &SimFileSystem, bytes: &[u8]) {
    let file = fs.open(&path(), OpenMode::ReadWrite).unwrap();
    file.truncate(0).unwrap();
    file.append(bytes).unwrap();
}

/// Each entry record's offset and payload (sync marks left out).
fn records(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let bytes = Bytes::copy_from_slice(bytes);
    let contents = read_segment(
        Path::new("t"),
        AUDIT_MAGIC,
        AUDIT_FILE_NUMBER,
        &bytes,
        true,
        RecoveryMode::Strict,
    )
    .unwrap();
    contents
        .records
        .iter()
        .filter(|r| super::file::decode_sync_mark(&r.payload).is_none())
        .map(|r| (r.offset, r.payload.to_vec()))
        .collect()
}

/// A well-framed audit file holding `payloads`.
fn framed(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = encode_segment_header(AUDIT_MAGIC, AUDIT_FILE_NUMBER).to_vec();
    for p in payloads {
        encode_record(p, &mut out);
    }
    out
}

fn entries(log: &AuditLog) -> Vec<AuditEntry> {
    log.iter().unwrap().collect::<crate::Result<_>>().unwrap()
}

#[test]
fn an_empty_trail_opens_verifies_and_reopens() {
    let (fs, log) = fresh();
    assert_eq!(log.checkpoint(), AuditCheckpoint::EMPTY);
    assert_eq!(log.verify().unwrap(), AuditCheckpoint::EMPTY);
    log.verify_against(&AuditCheckpoint::EMPTY).unwrap();
    assert_eq!(file_bytes(&fs).len(), SEGMENT_HEADER_LEN);
    let again = AuditLog::open(&fs, &dir()).unwrap();
    assert_eq!(again.checkpoint(), AuditCheckpoint::EMPTY);
    assert!(again.torn_tail().is_none());
    assert_eq!(again.path(), path());
}

#[test]
fn every_event_kind_round_trips_through_the_file() {
    let (fs, mut log) = fresh();
    let written = fill(&mut log, samples().len());
    assert_eq!(entries(&log), written);
    assert_eq!(log.verify().unwrap(), log.checkpoint());
    assert_eq!(log.checkpoint().seq, written.len() as u64);

    let mut again = AuditLog::open(&fs, &dir()).unwrap();
    assert_eq!(again.checkpoint(), log.checkpoint());
    assert_eq!(entries(&again), written);
    // The chain continues across the reopen.
    let next = again
        .append(
            2_000_000_000_000,
            "ops",
            AuditEvent::Purged {
                records: 1,
                bytes: 2,
                files: 3,
            },
        )
        .unwrap();
    assert_eq!(next.seq, written.len() as u64 + 1);
    assert_eq!(next.prev_hash, written.last().unwrap().hash);
    again.verify_against(&log.checkpoint()).unwrap();
}

#[test]
fn refused_appends_write_nothing() {
    let (fs, mut log) = fresh();
    fill(&mut log, 2);
    let before = file_bytes(&fs);
    let purge = AuditEvent::Purged {
        records: 0,
        bytes: 0,
        files: 0,
    };
    let late = log.checkpoint();
    for err in [
        log.append(1_800_000_000_000, "", purge.clone())
            .unwrap_err(),
        log.append(0, "ops", purge.clone()).unwrap_err(),
        log.append(
            1_800_000_000_000,
            "ops",
            AuditEvent::GovernanceBypass {
                key: vec![0; crate::KEY_LEN_MAX + 1],
                action: BypassAction::Delete,
                retain_until: 0,
                reason: String::new(),
            },
        )
        .unwrap_err(),
    ] {
        assert!(matches!(err, crate::Error::InvalidArgument(_)), "{err}");
    }
    assert_eq!(file_bytes(&fs), before);
    assert_eq!(log.checkpoint(), late);
    log.append(1_800_000_000_000, "ops", purge).unwrap();
    log.verify().unwrap();
}

#[test]
fn every_flipped_byte_is_detected() {
    let (fs, mut log) = fresh();
    fill(&mut log, 4);
    let checkpoint = log.checkpoint();
    let good = file_bytes(&fs);
    let last_record = records(&good).last().unwrap().0 as usize;
    // The sync mark after the last entry is not part of the trail: damage
    // to it loses nothing, and a reopen cuts it as a torn tail.
    let mark = good.len() - MARK_FRAME_LEN;
    for i in 0..good.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= mask;
            overwrite(&fs, &bad);
            if i >= mark {
                let reopened = AuditLog::open(&boot_with(&fs, &bad), &dir()).unwrap();
                assert!(reopened.torn_tail().is_some(), "byte {i}");
                reopened.verify_against(&checkpoint).unwrap();
                continue;
            }
            // The live handle re-reads the file: verify fails.
            let err = log.verify().unwrap_err();
            assert!(err.is_corruption(), "byte {i} mask {mask:#x}: {err}");
            // A fresh open fails, or — only for the last record, which a
            // torn append could have left the same way — cuts it, and the
            // checkpoint catches the loss.
            let machine = boot_with(&fs, &bad);
            match AuditLog::open(&machine, &dir()) {
                Err(err) => assert!(err.is_corruption(), "byte {i}: {err}"),
                Ok(reopened) => {
                    assert!(i >= last_record, "byte {i} before the last record was cut");
                    assert!(reopened.torn_tail().is_some(), "byte {i}");
                    assert!(reopened
                        .verify_against(&checkpoint)
                        .unwrap_err()
                        .is_corruption());
                }
            }
        }
    }
    overwrite(&fs, &good);
    assert_eq!(log.verify().unwrap(), checkpoint);
}

#[test]
fn damage_before_the_last_entry_is_never_cut() {
    let (fs, mut log) = fresh();
    fill(&mut log, 3);
    let good = file_bytes(&fs);
    let second = records(&good)[1].0 as usize;
    let mut bad = good.clone();
    bad[second + 10] ^= 0x20;
    let machine = boot_with(&fs, &bad);
    let err = AuditLog::open(&machine, &dir()).unwrap_err();
    assert!(err.to_string().contains("sync mark"), "{err}");
    assert!(matches!(err, crate::Error::Corruption { offset, .. } if offset == second as u64));
    assert_eq!(file_bytes(&machine), bad, "nothing was cut");
}

#[test]
fn a_dropped_entry_is_detected() {
    let (fs, mut log) = fresh();
    let written = fill(&mut log, 5);
    let payloads: Vec<Vec<u8>> = records(&file_bytes(&fs)).into_iter().map(|r| r.1).collect();
    // Re-framed with valid CRCs: only the chain can tell.
    let mut without = payloads.clone();
    without.remove(2);
    let err = AuditLog::open(&boot_with(&fs, &framed(&without)), &dir()).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    // Renumbered after the gap, so that the sequence is contiguous again.
    let mut renumbered: Vec<Vec<u8>> = payloads[..2].to_vec();
    for e in &written[3..] {
        let forged = AuditEntry {
            seq: e.seq - 1,
            ..e.clone()
        };
        renumbered.push(forged.encode().unwrap());
    }
    let err = AuditLog::open(&boot_with(&fs, &framed(&renumbered)), &dir()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    overwrite(&fs, &framed(&renumbered));
    assert!(log.verify().unwrap_err().is_corruption());
}

#[test]
fn reordered_entries_are_detected() {
    let (fs, mut log) = fresh();
    let written = fill(&mut log, 5);
    let payloads: Vec<Vec<u8>> = records(&file_bytes(&fs)).into_iter().map(|r| r.1).collect();
    let mut swapped = payloads.clone();
    swapped.swap(1, 2);
    let err = AuditLog::open(&boot_with(&fs, &framed(&swapped)), &dir()).unwrap_err();
    assert!(err.to_string().contains("out of order"), "{err}");
    // Swapped and renumbered: the links break instead.
    let mut renumbered = payloads.clone();
    renumbered[1] = AuditEntry {
        seq: 2,
        ..written[2].clone()
    }
    .encode()
    .unwrap();
    renumbered[2] = AuditEntry {
        seq: 3,
        ..written[1].clone()
    }
    .encode()
    .unwrap();
    let err = AuditLog::open(&boot_with(&fs, &framed(&renumbered)), &dir()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    // The live handle's iterator stops at the first broken link.
    overwrite(&fs, &framed(&renumbered));
    let got: Vec<_> = log.iter().unwrap().collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().unwrap(), &written[0]);
    assert!(got[1].as_ref().unwrap_err().is_corruption());
}

#[test]
fn truncation_and_rewrites_are_caught_by_a_checkpoint() {
    let (fs, mut log) = fresh();
    fill(&mut log, 5);
    let checkpoint = log.checkpoint();
    let text = checkpoint.to_string(); // kept "elsewhere"
    let good = file_bytes(&fs);
    let ends: Vec<usize> = records(&good)[1..]
        .iter()
        .map(|r| r.0 as usize)
        .chain([good.len()])
        .collect();
    // Cut at the end of entry 3: a valid, shorter chain.
    let short = &good[..ends[2]];
    let machine = boot_with(&fs, short);
    let mut rolled_back = AuditLog::open(&machine, &dir()).unwrap();
    assert!(
        rolled_back.torn_tail().is_none(),
        "a clean cut looks like a shorter trail"
    );
    assert_eq!(rolled_back.verify().unwrap().seq, 3);
    let kept: AuditCheckpoint = text.parse().unwrap();
    let err = rolled_back.verify_against(&kept).unwrap_err();
    assert!(err.to_string().contains("truncation"), "{err}");
    // Rewritten with fresh, valid hashes up to the same length: still caught.
    for i in 0..2 {
        rolled_back
            .append(
                1_900_000_000_000 + i,
                "mallory",
                AuditEvent::ClockAdvanced { from: 0, to: 1 },
            )
            .unwrap();
    }
    assert_eq!(rolled_back.verify().unwrap().seq, 5);
    let err = rolled_back.verify_against(&kept).unwrap_err();
    assert!(err.to_string().contains("rewritten"), "{err}");
    // An earlier checkpoint still matches the untouched prefix.
    let early = AuditCheckpoint {
        seq: 2,
        hash: entries(&log)[1].hash,
    };
    rolled_back.verify_against(&early).unwrap();
    // Under the live handle, a truncation fails plain verify (its own head).
    overwrite(&fs, short);
    assert!(log.verify().unwrap_err().to_string().contains("truncation"));
    // And the whole file deleted: a new empty trail, caught by the checkpoint.
    let mut image = fs.live_image();
    assert!(image.remove(&path()));
    let machine = SimFileSystem::from_image(&image, 3);
    let empty = AuditLog::open(&machine, &dir()).unwrap();
    assert!(empty.verify_against(&kept).is_err());
}

#[test]
fn a_torn_tail_is_cut_and_the_prefix_kept() {
    let (fs, mut log) = fresh();
    let written = fill(&mut log, 4);
    let good = file_bytes(&fs);
    // The file ends `.. e4 | mark`: the last entry, then its sync mark.
    let last = records(&good).last().unwrap().0 as usize;
    let mark = good.len() - MARK_FRAME_LEN;
    let garbage = [&good[..], &[0u8; 100][..], &[0xAB; 50][..]].concat();
    let mut tails: Vec<Vec<u8>> = (last..good.len()).map(|cut| good[..cut].to_vec()).collect();
    tails.push(garbage);
    for bytes in tails {
        let machine = boot_with(&fs, &bytes);
        let mut reopened = AuditLog::open(&machine, &dir()).unwrap();
        let expect_cut = if bytes.len() > good.len() {
            good.len()
        } else if bytes.len() >= mark {
            mark // a torn mark: every entry is kept
        } else {
            last
        };
        let torn = reopened.torn_tail().cloned();
        if bytes.len() == last || bytes.len() == mark {
            assert!(torn.is_none(), "a clean boundary is not torn");
        } else {
            let torn = torn.unwrap();
            assert_eq!(torn.offset, expect_cut as u64);
            assert_eq!(torn.bytes, (bytes.len() - expect_cut) as u64);
        }
        // Open fsyncs and marks entries no mark covered (the last one,
        // when the cut kept it without its mark).
        let marked = if expect_cut == mark {
            MARK_FRAME_LEN
        } else {
            0
        };
        assert_eq!(
            file_bytes(&machine).len(),
            expect_cut + marked,
            "cut on disk"
        );
        let kept = entries(&reopened);
        assert_eq!(kept[..], written[..kept.len()]);
        // The trail goes on from the kept prefix, and records the cut.
        let event = AuditEvent::TornTailRemoved {
            offset: expect_cut as u64,
            bytes: 1,
        };
        let entry = reopened.append(1_900_000_000_000, "engine", event).unwrap();
        assert_eq!(entry.seq, kept.len() as u64 + 1);
        assert_eq!(
            AuditLog::open(&machine, &dir()).unwrap().verify().unwrap(),
            reopened.checkpoint()
        );
    }
    // A torn creation: the header itself is incomplete.
    for cut in 0..SEGMENT_HEADER_LEN {
        let machine = boot_with(&fs, &good[..cut]);
        let reopened = AuditLog::open(&machine, &dir()).unwrap();
        assert_eq!(reopened.checkpoint(), AuditCheckpoint::EMPTY);
        assert_eq!(
            file_bytes(&machine),
            good[..SEGMENT_HEADER_LEN],
            "header rewritten"
        );
    }
}

#[test]
fn a_crash_at_any_point_keeps_every_acknowledged_entry() {
    let fs = SimFileSystem::new(99);
    fs.create_dir_all(&dir()).unwrap();
    fs.sync_dir(Path::new("/")).unwrap();
    let mut cuts: Vec<PowerCut> = UnsyncedFate::ALL
        .iter()
        .map(|f| PowerCut::Uniform(*f))
        .collect();
    cuts.extend((0..3).map(PowerCut::Seeded));
    fs.record_crash_images(cuts);
    let mut log = AuditLog::open(&fs, &dir()).unwrap();
    let mut acked = Vec::new(); // (mutating ops when acknowledged, entry)
    let events = samples();
    for i in 0..8 {
        let entry = log
            .append(1000 + i as i64, "a", events[i % events.len()].clone())
            .unwrap();
        acked.push((fs.mutating_ops(), entry));
    }
    let images = fs.take_crash_images();
    assert!(images.len() > 30, "{}", images.len());
    for crash in images {
        let machine = SimFileSystem::from_image(&crash.image, crash.op);
        let reopened = AuditLog::open(&machine, &dir())
            .unwrap_or_else(|e| panic!("crash after op {} ({}): {e}", crash.op, crash.last_op));
        let got = entries(&reopened);
        let must_have = acked.iter().filter(|(op, _)| *op <= crash.op).count();
        assert!(
            got.len() >= must_have,
            "op {}: {} < {must_have}",
            crash.op,
            got.len()
        );
        assert!(got.len() <= must_have + 1, "op {}", crash.op);
        for (g, (_, w)) in got.iter().zip(&acked) {
            assert_eq!(g, w);
        }
        reopened.verify().unwrap();
    }
}

#[test]
fn a_failed_fsync_or_write_poisons_the_log() {
    for (kind, fault) in [
        (CallKind::Sync, Fault::Eio),
        (CallKind::Append, Fault::ShortWrite),
    ] {
        let sim = SimFileSystem::new(5);
        sim.create_dir_all(&dir()).unwrap();
        let faulty = FaultyFileSystem::new(Arc::new(sim.clone()));
        let mut log = AuditLog::open(&faulty, &dir()).unwrap();
        let written = fill(&mut log, 3);
        faulty.arm(FaultPlan {
            kind: Some(kind),
            ..FaultPlan::nth_call(1, fault)
        });
        let purge = AuditEvent::Purged {
            records: 1,
            bytes: 1,
            files: 1,
        };
        let err = log
            .append(1_800_000_000_000, "ops", purge.clone())
            .unwrap_err();
        assert!(matches!(err, crate::Error::Io { .. }), "{err}");
        assert_eq!(faulty.fired().len(), 1, "the fault fired");
        // Never retried: every later append is refused, even with the disk fine.
        let err = log
            .append(1_800_000_000_001, "ops", purge.clone())
            .unwrap_err();
        assert!(matches!(err, crate::Error::Poisoned { .. }), "{err}");
        assert_eq!(
            log.checkpoint().seq,
            3,
            "nothing unacknowledged is the head"
        );
        // Reopening recovers: the failed entry is there whole or not at all.
        let mut reopened = AuditLog::open(&sim, &dir()).unwrap();
        let got = entries(&reopened);
        assert!(got.len() == 3 || got.len() == 4, "{kind:?}: {}", got.len());
        assert_eq!(got[..3], written[..]);
        reopened.verify_against(&log.checkpoint()).unwrap();
        reopened.append(1_800_000_000_002, "ops", purge).unwrap();
    }
}

#[test]
fn unexpected_audit_files_are_refused() {
    let (fs, _log) = fresh();
    let other = dir().join(audit_file_name(2));
    fs.open(&other, OpenMode::CreateNew).unwrap();
    let err = AuditLog::open(&fs, &dir()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(
        err.to_string().contains("AUDIT-00000000000000000002"),
        "{err}"
    );
}

#[test]
fn export_jsonl_parses_and_reverifies_from_its_own_lines() {
    let (fs, mut log) = fresh();
    let written = fill(&mut log, samples().len());
    let mut out = Vec::new();
    assert_eq!(log.export_jsonl(&mut out).unwrap(), log.checkpoint());
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), written.len());
    assert!(text.ends_with('\n'));
    let mut prev = hex(&GENESIS_HASH);
    for (line, entry) in lines.iter().zip(&written) {
        let value = json::parse(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let field = |k: &str| value.get(k).unwrap_or_else(|| panic!("no {k} in {line}"));
        assert_eq!(field("seq"), &json::Value::Num(entry.seq.to_string()));
        assert_eq!(field("time"), &json::Value::Num(entry.time.to_string()));
        assert_eq!(field("actor").str(), entry.actor);
        assert_eq!(
            field("event").get("type").unwrap().str(),
            entry.event.name()
        );
        // Re-verify the chain from the export alone, as a third party would.
        assert_eq!(field("prev_hash").str(), prev);
        let body = unhex(field("body").str());
        let mut h = Sha256::new();
        h.update(HASH_DOMAIN);
        h.update(&body);
        h.update(unhex(&prev));
        let computed: [u8; HASH_LEN] = h.finalize().into();
        assert_eq!(field("hash").str(), hex(&computed));
        assert_eq!(body, entry.canonical_body().unwrap());
        prev = hex(&entry.hash);
    }
    // Spot checks of the field conventions.
    let first = json::parse(lines[0]).unwrap();
    assert_eq!(
        first.get("time_utc").unwrap().str(),
        "2023-11-14T22:13:20.000Z"
    );
    let event = |i: usize| json::parse(lines[i]).unwrap().get("event").unwrap().clone();
    assert_eq!(event(1).get("prefix").unwrap().str(), hex(b"inv/"));
    assert_eq!(event(1).get("previous"), Some(&json::Value::Null));
    assert_eq!(event(2).get("previous").unwrap().str(), "old \"quoted\"\n");
    assert_eq!(
        event(9).get("scope").unwrap().get("kind").unwrap().str(),
        "prefix"
    );
    assert_eq!(event(9).get("reason").unwrap().str(), "litigation ✓");

    // A trail tampered behind valid CRCs exports the good prefix, then fails.
    let mut payloads: Vec<Vec<u8>> = records(&file_bytes(&fs)).into_iter().map(|r| r.1).collect();
    let forged = AuditEntry {
        actor: "mallory".into(),
        ..written[2].clone()
    };
    payloads[2] = forged.encode().unwrap();
    overwrite(&fs, &framed(&payloads));
    let mut out = Vec::new();
    assert!(log.export_jsonl(&mut out).unwrap_err().is_corruption());
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A minimal strict JSON parser, enough to check the export's syntax.
mod json {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Num(String),
        Str(String),
        Arr(Vec<Value>),
        Obj(Vec<(String, Value)>),
    }

    impl Value {
        pub fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }

        pub fn str(&self) -> &str {
            match self {
                Value::Str(s) => s,
                other => panic!("not a string: {other:?}"),
            }
        }
    }

    pub fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing bytes at {}", p.i));
        }
        Ok(v)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && b" \t\r\n".contains(&self.s[self.i]) {
                self.i += 1;
            }
        }

        fn peek(&self) -> Option<u8> {
            self.s.get(self.i).copied()
        }

        fn eat(&mut self, b: u8) -> Result<(), String> {
            if self.peek() == Some(b) {
                self.i += 1;
                Ok(())
            } else {
                Err(format!("expected {:?} at {}", b as char, self.i))
            }
        }

        fn lit(&mut self, word: &str, v: Value) -> Result<Value, String> {
            if self.s[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                Ok(v)
            } else {
                Err(format!("bad literal at {}", self.i))
            }
        }

        fn value(&mut self) -> Result<Value, String> {
            self.ws();
            match self.peek().ok_or("unexpected end")? {
                b'{' => {
                    self.i += 1;
                    let mut fields = Vec::new();
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        return Ok(Value::Obj(fields));
                    }
                    loop {
                        self.ws();
                        let k = self.string()?;
                        self.ws();
                        self.eat(b':')?;
                        let v = self.value()?;
                        if fields.iter().any(|(f, _)| *f == k) {
                            return Err(format!("duplicate key {k}"));
                        }
                        fields.push((k, v));
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(Value::Obj(fields));
                            }
                            _ => return Err(format!("bad object at {}", self.i)),
                        }
                    }
                }
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        return Ok(Value::Arr(items));
                    }
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(Value::Arr(items));
                            }
                            _ => return Err(format!("bad array at {}", self.i)),
                        }
                    }
                }
                b'"' => self.string().map(Value::Str),
                b'n' => self.lit("null", Value::Null),
                b't' => self.lit("true", Value::Bool(true)),
                b'f' => self.lit("false", Value::Bool(false)),
                b'-' | b'0'..=b'9' => {
                    let start = self.i;
                    if self.peek() == Some(b'-') {
                        self.i += 1;
                    }
                    let digits = self.i;
                    while matches!(self.peek(), Some(b'0'..=b'9')) {
                        self.i += 1;
                    }
                    let n = &self.s[digits..self.i];
                    if n.is_empty() || (n.len() > 1 && n[0] == b'0') {
                        return Err(format!("bad number at {start}"));
                    }
                    Ok(Value::Num(
                        String::from_utf8(self.s[start..self.i].to_vec()).unwrap(),
                    ))
                }
                other => Err(format!("unexpected {:?} at {}", other as char, self.i)),
            }
        }

        fn string(&mut self) -> Result<String, String> {
            self.eat(b'"')?;
            let mut out = String::new();
            loop {
                let rest = std::str::from_utf8(&self.s[self.i..]).map_err(|e| e.to_string())?;
                let c = rest.chars().next().ok_or("unterminated string")?;
                self.i += c.len_utf8();
                match c {
                    '"' => return Ok(out),
                    '\\' => {
                        let e = self.peek().ok_or("bad escape")?;
                        self.i += 1;
                        match e {
                            b'"' => out.push('"'),
                            b'\\' => out.push('\\'),
                            b'/' => out.push('/'),
                            b'n' => out.push('\n'),
                            b'r' => out.push('\r'),
                            b't' => out.push('\t'),
                            b'b' => out.push('\u{8}'),
                            b'f' => out.push('\u{c}'),
                            b'u' => {
                                let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                                self.i += 4;
                                let code = u32::from_str_radix(h, 16).map_err(|e| e.to_string())?;
                                out.push(char::from_u32(code).ok_or("surrogate")?);
                            }
                            _ => return Err(format!("bad escape at {}", self.i)),
                        }
                    }
                    c if (c as u32) < 0x20 => return Err(format!("raw control at {}", self.i)),
                    c => out.push(c),
                }
            }
        }
    }

    #[test]
    fn the_checker_itself_rejects_bad_json() {
        assert!(parse(r#"{"a":[1,-2,null,true],"b":{"c":"\u0041\n"}}"#).is_ok());
        for bad in [
            "{",
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            "\"\n\"",
            r#"{"a":1}x"#,
            r#"{"a":1,"a":2}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

/// The fuzz seeds were made by an independent Python encoder of the
/// format: they must decode here, and mutations of them must never panic.
#[test]
fn fuzz_seeds_decode_and_mutations_never_panic() {
    let entry_seed: &[u8] = include_bytes!("../../fuzz/seeds/audit_entry/entry-worked-example");
    let file_seed: &[u8] = include_bytes!("../../fuzz/seeds/audit_entry/file-two-entries");
    let torn_seed: &[u8] = include_bytes!("../../fuzz/seeds/audit_entry/file-torn-tail");
    let entry = AuditEntry::decode(&entry_seed[1..]).unwrap();
    assert_eq!((entry.seq, entry.actor.as_str()), (1, "ops"));
    for (seed, seq, torn) in [(file_seed, 2, false), (torn_seed, 1, true)] {
        let (fs, _log) = fresh();
        let header = encode_segment_header(AUDIT_MAGIC, AUDIT_FILE_NUMBER);
        let machine = boot_with(&fs, &[&header[..], &seed[1..]].concat());
        let log = AuditLog::open(&machine, &dir()).unwrap();
        assert_eq!(log.checkpoint().seq, seq);
        assert_eq!(log.torn_tail().is_some(), torn);
        assert_eq!(entries(&log)[0], entry);
    }
    let mut rng = crate::fs::SimRng::new(2024);
    for round in 0..3000 {
        let seed = [entry_seed, file_seed, torn_seed][round % 3];
        let mut input = seed.to_vec();
        for _ in 0..rng.between(1, 4) {
            let at = rng.between(0, input.len() - 1);
            match rng.below(3) {
                0 => input[at] ^= 1 << rng.below(8),
                1 => input[at] = rng.next_u64() as u8,
                _ => input.truncate(at.max(1)),
            }
        }
        crate::fuzzing::audit_entry(&input);
    }
}
