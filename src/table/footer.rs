//! The footer: the fixed-size end of every table, from which a reader finds
//! everything else.
//!
//! | offset | size | field                                   |
//! |-------:|-----:|-----------------------------------------|
//! | 0      | 12   | filter handle (offset u64, size u32)    |
//! | 12     | 12   | index handle                            |
//! | 24     | 12   | properties handle                       |
//! | 36     | 4    | format version u32 (= 1)                |
//! | 40     | 8    | magic u64 (the bytes `HFTABLE1`)        |
//! | 48     | 4    | CRC32 of bytes 0..48                    |
//!
//! # Invariants
//! 1. The footer is the last [`FOOTER_LEN`] bytes of the file.
//! 2. The blocks it points to are laid out back to back right before it:
//!    filter, index, properties, each followed by its CRC; the properties'
//!    CRC ends where the footer begins. The decoder checks this, so every
//!    handle it returns lies inside the file.

use super::format::{
    read_u32, read_u64, BlockHandle, Malformed, FORMAT_VERSION, HANDLE_LEN, TABLE_MAGIC,
};

/// Bytes in the footer.
pub(crate) const FOOTER_LEN: usize = 52;
const VERSION_AT: usize = 3 * HANDLE_LEN;
const MAGIC_AT: usize = VERSION_AT + 4;
const CRC_AT: usize = MAGIC_AT + 8;
const _: () = assert!(CRC_AT + 4 == FOOTER_LEN);

/// The decoded footer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Footer {
    pub filter: BlockHandle,
    pub index: BlockHandle,
    pub properties: BlockHandle,
}

impl Footer {
    pub(crate) fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut out = [0u8; FOOTER_LEN];
        out[0..12].copy_from_slice(&self.filter.encode());
        out[12..24].copy_from_slice(&self.index.encode());
        out[24..36].copy_from_slice(&self.properties.encode());
        out[VERSION_AT..MAGIC_AT].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        out[MAGIC_AT..CRC_AT].copy_from_slice(&TABLE_MAGIC.to_le_bytes());
        let crc = crc32fast::hash(&out[..CRC_AT]);
        out[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes the footer, which sits at `footer_at` (the file's length
    /// minus [`FOOTER_LEN`]), and checks the block layout before it.
    pub(crate) fn decode(bytes: &[u8], footer_at: u64) -> Result<Self, Malformed> {
        if bytes.len() != FOOTER_LEN {
            return Err(Malformed::new(0, "footer has the wrong length"));
        }
        let magic = read_u64(bytes, MAGIC_AT).unwrap_or(0);
        if magic != TABLE_MAGIC {
            return Err(Malformed::new(
                MAGIC_AT,
                format!("bad magic {magic:#018x} (not a holdfast table, or truncated)"),
            ));
        }
        let stored = read_u32(bytes, CRC_AT).unwrap_or(0);
        let computed = crc32fast::hash(&bytes[..CRC_AT]);
        if stored != computed {
            return Err(Malformed::new(
                CRC_AT,
                format!("footer checksum: stored {stored:#010x}, computed {computed:#010x}"),
            ));
        }
        let version = read_u32(bytes, VERSION_AT).unwrap_or(0);
        if version != FORMAT_VERSION {
            return Err(Malformed::new(
                VERSION_AT,
                format!("unsupported table format version {version} (this build reads {FORMAT_VERSION})"),
            ));
        }
        let handle = |at: usize| {
            bytes
                .get(at..at + HANDLE_LEN)
                .and_then(BlockHandle::decode)
                .ok_or_else(|| Malformed::new(at, "bad block handle"))
        };
        let footer = Footer {
            filter: handle(0)?,
            index: handle(12)?,
            properties: handle(24)?,
        };
        // The metadata blocks are adjacent and end where the footer starts.
        let chain = [
            (footer.filter, footer.index.offset, "filter"),
            (footer.index, footer.properties.offset, "index"),
            (footer.properties, footer_at, "properties"),
        ];
        for (at, (handle, next, name)) in chain.into_iter().enumerate() {
            if handle.offset > footer_at || handle.end_with_crc() != next {
                return Err(Malformed::new(
                    at * HANDLE_LEN,
                    format!(
                        "{name} block at {} of {} bytes does not end where the next structure starts ({next})",
                        handle.offset, handle.size
                    ),
                ));
            }
        }
        Ok(footer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footer() -> Footer {
        Footer {
            filter: BlockHandle {
                offset: 100,
                size: 20,
            },
            index: BlockHandle {
                offset: 124,
                size: 30,
            },
            properties: BlockHandle {
                offset: 158,
                size: 90,
            },
        }
    }

    #[test]
    fn round_trips_and_checks_layout() {
        let bytes = footer().encode();
        assert_eq!(Footer::decode(&bytes, 252).unwrap(), footer());
        assert!(
            Footer::decode(&bytes, 253).is_err(),
            "gap before the footer"
        );
        let mut gap = footer();
        gap.index.offset += 1;
        assert!(Footer::decode(&gap.encode(), 252).is_err());
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let bytes = footer().encode();
        for i in 0..FOOTER_LEN * 8 {
            let mut bad = bytes;
            bad[i / 8] ^= 1 << (i % 8);
            assert!(Footer::decode(&bad, 252).is_err(), "bit {i}");
        }
    }
}
