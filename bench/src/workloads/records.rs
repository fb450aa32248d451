//! Workloads of the records layer (retention policies, holds). That layer
//! does not exist yet, so these report "not applicable" rather than a
//! stand-in figure.
//!
//! Hook for later: once holdfast has a records API, implement
//! [`fill_with_retention`] as a fill like [`super::fill::fill_random`] that
//! registers one policy and writes every record under it, and report the
//! peers as not applicable (none has per-record retention).

use super::{Ctx, Measurement, Status};

/// Fill with a retention policy on every record: not applicable yet.
pub fn fill_with_retention(ctx: &mut Ctx) -> Measurement {
    Measurement::empty(
        ctx.tag(),
        "fill-retention",
        Status::NotApplicable,
        if ctx.engine == crate::engines::EngineKind::Holdfast {
            "holdfast's records layer is not built yet".into()
        } else {
            "no per-record retention in this engine".into()
        },
    )
}
