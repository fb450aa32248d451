//! The command line: every command, flag and help text (clap derive).
//!
//! Parsing only; `main.rs` dispatches to the command modules.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const MAIN_HELP: &str = "\
Examples:
  holdfast ./db stats
  holdfast ./db put user/1 ada
  holdfast ./db get user/1
  holdfast ./db scan --prefix user/ --limit 10 --json
  holdfast ./db verify
  holdfast dump table ./db/00000000000000000002.table

Commands that open the database take its lock (they fail while an
application has it open) and never create one: a path without a database
is an error. Opening writes what every open writes (a fresh manifest, a new
WAL segment). `verify` and `dump` only read files.

Exit codes:
  0  success (verify: no problem found)
  1  failure: an error (no database, locked, I/O), corruption found, a key not found
  2  usage: bad arguments or flags";

/// Operate, inspect and verify a holdfast database.
#[derive(Debug, Parser)]
#[command(name = "holdfast", version, after_help = MAIN_HELP)]
pub struct Cli {
    /// The database directory (every command but `dump` needs it).
    pub db: Option<PathBuf>,
    /// Keys and values are hex: arguments are parsed as hex, output is
    /// printed as hex (default: UTF-8, non-UTF-8 bytes escaped as \xNN).
    #[arg(long, global = true)]
    pub hex: bool,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// `put` and `delete` only: create the database if there is none
    /// (every other command refuses a path without a database).
    #[arg(long, global = true)]
    pub create: bool,
    /// Let compaction dispose of expired records automatically while the
    /// tool has the database open (default: review, disposal only on
    /// request, whatever the application uses).
    #[arg(long, global = true)]
    pub auto_dispose: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Levels, tables, sizes, counters and records-layer counts.
    #[command(after_help = "Example:\n  holdfast ./db stats\n  holdfast ./db stats --json")]
    Stats,
    /// Print the value of a key (exit 1 if it is absent).
    #[command(
        after_help = "Examples:\n  holdfast ./db get user/1\n  holdfast ./db get --hex 75736572 --json"
    )]
    Get {
        /// The key.
        key: String,
    },
    /// Set a key to a value.
    #[command(
        after_help = "Examples:\n  holdfast ./db put user/1 ada\n  holdfast ./db put --hex 00ff 0102 --sync"
    )]
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Return only once the write is fsynced.
        #[arg(long)]
        sync: bool,
    },
    /// Delete a key (deleting an absent key succeeds).
    #[command(after_help = "Example:\n  holdfast ./db delete user/1")]
    Delete {
        /// The key.
        key: String,
        /// Return only once the write is fsynced.
        #[arg(long)]
        sync: bool,
    },
    /// List live keys and values in key order.
    #[command(
        after_help = "Examples:\n  holdfast ./db scan --prefix user/ --limit 10\n  holdfast ./db scan --from a --to m --reverse --json"
    )]
    Scan(ScanArgs),
    /// Check every checksum of every file (WAL, tables, manifest, CURRENT,
    /// audit trail and its hash chain); exit 1 if anything is damaged.
    #[command(after_help = VERIFY_HELP)]
    Verify {
        /// No progress bar (it is also hidden when stderr is not a terminal).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Compact the whole database.
    #[command(after_help = "Example:\n  holdfast ./db compact")]
    Compact,
    /// Write a consistent, openable copy of the database (an online
    /// backup: tables hard-linked where possible, WAL and audit trail
    /// copied). The target must not exist or be an empty directory.
    #[command(
        after_help = "Examples:\n  holdfast ./db checkpoint /backups/db-2026-11-24\n  holdfast ./db-copy stats   # the copy is a database of its own"
    )]
    Checkpoint {
        /// Where to write the copy.
        dir: PathBuf,
    },
    /// Decode one file: a WAL segment, a table, a manifest or the audit trail.
    #[command(after_help = DUMP_HELP)]
    Dump {
        /// What kind of file it is.
        kind: DumpKind,
        /// The file (relative to the database directory, if one is given
        /// and the path does not exist as is).
        file: PathBuf,
        /// Print whole values in text output (default: the first 64 bytes).
        #[arg(long)]
        values: bool,
    },
    /// Legal holds: list, place, release.
    #[command(
        subcommand,
        after_help = "Examples:\n  holdfast ./db holds list\n  holdfast ./db holds place case-7 --prefix invoice/ --issuer legal\n  holdfast ./db holds release case-7"
    )]
    Holds(HoldsCommand),
    /// Retention policies.
    #[command(
        subcommand,
        after_help = "Example:\n  holdfast ./db policies list --json"
    )]
    Policies(PoliciesCommand),
    /// The audit trail: verify, export, checkpoint.
    #[command(
        subcommand,
        after_help = "Examples:\n  holdfast ./db audit verify\n  holdfast ./db audit checkpoint\n  holdfast ./db audit export > trail.jsonl"
    )]
    Audit(AuditCommand),
    /// List the records eligible for disposal now.
    #[command(after_help = "Example:\n  holdfast ./db eligible --json")]
    Eligible,
    /// Remove the bytes of deleted and disposed records from every file now.
    #[command(after_help = "Example:\n  holdfast ./db purge")]
    Purge,
}

const VERIFY_HELP: &str = "\
Examples:
  holdfast ./db verify
  holdfast ./db verify --quiet --json

Verify takes the database's lock: it fails while an application has the
database open, since a running engine changes files under the reader.
A torn tail in the newest WAL segment (what a crash leaves, cut on the next
open) and orphan files are warnings, not problems.

Exit codes: 0 no problem, 1 problems found or verify could not run, 2 usage.";

const DUMP_HELP: &str = "\
Examples:
  holdfast dump wal ./db/00000000000000000003.wal
  holdfast dump table ./db/00000000000000000002.table --json
  holdfast ./db dump manifest MANIFEST-00000000000000000004
  holdfast dump audit ./db/AUDIT-00000000000000000001

Dump reads the file only (no lock). Corruption is reported with the file
and offset (exit 1).";

/// Flags of `scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Only keys starting with this prefix.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub prefix: Option<String>,
    /// Start at this key (inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Stop before this key (exclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// At most this many pairs.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Descending key order.
    #[arg(long)]
    pub reverse: bool,
    /// Print keys only.
    #[arg(long)]
    pub keys_only: bool,
}

/// The file kinds `dump` decodes.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DumpKind {
    /// A WAL segment (`N.wal`).
    Wal,
    /// A sorted table (`N.table`).
    Table,
    /// A manifest (`MANIFEST-N`).
    Manifest,
    /// The audit trail (`AUDIT-N`).
    Audit,
}

/// `holds` subcommands.
#[derive(Debug, Subcommand)]
pub enum HoldsCommand {
    /// The holds in force.
    #[command(after_help = "Example:\n  holdfast ./db holds list --json")]
    List,
    /// Place a legal hold on one key or on every key with a prefix.
    #[command(
        after_help = "Examples:\n  holdfast ./db holds place case-7 --prefix invoice/ --issuer legal --reason \"litigation 7\"\n  holdfast ./db holds place h2 --key user/1 --issuer legal"
    )]
    Place {
        /// The hold's id (unique among the holds in force).
        id: String,
        /// Hold exactly this key.
        #[arg(long, required_unless_present = "prefix", conflicts_with = "prefix")]
        key: Option<String>,
        /// Hold every key with this prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// Who places the hold (recorded in the audit trail).
        #[arg(long)]
        issuer: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Release a hold.
    #[command(after_help = "Example:\n  holdfast ./db holds release case-7")]
    Release {
        /// The hold's id.
        id: String,
    },
}

/// `policies` subcommands.
#[derive(Debug, Subcommand)]
pub enum PoliciesCommand {
    /// The defined policies.
    #[command(after_help = "Example:\n  holdfast ./db policies list")]
    List,
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Re-hash the whole chain; with --against, also check a checkpoint
    /// kept elsewhere (detects truncation and rewritten history).
    #[command(
        after_help = "Examples:\n  holdfast ./db audit verify\n  holdfast ./db audit verify --against 42:9f86d081884c7d65...\n\nExit codes: 0 intact, 1 damaged or not matching the checkpoint, 2 usage."
    )]
    Verify {
        /// A checkpoint `seq:hash` from `audit checkpoint`.
        #[arg(long)]
        against: Option<String>,
    },
    /// Write the trail as JSON lines (one object per entry).
    #[command(after_help = "Example:\n  holdfast ./db audit export > trail.jsonl")]
    Export,
    /// Print the trail's head `seq:hash`, to keep outside the database.
    #[command(after_help = "Example:\n  holdfast ./db audit checkpoint >> /secure/checkpoints")]
    Checkpoint,
}
