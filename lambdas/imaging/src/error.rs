use photopipe_shared::{ErrorName, ImageFormat};

/// Everything that can go wrong between bytes and a result. Each variant maps
/// to the [`ErrorName`] the state machine matches on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the object is empty (0 bytes)")]
    EmptyObject,
    #[error("not an image in a format we recognise (JPEG, PNG, GIF, WebP, TIFF, BMP, HEIC, AVIF)")]
    UnknownImageFormat,
    #[error("corrupt {format} image: {reason}")]
    CorruptImage {
        format: &'static str,
        reason: String,
    },
    #[error(
        "image is {width}x{height} ({pixels} pixels), more than the {max_pixels} pixels allowed; raise MAX_PIXELS to process it"
    )]
    ImageTooLarge {
        width: u32,
        height: u32,
        pixels: u64,
        max_pixels: u64,
    },
    #[error("{} images are not supported, only JPEG and PNG", .0.as_str())]
    NotSupported(ImageFormat),
    #[error(
        "JPEG with {0} is not supported: libjpeg decodes 8-bit baseline, extended and progressive JPEGs"
    )]
    UndecodableJpeg(String),
    #[error("could not encode the thumbnail: {0}")]
    Encode(String),
}

impl Error {
    pub(crate) fn corrupt(format: ImageFormat, reason: impl Into<String>) -> Self {
        Error::CorruptImage {
            format: format.as_str(),
            reason: reason.into(),
        }
    }

    /// The name the state machine's `Retry`/`Catch` match on.
    pub fn name(&self) -> ErrorName {
        match self {
            Error::EmptyObject => ErrorName::EmptyObject,
            Error::UnknownImageFormat => ErrorName::UnknownImageFormat,
            // A decoder that cannot re-encode pixels it just decoded means
            // the image held something we cannot represent: corrupt for us.
            Error::CorruptImage { .. } | Error::Encode(_) => ErrorName::CorruptImage,
            Error::ImageTooLarge { .. } => ErrorName::ImageTooLarge,
            Error::NotSupported(_) | Error::UndecodableJpeg(_) => ErrorName::NotSupportedImageType,
        }
    }
}

/// How a function answers with this error.
impl From<Error> for photopipe_shared::Failure {
    fn from(e: Error) -> Self {
        photopipe_shared::Failure {
            name: e.name(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_image_error_fails_under_its_name_with_its_message() {
        let failure = photopipe_shared::Failure::from(super::Error::EmptyObject);
        assert_eq!(
            failure.to_string(),
            "EmptyObject: the object is empty (0 bytes)"
        );
    }
}
