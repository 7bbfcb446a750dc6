//! Attachments (R9.3): sniffing, EXIF-free re-encoding, thumbnails, watermarks burned in at
//! view time, PDF pages rendered as images. No HTTP, no SQL.
//!
//! Everything here is blocking and CPU- or process-bound: call it from a blocking thread
//! (e.g. `tokio::task::spawn_blocking`), never directly on an async worker.

mod bitmap_font;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
mod pdf;
mod watermark;

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader, Limits};

pub use pdf::{
    pdf_page_count, pdf_pages, pdf_pages_within, MAX_PAGE_SIDE, MAX_PDF_PAGES, PDF_TIME_LIMIT, PDF_WORK_BYTES,
};
pub use watermark::Watermarker;

/// The largest attachment accepted, in bytes (20 MiB).
pub const MAX_BYTES: usize = 20 * 1024 * 1024;

/// The largest image accepted, in pixels (40 megapixels).
pub const MAX_PIXELS: u64 = 40_000_000;

/// The most memory a decoded image may take, checked from its header before decoding
/// (width × height × bytes per pixel): a 40-megapixel 8-bit RGBA image, or a 16-bit one of
/// 20 megapixels. A 300 KB PNG can claim a 16-bit 40-megapixel canvas (320 MB decoded, half a
/// gigabyte with its copies); it is refused before a byte of it is inflated.
pub const MAX_DECODED_BYTES: u64 = MAX_PIXELS * 4;

/// What the decoder may allocate in all: the decoded image plus its working buffers.
const MAX_DECODE_ALLOC: u64 = MAX_DECODED_BYTES + SLACK_BYTES;

/// Working memory beyond the pixel buffers (decoder state, encoders, thumbnails).
const SLACK_BYTES: u64 = 16 * 1024 * 1024;

/// The longest side of a stored image, in pixels: every view decodes the stored image to burn
/// the watermark in, so a 40-megapixel upload is kept at display size (5 megapixels at most)
/// and a view costs a tenth of what the original would.
pub const DISPLAY_MAX_SIDE: u32 = 2560;

/// JPEG quality used for every JPEG this crate writes.
const JPEG_QUALITY: u8 = 85;

/// The longest side of a thumbnail, in pixels.
pub const THUMB_MAX_SIDE: u32 = 320;

/// The kinds of attachment accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A JPEG photo.
    Jpeg,
    /// A PNG image (screenshots, scans).
    Png,
    /// A PDF document, shown as page images.
    Pdf,
}

impl Kind {
    /// The MIME type to serve the stored bytes with.
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Pdf => "application/pdf",
        }
    }

    /// A short stable code for storage ("jpeg", "png", "pdf").
    pub fn code(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
            Kind::Pdf => "pdf",
        }
    }

    /// The inverse of [`Kind::code`].
    pub fn from_code(code: &str) -> Option<Kind> {
        match code {
            "jpeg" => Some(Kind::Jpeg),
            "png" => Some(Kind::Png),
            "pdf" => Some(Kind::Pdf),
            _ => None,
        }
    }
}

/// The kind of an upload, by its magic bytes only (never by its name or declared type).
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Kind::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if bytes.starts_with(b"%PDF-") {
        Some(Kind::Pdf)
    } else {
        None
    }
}

/// Why an attachment was refused or could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Larger than [`MAX_BYTES`].
    #[error("attachment larger than {MAX_BYTES} bytes")]
    TooLarge,
    /// Not a JPEG, PNG or PDF (or not an image where an image is needed).
    #[error("unsupported attachment type")]
    Unsupported,
    /// The bytes claim a supported kind but cannot be decoded.
    #[error("corrupt attachment: {0}")]
    Corrupt(String),
    /// More pixels than [`MAX_PIXELS`] (or more memory than a decoder may use).
    #[error("image has too many pixels")]
    TooManyPixels,
    /// The PDF tools (poppler-utils) failed or are missing.
    #[error("PDF renderer failed: {0}")]
    PdfRenderer(String),
    /// The PDF took longer than [`PDF_TIME_LIMIT`] to render (a hostile or pathological file).
    #[error("{0} did not finish within the time limit")]
    TooSlow(String),
}

/// An image re-encoded without any metadata, ready to store.
#[derive(Debug, Clone)]
pub struct Sanitized {
    /// The stored kind (same as the upload's: JPEG stays JPEG, PNG stays PNG).
    pub kind: Kind,
    /// The re-encoded image, upright, with no EXIF, XMP or text chunks.
    pub data: Vec<u8>,
    /// Width in pixels as stored: upright, and within [`DISPLAY_MAX_SIDE`].
    pub width: u32,
    /// Height in pixels as stored.
    pub height: u32,
    /// A JPEG thumbnail whose longest side is at most [`THUMB_MAX_SIDE`].
    pub thumb: Vec<u8>,
}

/// Checks an uploaded image, turns it upright, brings it within [`DISPLAY_MAX_SIDE`] and
/// re-encodes it with no metadata at all, so GPS positions, device serials and embedded
/// comments never reach storage.
///
/// Memory: at most about [`work_bytes`] of the upload (the decoded image, one rotated copy,
/// one 8-bit copy); callers bound how many run at once by that figure.
pub fn sanitize_image(bytes: &[u8]) -> Result<Sanitized, MediaError> {
    let (kind, img) = decode_image(bytes)?;
    let (data, shown) = match kind {
        Kind::Png if img.color().has_alpha() => {
            let rgba = fit_within(img.into_rgba8(), DISPLAY_MAX_SIDE);
            let shown = DynamicImage::ImageRgba8(rgba);
            (encode_png(&shown)?, shown)
        }
        Kind::Png => {
            let rgb = fit_within(into_flat_rgb(img), DISPLAY_MAX_SIDE);
            let shown = DynamicImage::ImageRgb8(rgb);
            (encode_png(&shown)?, shown)
        }
        _ => {
            let rgb = fit_within(into_flat_rgb(img), DISPLAY_MAX_SIDE);
            (encode_jpeg(&rgb)?, DynamicImage::ImageRgb8(rgb))
        }
    };
    let thumb = make_thumb(&shown)?;
    Ok(Sanitized { kind, data, width: shown.width(), height: shown.height(), thumb })
}

/// The memory [`sanitize_image`] or [`Watermarker::apply`] needs for these bytes at most,
/// read from the header alone (nothing is decoded): the decoded image, a rotated copy, an
/// 8-bit RGB copy, working slack and the file itself. A PDF counts [`PDF_WORK_BYTES`]; bytes
/// that are no image count only themselves (they are refused at once).
pub fn work_bytes(bytes: &[u8]) -> u64 {
    let own = bytes.len() as u64;
    let format = match sniff(bytes) {
        Some(Kind::Jpeg) => ImageFormat::Jpeg,
        Some(Kind::Png) => ImageFormat::Png,
        Some(Kind::Pdf) => return PDF_WORK_BYTES + own,
        None => return own,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.no_limits();
    let Ok(decoder) = reader.into_decoder() else { return own };
    let decoded = decoder.total_bytes();
    if decoded > MAX_DECODED_BYTES {
        // Refused from its header before anything is allocated.
        return own + SLACK_BYTES;
    }
    let (w, h) = decoder.dimensions();
    let rgb8 = u64::from(w) * u64::from(h) * 3;
    decoded * 2 + rgb8 + SLACK_BYTES + own
}

/// Scales an image down (box filter) so its longest side is at most `side`; smaller ones are
/// returned as they are.
fn fit_within<P>(img: image::ImageBuffer<P, Vec<u8>>, side: u32) -> image::ImageBuffer<P, Vec<u8>>
where
    P: image::Pixel<Subpixel = u8> + 'static,
{
    let (w, h) = img.dimensions();
    let longest = w.max(h);
    if longest <= side {
        return img;
    }
    let scale = f64::from(side) / f64::from(longest);
    let tw = ((f64::from(w) * scale).round() as u32).clamp(1, side);
    let th = ((f64::from(h) * scale).round() as u32).clamp(1, side);
    image::imageops::thumbnail(&img, tw, th)
}

/// Decodes a JPEG or PNG within the pixel and memory limits and applies its EXIF orientation.
pub(crate) fn decode_image(bytes: &[u8]) -> Result<(Kind, DynamicImage), MediaError> {
    if bytes.len() > MAX_BYTES {
        return Err(MediaError::TooLarge);
    }
    let (kind, format) = match sniff(bytes) {
        Some(Kind::Jpeg) => (Kind::Jpeg, ImageFormat::Jpeg),
        Some(Kind::Png) => (Kind::Png, ImageFormat::Png),
        Some(Kind::Pdf) | None => return Err(MediaError::Unsupported),
    };
    if kind == Kind::Jpeg && !jpeg_has_end(bytes) {
        // The JPEG decoder quietly fills a cut-off scan with grey; a half-uploaded photo
        // must be refused instead.
        return Err(MediaError::Corrupt("JPEG ends before its EOI marker".into()));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(MediaError::TooManyPixels);
    }
    // The decoded-size budget, from the header, before a byte is inflated.
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err(MediaError::TooManyPixels);
    }
    // A broken EXIF block must not make a readable photo unusable: fall back to as-is.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    img.apply_orientation(orientation);
    Ok((kind, img))
}

/// Whether an EOI marker (FF D9) follows the first start-of-scan (FF DA). Entropy-coded data
/// escapes every FF byte, so an FF D9 there can only be the real end marker; a thumbnail
/// embedded in EXIF sits before the first scan and cannot fake it.
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let Some(sos) = bytes.windows(2).position(|w| w == [0xFF, 0xDA]) else {
        return false;
    };
    bytes[sos..].windows(2).any(|w| w == [0xFF, 0xD9])
}

fn map_image_error(e: ImageError) -> MediaError {
    match e {
        ImageError::Limits(_) => MediaError::TooManyPixels,
        other => MediaError::Corrupt(other.to_string()),
    }
}

/// RGB8 without a copy when the image already is RGB8; otherwise as [`flatten_rgb`].
pub(crate) fn into_flat_rgb(img: DynamicImage) -> image::RgbImage {
    match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => flatten_rgb(&other),
    }
}

/// RGB8, with any transparency composited onto white (JPEG has no alpha).
pub(crate) fn flatten_rgb(img: &DynamicImage) -> image::RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    let mut out = image::RgbImage::new(rgba.width(), rgba.height());
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(src.0[3]);
        for c in 0..3 {
            let v = (u32::from(src.0[c]) * a + 255 * (255 - a) + 127) / 255;
            dst.0[c] = v as u8;
        }
    }
    out
}

/// Encodes RGB8 as a baseline JPEG at quality 85, with no metadata segments but JFIF.
pub(crate) fn encode_jpeg(img: &image::RgbImage) -> Result<Vec<u8>, MediaError> {
    let (Ok(w), Ok(h)) = (u16::try_from(img.width()), u16::try_from(img.height())) else {
        // JPEG cannot describe a side longer than 65,535 pixels.
        return Err(MediaError::TooManyPixels);
    };
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY)
        .encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| MediaError::Corrupt(format!("JPEG encoding failed: {e}")))?;
    Ok(out)
}

fn encode_png(img: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive)
        .write_image(img.as_bytes(), img.width(), img.height(), img.color().into())
        .map_err(|e| MediaError::Corrupt(format!("PNG encoding failed: {e}")))?;
    Ok(out)
}

fn make_thumb(img: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    encode_jpeg(&fit_within(flatten_rgb(img), THUMB_MAX_SIDE))
}

#[cfg(test)]
mod tests;
