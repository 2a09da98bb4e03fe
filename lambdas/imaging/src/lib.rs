//! Image code shared by the `extract-metadata` and `thumbnail` Lambdas and by
//! `cargo xtask inspect` / `cargo xtask thumbnail`.
//!
//! Architecture invariant: this crate is pure. Bytes come in, results come
//! out; it performs no I/O and knows nothing about S3, so the Lambdas, the
//! xtask commands and the tests all run the same code on the same bytes.
//!
//! Two entry points:
//! - [`probe`] reads a format's header from a prefix of the object and says
//!   how many more bytes it needs when the prefix is too short, so a caller
//!   can fetch the header of a 12 MP JPEG without fetching (or decoding) the
//!   image.
//! - [`make_thumbnail`] decodes, shrinks, turns upright and re-encodes.

// libjpeg reports a corrupt file by calling an error handler that unwinds
// back into Rust (mozjpeg-sys builds it with -fexceptions). Under
// panic=abort that unwinding is a process abort: a hostile JPEG would crash
// the function instead of failing with `CorruptImage`.
#[cfg(panic = "abort")]
compile_error!("imaging needs panic = \"unwind\": libjpeg's errors unwind into Rust");

mod dc;
mod error;
mod exif;
mod header;
pub mod mutate;
mod orientation;
mod thumbnail;

pub use error::Error;
pub use exif::{INVALID_EXIF, PARTIAL_EXIF};
pub use header::{Probe, metadata, probe};
pub use thumbnail::{EncodedThumbnail, ThumbnailOptions, make_thumbnail};

// Defined beside the other contracts, so that xtask's flags show them
// without linking the image code.
pub use photopipe_shared::{DEFAULT_MAX_PIXELS, DEFAULT_THUMBNAIL_SIZE};
