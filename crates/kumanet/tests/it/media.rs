//! R9.3: image work within a memory budget, measured on a real `kumanet serve` process:
//! decompression bombs refused from their headers, and eight parallel 40-megapixel uploads
//! taking turns instead of holding gigabytes at once.

use kumanet_media::fixtures::black_png;

use crate::helpers::*;

/// A browser of the doctor's on its own address (each address may send only so many uploads
/// at once), signed in on `node`.
async fn doctor_at(srv: &Srv, node: &Node, i: u8) -> Client {
    let mut c = Client::from_address(srv, [127, 0, 1, 10 + i]);
    c.base = node.base.clone();
    let r = c.post_form("/login", &[("login_id", "dr.a"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    c
}

/// Uploads `png` from eight browsers at once; their statuses and pages.
async fn eight_uploads(doctors: &[std::sync::Arc<Client>], group: &str, png: &[u8]) -> Vec<Resp> {
    let mut jobs = Vec::new();
    for (i, d) in doctors.iter().enumerate() {
        let (d, path, png) = (d.clone(), format!("/groups/{group}/posts/preview"), png.to_vec());
        jobs.push(tokio::spawn(async move {
            d.post_multipart(&path, &[("body", "写真です")], Some(("file", &format!("p{i}.png"), "image/png", &png)))
                .await
        }));
    }
    let mut out = Vec::new();
    for j in jobs {
        out.push(j.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r9_3_image_work_stays_within_the_memory_budget() {
    let srv = spawn(Backend::Sqlite).await.unwrap();
    let (_, _, group, _) = crate::posts::care_room(&srv).await;
    let dir = TempDir::new("media");
    let node = Node::start(&srv, dir.path(), &[("KUMANET_MEDIA_MEMORY_MB", "400")]).await;
    let mut doctors = Vec::new();
    for i in 0..8 {
        doctors.push(std::sync::Arc::new(doctor_at(&srv, &node, i).await));
    }
    let idle = node.peak_rss_mb();

    // Eight 1.5 MB PNGs that claim 16-bit 40-megapixel canvases (240 MB each decoded):
    // refused from their headers with a message that says what to do.
    let bomb = black_png(8000, 5000, 16, 2);
    let started = std::time::Instant::now();
    for r in eight_uploads(&doctors, &group, &bomb).await {
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(
            r.body.contains("画像が大きすぎます(4,000万画素まで。16ビットの画像は2,000万画素までです)"),
            "{}",
            r.body
        );
        assert!(r.body.contains("写真です"), "the text is kept");
    }
    let bombs_took = started.elapsed();
    let after_bombs = node.peak_rss_mb();

    // Eight real 40-megapixel PNGs (120 MB each decoded, 376 MB of work): all stored, at display
    // size, taking turns within the 400 MB budget.
    let photo = black_png(8000, 5000, 8, 2);
    let started = std::time::Instant::now();
    let answers = eight_uploads(&doctors, &group, &photo).await;
    let photos_took = started.elapsed();
    let peak = node.peak_rss_mb();
    for r in &answers {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let id = crate::posts::draft_ids(&answers[0].body);
    let stored = srv.store.attachment_page(&id, 1).await.unwrap().unwrap();
    let img = image::load_from_memory(&stored).unwrap();
    assert_eq!((img.width(), img.height()), (kumanet_media::DISPLAY_MAX_SIDE, 1600));
    eprintln!(
        "R9.3 media budget 400 MB: idle peak RSS {idle:.0} MB; 8 parallel 16-bit 40 MP PNG bombs: 422 in \
         {bombs_took:.1?}, peak {after_bombs:.0} MB; 8 parallel 8-bit 40 MP PNG uploads: 200 in {photos_took:.1?}, \
         peak {peak:.0} MB"
    );
    assert!(after_bombs < idle + 100.0, "bombs raised the peak from {idle:.0} to {after_bombs:.0} MB");
    assert!(peak < idle + 550.0, "uploads raised the peak from {idle:.0} to {peak:.0} MB");
}
