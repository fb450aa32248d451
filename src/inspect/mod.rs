//! Read-only inspection of database files for operators and the `holdfast` CLI (issue 7; being built).
