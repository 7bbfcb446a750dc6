//! Watermarks burned into an image each time it is viewed: who looked and when, repeated
//! diagonally over the whole picture so that no crop removes it.

use std::path::Path;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};

use crate::bitmap_font;
use crate::{decode_image, encode_jpeg, into_flat_rgb, MediaError};

/// Debian's places for a font with Japanese glyphs (fonts-noto-cjk, fonts-ipafont-gothic).
const CJK_FONT_PATHS: [&str; 5] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
];

/// A character every Japanese font has and no Latin-only font has.
const CJK_PROBE: char = '訪';

/// Text is drawn rising at this angle, in degrees.
const ANGLE_DEG: f32 = 30.0;
/// Opacity of the dark text and of the light halo around it.
const TEXT_ALPHA: f32 = 0.6;
const HALO_ALPHA: f32 = 0.45;
const TEXT_RGB: [f32; 3] = [24.0, 24.0, 24.0];
const HALO_RGB: [f32; 3] = [255.0, 255.0, 255.0];
/// Bounds on what is drawn, so a caller's mistake cannot make a huge mask.
const MAX_LINES: usize = 8;
const MAX_CHARS_PER_LINE: usize = 120;

/// Burns view-time watermarks into images, with a Japanese font when one is installed and a
/// built-in ASCII bitmap font otherwise (a watermark is never skipped).
pub struct Watermarker {
    font: Option<FontVec>,
}

impl std::fmt::Debug for Watermarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watermarker").field("has_cjk_font", &self.has_cjk_font()).finish()
    }
}

impl Watermarker {
    /// Loads the font at `font_path` if given and usable, else the first Japanese font found
    /// in Debian's usual places; with none, watermarks use the built-in ASCII font.
    pub fn load(font_path: Option<&Path>) -> Watermarker {
        let font = font_path.into_iter().chain(CJK_FONT_PATHS.iter().map(Path::new)).find_map(load_cjk_font);
        Watermarker { font }
    }

    /// A watermarker that uses only the built-in ASCII bitmap font (non-ASCII drawn as '?').
    pub fn builtin() -> Watermarker {
        Watermarker { font: None }
    }

    /// Whether a font with Japanese glyphs was found (else names show as '?').
    pub fn has_cjk_font(&self) -> bool {
        self.font.is_some()
    }

    /// Decodes a JPEG or PNG, burns `lines` into it (semi-transparent dark text on a light
    /// halo, repeated diagonally across the whole image, sized to the image) and returns a
    /// JPEG. Blank lines are left out.
    pub fn apply(&self, image_bytes: &[u8], lines: &[&str]) -> Result<Vec<u8>, MediaError> {
        let (_, img) = decode_image(image_bytes)?;
        let mut rgb = into_flat_rgb(img);
        let lines: Vec<String> = lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .take(MAX_LINES)
            .map(|l| l.chars().take(MAX_CHARS_PER_LINE).collect())
            .collect();
        if !lines.is_empty() {
            let (w, h) = rgb.dimensions();
            let px = font_px(w, h);
            let mask = match &self.font {
                Some(font) => outline_mask(font, &lines, px),
                None => bitmap_mask(&lines, px),
            };
            stamp(&mut rgb, &mask, px);
        }
        encode_jpeg(&rgb)
    }
}

fn load_cjk_font(path: &Path) -> Option<FontVec> {
    let data = std::fs::read(path).ok()?;
    // Index 0 is the only face of a .ttf and the first (Japanese) face of a .ttc.
    let font = FontVec::try_from_vec_and_index(data, 0).ok()?;
    (font.glyph_id(CJK_PROBE).0 != 0).then_some(font)
}

/// The text height in pixels for an image: about 1/34 of the geometric mean of the sides,
/// so 13 px on a 400x300 photo and about 100 px on a 4000x3000 one.
fn font_px(w: u32, h: u32) -> f32 {
    ((f64::from(w) * f64::from(h)).sqrt() / 34.0).clamp(13.0, 160.0) as f32
}

/// Coverage of the text block (`text`) and of its halo (`halo`), both 0..=255, row-major;
/// `texels` holds both, interleaved, with a one-texel empty border for sampling.
struct Mask {
    w: usize,
    h: usize,
    text: Vec<u8>,
    halo: Vec<u8>,
    texels: Vec<[u8; 2]>,
}

impl Mask {
    fn blank(w: usize, h: usize) -> Mask {
        Mask { w, h, text: vec![0; w * h], halo: Vec::new(), texels: Vec::new() }
    }

    /// Width of a row of `texels`.
    fn padded_w(&self) -> usize {
        self.w + 2
    }

    fn put(&mut self, x: i64, y: i64, coverage: u8) {
        if x < 0 || y < 0 || x as usize >= self.w || y as usize >= self.h {
            return;
        }
        let i = y as usize * self.w + x as usize;
        if let Some(t) = self.text.get_mut(i) {
            *t = (*t).max(coverage);
        }
    }

    /// The halo: the text grown by `r` pixels in every direction (a separable max filter).
    fn grow_halo(&mut self, r: usize) {
        let (w, h) = (self.w, self.h);
        let mut rows = vec![0u8; w * h];
        for y in 0..h {
            let row = &self.text[y * w..(y + 1) * w];
            for x in 0..w {
                let lo = x.saturating_sub(r);
                let hi = (x + r + 1).min(w);
                rows[y * w + x] = row[lo..hi].iter().copied().max().unwrap_or(0);
            }
        }
        let mut halo = vec![0u8; w * h];
        for x in 0..w {
            for y in 0..h {
                let lo = y.saturating_sub(r);
                let hi = (y + r + 1).min(h);
                halo[y * w + x] = (lo..hi).map(|yy| rows[yy * w + x]).max().unwrap_or(0);
            }
        }
        self.halo = halo;
        let pw = self.padded_w();
        let mut texels = vec![[0u8; 2]; pw * (h + 2)];
        for y in 0..h {
            for x in 0..w {
                texels[(y + 1) * pw + x + 1] = [self.text[y * w + x], self.halo[y * w + x]];
            }
        }
        self.texels = texels;
    }
}

fn halo_radius(px: f32) -> usize {
    ((px / 8.0).round() as usize).max(1)
}

/// Lays the lines out with the outline font and rasterizes them.
fn outline_mask(font: &FontVec, lines: &[String], px: f32) -> Mask {
    let scaled = font.as_scaled(PxScale::from(px));
    let r = halo_radius(px);
    let pad = (r + 2) as f32;
    let line_h = (scaled.height() + scaled.line_gap()).ceil().max(1.0);
    let width_of = |line: &str| {
        let mut caret = 0.0f32;
        let mut prev = None;
        for c in line.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            caret += scaled.h_advance(id);
            prev = Some(id);
        }
        caret
    };
    let text_w = lines.iter().map(|l| width_of(l)).fold(0.0f32, f32::max);
    let w = (text_w + 2.0 * pad).ceil() as usize;
    let h = (line_h * lines.len() as f32 + 2.0 * pad).ceil() as usize;
    let mut mask = Mask::blank(w, h);
    for (i, line) in lines.iter().enumerate() {
        let baseline = pad + i as f32 * line_h + scaled.ascent();
        let mut caret = pad;
        let mut prev = None;
        for c in line.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(px, ab_glyph::point(caret, baseline));
            caret += scaled.h_advance(id);
            prev = Some(id);
            if let Some(outlined) = font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                let (ox, oy) = (b.min.x as i64, b.min.y as i64);
                outlined.draw(|x, y, c| {
                    let cov = (c.clamp(0.0, 1.0) * 255.0).round() as u8;
                    mask.put(ox + i64::from(x), oy + i64::from(y), cov);
                });
            }
        }
    }
    mask.grow_halo(r);
    mask
}

/// Lays the lines out with the built-in 5x7 font, each font pixel a square of `s` pixels.
fn bitmap_mask(lines: &[String], px: f32) -> Mask {
    use bitmap_font::{CELL_H, CELL_W, GLYPH_H, GLYPH_W};
    let s = ((px / GLYPH_H as f32).round() as usize).max(2);
    let r = halo_radius(px);
    let pad = r + 2;
    let chars: Vec<Vec<char>> = lines.iter().map(|l| l.chars().map(bitmap_font::drawable).collect()).collect();
    let longest = chars.iter().map(Vec::len).max().unwrap_or(0);
    let line_h = CELL_H * s + s;
    let w = longest * CELL_W * s + 2 * pad;
    let h = lines.len() * line_h + 2 * pad;
    let mut mask = Mask::blank(w, h);
    for (i, line) in chars.iter().enumerate() {
        let top = pad + i * line_h;
        for (j, &c) in line.iter().enumerate() {
            let left = pad + j * CELL_W * s;
            for gy in 0..GLYPH_H {
                for gx in 0..GLYPH_W {
                    if !bitmap_font::ink(c, gx, gy) {
                        continue;
                    }
                    for dy in 0..s {
                        for dx in 0..s {
                            let x = (left + gx * s + dx) as i64;
                            let y = (top + gy * s + dy) as i64;
                            mask.put(x, y, 255);
                        }
                    }
                }
            }
        }
    }
    mask.grow_halo(r);
    mask
}

/// Bilinear samples of the text and halo masks at (u, v), each 0.0..=1.0, for
/// -0.5 <= u < w and -0.5 <= v < h (the border of `texels` covers the edges).
#[inline]
fn sample(mask: &Mask, u: f32, v: f32) -> (f32, f32) {
    // u, v >= -0.5, so shifting by one makes truncation a floor (and avoids a libm call per
    // pixel on CPUs without SSE4.1); the shift is also the border of `texels`.
    let (x1, y1) = ((u + 1.0) as usize, (v + 1.0) as usize);
    let (fx, fy) = (u + 1.0 - x1 as f32, v + 1.0 - y1 as f32);
    let pw = mask.padded_w();
    let i = y1 * pw + x1;
    let tap = |j: usize| mask.texels.get(j).copied().unwrap_or([0, 0]);
    let (a, b, c, d) = (tap(i), tap(i + 1), tap(i + pw), tap(i + pw + 1));
    if (a[1] | b[1] | c[1] | d[1]) == 0 {
        // Outside the halo, hence outside the text too: most of the mask.
        return (0.0, 0.0);
    }
    let lerp = |k: usize| {
        let top = f32::from(a[k]) + (f32::from(b[k]) - f32::from(a[k])) * fx;
        let bottom = f32::from(c[k]) + (f32::from(d[k]) - f32::from(c[k])) * fx;
        (top + (bottom - top) * fy) / 255.0
    };
    (lerp(0), lerp(1))
}

/// Where the pattern lies on the image: a staggered grid of tiles in (u, v) coordinates,
/// u along the rising text and v across it, with one copy of the block centred on the image.
struct Pattern {
    cx: f32,
    cy: f32,
    sin: f32,
    cos: f32,
    tile_w: f32,
    tile_h: f32,
    /// Samples are taken half a pixel back, so the mask reaches half a pixel further.
    reach_u: f32,
    reach_v: f32,
}

/// Repeats the mask over the whole image on a rotated, staggered grid centred on the image,
/// a band of rows per available core (at most four).
fn stamp(rgb: &mut image::RgbImage, mask: &Mask, px: f32) {
    if mask.w == 0 || mask.h == 0 || rgb.width() == 0 {
        return;
    }
    let (sin, cos) = ANGLE_DEG.to_radians().sin_cos();
    let pattern = Pattern {
        cx: rgb.width() as f32 / 2.0,
        cy: rgb.height() as f32 / 2.0,
        sin,
        cos,
        tile_w: mask.w as f32 + 2.5 * px,
        tile_h: mask.h as f32 + 0.9 * px,
        reach_u: mask.w as f32 + 0.5,
        reach_v: mask.h as f32 + 0.5,
    };
    let stride = rgb.width() as usize * 3;
    let rows = rgb.height() as usize;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let band_rows = rows.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (i, band) in rgb.chunks_mut(band_rows * stride).enumerate() {
            let pattern = &pattern;
            scope.spawn(move || stamp_rows(band, i * band_rows, stride, mask, pattern));
        }
    });
}

/// Stamps rows `first_row..` of the image held in `band`.
///
/// Each pixel's place in the pattern (`tu`, `tv`, both within one tile) is stepped along
/// the row instead of recomputed, so the cost is a few additions per pixel plus the
/// blending where the text is.
fn stamp_rows(band: &mut [u8], first_row: usize, stride: usize, mask: &Mask, p: &Pattern) {
    let half_w = mask.w as f32 / 2.0;
    let half_h = mask.h as f32 / 2.0;
    for (dy_row, row) in band.chunks_exact_mut(stride).enumerate() {
        let dy = (first_row + dy_row) as f32 - p.cy;
        // Pattern coordinates of this row's first pixel.
        let u = -p.cx * p.cos - dy * p.sin + half_w;
        let v = -p.cx * p.sin + dy * p.cos + half_h;
        let band_no = (v / p.tile_h).floor();
        let mut tv = v - band_no * p.tile_h;
        let shift = if band_no.rem_euclid(2.0) == 1.0 { p.tile_w / 2.0 } else { 0.0 };
        let mut tu = (u + shift).rem_euclid(p.tile_w);
        for pixel in row.chunks_exact_mut(3) {
            if tu < p.reach_u && tv < p.reach_v {
                let (text, halo) = sample(mask, tu - 0.5, tv - 0.5);
                // The halo lightens around the letters, not under them, so the text keeps
                // its contrast on mid-tones.
                let halo = halo * (1.0 - text) * HALO_ALPHA;
                let text = text * TEXT_ALPHA;
                if halo > 0.0 || text > 0.0 {
                    for (c, channel) in pixel.iter_mut().enumerate() {
                        let mut v = f32::from(*channel);
                        v += (HALO_RGB[c] - v) * halo;
                        v += (TEXT_RGB[c] - v) * text;
                        // `as` saturates to 0..=255; +0.5 rounds.
                        *channel = (v + 0.5) as u8;
                    }
                }
            }
            // One pixel right: both coordinates grow by less than one, so one wrap each.
            tu += p.cos;
            if tu >= p.tile_w {
                tu -= p.tile_w;
            }
            tv += p.sin;
            if tv >= p.tile_h {
                // The next band of tiles is staggered by half a tile.
                tv -= p.tile_h;
                tu += p.tile_w / 2.0;
                if tu >= p.tile_w {
                    tu -= p.tile_w;
                }
            }
        }
    }
}
