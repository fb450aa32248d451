//! Typed collections: serde values under order-preserving typed keys (issue 7; being built).
