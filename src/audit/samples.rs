//! Test fixtures: one [`AuditEvent`] of every kind, with every optional
//! field both set and not, shared by the codec, chain, log and export tests.

use super::event::{AuditEvent, BypassAction, DisposalReceipt, RecordId, RetentionMode, Scope};

/// One event of every kind, with every optional field both set and not,
/// for round-trip and export tests.
pub(crate) fn samples() -> Vec<AuditEvent> {
    let receipt = DisposalReceipt {
        record: RecordId::Key(b"inv/2017/42".to_vec()),
        written_at: 1_500_000_000_000,
        retain_until: Some(1_700_000_000_000),
        expires_at: 1_710_000_000_000,
        policy: Some("invoice".into()),
        content_hash: [0xC7; 32],
        approver: Some("records-officer".into()),
    };
    vec![
        AuditEvent::PolicyDefined {
            policy: "invoice".into(),
            definition: "retain 7y after created; then dispose".into(),
        },
        AuditEvent::DefaultPolicySet {
            prefix: b"inv/".to_vec(),
            policy: Some("invoice".into()),
            previous: None,
        },
        AuditEvent::DefaultPolicySet {
            prefix: Vec::new(),
            policy: None,
            previous: Some("old \"quoted\"\n".into()),
        },
        AuditEvent::RetentionSet {
            record_seq: 7,
            key: b"inv/1".to_vec(),
            retain_until: Some(1_900_000_000_000),
            mode: Some(RetentionMode::Compliance),
            expires_at: Some(1_950_000_000_000),
            policy: Some("invoice".into()),
            event_pending: None,
            content_hash: Some([0xAB; 32]),
        },
        AuditEvent::RetentionSet {
            record_seq: 7,
            key: vec![0, 0xff, b'\n'],
            retain_until: None,
            mode: None,
            expires_at: None,
            policy: Some("account".into()),
            event_pending: Some("account-closed".into()),
            content_hash: None,
        },
        AuditEvent::RetentionExtended {
            key: b"inv/1".to_vec(),
            mode: RetentionMode::Governance,
            from: 1_900_000_000_000,
            to: 2_000_000_000_000,
        },
        AuditEvent::RetentionShortened {
            key: b"inv/1".to_vec(),
            from: 2_000_000_000_000,
            to: Some(1_800_000_000_000),
            reason: "court order 12".into(),
        },
        AuditEvent::RetentionShortened {
            key: b"inv/2".to_vec(),
            from: i64::MAX,
            to: None,
            reason: String::new(),
        },
        AuditEvent::ModeChanged {
            key: b"inv/1".to_vec(),
            from: RetentionMode::Governance,
            to: RetentionMode::Compliance,
            retain_until: 1_800_000_000_000,
            reason: "lock it".into(),
        },
        AuditEvent::HoldPlaced {
            hold_id: "case-7".into(),
            scope: Scope::Prefix(b"inv/".to_vec()),
            reason: "litigation ✓".into(),
        },
        AuditEvent::HoldReleased {
            hold_id: "case-7".into(),
            scope: Scope::Key(b"inv/1".to_vec()),
            reason: "settled".into(),
        },
        AuditEvent::GovernanceBypass {
            key: b"inv/3".to_vec(),
            action: BypassAction::Delete,
            retain_until: 1_900_000_000_000,
            reason: "duplicate".into(),
        },
        AuditEvent::GovernanceBypass {
            key: b"inv/4".to_vec(),
            action: BypassAction::Overwrite,
            retain_until: i64::MIN,
            reason: "typo".into(),
        },
        AuditEvent::EventRecorded {
            event: "account-closed".into(),
            scope: Scope::Prefix(b"acct/9/".to_vec()),
            at: -1,
        },
        AuditEvent::Disposed(receipt.clone()),
        AuditEvent::Disposed(DisposalReceipt {
            record: RecordId::KeyDigest([0x11; 32]),
            retain_until: None,
            policy: None,
            approver: None,
            ..receipt
        }),
        AuditEvent::Purged {
            records: 3,
            bytes: 4096,
            files: 2,
        },
        AuditEvent::ClockAdvanced {
            from: 1_700_000_000_000,
            to: 1_800_000_000_000,
        },
        AuditEvent::TornTailRemoved {
            offset: 20,
            bytes: u64::MAX,
        },
    ]
}
