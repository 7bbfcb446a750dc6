//! The measured phases, each bounded by a number of requests and per-request time limits.
//! Every phase returns its figures; `main` prints them beside the targets.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Client, Response, StatusCode};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::region::{body, Region, UserInfo};
use crate::stats::Samples;
use crate::R;

pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The JSON API and the live stream, as a signed-in member uses them.
#[derive(Clone)]
pub struct Api {
    client: Client,
    base: Arc<String>,
}

impl Api {
    pub fn new(base: String) -> R<Api> {
        let client = Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()?;
        Ok(Api { client, base: Arc::new(base) })
    }

    pub(crate) fn get(&self, path: &str, u: &UserInfo) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.base)).header("cookie", format!("kumanet_session={}", u.token))
    }

    /// POST a confirmed post (確定); its id.
    pub async fn post(&self, group_id: &str, u: &UserInfo, text: &str) -> R<String> {
        let resp = self
            .client
            .post(format!("{}/api/v1/groups/{group_id}/posts", self.base))
            .header("cookie", format!("kumanet_session={}", u.token))
            .header("x-csrf-token", &u.csrf)
            .header("origin", self.base.as_str())
            .json(&serde_json::json!({ "body": text, "confirm": true }))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if status != StatusCode::CREATED {
            return Err(format!("POST posts: {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        Ok(v["post_id"].as_str().ok_or("no post_id in the answer")?.to_string())
    }

    /// GET the latest page of the timeline; how many posts it held.
    pub async fn timeline(&self, group_id: &str, u: &UserInfo) -> R<usize> {
        let resp = self.get(&format!("/api/v1/groups/{group_id}/posts"), u).timeout(REQUEST_TIMEOUT).send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if status != StatusCode::OK {
            return Err(format!("GET posts: {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        Ok(v["posts"].as_array().map_or(0, Vec::len))
    }

    /// GET search results; how many came back.
    pub async fn search(&self, q: &str, u: &UserInfo) -> R<usize> {
        let resp = self.get("/api/v1/search", u).query(&[("q", q)]).timeout(REQUEST_TIMEOUT).send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if status != StatusCode::OK {
            return Err(format!("GET search: {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        Ok(v["results"].as_array().map_or(0, Vec::len))
    }

    /// Open the group's live stream (SSE); the server has subscribed once the headers are back.
    pub async fn open_live(&self, group_id: &str, u: &UserInfo) -> R<Response> {
        let resp = tokio::time::timeout(
            REQUEST_TIMEOUT,
            self.get(&format!("/groups/{group_id}/live"), u).header("accept", "text/event-stream").send(),
        )
        .await
        .map_err(|_| "opening the live stream timed out")??;
        let ok = resp.status() == StatusCode::OK
            && resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
        if !ok {
            return Err(format!("GET live: {} {:?}", resp.status(), resp.headers().get("content-type")).into());
        }
        Ok(resp)
    }
}

/// Throughput and latency of confirmed posts with `posters` concurrent posters.
pub struct Posting {
    pub ok: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latency: Samples,
}

impl Posting {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Poster `i` posts in group `i` (wrapping) as its `i / groups`-th member, `each` posts one
/// after the other, all posters at once.
pub async fn posting(api: &Api, region: &Region, posters: usize, each: usize) -> Posting {
    let start = Arc::new(tokio::sync::Barrier::new(posters + 1));
    let mut set = JoinSet::new();
    for i in 0..posters {
        let (g, u) = region.member(i, i / region.groups.len());
        let (api, gid, u, start) = (api.clone(), g.id.clone(), u.clone(), start.clone());
        set.spawn(async move {
            let mut lat = Samples::default();
            let mut errors = (0usize, None::<String>);
            start.wait().await;
            for k in 0..each {
                let t = Instant::now();
                match api.post(&gid, &u, &body(i * 1_000_000 + k)).await {
                    Ok(_) => lat.push(t.elapsed()),
                    Err(e) => {
                        errors.0 += 1;
                        errors.1.get_or_insert(e.to_string());
                    }
                }
            }
            (lat, errors)
        });
    }
    start.wait().await;
    let t0 = Instant::now();
    let mut out = Posting { ok: 0, errors: 0, first_error: None, elapsed: Duration::ZERO, latency: Samples::default() };
    while let Some(done) = set.join_next().await {
        match done {
            Ok((lat, (errors, first))) => {
                out.ok += lat.len();
                out.latency.extend(lat);
                out.errors += errors;
                if out.first_error.is_none() {
                    out.first_error = first;
                }
            }
            Err(e) => {
                out.errors += each;
                out.first_error.get_or_insert(e.to_string());
            }
        }
    }
    out.elapsed = t0.elapsed();
    out
}

/// Post → live delivery to the other members' open streams.
pub struct Delivery {
    pub streams: usize,
    pub posts: usize,
    pub expected: usize,
    pub latency: Samples,
    pub errors: usize,
    pub first_error: Option<String>,
}

/// Read `post` events off a stream, sending (post id, when it arrived) until the stream ends.
async fn read_events(mut resp: Response, tx: mpsc::UnboundedSender<(String, Instant)>) {
    let mut buf = String::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let now = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut event = "";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if event == "post" {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&data) {
                    if v["kind"].as_str().is_none_or(|k| k == "post") {
                        if let Some(id) = v["id"].as_str() {
                            let _ = tx.send((id.to_string(), now));
                        }
                    }
                }
            }
        }
    }
}

/// In each of `groups` groups, the other members open the live stream; then the first member
/// posts `rounds` times (all groups at once, a pause between rounds), and each arrival is timed
/// from the moment its post was sent.
pub async fn delivery(api: &Api, region: &Region, groups: usize, rounds: usize) -> R<Delivery> {
    let groups = groups.min(region.groups.len());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut readers = JoinSet::new();
    let mut streams = 0;
    for g in 0..groups {
        let group = &region.groups[g];
        for &m in group.members.iter().skip(1) {
            let resp = api.open_live(&group.id, &region.users[m]).await?;
            readers.spawn(read_events(resp, tx.clone()));
            streams += 1;
        }
    }
    drop(tx);
    let mut sent: HashMap<String, (Instant, usize)> = HashMap::new();
    let mut out =
        Delivery { streams, posts: 0, expected: 0, latency: Samples::default(), errors: 0, first_error: None };
    for round in 0..rounds {
        let mut set = JoinSet::new();
        for g in 0..groups {
            let (group, u) = region.member(g, 0);
            let (api, gid, u) = (api.clone(), group.id.clone(), u.clone());
            let listeners = group.members.len() - 1;
            set.spawn(async move {
                let t = Instant::now();
                (
                    api.post(&gid, &u, &body(900_000_000 + round * 10_000 + g)).await.map_err(|e| e.to_string()),
                    t,
                    listeners,
                )
            });
        }
        while let Some(done) = set.join_next().await {
            match done {
                Ok((Ok(id), t, listeners)) => {
                    out.posts += 1;
                    out.expected += listeners;
                    sent.insert(id, (t, listeners));
                }
                Ok((Err(e), _, _)) => {
                    out.errors += 1;
                    out.first_error.get_or_insert(e);
                }
                Err(e) => {
                    out.errors += 1;
                    out.first_error.get_or_insert(e.to_string());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Wait (bounded) for what is still on its way, then close the streams.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut arrivals = Vec::new();
    while arrivals.len() < out.expected {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(a)) => arrivals.push(a),
            _ => break,
        }
    }
    while let Ok(a) = rx.try_recv() {
        arrivals.push(a);
    }
    readers.abort_all();
    for (id, at) in arrivals {
        if let Some((t, _)) = sent.get(&id) {
            out.latency.push(at.saturating_duration_since(*t));
        }
    }
    Ok(out)
}

/// Latency of the latest page (50) of a timeline, `concurrency` readers at once.
pub struct Timeline {
    pub requests: usize,
    pub page: usize,
    pub latency: Samples,
    pub errors: usize,
    pub first_error: Option<String>,
}

pub async fn timeline(api: &Api, region: &Region, requests: usize, concurrency: usize) -> Timeline {
    let per_reader = requests.div_ceil(concurrency.max(1));
    let mut set = JoinSet::new();
    for r in 0..concurrency.max(1) {
        let api = api.clone();
        // Random (group, member) pairs, the same ones on every run.
        let picks: Vec<(String, UserInfo)> = {
            let mut rng = StdRng::seed_from_u64(7 + r as u64);
            (0..per_reader)
                .map(|_| {
                    let (g, u) = region.member(rng.gen_range(0..region.groups.len()), rng.gen_range(0..8));
                    (g.id.clone(), u.clone())
                })
                .collect()
        };
        set.spawn(async move {
            let mut lat = Samples::default();
            let (mut errors, mut first, mut page) = (0usize, None::<String>, 0usize);
            for (gid, u) in picks {
                let t = Instant::now();
                match api.timeline(&gid, &u).await {
                    Ok(n) => {
                        lat.push(t.elapsed());
                        page = page.max(n);
                    }
                    Err(e) => {
                        errors += 1;
                        first.get_or_insert(e.to_string());
                    }
                }
            }
            (lat, errors, first, page)
        });
    }
    let mut out = Timeline { requests: 0, page: 0, latency: Samples::default(), errors: 0, first_error: None };
    while let Some(done) = set.join_next().await {
        match done {
            Ok((lat, errors, first, page)) => {
                out.requests += lat.len() + errors;
                out.latency.extend(lat);
                out.errors += errors;
                out.page = out.page.max(page);
                if out.first_error.is_none() {
                    out.first_error = first;
                }
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e.to_string());
            }
        }
    }
    out
}

/// What the search phase asks: words of the stored posts (three characters and more go through
/// the trigram index, shorter ones scan one's own rooms) and one that matches a single post.
const SEARCH_QUERIES: &[&str] = &["食事摂取", "睡眠", "SpO2 97%", "記録 4242:"];

/// Search latency (`GET /api/v1/search?q=`), random members, the queries in turn, `concurrency`
/// readers back to back. None when the server has no search (404).
pub async fn search(api: &Api, region: &Region, requests: usize, concurrency: usize) -> Option<Timeline> {
    let (_, u) = region.member(0, 0);
    if matches!(api.search(SEARCH_QUERIES[0], u).await, Err(e) if e.to_string().contains("404")) {
        return None;
    }
    let per_reader = requests.div_ceil(concurrency.max(1));
    let mut set = JoinSet::new();
    for r in 0..concurrency.max(1) {
        let api = api.clone();
        let picks: Vec<UserInfo> = {
            let mut rng = StdRng::seed_from_u64(11 + r as u64);
            (0..per_reader)
                .map(|_| {
                    let (_, u) = region.member(rng.gen_range(0..region.groups.len()), rng.gen_range(0..8));
                    u.clone()
                })
                .collect()
        };
        set.spawn(async move {
            let mut lat = Samples::default();
            let (mut errors, mut first, mut found) = (0usize, None::<String>, 0usize);
            for (k, u) in picks.iter().enumerate() {
                let t = Instant::now();
                match api.search(SEARCH_QUERIES[(r + k) % SEARCH_QUERIES.len()], u).await {
                    Ok(n) => {
                        lat.push(t.elapsed());
                        found = found.max(n);
                    }
                    Err(e) => {
                        errors += 1;
                        first.get_or_insert(e.to_string());
                    }
                }
            }
            (lat, errors, first, found)
        });
    }
    let mut out = Timeline { requests: 0, page: 0, latency: Samples::default(), errors: 0, first_error: None };
    while let Some(done) = set.join_next().await {
        match done {
            Ok((lat, errors, first, found)) => {
                out.requests += lat.len() + errors;
                out.latency.extend(lat);
                out.errors += errors;
                out.page = out.page.max(found);
                if out.first_error.is_none() {
                    out.first_error = first;
                }
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e.to_string());
            }
        }
    }
    Some(out)
}

/// `n` idle live connections held open at once.
pub struct Idle {
    pub open: Vec<Response>,
    pub errors: usize,
    pub first_error: Option<String>,
    pub took: Duration,
}

/// Open `n` live streams over every (group, member) pair in turn (a user may hold several),
/// 64 openings in flight at a time.
pub async fn open_idle(api: &Api, region: &Region, n: usize) -> Idle {
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(64));
    let pairs: Vec<(usize, usize)> =
        (0..region.groups.len()).flat_map(|g| (0..region.groups[g].members.len()).map(move |m| (g, m))).collect();
    let mut set = JoinSet::new();
    for i in 0..n {
        let (g, m) = pairs[i % pairs.len()];
        let (group, u) = region.member(g, m);
        let (api, gid, u, gate) = (api.clone(), group.id.clone(), u.clone(), gate.clone());
        set.spawn(async move {
            let _permit = gate.acquire_owned().await.map_err(|e| e.to_string())?;
            api.open_live(&gid, &u).await.map_err(|e| e.to_string())
        });
    }
    let mut out = Idle { open: Vec::with_capacity(n), errors: 0, first_error: None, took: Duration::ZERO };
    while let Some(done) = set.join_next().await {
        match done {
            Ok(Ok(resp)) => out.open.push(resp),
            Ok(Err(e)) => {
                out.errors += 1;
                out.first_error.get_or_insert(e);
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e.to_string());
            }
        }
    }
    out.took = started.elapsed();
    out
}
