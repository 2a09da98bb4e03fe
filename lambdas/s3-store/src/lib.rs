//! What the S3-reading functions and xtask share about S3.
//!
//! The handlers of `extract-metadata` and `thumbnail` are generic over
//! [`ObjectSource`] (ranged reads) and [`ObjectStore`] (whole reads and
//! writes) so their tests run on bytes held in memory; both are implemented
//! for the S3 client from [`s3_client`], which xtask uses too. S3 errors
//! become a [`StoreError`] and, in the function's answer, a
//! `photopipe_shared::Failure` named by its `ErrorName`, which the state
//! machine matches on.

mod client;
mod failure;

use std::future::Future;
use std::ops::Range;

use photopipe_shared::ObjectRef;

pub use client::s3_client;
pub use failure::StoreError;

/// A byte range of an object and the object's full size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Fewer bytes than asked for at the object's end; none past it.
    pub bytes: Vec<u8>,
    pub object_size: u64,
}

/// Where objects are read from a range at a time. Reads of an object whose
/// `etag` is set fail with [`StoreError::Superseded`] once the key holds
/// other bytes, and with [`StoreError::NotFound`] once it is deleted.
pub trait ObjectSource {
    fn read_range(
        &self,
        object: &ObjectRef,
        range: Range<u64>,
    ) -> impl Future<Output = Result<Chunk, StoreError>> + Send;
}

/// Where whole objects are read from and written to; reads as in [`ObjectSource`].
pub trait ObjectStore {
    fn read(&self, object: &ObjectRef) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;

    /// Fails as a read would if `object` were read now.
    fn check_current(
        &self,
        object: &ObjectRef,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn write(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
