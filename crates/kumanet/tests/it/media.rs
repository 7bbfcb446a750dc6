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

fn details(row: &kumanet_store::AuditRow) -> serde_json::Value {
    serde_json::from_str(&row.record.details).unwrap()
}

both!(r4_1_r9_3_consent_scans_are_cleaned_and_shown_watermarked, |srv: Srv| async move {
    use crate::patients::{record_consent, register_patient, team};
    use crate::posts::{contains, darker_fraction};
    use kumanet_media::fixtures::{gps_tagged_jpeg, png_chunk, two_page_pdf};
    let t = team(&srv).await;

    // A phone photo of the signed form: kept without its EXIF, GPS position or XMP.
    let photo = gps_tagged_jpeg(640, 480).unwrap();
    assert!(contains(&photo, b"WGS-84"));
    let p1 = register_patient(&t.doctor, "熊谷 一郎", "くまがや いちろう").await;
    assert_eq!(record_consent(&t.doctor, &p1, Some(&photo)).await.status, 303);
    let c1 = srv.store.latest_consent(&p1).await.unwrap().unwrap();
    assert_eq!((c1.scan_type.as_deref(), c1.scan_pages), (Some("image/jpeg"), 1));
    assert!(srv.store.consent_scan(&c1.id).await.unwrap().is_none(), "the photo is not kept as sent");
    let stored = srv.store.consent_scan_page(&c1.id, 1).await.unwrap().unwrap();
    assert!(!contains(&stored, b"Exif") && !contains(&stored, b"WGS-84") && !contains(&stored, b"xmpmeta"));
    let recorded = audit_rows(&srv, "consent.recorded").await;
    assert_eq!(
        details(&recorded[0])["scan"],
        serde_json::json!({ "type": "image/jpeg", "pages": 1, "exif_removed": true })
    );

    // A PNG carrying a script in a text chunk: re-encoded without it.
    let mut png = black_png(64, 48, 8, 2);
    png.splice(33..33, png_chunk(b"tEXt", b"Comment\0<script>alert(1)</script>"));
    let p2 = register_patient(&t.doctor, "妻沼 二郎", "めぬま じろう").await;
    assert_eq!(record_consent(&t.doctor, &p2, Some(&png)).await.status, 303);
    let c2 = srv.store.latest_consent(&p2).await.unwrap().unwrap();
    let stored2 = srv.store.consent_scan_page(&c2.id, 1).await.unwrap().unwrap();
    assert!(stored2.starts_with(b"\x89PNG") && !contains(&stored2, b"<script"));

    // A decompression bomb is refused with a message on the form; nothing is recorded.
    let p3 = register_patient(&t.doctor, "大里 三郎", "おおさと さぶろう").await;
    let r = record_consent(&t.doctor, &p3, Some(&black_png(8000, 5000, 16, 2))).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("同意書の画像: 画像が大きすぎます"), "{}", r.body);
    assert!(srv.store.latest_consent(&p3).await.unwrap().is_none());

    // A two-page PDF: kept as signed (never served), shown as two page images, each view
    // watermarked and audited with its page.
    let pdf = two_page_pdf();
    assert_eq!(record_consent(&t.doctor, &p3, Some(&pdf)).await.status, 303);
    let c3 = srv.store.latest_consent(&p3).await.unwrap().unwrap();
    assert_eq!((c3.scan_type.as_deref(), c3.scan_pages), (Some("application/pdf"), 2));
    assert_eq!(srv.store.consent_scan(&c3.id).await.unwrap().unwrap().0, pdf);
    let scan_url = format!("/patients/{p3}/consent/{}/scan", c3.id);
    let page = t.doctor.get(&scan_url).await;
    assert!(page.body.contains(&format!("{scan_url}/1")) && page.body.contains(&format!("{scan_url}/2")));
    assert!(page.body.contains("PDF 2ページ"), "{}", page.body);
    let served = t.doctor.get_bytes(&format!("{scan_url}/2")).await;
    assert!(served.starts_with(&[0xFF, 0xD8, 0xFF]));
    let stored3 = srv.store.consent_scan_page(&c3.id, 2).await.unwrap().unwrap();
    assert!(darker_fraction(&stored3, &served) > 0.01, "the watermark is burned in");
    let viewed = audit_rows(&srv, "consent.viewed").await;
    assert_eq!(details(&viewed[0]), serde_json::json!({ "scan": c3.id, "page": 2 }));
    assert_eq!(viewed[0].record.target_id.as_deref(), Some(p3.as_str()));
    assert_eq!(t.doctor.get(&format!("{scan_url}/3")).await.status, 404);

    // A scan kept as sent by an earlier version is cleaned at its first view, then never kept.
    let mut tx = srv.store.begin().await.unwrap();
    tx.set_consent_scan_pages(&c1.id, &[], Some(&photo)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(srv.store.latest_consent(&p1).await.unwrap().unwrap().scan_pages, 0);
    let url1 = format!("/patients/{p1}/consent/{}/scan", c1.id);
    assert!(t.doctor.get(&url1).await.body.contains(&format!("{url1}/1")));
    assert_eq!(t.doctor.send("GET", &format!("{url1}/1"), None, &[]).await.status, 200);
    assert!(srv.store.consent_scan(&c1.id).await.unwrap().is_none(), "the raw photo is gone");
    let again = srv.store.consent_scan_page(&c1.id, 1).await.unwrap().unwrap();
    assert!(!contains(&again, b"WGS-84"));
});
