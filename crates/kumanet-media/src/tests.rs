use super::*;
use crate::fixtures::{
    black_png, exif_tiff, latitude_bytes, pdf_of, png_chunk, slow_pdf, two_page_pdf, with_exif_and_xmp,
};
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage, Rgba, RgbaImage};

// ---------- helpers that build test files byte by byte ----------

fn jpeg_of(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 95).encode_image(img).unwrap();
    out
}

fn png_of(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Inserts chunks right after IHDR (signature 8 bytes + IHDR 25 bytes).
fn png_with_chunks(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    assert_eq!(&png[12..16], b"IHDR");
    let mut out = png[..33].to_vec();
    for c in chunks {
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&png[33..]);
    out
}

fn quadrant_image() -> RgbImage {
    // 64 wide, 32 tall; the top-left 32x16 is red, the rest blue.
    RgbImage::from_fn(64, 32, |x, y| if x < 32 && y < 16 { Rgb([230, 20, 20]) } else { Rgb([20, 20, 230]) })
}

fn is_red(p: Rgb<u8>) -> bool {
    p.0[0] > 150 && p.0[2] < 100
}

fn is_blue(p: Rgb<u8>) -> bool {
    p.0[2] > 150 && p.0[0] < 100
}

fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

// ---------- kinds and messages ----------

#[test]
fn sniffs_by_magic_bytes_only() {
    assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Kind::Jpeg));
    assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(Kind::Png));
    assert_eq!(sniff(b"%PDF-1.7\n"), Some(Kind::Pdf));
    assert_eq!(sniff(b"GIF89a"), None);
    assert_eq!(sniff(b"%PDF"), None);
    assert_eq!(sniff(b""), None);
    assert_eq!(sniff(b"hello.jpg"), None);
}

#[test]
fn kind_codes_and_mime_types_round_trip() {
    for kind in [Kind::Jpeg, Kind::Png, Kind::Pdf] {
        assert_eq!(Kind::from_code(kind.code()), Some(kind));
    }
    assert_eq!(Kind::Jpeg.mime(), "image/jpeg");
    assert_eq!(Kind::Png.mime(), "image/png");
    assert_eq!(Kind::Pdf.mime(), "application/pdf");
    assert_eq!(Kind::Jpeg.code(), "jpeg");
    assert_eq!(Kind::from_code("gif"), None);
    assert_eq!(Kind::from_code("JPEG"), None);
}

// ---------- sanitizing ----------

#[test]
fn jpeg_loses_exif_gps_and_xmp_and_stands_upright() {
    let plain = jpeg_of(&quadrant_image());
    let input = with_exif_and_xmp(&plain, 6);
    // The test file really carries what must be removed.
    assert!(contains(&input, b"Exif\0\0"));
    assert!(contains(&input, &latitude_bytes()));
    assert!(contains(&input, b"WGS-84"));
    assert!(contains(&input, b"xmpmeta"));
    assert_eq!(decode(&input).width(), 64);

    let s = sanitize_image(&input).unwrap();
    assert_eq!(s.kind, Kind::Jpeg);
    for needle in [&b"Exif"[..], b"II*\0", &latitude_bytes(), b"WGS-84", b"xmpmeta", b"http://ns.adobe.com"] {
        assert!(!contains(&s.data, needle), "output still has {needle:?}");
        assert!(!contains(&s.thumb, needle), "thumbnail still has {needle:?}");
    }
    // No APP1 segment at all.
    assert!(!contains(&s.data, &[0xFF, 0xE1]));
    // Orientation 6 (rotate 90° clockwise): 64x32 becomes 32x64 ...
    assert_eq!((s.width, s.height), (32, 64));
    let out = decode(&s.data).to_rgb8();
    assert_eq!(out.dimensions(), (32, 64));
    // ... and the red top-left corner moves to the top right.
    assert!(is_red(*out.get_pixel(24, 8)), "{:?}", out.get_pixel(24, 8));
    assert!(is_blue(*out.get_pixel(8, 8)), "{:?}", out.get_pixel(8, 8));
    assert!(is_blue(*out.get_pixel(24, 56)), "{:?}", out.get_pixel(24, 56));
    // The result decodes again and is itself clean of orientation (idempotent).
    let again = sanitize_image(&s.data).unwrap();
    assert_eq!((again.width, again.height), (32, 64));
}

#[test]
fn jpeg_without_orientation_keeps_its_shape() {
    let input = with_exif_and_xmp(&jpeg_of(&quadrant_image()), 1);
    let s = sanitize_image(&input).unwrap();
    assert_eq!((s.width, s.height), (64, 32));
    assert!(!contains(&s.data, b"Exif"));
    assert!(is_red(*decode(&s.data).to_rgb8().get_pixel(8, 8)));
}

#[test]
fn png_loses_text_and_exif_chunks() {
    let png = png_of(&DynamicImage::ImageRgb8(quadrant_image()));
    let mut itxt = b"Author\0\0\0ja\0\0".to_vec();
    itxt.extend_from_slice("訪問 花子 secret-itxt".as_bytes());
    let input = png_with_chunks(
        &png,
        &[
            png_chunk(b"tEXt", b"Comment\0secret-patient-name"),
            png_chunk(b"iTXt", &itxt),
            png_chunk(b"eXIf", &exif_tiff(6)),
        ],
    );
    // The decoder accepts the crafted file as is.
    assert!(decode(&input).width() > 0);

    let s = sanitize_image(&input).unwrap();
    assert_eq!(s.kind, Kind::Png);
    assert!(s.data.starts_with(b"\x89PNG"));
    for needle in [&b"tEXt"[..], b"iTXt", b"zTXt", b"eXIf", b"secret", b"II*\0", &latitude_bytes(), b"WGS-84"] {
        assert!(!contains(&s.data, needle), "output still has {needle:?}");
    }
    // The eXIf orientation was honoured before it was dropped.
    assert_eq!((s.width, s.height), (32, 64));
    let out = decode(&s.data).to_rgb8();
    assert!(is_red(*out.get_pixel(24, 8)));
    // Lossless: exact colours survive.
    assert_eq!(out.get_pixel(24, 8), &Rgb([230, 20, 20]));
}

#[test]
fn png_with_alpha_stays_transparent_png() {
    let img = RgbaImage::from_fn(40, 20, |x, _| if x < 20 { Rgba([0, 0, 0, 0]) } else { Rgba([10, 200, 10, 255]) });
    let s = sanitize_image(&png_of(&DynamicImage::ImageRgba8(img))).unwrap();
    let out = decode(&s.data);
    assert!(out.color().has_alpha());
    assert_eq!(out.to_rgba8().get_pixel(5, 5).0[3], 0);
    assert_eq!(out.to_rgba8().get_pixel(30, 5), &Rgba([10, 200, 10, 255]));
    // The JPEG thumbnail shows transparency as white, not black.
    let thumb = decode(&s.thumb).to_rgb8();
    assert!(thumb.get_pixel(3, 10).0.iter().all(|&c| c > 220));
}

#[test]
fn thumbnails_are_jpeg_with_longest_side_at_most_320() {
    let wide = RgbImage::from_pixel(1000, 500, Rgb([120, 130, 140]));
    let s = sanitize_image(&jpeg_of(&wide)).unwrap();
    assert_eq!((s.width, s.height), (1000, 500));
    assert_eq!(sniff(&s.thumb), Some(Kind::Jpeg));
    let t = decode(&s.thumb);
    assert_eq!((t.width(), t.height()), (320, 160));

    let tall = RgbImage::from_pixel(300, 900, Rgb([120, 130, 140]));
    let s = sanitize_image(&png_of(&DynamicImage::ImageRgb8(tall))).unwrap();
    let t = decode(&s.thumb);
    assert_eq!((t.width(), t.height()), (107, 320));

    // Small images are not blown up.
    let small = sanitize_image(&jpeg_of(&quadrant_image())).unwrap();
    let t = decode(&small.thumb);
    assert_eq!((t.width(), t.height()), (64, 32));
}

#[test]
fn non_images_are_unsupported() {
    let cases: Vec<Vec<u8>> = vec![
        b"patient notes renamed to photo.jpg\n".to_vec(),
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec(),
        (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect(),
        b"%PDF-1.4\n%...".to_vec(),
        Vec::new(),
    ];
    for bytes in cases {
        assert!(matches!(sanitize_image(&bytes), Err(MediaError::Unsupported)), "{:?}", &bytes[..bytes.len().min(8)]);
    }
}

#[test]
fn truncated_files_are_corrupt() {
    let jpeg = jpeg_of(&RgbImage::from_fn(200, 150, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90])));
    for cut in [jpeg.len() / 2, jpeg.len() - 2, 40, 3] {
        assert!(matches!(sanitize_image(&jpeg[..cut]), Err(MediaError::Corrupt(_))), "cut at {cut}");
    }
    let png = png_of(&DynamicImage::ImageRgb8(quadrant_image()));
    for cut in [png.len() / 2, 20] {
        assert!(matches!(sanitize_image(&png[..cut]), Err(MediaError::Corrupt(_))), "cut at {cut}");
    }
}

#[test]
fn too_large_uploads_are_refused_before_decoding() {
    let mut big = vec![0u8; MAX_BYTES + 1];
    big[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
    assert!(matches!(sanitize_image(&big), Err(MediaError::TooLarge)));
}

#[test]
fn a_png_claiming_ten_gigapixels_fails_cleanly() {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    // A tiny zlib stream of zeros: a bomb would inflate it into the claimed size.
    png.extend(png_chunk(b"IDAT", &[0x78, 0x9C, 0x63, 0x60, 0x18, 0x05, 0x00, 0x00]));
    png.extend(png_chunk(b"IEND", b""));
    match sanitize_image(&png) {
        Err(MediaError::TooManyPixels) => {}
        other => panic!("expected TooManyPixels, got {other:?}"),
    }
}

#[test]
fn a_jpeg_claiming_huge_dimensions_fails_cleanly() {
    let mut jpeg = jpeg_of(&quadrant_image());
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline SOF0");
    // SOF0: FF C0, length(2), precision(1), height(2), width(2).
    jpeg[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
    match sanitize_image(&jpeg) {
        Err(MediaError::TooManyPixels) => {}
        other => panic!("expected TooManyPixels, got {other:?}"),
    }
}

// ---------- memory (R9.3) ----------

#[test]
fn the_black_png_fixture_is_a_real_png() {
    let png = black_png(300, 200, 16, 2);
    let img = decode(&png);
    assert_eq!((img.width(), img.height()), (300, 200));
    assert_eq!(img.color(), image::ColorType::Rgb16);
    assert!(img.to_rgb8().pixels().all(|p| p.0 == [0, 0, 0]));
    // Large ones stay small: 40 megapixels at 16 bits a channel in about 1.5 MB.
    let bomb = black_png(8000, 5000, 16, 2);
    assert!(bomb.len() < 2 << 20, "{}", bomb.len());
}

#[test]
fn r9_3_a_16_bit_40_megapixel_png_is_refused_from_its_header() {
    // 240 MB decoded: over the budget, refused before inflating (so at once and without memory).
    let bomb = black_png(8000, 5000, 16, 2);
    let started = std::time::Instant::now();
    assert!(matches!(sanitize_image(&bomb), Err(MediaError::TooManyPixels)));
    assert!(matches!(Watermarker::builtin().apply(&bomb, &["x"]), Err(MediaError::TooManyPixels)));
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    // Its cost as counted for the budget is the file and slack, not the claimed canvas.
    assert!(work_bytes(&bomb) < 20 << 20);
    // A 16-bit image of 20 megapixels and an 8-bit one of 40 are within the budget.
    assert!(work_bytes(&black_png(5000, 4000, 16, 2)) > 200 << 20);
    let ok = sanitize_image(&black_png(4000, 2500, 16, 6)).unwrap();
    assert_eq!((ok.width, ok.height), (DISPLAY_MAX_SIDE, 1600));
}

#[test]
fn r9_3_work_bytes_counts_the_decoded_image_and_its_copies() {
    let png = black_png(8000, 5000, 8, 2);
    let decoded = 8000 * 5000 * 3;
    let cost = work_bytes(&png);
    assert!(cost >= 3 * decoded && cost < 3 * decoded + (20 << 20), "{cost}");
    assert_eq!(work_bytes(b"not an image"), 12);
    assert!(work_bytes(&two_page_pdf()) >= PDF_WORK_BYTES);
}

#[test]
fn r9_3_large_images_are_stored_at_display_size() {
    let s = sanitize_image(&black_png(8000, 5000, 8, 2)).unwrap();
    assert_eq!((s.width, s.height), (DISPLAY_MAX_SIDE, 1600));
    assert_eq!(decode(&s.data).width(), DISPLAY_MAX_SIDE);
    let t = decode(&s.thumb);
    assert_eq!((t.width(), t.height()), (THUMB_MAX_SIDE, 200));
    // A small one keeps its size.
    let small = sanitize_image(&black_png(640, 480, 8, 0)).unwrap();
    assert_eq!((small.width, small.height), (640, 480));
}

#[test]
fn r9_3_a_pdf_that_renders_forever_is_stopped_at_its_time_limit() {
    let pdf = slow_pdf();
    assert!(pdf.len() < 4096);
    let started = std::time::Instant::now();
    let got = pdf_pages_within(&pdf, 1, 110, std::time::Duration::from_secs(1));
    let took = started.elapsed();
    assert!(matches!(&got, Err(MediaError::TooSlow(tool)) if tool == "pdftoppm"), "{got:?}");
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    assert_eq!(PDF_TIME_LIMIT, std::time::Duration::from_secs(10));
}

// ---------- watermarks ----------

const WHO: &str = "訪問 花子 (nurse01)";
const WHEN: &str = "2026年11月24日(火) 14:05 閲覧";

fn white(w: u32, h: u32) -> Vec<u8> {
    jpeg_of(&RgbImage::from_pixel(w, h, Rgb([255, 255, 255])))
}

/// Fraction of pixels clearly darker than white, and the image.
fn darkened(jpeg: &[u8]) -> (f64, RgbImage) {
    let img = decode(jpeg).to_rgb8();
    let dark = img.pixels().filter(|p| p.0.iter().any(|&c| c < 200)).count();
    (dark as f64 / f64::from(img.width() * img.height()), img)
}

/// Every cell of a cols x rows grid over the image has some darkened pixels.
fn covers_everywhere(img: &RgbImage, cols: u32, rows: u32) -> bool {
    let (w, h) = img.dimensions();
    (0..rows).all(|r| {
        (0..cols).all(|c| {
            let (x0, y0) = (c * w / cols, r * h / rows);
            let (x1, y1) = ((c + 1) * w / cols, (r + 1) * h / rows);
            (y0..y1).any(|y| (x0..x1).any(|x| img.get_pixel(x, y).0.iter().any(|&v| v < 200)))
        })
    })
}

fn cjk() -> Watermarker {
    let wm = Watermarker::load(None);
    assert!(wm.has_cjk_font(), "no Japanese font found: install fonts-noto-cjk (see Watermarker::load)");
    wm
}

#[test]
fn builtin_font_watermark_darkens_the_whole_image() {
    let wm = Watermarker::builtin();
    assert!(!wm.has_cjk_font());
    let out = wm.apply(&white(600, 400), &[WHO, WHEN]).unwrap();
    assert_eq!(sniff(&out), Some(Kind::Jpeg));
    let (fraction, img) = darkened(&out);
    assert_eq!(img.dimensions(), (600, 400));
    assert!(fraction > 0.03, "only {fraction} darkened");
    assert!(covers_everywhere(&img, 4, 4), "a crop could avoid the mark");
}

#[test]
fn builtin_font_draws_ascii_even_for_an_all_japanese_line() {
    // Non-ASCII becomes '?', which still leaves a visible mark.
    let wm = Watermarker::builtin();
    let out = wm.apply(&white(400, 300), &["訪問 花子"]).unwrap();
    let (fraction, _) = darkened(&out);
    assert!(fraction > 0.01, "only {fraction} darkened");
}

#[test]
fn cjk_font_watermark_darkens_the_whole_image() {
    let wm = cjk();
    let out = wm.apply(&white(600, 400), &[WHO, WHEN]).unwrap();
    let (fraction, img) = darkened(&out);
    assert_eq!(img.dimensions(), (600, 400));
    assert!(fraction > 0.03, "only {fraction} darkened");
    assert!(covers_everywhere(&img, 4, 4), "a crop could avoid the mark");
}

#[test]
fn cjk_font_draws_japanese_not_question_marks() {
    let wm = cjk();
    let input = white(400, 300);
    let with_font = wm.apply(&input, &["訪問 花子"]).unwrap();
    let (fraction, a) = darkened(&with_font);
    assert!(fraction > 0.01, "only {fraction} darkened");
    let fallback = Watermarker::builtin().apply(&input, &["訪問 花子"]).unwrap();
    let (_, b) = darkened(&fallback);
    let differing = a.pixels().zip(b.pixels()).filter(|(p, q)| p.0[0].abs_diff(q.0[0]) > 60).count();
    assert!(differing > 1000, "the Japanese font was not used");
}

#[test]
fn a_given_font_path_that_is_not_a_font_falls_back_to_the_known_paths() {
    let wm = Watermarker::load(Some(std::path::Path::new("/nonexistent/font.ttf")));
    let default = Watermarker::load(None);
    assert_eq!(wm.has_cjk_font(), default.has_cjk_font());
}

#[test]
fn watermark_keeps_photo_visible_and_shows_on_dark_images() {
    // On black the light halo shows; on a mid-grey photo both halo and text show.
    for shade in [0u8, 128] {
        let input = jpeg_of(&RgbImage::from_pixel(500, 350, Rgb([shade; 3])));
        for wm in [Watermarker::builtin(), Watermarker::load(None)] {
            let out = decode(&wm.apply(&input, &[WHO, WHEN]).unwrap()).to_rgb8();
            let changed = out.pixels().filter(|p| p.0[0].abs_diff(shade) > 40).count();
            let fraction = changed as f64 / f64::from(500 * 350);
            assert!(fraction > 0.03, "shade {shade}: only {fraction} changed");
            // Most of the photo is untouched.
            assert!(fraction < 0.6, "shade {shade}: {fraction} changed");
        }
    }
}

#[test]
fn watermark_scales_with_the_image() {
    // A 4x larger image gets text about 4x larger, so a similar share of it is covered.
    let wm = Watermarker::builtin();
    let (small, _) = darkened(&wm.apply(&white(400, 300), &[WHO, WHEN]).unwrap());
    let (large, img) = darkened(&wm.apply(&white(1600, 1200), &[WHO, WHEN]).unwrap());
    assert!(covers_everywhere(&img, 6, 6));
    assert!(large > small * 0.5 && large < small * 2.0, "small {small}, large {large}");
}

#[test]
fn watermark_accepts_png_with_alpha_and_refuses_non_images() {
    let img = RgbaImage::from_pixel(300, 200, Rgba([255, 255, 255, 0]));
    let out = Watermarker::builtin().apply(&png_of(&DynamicImage::ImageRgba8(img)), &[WHO]).unwrap();
    let (fraction, img) = darkened(&out);
    assert_eq!(img.dimensions(), (300, 200));
    assert!(fraction > 0.01);
    assert!(matches!(Watermarker::builtin().apply(b"%PDF-1.4", &[WHO]), Err(MediaError::Unsupported)));
}

/// Run with `cargo test --release -p kumanet-media -- --ignored --nocapture`.
#[test]
#[ignore = "timing; meaningful in release builds only"]
fn watermark_on_twelve_megapixels_is_fast() {
    let input = jpeg_of(&RgbImage::from_fn(4000, 3000, |x, y| Rgb([(x / 16) as u8, (y / 12) as u8, 128])));
    for wm in [Watermarker::builtin(), Watermarker::load(None)] {
        let started = std::time::Instant::now();
        let out = wm.apply(&input, &[WHO, WHEN]).unwrap();
        let took = started.elapsed();
        println!("cjk={} took {took:?}", wm.has_cjk_font());
        assert_eq!(decode(&out).width(), 4000);
        assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    }
}

// ---------- PDF ----------

#[test]
fn pdf_page_count_reads_pdfinfo() {
    assert_eq!(pdf_page_count(&two_page_pdf()).unwrap(), 2);
    assert_eq!(pdf_page_count(&pdf_of(&["0 g"])).unwrap(), 1);
}

#[test]
fn pdf_pages_are_rendered_in_order_as_png() {
    let pages = pdf_pages(&two_page_pdf(), 10, 72).unwrap();
    assert_eq!(pages.len(), 2);
    let imgs: Vec<RgbImage> = pages
        .iter()
        .map(|p| {
            assert_eq!(sniff(p), Some(Kind::Png));
            decode(p).to_rgb8()
        })
        .collect();
    for img in &imgs {
        assert_eq!(img.dimensions(), (200, 100));
    }
    // Page order: the square is on the left of page 1 and on the right of page 2.
    let dark = |img: &RgbImage, x, y| img.get_pixel(x, y).0[0] < 50;
    assert!(dark(&imgs[0], 40, 50) && !dark(&imgs[0], 160, 50));
    assert!(!dark(&imgs[1], 40, 50) && dark(&imgs[1], 160, 50));
}

#[test]
fn pdf_pages_respects_max_pages_and_dpi() {
    let pages = pdf_pages(&two_page_pdf(), 1, 144).unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(decode(&pages[0]).width(), 400);
    // Zero pages asked still renders the first.
    assert_eq!(pdf_pages(&two_page_pdf(), 0, 72).unwrap().len(), 1);
}

#[test]
fn broken_pdfs_are_renderer_errors() {
    let junk = b"%PDF-1.4\nthis is not really a pdf\n".to_vec();
    assert!(matches!(pdf_page_count(&junk), Err(MediaError::PdfRenderer(_))));
    assert!(matches!(pdf_pages(&junk, 2, 72), Err(MediaError::PdfRenderer(_))));
}

#[test]
fn a_poster_sized_page_is_rendered_within_the_side_limit() {
    // 200 x 100 inches: at 150 dpi this would be a 30000 x 15000 bitmap.
    let pdf = pdf_of(&["0 0 0 rg 10 10 60 60 re f"]);
    let pdf = String::from_utf8_lossy(&pdf).replace("[0 0 200 100]", "[0 0 14400 7200]");
    let pages = pdf_pages(pdf.as_bytes(), 1, 150).unwrap();
    let page = decode(&pages[0]);
    assert!(page.width() <= MAX_PAGE_SIDE && page.height() <= MAX_PAGE_SIDE);
    assert!(page.width() >= MAX_PAGE_SIDE / 2, "{}", page.width());
}
