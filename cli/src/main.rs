//! `holdfast`: the command-line tool of the holdfast database — operate a
//! database (get, put, delete, scan, compact, holds, audit, purge), verify
//! every checksum of its files, and decode any of its files (`dump`).
//!
//! Exit codes: 0 success, 1 failure (an error, corruption found, a key not
//! found), 2 usage. The tool keeps `clap`, `indicatif` and `serde_json` out
//! of the library: it is a crate of its own, built on the library's public
//! API and its read-only `inspect` module.

mod args;
mod cmd_db;
mod cmd_dump;
mod cmd_records;
mod cmd_verify;
mod dump_json;
mod text;

use args::{Cli, Command};
use clap::Parser;
use holdfast::{Db, Disposal, Error, Options};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use text::Encoding;

/// Exit code of a failure: an error, corruption, a missing key.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage error.
pub const EXIT_USAGE: u8 = 2;

/// Why a command did not succeed: its exit code and what to say (nothing
/// when the command already printed its result, e.g. a verify report).
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// The message for stderr.
    pub message: Option<String>,
}

impl Failure {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            message: Some(message.into()),
        }
    }

    /// A failure (exit 1) with a message.
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_FAILURE,
            message: Some(message.into()),
        }
    }

    /// A failure (exit 1) whose result is already printed.
    pub fn silent() -> Failure {
        Failure {
            code: EXIT_FAILURE,
            message: None,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let hint = match &e {
            Error::Locked { .. } => {
                "\nhint: close the application (or the other holdfast command) using it"
            }
            Error::Corruption { .. } => "\nhint: run `holdfast <DB> verify` for a full report",
            _ => "",
        };
        Failure::failed(format!("{e}{hint}"))
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        if e.kind() == io::ErrorKind::BrokenPipe {
            // `holdfast ... | head`: the reader has all it wants.
            return Failure {
                code: 0,
                message: None,
            };
        }
        Failure::failed(format!("writing the output: {e}"))
    }
}

/// What every command gets: the parsed flags and the output.
pub struct Ctx<'a> {
    /// The database directory, when given.
    pub db: Option<PathBuf>,
    /// `--hex` or not.
    pub enc: Encoding,
    /// `--json`.
    pub json: bool,
    /// `--auto-dispose`.
    pub auto_dispose: bool,
    /// `--create`, honoured by the write commands.
    pub create: bool,
    /// Standard output.
    pub out: &'a mut dyn Write,
}

impl Ctx<'_> {
    /// The database directory, or a usage error.
    pub fn db_path(&self) -> Result<&Path, Failure> {
        self.db
            .as_deref()
            .ok_or_else(|| Failure::usage("this command needs a database: holdfast <DB> <COMMAND>"))
    }

    /// Opens the database, which must exist unless `--create` was given
    /// to a write command.
    pub fn open(&self) -> Result<Db, Failure> {
        let path = self.db_path()?;
        if !self.create && !holdfast::inspect::database_exists(path) {
            return Err(Failure::failed(format!(
                "no holdfast database at {} (no CURRENT, WAL, table or manifest file); nothing was created",
                path.display()
            )));
        }
        let disposal = if self.auto_dispose {
            Disposal::Automatic
        } else {
            Disposal::Review
        };
        let options = Options::default()
            .create_if_missing(self.create)
            .disposal(disposal);
        Ok(Db::open(path, options)?)
    }

    /// An argument as bytes (`--hex` aware); a bad one is a usage error.
    pub fn arg(&self, arg: &str) -> Result<Vec<u8>, Failure> {
        self.enc.parse(arg).map_err(Failure::usage)
    }

    /// Writes `value` as one line of pretty JSON.
    pub fn print_json(&mut self, value: &serde_json::Value) -> Result<(), Failure> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| Failure::failed(format!("encoding JSON: {e}")))?;
        writeln!(self.out, "{text}")?;
        Ok(())
    }
}

fn run(cli: Cli, out: &mut dyn Write) -> Result<(), Failure> {
    let mut ctx = Ctx {
        db: cli.db,
        enc: Encoding { hex: cli.hex },
        json: cli.json,
        auto_dispose: cli.auto_dispose,
        create: false,
        out,
    };
    match cli.command {
        Command::Stats => cmd_db::stats(&mut ctx),
        Command::Get { key } => cmd_db::get(&mut ctx, &key),
        Command::Put { key, value, sync } => {
            ctx.create = cli.create;
            cmd_db::put(&mut ctx, &key, &value, sync)
        }
        Command::Delete { key, sync } => {
            ctx.create = cli.create;
            cmd_db::delete(&mut ctx, &key, sync)
        }
        Command::Scan(scan) => cmd_db::scan(&mut ctx, &scan),
        Command::Compact => cmd_db::compact(&mut ctx),
        Command::Checkpoint { dir } => cmd_db::checkpoint(&mut ctx, &dir),
        Command::Verify { quiet } => cmd_verify::verify(&mut ctx, quiet),
        Command::Dump { kind, file, values } => cmd_dump::dump(&mut ctx, kind, &file, values),
        Command::Holds(holds) => cmd_records::holds(&mut ctx, holds),
        Command::Policies(policies) => cmd_records::policies(&mut ctx, policies),
        Command::Audit(audit) => cmd_records::audit(&mut ctx, audit),
        Command::Eligible => cmd_records::eligible(&mut ctx),
        Command::Purge => cmd_records::purge(&mut ctx),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage
            // errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = run(cli, &mut out);
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(failure), _) => {
            if let Some(message) = failure.message {
                eprintln!("holdfast: {message}");
            }
            ExitCode::from(failure.code)
        }
        // A closed pipe (`holdfast ... | head`) is not an error.
        (Ok(()), Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        (Ok(()), Err(e)) => {
            eprintln!("holdfast: writing the output: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
