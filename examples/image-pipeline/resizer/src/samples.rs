//! Test images, made in memory and deterministic: a photo-like JPEG (with
//! an EXIF orientation when asked), 8- and 16-bit PNGs, and a PNG
//! decompression bomb. Used by this crate's tests, the image pipeline's
//! end-to-end test and the bench; not by the function.

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb, RgbImage, Rgba};

/// A `width`x`height` JPEG (quality 75) of a photo-like picture: gradients,
/// soft blocks and a little noise, so it compresses like a photo (about
/// 200 KiB for 2 MP). `orientation` other than 1 is written as the EXIF
/// Orientation tag (6: the camera was turned, shown rotated 90°
/// clockwise).
pub fn photo_jpeg(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    photo_jpeg_seeded(width, height, orientation, 0)
}

/// [`photo_jpeg`] with a different picture for each `seed`.
pub fn photo_jpeg_seeded(width: u32, height: u32, orientation: u16, seed: u32) -> Vec<u8> {
    let jpeg = encode(photo(width, height, seed).into(), ImageFormat::Jpeg);
    if orientation == 1 {
        jpeg
    } else {
        with_exif_orientation(&jpeg, orientation)
    }
}

/// A `width`x`height` 8-bit RGB PNG of the photo-like picture.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(photo(width, height, 0).into(), ImageFormat::Png)
}

/// A `width`x`height` 16-bit RGBA PNG: 8 bytes a pixel once decoded, while
/// its smooth gradient keeps the file small.
pub fn png16(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (u64::from(width.max(1)), u64::from(height.max(1)));
    let image: ImageBuffer<Rgba<u16>, _> = ImageBuffer::from_fn(width, height, |x, y| {
        let across = (u64::from(x) * 65_535 / w) as u16;
        let down = (u64::from(y) * 65_535 / h) as u16;
        Rgba([across, down, 32_768, 65_535])
    });
    encode(DynamicImage::ImageRgba16(image), ImageFormat::Png)
}

/// A PNG of about 70 bytes whose header declares `width`x`height` 8-bit
/// RGBA pixels, followed by no pixel data: a decoder that trusts the
/// header allocates `width * height * 4` bytes.
pub fn bomb_png(width: u32, height: u32) -> Vec<u8> {
    let header = [
        &width.to_be_bytes()[..],
        &height.to_be_bytes(),
        // 8 bits, RGBA, deflate, adaptive filters, not interlaced.
        &[8, 6, 0, 0, 0],
    ]
    .concat();
    // A zlib stream holding one empty stored block.
    let data = [
        0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
    ];
    [
        &b"\x89PNG\r\n\x1a\n"[..],
        &png_chunk(b"IHDR", &header),
        &png_chunk(b"IDAT", &data),
        &png_chunk(b"IEND", &[]),
    ]
    .concat()
}

/// `jpeg` with an APP1 Exif segment, right after its SOI marker, whose only
/// tag is Orientation (0x0112) = `orientation`.
///
/// # Panics
/// If `jpeg` does not start with SOI.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert!(jpeg.starts_with(&[0xff, 0xd8]), "a JPEG starts with SOI");
    let tiff = [
        &b"II*\0"[..],              // little-endian TIFF
        &8u32.to_le_bytes(),        // the IFD right after this header
        &1u16.to_le_bytes(),        // one entry:
        &0x0112u16.to_le_bytes(),   //   Orientation,
        &3u16.to_le_bytes(),        //   SHORT,
        &1u32.to_le_bytes(),        //   one value,
        &orientation.to_le_bytes(), //  left-justified in the 4-byte field
        &[0, 0],
        &0u32.to_le_bytes(), // no next IFD
    ]
    .concat();
    let length = u16::try_from(2 + 6 + tiff.len()).expect("a short segment");
    [
        &jpeg[..2],
        &[0xff, 0xe1],
        &length.to_be_bytes(),
        b"Exif\0\0",
        &tiff,
        &jpeg[2..],
    ]
    .concat()
}

fn photo(width: u32, height: u32, seed: u32) -> RgbImage {
    let (w, h) = (width.max(1), height.max(1));
    let block_w = (w / 6).max(1);
    let block_h = (h / 4).max(1);
    let tint = seed.wrapping_mul(37) as u8;
    // xorshift32: the same noise for the same seed, on every platform.
    let mut state = seed.wrapping_mul(0x9e37_79b9) | 1;
    RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state & 0x0f) as u8;
        let block = if (x / block_w + y / block_h) % 2 == 0 {
            40
        } else {
            0
        };
        Rgb([
            ((x * 200 / w) as u8).wrapping_add(tint).wrapping_add(noise),
            ((y * 200 / h) as u8 + block).wrapping_add(noise),
            (((x + y) * 150 / (w + h)) as u8 + 60).wrapping_add(noise),
        ])
    })
}

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Encoding a well-formed in-memory image into a Vec cannot fail.
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("an in-memory image encodes");
    bytes
}

/// A PNG chunk: length, type, data, then the CRC of type and data.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    let length = u32::try_from(data.len()).expect("a short chunk");
    [
        &length.to_be_bytes()[..],
        kind,
        data,
        &crc.finalize().to_be_bytes(),
    ]
    .concat()
}
