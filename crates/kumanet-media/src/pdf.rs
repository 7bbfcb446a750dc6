//! PDF pages as images, through poppler-utils (`pdfinfo`, `pdftoppm`) run as separate,
//! time-bounded processes on a private copy of the file.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{sniff, Kind, MediaError, MAX_BYTES};

/// How long one PDF may take, from the page count to the last page rendered. A 1 MB file of
/// nested drawings can keep `pdftoppm` busy for minutes; it is stopped and refused instead.
pub const PDF_TIME_LIMIT: Duration = Duration::from_secs(10);
/// What rendering a PDF costs this process at most: the rendered first page (at most
/// [`MAX_PAGE_SIDE`] square) decoded for its thumbnail, its copies and the page files read
/// back. `pdftoppm` itself runs in its own process.
pub const PDF_WORK_BYTES: u64 = 160 * 1024 * 1024;
/// How often a running tool is checked on.
const POLL: Duration = Duration::from_millis(10);
/// Bounds on the resolution asked of `pdftoppm`.
const MIN_DPI: u32 = 18;
const MAX_DPI: u32 = 300;

/// The most pages [`pdf_pages`] renders in one call.
pub const MAX_PDF_PAGES: u32 = 100;
/// The longest side of a rendered page, in pixels: A4 at 300 dpi is 3,508. Larger pages
/// (posters, or a hostile 200-inch MediaBox) are rendered at a lower resolution instead of
/// making `pdftoppm` allocate gigabytes.
pub const MAX_PAGE_SIDE: u32 = 4_000;

/// The number of pages of a PDF, as `pdfinfo` reports it.
pub fn pdf_page_count(bytes: &[u8]) -> Result<u32, MediaError> {
    let dir = TempDir::new()?;
    let input = dir.write_input(bytes)?;
    let info = pdfinfo(&input, None, Instant::now() + PDF_TIME_LIMIT)?;
    parse_pages(&info).ok_or_else(|| MediaError::PdfRenderer("pdfinfo printed no page count".into()))
}

/// Renders the first `max_pages` pages (at least one, at most [`MAX_PDF_PAGES`]) at `dpi`
/// (kept within 18..=300, and lowered so no page is longer than [`MAX_PAGE_SIDE`] pixels)
/// and returns one PNG per page, in page order; within [`PDF_TIME_LIMIT`] in all.
pub fn pdf_pages(bytes: &[u8], max_pages: u32, dpi: u32) -> Result<Vec<Vec<u8>>, MediaError> {
    pdf_pages_within(bytes, max_pages, dpi, PDF_TIME_LIMIT)
}

/// [`pdf_pages`] with its own time limit for the whole document: past it, the tool running is
/// killed and the answer is [`MediaError::TooSlow`].
pub fn pdf_pages_within(bytes: &[u8], max_pages: u32, dpi: u32, limit: Duration) -> Result<Vec<Vec<u8>>, MediaError> {
    let deadline = Instant::now() + limit;
    let dir = TempDir::new()?;
    let input = dir.write_input(bytes)?;
    let last = max_pages.clamp(1, MAX_PDF_PAGES);
    let info = pdfinfo(&input, Some(last), deadline)?;
    let dpi = safe_dpi(dpi, parse_longest_side_pts(&info));
    let prefix = dir.path.join("page");
    // The crop box (-W/-H) is a backstop for sizes pdfinfo did not report: it bounds the
    // bitmap pdftoppm allocates even then.
    let cap = (MAX_PAGE_SIDE + 64).to_string();
    let mut cmd = Command::new("pdftoppm");
    cmd.arg("-png")
        .arg("-r")
        .arg(dpi.to_string())
        .arg("-f")
        .arg("1")
        .arg("-l")
        .arg(last.to_string())
        .arg("-W")
        .arg(&cap)
        .arg("-H")
        .arg(&cap)
        .arg(&input)
        .arg(&prefix);
    let out = run_tool(cmd, deadline)?;
    if !out.status.success() {
        return Err(tool_failed("pdftoppm", &out));
    }
    // pdftoppm names pages page-1.png or page-01.png ... by the document's page count.
    let mut pages: Vec<(u32, PathBuf)> = std::fs::read_dir(&dir.path)
        .map_err(|e| MediaError::PdfRenderer(format!("reading output: {e}")))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let n = name.strip_prefix("page-")?.strip_suffix(".png")?;
            Some((n.parse::<u32>().ok()?, entry.path()))
        })
        .collect();
    pages.sort_by_key(|(n, _)| *n);
    if pages.is_empty() {
        return Err(MediaError::PdfRenderer("pdftoppm wrote no pages".into()));
    }
    pages
        .iter()
        .map(|(_, path)| std::fs::read(path).map_err(|e| MediaError::PdfRenderer(format!("reading page: {e}"))))
        .collect()
}

/// `pdfinfo`'s report; with `last`, it lists the size of each page up to that one.
fn pdfinfo(input: &std::path::Path, last: Option<u32>, deadline: Instant) -> Result<String, MediaError> {
    let mut cmd = Command::new("pdfinfo");
    if let Some(last) = last {
        cmd.arg("-f").arg("1").arg("-l").arg(last.to_string());
    }
    cmd.arg(input);
    let out = run_tool(cmd, deadline)?;
    if !out.status.success() {
        return Err(tool_failed("pdfinfo", &out));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn parse_pages(info: &str) -> Option<u32> {
    info.lines().find_map(|l| l.strip_prefix("Pages:")).and_then(|n| n.trim().parse().ok())
}

/// The longest side of any page listed ("Page    1 size: 595.276 x 841.89 pts (A4)"), in
/// points (1/72 inch).
fn parse_longest_side_pts(info: &str) -> Option<f64> {
    info.lines()
        .filter_map(|line| {
            let mut words = line.split_once("size:")?.1.split_whitespace();
            let w: f64 = words.next()?.parse().ok()?;
            (words.next()? == "x").then_some(())?;
            let h: f64 = words.next()?.parse().ok()?;
            Some(w.max(h))
        })
        .filter(|side| side.is_finite() && *side > 0.0)
        .reduce(f64::max)
}

/// The asked resolution within 18..=300 dpi, lowered so the longest page stays within
/// [`MAX_PAGE_SIDE`] pixels.
fn safe_dpi(asked: u32, longest_pts: Option<f64>) -> u32 {
    let dpi = asked.clamp(MIN_DPI, MAX_DPI);
    match longest_pts {
        Some(pts) => {
            let fits = (f64::from(MAX_PAGE_SIDE) * 72.0 / pts).floor();
            dpi.min(fits.clamp(1.0, f64::from(MAX_DPI)) as u32)
        }
        None => dpi,
    }
}

fn tool_failed(tool: &str, out: &Output) -> MediaError {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or("").trim();
    MediaError::PdfRenderer(format!("{tool} exited with {}: {first}", out.status))
}

/// Runs a tool with no input, collecting its output; kills it at `deadline`.
pub(crate) fn run_tool(mut cmd: Command, deadline: Instant) -> Result<Output, MediaError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            MediaError::PdfRenderer(format!("{program} not found (install poppler-utils)"))
        } else {
            MediaError::PdfRenderer(format!("cannot start {program}: {e}"))
        }
    })?;
    // Pipes are drained on their own threads so a chatty tool never blocks on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_bounded(&mut child, deadline, &program)?;
    let collect = |h: std::thread::JoinHandle<Vec<u8>>| h.join().unwrap_or_default();
    Ok(Output { status, stdout: collect(stdout), stderr: collect(stderr) })
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

fn wait_bounded(child: &mut Child, deadline: Instant, program: &str) -> Result<std::process::ExitStatus, MediaError> {
    // A channel nobody sends on: its recv_timeout is the pause between checks.
    let (_keep, pause) = std::sync::mpsc::channel::<()>();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => return Err(MediaError::PdfRenderer(format!("waiting for {program}: {e}"))),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(MediaError::TooSlow(program.to_string()));
        }
        let _ = pause.recv_timeout(POLL);
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh private (0700) directory in the system temp dir, removed with everything in it
/// when dropped, on success and on error alike.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> Result<TempDir, MediaError> {
        let base = std::env::temp_dir();
        let pid = std::process::id();
        let marker = 0u8;
        // Address of a stack slot: differs between threads and runs (ASLR); no clock needed.
        let addr = std::ptr::addr_of!(marker) as usize;
        for _ in 0..64 {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("kumanet-media-{pid}-{n}-{addr:x}"));
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(MediaError::PdfRenderer(format!("cannot make temp dir: {e}"))),
            }
        }
        Err(MediaError::PdfRenderer("cannot make a fresh temp dir".into()))
    }

    /// Writes the upload as `in.pdf` (0600) after checking it is a PDF of allowed size.
    fn write_input(&self, bytes: &[u8]) -> Result<PathBuf, MediaError> {
        if bytes.len() > MAX_BYTES {
            return Err(MediaError::TooLarge);
        }
        if sniff(bytes) != Some(Kind::Pdf) {
            return Err(MediaError::Unsupported);
        }
        let path = self.path.join("in.pdf");
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(bytes).map(|()| f))
            .map_err(|e| MediaError::PdfRenderer(format!("cannot write temp file: {e}")))?;
        file.flush().map_err(|e| MediaError::PdfRenderer(format!("cannot write temp file: {e}")))?;
        Ok(path)
    }

    #[cfg(test)]
    fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_page_sizes_and_lowers_dpi_for_huge_pages() {
        let info = "Pages:          2\nPage    1 size: 595.276 x 841.89 pts (A4)\nPage    1 rot:  0\nPage    2 size: 14400 x 7200 pts\n";
        assert_eq!(parse_longest_side_pts(info), Some(14400.0));
        assert_eq!(parse_longest_side_pts("Page size: 612 x 792 pts (letter)\n"), Some(792.0));
        assert_eq!(parse_longest_side_pts("Pages: 3\n"), None);
        // A4 at 300 dpi fits; a 200-inch page is rendered at 20 dpi (4,000 px).
        assert_eq!(safe_dpi(300, Some(841.89)), 300);
        assert_eq!(safe_dpi(150, Some(14400.0)), 20);
        assert_eq!(safe_dpi(150, Some(1e9)), 1);
        assert_eq!(safe_dpi(5000, None), MAX_DPI);
        assert_eq!(safe_dpi(0, None), MIN_DPI);
    }

    #[test]
    fn parses_pdfinfo_pages_line() {
        let info = "Title:          x\nProducer:       y\nPages:          12\nEncrypted:      no\n";
        assert_eq!(parse_pages(info), Some(12));
        assert_eq!(parse_pages("Title: x\n"), None);
    }

    #[test]
    fn temp_dirs_are_fresh_private_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let a = TempDir::new().unwrap();
        let b = TempDir::new().unwrap();
        assert_ne!(a.path(), b.path());
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let input = a.write_input(b"%PDF-1.4\n").unwrap();
        let mode = std::fs::metadata(&input).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let kept = a.path().to_path_buf();
        drop(a);
        assert!(!kept.exists());
    }

    #[test]
    fn refuses_non_pdf_before_running_anything() {
        assert!(matches!(pdf_page_count(b"not a pdf"), Err(MediaError::Unsupported)));
        assert!(matches!(pdf_pages(b"\x89PNG\r\n\x1a\n", 1, 72), Err(MediaError::Unsupported)));
    }

    #[test]
    fn a_hung_tool_is_killed_at_the_timeout() {
        let mut cmd = Command::new("sleep");
        cmd.arg("20");
        let started = Instant::now();
        let err = run_tool(cmd, Instant::now() + Duration::from_millis(300)).unwrap_err();
        assert!(matches!(&err, MediaError::TooSlow(tool) if tool == "sleep"));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_missing_tool_is_a_renderer_error() {
        let cmd = Command::new("kumanet-no-such-tool-xyz");
        let err = run_tool(cmd, Instant::now() + Duration::from_secs(5)).unwrap_err();
        assert!(matches!(&err, MediaError::PdfRenderer(m) if m.contains("not found")));
    }
}
