//! The thumbnails a user would look at: their encoding and dimensions
//! (decoded back), their orientation, and the error for what is not an
//! image or is too large.
use std::io::Cursor;

use image::codecs::gif::GifEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use pipeline_thumbnails::samples::{self, with_exif_orientation};
use pipeline_thumbnails::{Format, SIZES, Thumbnail, ThumbnailError, thumbnails};

/// A picture with some detail, so the encoders have work to do.
fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            ((x ^ y) & 0xff) as u8,
        ])
    })
}

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("encodes");
    bytes
}

fn make(bytes: &[u8]) -> Vec<Thumbnail> {
    thumbnails(Cursor::new(bytes)).expect("thumbnails")
}

/// Each thumbnail's (size, width, height), checked against its decoded
/// bytes, which must be in `format`.
fn sizes(made: &[Thumbnail], format: Format) -> Vec<(&'static str, u32, u32)> {
    let expected = match format {
        Format::Jpeg => ImageFormat::Jpeg,
        Format::Png => ImageFormat::Png,
    };
    made.iter()
        .map(|t| {
            assert_eq!(t.format, format, "{}", t.size);
            assert_eq!(image::guess_format(&t.bytes).unwrap(), expected);
            let decoded = image::load_from_memory(&t.bytes).expect("a thumbnail decodes");
            assert_eq!(
                (decoded.width(), decoded.height()),
                (t.width, t.height),
                "{}",
                t.size
            );
            (t.size, t.width, t.height)
        })
        .collect()
}

#[test]
fn a_jpeg_gets_three_jpegs_with_its_aspect_ratio() {
    let made = make(&samples::photo_jpeg(1600, 1200, 1));
    assert_eq!(
        sizes(&made, Format::Jpeg),
        [
            ("small", 128, 96),
            ("medium", 512, 384),
            ("large", 1024, 768)
        ]
    );
    assert_eq!(SIZES.map(|(name, _)| name), ["small", "medium", "large"]);
}

#[test]
fn a_png_gets_pngs_and_is_never_upscaled() {
    let made = make(&samples::png(300, 200));
    assert_eq!(
        sizes(&made, Format::Png),
        [
            ("small", 128, 85),
            ("medium", 300, 200),
            ("large", 300, 200)
        ]
    );

    let tall = RgbaImage::from_fn(300, 900, |x, _| Rgba([x as u8, 0, 0, 128]));
    let tall = make(&encode(tall.into(), ImageFormat::Png));
    assert_eq!(
        sizes(&tall, Format::Png),
        [
            ("small", 43, 128),
            ("medium", 171, 512),
            ("large", 300, 900)
        ]
    );

    let tiny = make(&encode(picture(50, 30).into(), ImageFormat::Png));
    assert_eq!(
        sizes(&tiny, Format::Png),
        [("small", 50, 30), ("medium", 50, 30), ("large", 50, 30)]
    );
}

#[test]
fn a_gif_gets_pngs_of_its_first_frame() {
    let frame = |colour| Frame::new(RgbaImage::from_pixel(200, 100, Rgba(colour)));
    let mut gif = Vec::new();
    GifEncoder::new(&mut gif)
        .encode_frames([frame([255, 0, 0, 255]), frame([0, 0, 255, 255])])
        .expect("encodes a GIF");
    let made = make(&gif);
    assert_eq!(
        sizes(&made, Format::Png),
        [
            ("small", 128, 64),
            ("medium", 200, 100),
            ("large", 200, 100)
        ]
    );
    let small = image::load_from_memory(&made[0].bytes).unwrap().to_rgba8();
    assert_eq!(small.get_pixel(64, 32), &Rgba([255, 0, 0, 255]));
}

#[test]
fn a_webp_gets_pngs() {
    let mut webp = Vec::new();
    DynamicImage::from(picture(640, 480))
        .write_with_encoder(WebPEncoder::new_lossless(&mut webp))
        .expect("encodes a WebP");
    assert_eq!(
        sizes(&make(&webp), Format::Png),
        [
            ("small", 128, 96),
            ("medium", 512, 384),
            ("large", 640, 480)
        ]
    );
}

#[test]
fn the_exif_orientation_is_applied_after_resizing() {
    // Left half red, right half blue; orientation 6 (rotate 90° clockwise)
    // puts the left side on top.
    let sideways = RgbImage::from_fn(400, 200, |x, _| {
        if x < 200 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    });
    let jpeg = with_exif_orientation(&encode(sideways.into(), ImageFormat::Jpeg), 6);
    let made = make(&jpeg);
    assert_eq!(
        sizes(&made, Format::Jpeg),
        [
            ("small", 64, 128),
            ("medium", 200, 400),
            ("large", 200, 400)
        ]
    );
    let small = image::load_from_memory(&made[0].bytes).unwrap().to_rgb8();
    let top = small.get_pixel(32, 16);
    let bottom = small.get_pixel(32, 112);
    assert!(top[0] > 200 && top[2] < 60, "top is red: {top:?}");
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom is blue: {bottom:?}"
    );
}

fn invalid(bytes: &[u8]) -> String {
    match thumbnails(Cursor::new(bytes)) {
        Err(ThumbnailError::InvalidImage(message)) => message,
        other => panic!("expected InvalidImage, got {other:?}"),
    }
}

#[test]
fn text_is_not_an_image_whatever_its_name() {
    let message = invalid(b"holiday photos, see photo.jpg\n");
    assert!(message.starts_with("not an image: "), "{message}");
}

#[test]
fn truncated_images_are_invalid() {
    let png = encode(picture(300, 200).into(), ImageFormat::Png);
    let message = invalid(&png[..png.len() / 2]);
    assert!(
        message.starts_with("image is truncated or corrupt: "),
        "{message}"
    );

    // Cut inside the headers: zune-jpeg, like browsers, shows a JPEG whose
    // scan data stops early (what was there, the rest filled in) rather than
    // refusing it.
    let jpeg = encode(picture(300, 200).into(), ImageFormat::Jpeg);
    let message = invalid(&jpeg[..100]);
    assert!(
        message.starts_with("image is truncated or corrupt: "),
        "{message}"
    );
}

fn too_large(bytes: &[u8]) -> String {
    match thumbnails(Cursor::new(bytes)) {
        Err(ThumbnailError::ImageTooLarge(message)) => message,
        other => panic!("expected ImageTooLarge, got {other:?}"),
    }
}

#[test]
fn a_decompression_bomb_is_refused_by_its_declared_dimensions() {
    let bomb = samples::bomb_png(60_000, 60_000);
    assert!(bomb.len() < 100);
    assert_eq!(
        too_large(&bomb),
        "declared dimensions 60000x60000 exceed the decoder's limits \
         (max 20000 px a side, 512 MiB decoded)"
    );
    // Within the side limit, but 15000 * 15000 * 4 bytes is over 512 MiB.
    assert!(
        too_large(&samples::bomb_png(15_000, 15_000))
            .starts_with("declared dimensions 15000x15000")
    );
}

#[test]
fn a_16_bit_png_gets_pngs() {
    let made = make(&samples::png16(1000, 625));
    assert_eq!(
        sizes(&made, Format::Png),
        [
            ("small", 128, 80),
            ("medium", 512, 320),
            ("large", 1000, 625)
        ]
    );
}

#[test]
fn a_rotated_photo_sample_is_shown_upright() {
    let made = make(&samples::photo_jpeg(1600, 1200, 6));
    assert_eq!(
        sizes(&made, Format::Jpeg),
        [
            ("small", 96, 128),
            ("medium", 384, 512),
            ("large", 768, 1024)
        ]
    );
}

#[test]
fn a_side_over_the_limit_is_refused_however_few_the_pixels() {
    // 20001 x 1 decodes to 80 KB: only the side limit refuses it.
    assert_eq!(
        too_large(&samples::bomb_png(20_001, 1)),
        "declared dimensions 20001x1 exceed the decoder's limits \
         (max 20000 px a side, 512 MiB decoded)"
    );
}
