//! The records-layer commands: `holds`, `policies`, `audit`, `eligible`,
//! `purge`.

use crate::args::{AuditCommand, HoldsCommand, PoliciesCommand};
use crate::{Ctx, Failure};
use holdfast::records::{Clause, RecordMeta};
use holdfast::{AuditCheckpoint, Hold, Mode, Policy, Scope, Timestamp};
use serde_json::{json, Value};

/// `holds list|place|release`.
pub fn holds(ctx: &mut Ctx<'_>, command: HoldsCommand) -> Result<(), Failure> {
    match command {
        HoldsCommand::List => {
            let db = ctx.open()?;
            let holds = db.holds();
            db.close()?;
            if ctx.json {
                let list: Vec<Value> = holds
                    .iter()
                    .map(|p| {
                        let (kind, bytes) = scope_parts(&p.hold.scope);
                        json!({
                            "id": p.hold.id, "scope": kind, "bytes": ctx.enc.show(bytes),
                            "reason": p.hold.reason, "issuer": p.hold.issuer,
                            "placed_at": p.placed_at.as_millis(),
                            "placed_at_utc": p.placed_at.to_string(),
                        })
                    })
                    .collect();
                return ctx.print_json(&Value::Array(list));
            }
            if holds.is_empty() {
                writeln!(ctx.out, "no holds in force")?;
            }
            for p in holds {
                let (kind, bytes) = scope_parts(&p.hold.scope);
                writeln!(
                    ctx.out,
                    "{}\t{kind} {}\tplaced {} by {}\t{}",
                    p.hold.id,
                    ctx.enc.show(bytes),
                    p.placed_at,
                    p.hold.issuer,
                    p.hold.reason
                )?;
            }
            Ok(())
        }
        HoldsCommand::Place {
            id,
            key,
            prefix,
            issuer,
            reason,
        } => {
            let scope = match (key, prefix) {
                (Some(key), _) => Scope::Key(ctx.arg(&key)?),
                (None, Some(prefix)) => Scope::Prefix(ctx.arg(&prefix)?),
                (None, None) => return Err(Failure::usage("give --key or --prefix")),
            };
            let db = ctx.open()?;
            db.place_hold(Hold {
                id: id.clone(),
                scope,
                reason,
                issuer,
            })?;
            db.close()?;
            done(ctx, &format!("hold {id} placed"))
        }
        HoldsCommand::Release { id } => {
            let db = ctx.open()?;
            db.release_hold(&id)?;
            db.close()?;
            done(ctx, &format!("hold {id} released"))
        }
    }
}

fn done(ctx: &mut Ctx<'_>, message: &str) -> Result<(), Failure> {
    if ctx.json {
        ctx.print_json(&json!({"ok": true, "message": message}))
    } else {
        writeln!(ctx.out, "{message}")?;
        Ok(())
    }
}

fn scope_parts(scope: &Scope) -> (&'static str, &[u8]) {
    match scope {
        Scope::Key(bytes) => ("key", bytes),
        Scope::Prefix(bytes) => ("prefix", bytes),
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Governance => "governance",
        Mode::Compliance => "compliance",
    }
}

/// `policies list`.
pub fn policies(ctx: &mut Ctx<'_>, command: PoliciesCommand) -> Result<(), Failure> {
    let PoliciesCommand::List = command;
    let db = ctx.open()?;
    let policies = db.policies();
    db.close()?;
    if ctx.json {
        let list: Vec<Value> = policies.iter().map(policy_json).collect();
        return ctx.print_json(&Value::Array(list));
    }
    if policies.is_empty() {
        writeln!(ctx.out, "no policies defined")?;
    }
    for policy in &policies {
        let clauses: Vec<String> = policy.clauses().iter().map(clause_text).collect();
        let then = if policy.disposes() { "dispose" } else { "keep" };
        writeln!(
            ctx.out,
            "{}\t{}; {}; then {then}",
            policy.name(),
            mode_name(policy.mode()),
            clauses.join("; ")
        )?;
    }
    Ok(())
}

fn clause_text(clause: &Clause) -> String {
    match clause {
        Clause::AfterCreation(period) => format!("retain {period} after creation"),
        Clause::AfterEvent { event, period } => format!("retain {period} after event {event:?}"),
    }
}

fn policy_json(policy: &Policy) -> Value {
    json!({
        "name": policy.name(),
        "mode": mode_name(policy.mode()),
        "clauses": policy.clauses().iter().map(clause_text).collect::<Vec<_>>(),
        "disposes": policy.disposes(),
    })
}

/// `audit verify|export|checkpoint`.
pub fn audit(ctx: &mut Ctx<'_>, command: AuditCommand) -> Result<(), Failure> {
    let against = match &command {
        AuditCommand::Verify {
            against: Some(text),
        } => Some(
            text.parse::<AuditCheckpoint>()
                .map_err(|e| Failure::usage(format!("--against: {e}")))?,
        ),
        _ => None,
    };
    let db = ctx.open()?;
    let audit = db.audit();
    let result = match command {
        AuditCommand::Verify { .. } => audit.verify().and_then(|head| {
            if let Some(checkpoint) = &against {
                audit.verify_against(checkpoint)?;
            }
            Ok(head)
        }),
        AuditCommand::Export => audit.export_jsonl(&mut *ctx.out),
        AuditCommand::Checkpoint => audit.checkpoint(),
    };
    db.close()?;
    let head = result?;
    if matches!(command, AuditCommand::Export) {
        return Ok(());
    }
    if ctx.json {
        return ctx
            .print_json(&json!({"ok": true, "seq": head.seq, "checkpoint": head.to_string()}));
    }
    match command {
        AuditCommand::Verify { .. } => {
            let checked = if against.is_some() {
                " and matches the checkpoint"
            } else {
                ""
            };
            writeln!(
                ctx.out,
                "audit trail intact{checked}: {} entries, head {head}",
                head.seq
            )?;
        }
        _ => writeln!(ctx.out, "{head}")?,
    }
    Ok(())
}

/// `eligible`: records expired and unheld, which disposal would remove.
pub fn eligible(ctx: &mut Ctx<'_>) -> Result<(), Failure> {
    let db = ctx.open()?;
    let records: Vec<_> = db.eligible_for_disposal()?.collect();
    db.close()?;
    if ctx.json {
        let list: Vec<Value> = records
            .iter()
            .map(|r| {
                let mut meta = meta_json(&r.meta);
                meta["key"] = json!(ctx.enc.show(&r.key));
                meta["value_bytes"] = json!(r.value.len());
                meta
            })
            .collect();
        return ctx.print_json(&Value::Array(list));
    }
    if records.is_empty() {
        writeln!(ctx.out, "no record is eligible for disposal")?;
    }
    for r in &records {
        let expired = r.meta.expires_at.map_or("-".to_string(), |t| t.to_string());
        let policy = r.meta.policy.as_deref().unwrap_or("-");
        writeln!(
            ctx.out,
            "{}\texpired {expired}\tpolicy {policy}",
            ctx.enc.show(&r.key)
        )?;
    }
    Ok(())
}

fn meta_json(meta: &RecordMeta) -> Value {
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string());
    json!({
        "written_at": time(meta.written_at),
        "retain_until": time(meta.retain_until),
        "mode": meta.mode.map(mode_name),
        "expires_at": time(meta.expires_at),
        "policy": meta.policy,
        "event_pending": meta.event_pending,
        "holds": meta.holds,
    })
}

/// `purge`.
pub fn purge(ctx: &mut Ctx<'_>) -> Result<(), Failure> {
    let db = ctx.open()?;
    let report = db.purge()?;
    db.close()?;
    if ctx.json {
        return ctx.print_json(&json!({
            "disposed": report.disposed,
            "files_removed": report.files_removed,
            "files_written": report.files_written,
            "bytes_before": report.bytes_before,
            "bytes_after": report.bytes_after,
            "live_snapshots": report.live_snapshots,
        }));
    }
    writeln!(
        ctx.out,
        "purged: {} disposed, {} files removed, {} written, {} -> {} bytes",
        report.disposed,
        report.files_removed,
        report.files_written,
        report.bytes_before,
        report.bytes_after
    )?;
    Ok(())
}
