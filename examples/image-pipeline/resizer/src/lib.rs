//! Thumbnails for the image-pipeline example: the pure part of the
//! `thumbnail` function (`wasm-functions/thumbnail`), with no funnel SDK, so
//! it is tested natively and the bench can run the same code natively and
//! as wasm.
//!
//! One image in (JPEG, PNG, GIF or WebP, recognised by its bytes, never by
//! its name), three out ([`SIZES`]):
//!
//! 1. decoded under limits ([`MAX_SIDE`], [`MAX_DECODED_BYTES`]) checked
//!    against the declared dimensions, so a decompression bomb is refused
//!    before its pixels are allocated;
//! 2. resized as a cascade: `large` from the original, `medium` from `large`,
//!    `small` from `medium` — each step reads a much smaller image, and
//!    downscaling in steps of 2x or more loses nothing visible;
//! 3. turned upright by the EXIF orientation *after* resizing, so the
//!    rotation copies a thumbnail, never the original (the bounding box is a
//!    square, so resizing before rotating gives the same dimensions);
//! 4. encoded as JPEG (quality 85) when the input was a JPEG, PNG otherwise
//!    (a GIF's first frame, a WebP's image).
//!
//! [`samples`] makes test images (photos with an EXIF orientation, PNGs,
//! decompression bombs) for this crate's tests, the pipeline's end-to-end
//! test and the bench.

pub mod samples;

use std::io::{BufRead, Read, Seek, SeekFrom};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

/// The thumbnails made of every image: name and the maximum length of the
/// long side in pixels. An image already smaller keeps its own size.
pub const SIZES: [(&str, u32); 3] = [("small", 128), ("medium", 512), ("large", 1024)];

/// The longest side, in pixels, an image may declare.
pub const MAX_SIDE: u32 = 20_000;

/// The most memory the decoded original may take (512 MiB).
pub const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;

const JPEG_QUALITY: u8 = 85;

/// Triangle (bilinear, its support scaled to the reduction so every source
/// pixel counts). Measured natively on a 1920x1080 JPEG, the whole cascade
/// took 37 ms with Triangle, 51 ms with CatmullRom (sharper, 45 vs 38 dB
/// against a direct Lanczos3 at 1024 px) and 31 ms with
/// `DynamicImage::thumbnail`, whose box sampling aliases at reductions
/// under 2x (1920 -> 1024: 29 dB; fine stripes at 128 px: 28 dB against
/// Triangle's 85).
const FILTER: FilterType = FilterType::Triangle;

/// The encoding of a thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }
}

/// One encoded thumbnail; `width` and `height` are as displayed (after the
/// EXIF orientation).
#[derive(Debug, Clone)]
pub struct Thumbnail {
    /// The name from [`SIZES`].
    pub size: &'static str,
    pub width: u32,
    pub height: u32,
    pub format: Format,
    pub bytes: Vec<u8>,
}

/// Why an image has no thumbnails. The first two are the image's fault and
/// their variant names are the function's Lambda `errorType`s.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    /// Not an image, a format other than JPEG, PNG, GIF or WebP, or
    /// truncated or corrupt data. (A JPEG cut inside its scan data still
    /// decodes, the rest filled in, as in browsers: zune-jpeg's lenient
    /// mode, which `image` does not let us change.)
    #[error("{0}")]
    InvalidImage(String),
    /// Refused by the decoder's limits before decoding.
    #[error("{0}")]
    ImageTooLarge(String),
    /// The reader failed (not the image's content).
    #[error("reading the image: {0}")]
    Read(#[source] std::io::Error),
    /// Encoding a thumbnail failed (a bug, not the image's fault).
    #[error("encoding the {size} thumbnail: {source}")]
    Encode {
        size: &'static str,
        #[source]
        source: ImageError,
    },
}

/// Makes the thumbnails of the image `reader` holds, in the order of
/// [`SIZES`]. The reader is read as the decoder needs it (a buffered file is
/// not read into memory first, except by the JPEG decoder, which holds the
/// compressed bytes).
pub fn thumbnails(mut reader: impl BufRead + Seek) -> Result<Vec<Thumbnail>, ThumbnailError> {
    let declared = declared_png_dimensions(&mut reader).map_err(ThumbnailError::Read)?;
    let mut reader = ImageReader::new(reader)
        .with_guessed_format()
        .map_err(ThumbnailError::Read)?;
    let Some(input_format) = reader.format() else {
        return Err(ThumbnailError::InvalidImage(
            "not an image: its first bytes are not a JPEG, PNG, GIF or WebP signature".into(),
        ));
    };
    // Only the allocation limit while reading the header: the dimension
    // limits are checked below, once the declared dimensions are known and
    // can be named in the error.
    let mut header_limits = Limits::no_limits();
    header_limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(header_limits);
    let mut decoder = reader.into_decoder().map_err(|e| match (e, declared) {
        // On 32-bit targets (wasm32) the PNG decoder refuses a bomb while
        // reading the header, whose output size overflows `usize`, before
        // it tells the dimensions.
        (ImageError::Limits(_), Some((width, height))) => too_large(width, height),
        (e, _) => decode_error(e),
    })?;

    let (width, height) = decoder.dimensions();
    let mut limits = Limits::no_limits();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    decoder.set_limits(limits.clone()).map_err(|e| match e {
        ImageError::Limits(_) => too_large(width, height),
        e => decode_error(e),
    })?;
    // `set_limits` checks the sides; the decoded buffer is checked here,
    // before `from_decoder` allocates it.
    limits
        .reserve(decoder.total_bytes())
        .map_err(|_| too_large(width, height))?;

    // A broken EXIF block costs the orientation, not the thumbnails.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let original = DynamicImage::from_decoder(decoder).map_err(decode_error)?;

    let output = if input_format == ImageFormat::Jpeg {
        Format::Jpeg
    } else {
        Format::Png
    };
    let mut thumbnails = Vec::with_capacity(SIZES.len());
    // Largest first, each from the previous one; moved, so the original is
    // freed as soon as `large` exists.
    let mut source = original;
    for &(size, max) in SIZES.iter().rev() {
        // From the original's dimensions, so the cascade's sizes are those
        // a direct resize would give.
        let (w, h) = fit(width, height, max);
        if (w, h) != (source.width(), source.height()) {
            source = source.resize_exact(w, h, FILTER);
        }
        thumbnails.push(encode(size, &source, orientation, output)?);
    }
    thumbnails.reverse();
    Ok(thumbnails)
}

fn too_large(width: u32, height: u32) -> ThumbnailError {
    ThumbnailError::ImageTooLarge(format!(
        "declared dimensions {width}x{height} exceed the decoder's limits \
         (max {MAX_SIDE} px a side, {} MiB decoded)",
        MAX_DECODED_BYTES >> 20
    ))
}

/// The width and height in a PNG's header (its first chunk, IHDR, by the
/// spec), if `reader` holds a PNG; leaves `reader` where it was.
fn declared_png_dimensions(
    reader: &mut (impl BufRead + Seek),
) -> std::io::Result<Option<(u32, u32)>> {
    let start = reader.stream_position()?;
    let mut head = Vec::with_capacity(24);
    reader.by_ref().take(24).read_to_end(&mut head)?;
    reader.seek(SeekFrom::Start(start))?;
    if head.len() < 24 || !head.starts_with(b"\x89PNG\r\n\x1a\n") || &head[12..16] != b"IHDR" {
        return Ok(None);
    }
    let be = |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    Ok(Some((be(16), be(20))))
}

/// The dimensions of `width`x`height` scaled to a long side of `max`,
/// rounded, at least 1; unchanged when the long side is already `max` or
/// less (never upscaled).
fn fit(width: u32, height: u32, max: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max {
        return (width, height);
    }
    let scale = |side: u32| {
        let scaled = (u64::from(side) * u64::from(max) + u64::from(long) / 2) / u64::from(long);
        // At most `max`, so the conversion holds.
        u32::try_from(scaled).unwrap_or(max).max(1)
    };
    (scale(width), scale(height))
}

fn encode(
    size: &'static str,
    image: &DynamicImage,
    orientation: Orientation,
    format: Format,
) -> Result<Thumbnail, ThumbnailError> {
    let upright;
    let image = if orientation == Orientation::NoTransforms {
        image
    } else {
        // A copy of a thumbnail (at most the original when that is already
        // no larger than `large`), which the next, smaller size still needs
        // unrotated.
        let mut copy = image.clone();
        copy.apply_orientation(orientation);
        upright = copy;
        &upright
    };
    let mut bytes = Vec::new();
    let written = match format {
        Format::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY);
            match image {
                DynamicImage::ImageRgb8(_) | DynamicImage::ImageLuma8(_) => {
                    image.write_with_encoder(encoder)
                }
                // JPEG has no alpha and 8 bits; only the thumbnail is converted.
                _ => DynamicImage::ImageRgb8(image.to_rgb8()).write_with_encoder(encoder),
            }
        }
        Format::Png => image.write_with_encoder(PngEncoder::new(&mut bytes)),
    };
    written.map_err(|source| ThumbnailError::Encode { size, source })?;
    Ok(Thumbnail {
        size,
        width: image.width(),
        height: image.height(),
        format,
        bytes,
    })
}

/// Sorts a decoder's error into the image's fault or the reader's.
fn decode_error(err: ImageError) -> ThumbnailError {
    match err {
        ImageError::Unsupported(e) => {
            ThumbnailError::InvalidImage(format!("unsupported image: {e}"))
        }
        ImageError::Limits(e) => ThumbnailError::ImageTooLarge(format!(
            "the image exceeds the decoder's limits \
             (max {MAX_SIDE} px a side, {} MiB decoded): {e}",
            MAX_DECODED_BYTES >> 20
        )),
        ImageError::IoError(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
            ThumbnailError::Read(e)
        }
        // Decoding errors, an early end of data, and parameters the data
        // declared inconsistently.
        e => ThumbnailError::InvalidImage(format!("image is truncated or corrupt: {e}")),
    }
}
