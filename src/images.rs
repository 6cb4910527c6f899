//! An uploaded picture made safe to store and show: its type read from its bytes (JPEG, PNG or
//! WebP, never from a file name or header), its size in pixels checked from the header before
//! anything is decoded (a decompression bomb is refused, not unpacked), turned upright by its EXIF
//! orientation, then re-encoded, which leaves every piece of metadata (GPS position, camera, ...)
//! behind, with a thumbnail for lists.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Width of the thumbnail shown in lists, in pixels.
pub const THUMBNAIL_WIDTH: u32 = 320;

/// JPEG quality of re-encoded photos: visually lossless for photos of stations.
const JPEG_QUALITY: u8 = 85;

/// The image types accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
}

impl ImageKind {
    /// The type the bytes start with, whatever the upload claimed.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::Webp => ImageFormat::WebP,
        }
    }
}

/// Why an upload is not an image evcms keeps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefusal {
    #[error("the file is not a JPEG, PNG or WebP image")]
    UnsupportedType,
    #[error("the image is {width} × {height} pixels; at most {max} pixels are accepted")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("the image cannot be read: {0}")]
    Unreadable(String),
}

/// An image ready to store: re-encoded bytes and a thumbnail, both of `kind`.
#[derive(Debug, Clone)]
pub struct Processed {
    pub kind: ImageKind,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
    pub thumbnail: Vec<u8>,
    pub thumbnail_width: u32,
    pub thumbnail_height: u32,
    /// SHA-256 of `bytes`, hex.
    pub checksum: String,
}

/// Reads, checks and re-encodes an upload (see the module). CPU-bound: call it off the async
/// threads.
pub fn process(upload: &[u8], max_pixels: u64) -> Result<Processed, ImageRefusal> {
    let kind = ImageKind::sniff(upload).ok_or(ImageRefusal::UnsupportedType)?;
    let unreadable = |e: image::ImageError| ImageRefusal::Unreadable(e.to_string());
    let reader = || ImageReader::with_format(Cursor::new(upload), kind.format());
    let (width, height) = reader().into_dimensions().map_err(unreadable)?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ImageRefusal::TooManyPixels {
            width,
            height,
            max: max_pixels,
        });
    }
    let mut limited = reader();
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // Decoded RGBA plus the decoder's working room; a header that lies about its size still
    // cannot make the decoder allocate more.
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    limited.limits(limits);
    let mut decoder = limited.into_decoder().map_err(unreadable)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    picture.apply_orientation(orientation);
    let bytes = encode(&picture, kind).map_err(unreadable)?;
    let thumb = if picture.width() > THUMBNAIL_WIDTH {
        picture.thumbnail(THUMBNAIL_WIDTH, u32::MAX)
    } else {
        picture.clone()
    };
    let thumbnail = encode(&thumb, kind).map_err(unreadable)?;
    Ok(Processed {
        kind,
        width: picture.width(),
        height: picture.height(),
        checksum: sha256_hex(&bytes),
        bytes,
        thumbnail,
        thumbnail_width: thumb.width(),
        thumbnail_height: thumb.height(),
    })
}

/// `picture` encoded as `kind`, with no metadata.
fn encode(picture: &DynamicImage, kind: ImageKind) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Cursor::new(Vec::new());
    match kind {
        // JPEG has no alpha; photos are what it is for.
        ImageKind::Jpeg => {
            let rgb = picture.to_rgb8();
            JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(&rgb)?;
        }
        ImageKind::Png => picture.write_to(&mut out, ImageFormat::Png)?,
        // The WebP encoder writes lossless RGB(A) only.
        ImageKind::Webp => {
            let rgba = DynamicImage::ImageRgba8(picture.to_rgba8());
            rgba.write_to(&mut out, ImageFormat::WebP)?;
        }
    }
    Ok(out.into_inner())
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};

    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img)
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    /// The CRC-32 of a PNG chunk (ISO 3309), to forge a header that still checks out.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn the_type_is_read_from_the_bytes() {
        assert_eq!(ImageKind::sniff(&png(2, 2)), Some(ImageKind::Png));
        assert_eq!(
            ImageKind::sniff(b"\xFF\xD8\xFF\xE0rest"),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"GIF89a"), None);
        assert_eq!(ImageKind::sniff(b"<svg xmlns=...>"), None);
        assert_eq!(
            process(b"%PDF-1.7", 1000).unwrap_err(),
            ImageRefusal::UnsupportedType
        );
    }

    #[test]
    fn a_large_picture_gets_a_320_pixel_thumbnail_of_the_same_proportions() {
        let done = process(&png(800, 400), 10_000_000).unwrap();
        assert_eq!((done.width, done.height), (800, 400));
        assert_eq!((done.thumbnail_width, done.thumbnail_height), (320, 160));
        assert_eq!(ImageKind::sniff(&done.thumbnail), Some(ImageKind::Png));
        assert_eq!(done.checksum.len(), 64);
        let small = process(&png(100, 50), 10_000_000).unwrap();
        assert_eq!((small.thumbnail_width, small.thumbnail_height), (100, 50));
    }

    #[test]
    fn too_many_pixels_are_refused_from_the_header_alone() {
        assert_eq!(
            process(&png(300, 300), 89_999).unwrap_err(),
            ImageRefusal::TooManyPixels {
                width: 300,
                height: 300,
                max: 89_999
            }
        );
        // A valid header claiming 100000 × 100000 with one pixel of data behind it.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            process(&bomb, 40_000_000),
            Err(ImageRefusal::TooManyPixels { .. })
        ));
    }

    #[test]
    fn a_truncated_image_is_unreadable_not_a_panic() {
        let whole = png(64, 64);
        for cut in [9, 30, whole.len() / 2] {
            assert!(process(&whole[..cut], 10_000_000).is_err(), "cut at {cut}");
        }
    }
}
