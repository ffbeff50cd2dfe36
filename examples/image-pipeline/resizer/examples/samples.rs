//! Writes sample uploads into a folder (default `.`): `photo.jpg` (a
//! 1600x1200 photo-like JPEG taken "turned": EXIF orientation 6),
//! `diagram.png` (300x200) and `notes.jpg` (text, not an image).
//!
//! ```sh
//! cargo run -p pipeline-thumbnails --example samples -- examples/image-pipeline/uploads
//! ```

use std::path::PathBuf;

use pipeline_thumbnails::samples;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let files: [(&str, Vec<u8>); 3] = [
        ("photo.jpg", samples::photo_jpeg(1600, 1200, 6)),
        ("diagram.png", samples::png(300, 200)),
        ("notes.jpg", b"not a picture, just notes\n".to_vec()),
    ];
    for (name, bytes) in files {
        // One open, write, close: a watched folder sees the file when it
        // is closed, whole.
        std::fs::write(dir.join(name), &bytes)?;
        println!("{}", dir.join(name).display());
    }
    Ok(())
}
