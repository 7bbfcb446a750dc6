//! Test files built byte by byte: a phone photo with its EXIF GPS position and a two-page PDF,
//! for this crate's tests and for the server's (feature `fixtures`).

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

/// The latitude 35/1, 41/1, 2200/100 as little-endian rationals: unmistakable bytes.
pub fn latitude_bytes() -> Vec<u8> {
    [35u32, 1, 41, 1, 2200, 100].iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A little-endian TIFF block: IFD0 with Orientation and a GPSInfo pointer; a GPS IFD with
/// GPSLatitudeRef 'N', GPSLatitude and GPSMapDatum "WGS-84".
pub fn exif_tiff(orientation: u16) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"II");
    t.extend_from_slice(&42u16.to_le_bytes());
    t.extend_from_slice(&8u32.to_le_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&typ.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value);
    };
    // IFD0 at 8: 2 entries.
    t.extend_from_slice(&2u16.to_le_bytes());
    let o = orientation.to_le_bytes();
    entry(&mut t, 0x0112, 3, 1, [o[0], o[1], 0, 0]);
    let gps_ifd = 8 + 2 + 2 * 12 + 4; // 38
    entry(&mut t, 0x8825, 4, 1, (gps_ifd as u32).to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD: 3 entries, then the latitude and the datum.
    let lat_at = gps_ifd + 2 + 3 * 12 + 4; // 80
    let datum_at = lat_at + 24; // 104
    t.extend_from_slice(&3u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, 5, 3, (lat_at as u32).to_le_bytes());
    entry(&mut t, 0x0012, 2, 7, (datum_at as u32).to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&latitude_bytes());
    t.extend_from_slice(b"WGS-84\0");
    t
}

/// A JPEG APP segment with the given marker and payload.
pub fn app_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// Inserts an EXIF APP1 (and an XMP APP1) right after the JPEG's SOI marker.
pub fn with_exif_and_xmp(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&exif_tiff(orientation));
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend_from_slice(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>secret-xmp</x:xmpmeta>");
    let mut out = jpeg[..2].to_vec();
    out.extend(app_segment(0xE1, &exif));
    out.extend(app_segment(0xE1, &xmp));
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A `w`×`h` JPEG (a gradient) carrying EXIF with a GPS position (35°41'22"N, WGS-84),
/// orientation 1, and an XMP packet: what a phone camera writes.
pub fn gps_tagged_jpeg(w: u32, h: u32) -> Option<Vec<u8>> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 160]));
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).ok()?;
    Some(with_exif_and_xmp(&out, 1))
}

/// A minimal valid PDF with one page per entry of `pages` (a content stream each), with
/// correct xref offsets.
pub fn pdf_of(pages: &[&str]) -> Vec<u8> {
    let n = pages.len();
    let mut objects: Vec<String> = Vec::new();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 3 + i)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")));
    for i in 0..n {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << >> /Contents {} 0 R >>",
            3 + n + i
        ));
    }
    for content in pages {
        objects.push(stream("", content));
    }
    pdf_from_objects(&objects)
}

/// A stream object with extra dictionary entries.
fn stream(dict: &str, content: &str) -> String {
    format!("<< {dict} /Length {} >>\nstream\n{content}\nendstream", content.len() + 1)
}

/// A PDF of the given objects (numbered from 1; object 1 is the catalog), with its xref table.
pub fn pdf_from_objects(objects: &[String]) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref_at = pdf.len();
    let mut xref = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        xref.push_str(&format!("{off:010} 00000 n \n"));
    }
    pdf.extend_from_slice(xref.as_bytes());
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    pdf
}

/// A one-page PDF of under 2 KB that takes a renderer minutes: eight levels of form XObjects,
/// each drawing the next ten times, so the page holds 10^8 filled squares.
pub fn slow_pdf() -> Vec<u8> {
    const LEVELS: usize = 8;
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << /XObject << /X 5 0 R >> >> /Contents 4 0 R >>"
            .to_string(),
        stream("", "/X Do"),
    ];
    for level in 0..LEVELS {
        let obj = 5 + level;
        let (resources, content) = if level + 1 < LEVELS {
            (format!("/Resources << /XObject << /X {} 0 R >> >>", obj + 1), "/X Do ".repeat(10))
        } else {
            (String::new(), "0 0 0 rg 10 10 60 60 re f ".repeat(10))
        };
        objects.push(stream(&format!("/Type /XObject /Subtype /Form /BBox [0 0 200 100] {resources}"), &content));
    }
    pdf_from_objects(&objects)
}

/// A black PNG of `w`×`h` pixels at `bit_depth` (8 or 16) and PNG colour type (0 grey, 2 RGB,
/// 6 RGBA), deflated by hand (one literal, then runs of 258): a 16-bit 40-megapixel RGB image
/// is 1.5 MB here and 240 MB decoded, the decompression bomb a server must refuse unread.
pub fn black_png(w: u32, h: u32, bit_depth: u8, color_type: u8) -> Vec<u8> {
    let channels: u64 = match color_type {
        2 => 3,
        6 => 4,
        4 => 2,
        _ => 1,
    };
    let row = 1 + u64::from(w) * channels * u64::from(bit_depth) / 8;
    let total = row * u64::from(h);
    let mut bits = BitWriter::default();
    bits.put(1, 1); // the final block
    bits.put(1, 2); // fixed Huffman codes
    bits.put_code(0x30, 8); // the literal 0
    let runs = (total - 1) / 258;
    for _ in 0..runs {
        bits.put_code(0b1100_0101, 8); // length 258 (code 285)
        bits.put_code(0, 5); // distance 1
    }
    for _ in 0..(total - 1) % 258 {
        bits.put_code(0x30, 8);
    }
    bits.put_code(0, 7); // end of block
    let mut zlib = vec![0x78, 0x01];
    zlib.extend_from_slice(&bits.finish());
    // Adler-32 of `total` zero bytes: a = 1, b = total.
    let adler = ((total % 65_521) << 16 | 1) as u32;
    zlib.extend_from_slice(&adler.to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &zlib));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// A PNG chunk: length, type, data, CRC-32 of type and data.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut crc = 0xFFFF_FFFFu32;
    for &b in kind.iter().chain(data) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    c.extend_from_slice(&(!crc).to_be_bytes());
    c
}

/// Deflate's bit order: values least significant bit first, Huffman codes most significant first.
#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, bits: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn put_code(&mut self, code: u32, bits: u32) {
        let reversed = code.reverse_bits() >> (32 - bits);
        self.put(reversed, bits);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

pub fn two_page_pdf() -> Vec<u8> {
    // Page 1: a black square on the left; page 2: on the right.
    pdf_of(&["0 0 0 rg 10 10 60 60 re f", "0 0 0 rg 130 10 60 60 re f"])
}
