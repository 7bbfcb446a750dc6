//! The regional resource directory (issue 6, R12.1: "100 ms p99 with 20,000 entries"): entries
//! written straight through the storage crate before the server starts, then searched over HTTP
//! (`GET /api/v1/resources`) by signed-in staff with a realistic mix of queries.
//!
//! The entries are made from a fixed seed: names and their kana from town names, family names and
//! the words Japanese care services like to be called by, the kinds and areas spread over the
//! defaults the migration installs, service tags per kind (入浴、送迎、食事、機能訓練 …), opening
//! days, seats and vacancies, notes. Each passes the server's own check (`validate`) before it is
//! stored, so it is what a form or a CSV import would have stored.

use std::time::{Duration, Instant};

use kumanet_core::policy::directory::{validate, EntryInput};
use kumanet_core::MICROS_PER_SECOND;
use kumanet_store::Store;
use kumanet_web::service::new_id;
use kumanet_web::{Clock, SystemClock};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use tokio::task::JoinSet;

use crate::phases::{Api, REQUEST_TIMEOUT};
use crate::region::{Region, UserInfo};
use crate::stats::Samples;
use crate::R;

/// Entries per transaction while seeding.
const BATCH: usize = 5_000;
/// The one entry whose name holds this word (the "rare word" query).
pub const RARE_WORD: &str = "ふくろうの森";
/// Confirmation dates are checked against this day (they all lie before it).
const CHECK_DAY: &str = "2025-12-31";

/// (shown, kana, area code): the area a town lies in.
const TOWNS: &[(&str, &str, &str)] = &[
    ("桜町", "さくらまち", "north"),
    ("緑ヶ丘", "みどりがおか", "north"),
    ("北野", "きたの", "north"),
    ("青葉台", "あおばだい", "north"),
    ("若葉", "わかば", "north"),
    ("富士見", "ふじみ", "north"),
    ("光が丘", "ひかりがおか", "north"),
    ("柳町", "やなぎまち", "north"),
    ("南台", "みなみだい", "south"),
    ("浜町", "はまちょう", "south"),
    ("港", "みなと", "south"),
    ("高砂", "たかさご", "south"),
    ("白鳥", "しらとり", "south"),
    ("松原", "まつばら", "south"),
    ("日の出", "ひので", "south"),
    ("鶴見", "つるみ", "south"),
    ("東山", "ひがしやま", "east"),
    ("旭町", "あさひまち", "east"),
    ("朝日が丘", "あさひがおか", "east"),
    ("春日", "かすが", "east"),
    ("泉", "いずみ", "east"),
    ("新田", "にった", "east"),
    ("岩井", "いわい", "east"),
    ("平和台", "へいわだい", "east"),
    ("西原", "にしはら", "west"),
    ("梅田", "うめだ", "west"),
    ("竹の塚", "たけのつか", "west"),
    ("小松", "こまつ", "west"),
    ("清水", "しみず", "west"),
    ("野田", "のだ", "west"),
    ("宮前", "みやまえ", "west"),
    ("大和", "やまと", "west"),
    ("本町", "ほんまち", "central"),
    ("栄町", "さかえまち", "central"),
    ("中央", "ちゅうおう", "central"),
    ("元町", "もとまち", "central"),
    ("上町", "かみまち", "central"),
    ("千代田", "ちよだ", "central"),
    ("川口", "かわぐち", "central"),
    ("下町", "しもまち", "central"),
];

/// The words places are named by.
const WORDS: &[(&str, &str)] = &[
    ("ひまわり", "ひまわり"),
    ("さくら", "さくら"),
    ("すみれ", "すみれ"),
    ("たんぽぽ", "たんぽぽ"),
    ("あじさい", "あじさい"),
    ("コスモス", "こすもす"),
    ("つばさ", "つばさ"),
    ("ほほえみ", "ほほえみ"),
    ("やすらぎ", "やすらぎ"),
    ("なごみ", "なごみ"),
    ("いこい", "いこい"),
    ("ひだまり", "ひだまり"),
    ("きずな", "きずな"),
    ("えがお", "えがお"),
    ("若竹", "わかたけ"),
    ("青空", "あおぞら"),
    ("のぞみ", "のぞみ"),
    ("ふれあい", "ふれあい"),
    ("まごころ", "まごころ"),
    ("悠々", "ゆうゆう"),
    ("はなみずき", "はなみずき"),
    ("もみじ", "もみじ"),
    ("かえで", "かえで"),
    ("すずらん", "すずらん"),
    ("菜の花", "なのはな"),
    ("あかり", "あかり"),
    ("みのり", "みのり"),
    ("こもれび", "こもれび"),
    ("せせらぎ", "せせらぎ"),
    ("そよかぜ", "そよかぜ"),
];

const FAMILIES: &[(&str, &str)] = &[
    ("田中", "たなか"),
    ("鈴木", "すずき"),
    ("佐藤", "さとう"),
    ("高橋", "たかはし"),
    ("伊藤", "いとう"),
    ("渡辺", "わたなべ"),
    ("山本", "やまもと"),
    ("中村", "なかむら"),
    ("小林", "こばやし"),
    ("加藤", "かとう"),
    ("吉田", "よしだ"),
    ("山田", "やまだ"),
    ("佐々木", "ささき"),
    ("松本", "まつもと"),
    ("井上", "いのうえ"),
    ("木村", "きむら"),
    ("林", "はやし"),
    ("斎藤", "さいとう"),
    ("山口", "やまぐち"),
    ("森", "もり"),
];

/// How entries of one kind look. Names use `{t}` (a town), `{w}` (a word) and `{f}` (a family
/// name), the same in the name and in its kana.
struct Kind {
    code: &'static str,
    /// Entries of this kind per 1,000.
    per_mille: u32,
    names: &'static [(&'static str, &'static str)],
    /// (tag, how often in percent).
    services: &'static [(&'static str, u32)],
    days: &'static [&'static str],
    hours: &'static [&'static str],
    /// Places with seats: capacity from … to.
    capacity: Option<(i64, i64)>,
}

const MEDICAL_HOURS: &[&str] = &["9:00〜12:00、15:00〜18:00", "9:00〜12:30、14:30〜18:00", "8:30〜17:00"];
const OFFICE_HOURS: &[&str] = &["8:30〜17:30", "9:00〜18:00", "9:00〜17:00"];

const KINDS: &[Kind] = &[
    Kind {
        code: "hospital",
        per_mille: 20,
        names: &[
            ("{t}中央病院", "{t}ちゅうおうびょういん"),
            ("{f}記念病院", "{f}きねんびょういん"),
            ("{t}総合病院", "{t}そうごうびょういん"),
            ("{t}リハビリテーション病院", "{t}りはびりてーしょんびょういん"),
        ],
        services: &[("入院", 80), ("リハビリ", 60), ("夜間対応", 50), ("訪問診療", 20), ("認知症対応", 20)],
        days: &["毎日", "月〜土"],
        hours: &["24時間", "8:30〜17:00"],
        capacity: None,
    },
    Kind {
        code: "clinic",
        per_mille: 160,
        names: &[
            ("{f}内科クリニック", "{f}ないかくりにっく"),
            ("{f}医院", "{f}いいん"),
            ("{t}ファミリークリニック", "{t}ふぁみりーくりにっく"),
            ("{t}{w}診療所", "{t}{w}しんりょうじょ"),
            ("{f}整形外科", "{f}せいけいげか"),
        ],
        services: &[
            ("訪問診療", 40),
            ("在宅酸素", 20),
            ("看取り", 15),
            ("リハビリ", 20),
            ("認知症対応", 15),
            ("夜間対応", 10),
        ],
        days: &["月火水金土", "月〜金", "月〜土", "月火木金土"],
        hours: MEDICAL_HOURS,
        capacity: None,
    },
    Kind {
        code: "dental_clinic",
        per_mille: 80,
        names: &[
            ("{f}歯科医院", "{f}しかいいん"),
            ("{t}{w}歯科", "{t}{w}しか"),
            ("{w}デンタルクリニック", "{w}でんたるくりにっく"),
        ],
        services: &[("訪問歯科", 40), ("口腔ケア", 60), ("入れ歯", 50)],
        days: &["月火水金土", "月〜土", "月〜金"],
        hours: MEDICAL_HOURS,
        capacity: None,
    },
    Kind {
        code: "pharmacy",
        per_mille: 100,
        names: &[
            ("{w}薬局 {t}店", "{w}やっきょく{t}てん"),
            ("{t}調剤薬局", "{t}ちょうざいやっきょく"),
            ("{f}薬局", "{f}やっきょく"),
        ],
        services: &[("服薬指導", 80), ("配達", 40), ("在宅訪問", 30), ("24時間対応", 20)],
        days: &["月〜土", "月〜金", "毎日"],
        hours: &["9:00〜19:00", "9:00〜18:00", "8:30〜20:00"],
        capacity: None,
    },
    Kind {
        code: "visiting_nursing",
        per_mille: 70,
        names: &[
            ("訪問看護ステーション{w}", "ほうもんかんごすてーしょん{w}"),
            ("{t}訪問看護ステーション", "{t}ほうもんかんごすてーしょん"),
        ],
        services: &[("24時間対応", 60), ("看取り", 50), ("リハビリ", 50), ("医療的ケア", 60), ("認知症対応", 30)],
        days: &["月〜金", "毎日", "月〜土"],
        hours: OFFICE_HOURS,
        capacity: None,
    },
    Kind {
        code: "home_care_support",
        per_mille: 110,
        names: &[
            ("{t}居宅介護支援事業所", "{t}きょたくかいごしえんじぎょうしょ"),
            ("ケアプランセンター{w}", "けあぷらんせんたー{w}"),
        ],
        services: &[("介護相談", 100), ("認知症対応", 30), ("障害福祉", 10)],
        days: &["月〜金", "月〜土"],
        hours: OFFICE_HOURS,
        capacity: None,
    },
    Kind {
        code: "day_service",
        per_mille: 130,
        names: &[
            ("デイサービス{w}", "でいさーびす{w}"),
            ("{t}デイサービスセンター", "{t}でいさーびすせんたー"),
            ("リハビリデイ{w} {t}", "りはびりでい{w}{t}"),
            ("{w}の家", "{w}のいえ"),
        ],
        services: &[
            ("入浴", 85),
            ("送迎", 95),
            ("食事", 90),
            ("機能訓練", 60),
            ("認知症対応", 40),
            ("リハビリ", 30),
            ("口腔ケア", 20),
        ],
        days: &["月〜土", "月〜金", "毎日", "月水金", "火木土"],
        hours: &["9:00〜16:30", "8:30〜17:00", "9:30〜16:00"],
        capacity: Some((10, 40)),
    },
    Kind {
        code: "short_stay",
        per_mille: 40,
        names: &[("ショートステイ{w}", "しょーとすてい{w}"), ("{t}短期入所センター", "{t}たんきにゅうしょせんたー")],
        services: &[
            ("入浴", 90),
            ("送迎", 80),
            ("食事", 100),
            ("機能訓練", 30),
            ("認知症対応", 50),
            ("医療的ケア", 20),
        ],
        days: &["毎日"],
        hours: &["24時間"],
        capacity: Some((10, 30)),
    },
    Kind {
        code: "group_home",
        per_mille: 50,
        names: &[("グループホーム{w}", "ぐるーぷほーむ{w}"), ("グループホーム{t}", "ぐるーぷほーむ{t}")],
        services: &[("認知症対応", 100), ("食事", 100), ("入浴", 80), ("看取り", 30)],
        days: &["毎日"],
        hours: &["24時間"],
        capacity: Some((9, 18)),
    },
    Kind {
        code: "nursing_home",
        per_mille: 30,
        names: &[("特別養護老人ホーム{w}苑", "とくべつようごろうじんほーむ{w}えん"), ("{t}{w}の里", "{t}{w}のさと")],
        services: &[("入浴", 90), ("食事", 100), ("看取り", 60), ("認知症対応", 60), ("機能訓練", 40)],
        days: &["毎日"],
        hours: &["24時間"],
        capacity: Some((50, 100)),
    },
    Kind {
        code: "community_support_center",
        per_mille: 10,
        names: &[("{t}地域包括支援センター", "{t}ちいきほうかつしえんせんたー")],
        services: &[("介護相談", 100), ("認知症対応", 60), ("権利擁護", 50), ("介護予防", 70)],
        days: &["月〜金"],
        hours: OFFICE_HOURS,
        capacity: None,
    },
    Kind {
        code: "salon",
        per_mille: 100,
        names: &[
            ("{t}ふれあいサロン", "{t}ふれあいさろん"),
            ("{w}の会", "{w}のかい"),
            ("いきいきサロン{w}", "いきいきさろん{w}"),
            ("{t}{w}体操クラブ", "{t}{w}たいそうくらぶ"),
        ],
        services: &[("体操", 60), ("茶話会", 70), ("食事", 30), ("送迎", 10), ("介護予防", 40)],
        days: &["月", "火", "水", "木", "金", "土", "水土", "火金", "月木"],
        hours: &["13:30〜15:30", "10:00〜12:00", "10:00〜15:00"],
        capacity: Some((10, 30)),
    },
    Kind {
        code: "dementia_cafe",
        per_mille: 30,
        names: &[("オレンジカフェ{w}", "おれんじかふぇ{w}"), ("{t}認知症カフェ", "{t}にんちしょうかふぇ")],
        services: &[("認知症対応", 80), ("茶話会", 80), ("介護相談", 50)],
        days: &["月", "火", "水", "木", "金", "土", "日"],
        hours: &["13:30〜15:30", "10:00〜12:00"],
        capacity: Some((10, 20)),
    },
    Kind {
        code: "volunteer",
        per_mille: 40,
        names: &[
            ("{t}ボランティアの会", "{t}ぼらんてぃあのかい"),
            ("{w}ボランティアグループ", "{w}ぼらんてぃあぐるーぷ"),
        ],
        services: &[("送迎", 40), ("配食", 40), ("見守り", 60), ("話し相手", 50)],
        days: &["月〜金", "土日", "水", "毎日"],
        hours: &["9:00〜17:00", "10:00〜15:00"],
        capacity: None,
    },
    Kind {
        code: "other",
        per_mille: 30,
        names: &[
            ("{t}配食サービス", "{t}はいしょくさーびす"),
            ("{w}福祉用具", "{w}ふくしようぐ"),
            ("{t}シルバー人材センター", "{t}しるばーじんざいせんたー"),
        ],
        services: &[("配食", 50), ("見守り", 40), ("送迎", 30), ("食事", 30), ("福祉用具", 30)],
        days: &["月〜金", "毎日", "月〜土"],
        hours: OFFICE_HOURS,
        capacity: None,
    },
];

/// What the notes say; `{t}` is the entry's town.
const NOTES: &[&str] = &[
    "駐車場あり。",
    "見学は随時受け付けています。",
    "車いすのまま利用できます。",
    "利用は要予約です。",
    "入浴のみの利用も相談できます。",
    "送迎範囲は市内全域です。",
    "初回の利用は無料です。",
    "手話のできる職員がいます。",
    "最寄り駅から徒歩5分。",
    "バス停「{t}」下車すぐ。",
    "土曜の午後は休みです。",
    "英語・中国語で対応できます。",
    "参加費100円(お茶代)。",
    "ご家族の相談も受け付けています。",
];

/// The `i`-th entry as a form would send it.
fn entry(i: usize, n: usize, rng: &mut StdRng, facilities: &[String]) -> R<EntryInput> {
    let mut roll = rng.gen_range(0..1_000u32);
    let kind = KINDS
        .iter()
        .find(|k| {
            if roll < k.per_mille {
                true
            } else {
                roll -= k.per_mille;
                false
            }
        })
        .ok_or("the kinds' shares do not add up to 1,000")?;
    let town = TOWNS.choose(rng).ok_or("no towns")?;
    let word = WORDS.choose(rng).ok_or("no words")?;
    let family = FAMILIES.choose(rng).ok_or("no family names")?;
    let (template, kana_template) = kind.names.choose(rng).ok_or("a kind without names")?;
    let swap = |s: &str, kana: bool| {
        let pick = |p: (&'static str, &'static str)| if kana { p.1 } else { p.0 };
        s.replace("{t}", pick((town.0, town.1))).replace("{w}", pick(*word)).replace("{f}", pick(*family))
    };
    let (mut name, mut kana) = (swap(template, false), swap(kana_template, true));
    let mut kind_code = kind.code;
    let mut services: Vec<&str> =
        kind.services.iter().filter(|(_, pct)| rng.gen_range(0..100) < *pct).map(|(s, _)| *s).collect();
    if i == n / 2 {
        // The one place with the rare word in its name.
        name = format!("デイサービス {RARE_WORD}");
        kana = "でいさーびすふくろうのもり".into();
        kind_code = "day_service";
        services = vec!["入浴", "送迎", "食事"];
    }
    let mut notes: Vec<String> = Vec::new();
    for _ in 0..rng.gen_range(0..3) {
        let note = NOTES.choose(rng).ok_or("no notes")?.replace("{t}", town.0);
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    let (capacity, vacancies) = match kind.capacity {
        Some((lo, hi)) => {
            let c = rng.gen_range(lo..=hi);
            let v = if rng.gen_range(0..100) < 40 { 0 } else { rng.gen_range(1..=c.min(8)) };
            (c.to_string(), v.to_string())
        }
        None => (String::new(), String::new()),
    };
    let confirmed_on = if rng.gen_range(0..100) < 85 {
        let (y, m, d) = (rng.gen_range(2024..=2025), rng.gen_range(1..=12), rng.gen_range(1..=28));
        // Some as typed into Excel.
        if i.is_multiple_of(3) {
            format!("{y}/{m}/{d}")
        } else {
            format!("{y}-{m:02}-{d:02}")
        }
    } else {
        String::new()
    };
    Ok(EntryInput {
        kind: kind_code.into(),
        name,
        kana,
        address: format!(
            "ベンチ市{}{}丁目{}-{}",
            town.0,
            rng.gen_range(1..=5),
            rng.gen_range(1..=30),
            rng.gen_range(1..=20)
        ),
        area: town.2.into(),
        phone: format!("048-{:03}-{:04}", rng.gen_range(100..1_000), rng.gen_range(0..10_000)),
        fax: if i.is_multiple_of(2) {
            format!("048-{:03}-{:04}", rng.gen_range(100..1_000), rng.gen_range(0..10_000))
        } else {
            String::new()
        },
        email: if i.is_multiple_of(4) { format!("info{i}@example.jp") } else { String::new() },
        web: if i.is_multiple_of(5) { format!("https://example.jp/{i}") } else { String::new() },
        days: kind.days.choose(rng).ok_or("a kind without days")?.to_string(),
        hours: kind.hours.choose(rng).ok_or("a kind without hours")?.to_string(),
        services: services.join("、"),
        capacity,
        vacancies,
        notes: notes.concat(),
        confirmed_on,
        facility_id: if i.is_multiple_of(20) {
            facilities.get(i / 20 % facilities.len().max(1)).cloned().unwrap_or_default()
        } else {
            String::new()
        },
        csrf: None,
    })
}

/// Write `n` entries (5,000 per transaction) as the support center; the seconds it took.
pub async fn seed(store: &Store, region: &Region, n: usize) -> R<f64> {
    let started = Instant::now();
    let kinds = store.directory_terms("kind").await?;
    let areas = store.directory_terms("area").await?;
    let mut rng = StdRng::seed_from_u64(20_261_125);
    let now = SystemClock.now();
    let mut tx = store.begin().await?;
    for i in 0..n {
        let input = entry(i, n, &mut rng, &region.facility_ids)?;
        let fields = validate(&input, &kinds, &areas, CHECK_DAY).map_err(|e| {
            let reasons: Vec<String> = e.iter().map(|(f, p)| format!("{f}: {}", p.code())).collect();
            format!("directory entry {i} ({}) does not pass validate: {}", input.name, reasons.join("; "))
        })?;
        // Updated a little apart, the oldest first.
        let at = now - (n - i) as i64 * MICROS_PER_SECOND;
        tx.put_directory_entry(&new_id(), &fields, &region.center_id, at, true).await?;
        if (i + 1) % BATCH == 0 {
            tx.commit().await?;
            tx = store.begin().await?;
        }
    }
    tx.commit().await?;
    let seconds = started.elapsed().as_secs_f64();
    println!("  directory: {n} entries in {seconds:.1} s");
    Ok(seconds)
}

/// One kind of search in the mix.
pub struct Query {
    /// For the report (ASCII, so the table lines up).
    pub label: &'static str,
    pub params: &'static [(&'static str, &'static str)],
}

/// The mix: a one-word two-character query, two words, a word with every filter, a rare word, no
/// word (kind and area, in name order), and a common word in name order on page 5.
pub const QUERIES: &[Query] = &[
    Query { label: "1 word, 2 chars", params: &[("q", "入浴")] },
    Query { label: "2 words", params: &[("q", "入浴 送迎")] },
    Query {
        label: "word + 4 filters",
        params: &[("q", "入浴"), ("kind", "day_service"), ("area", "north"), ("day", "2"), ("vacancy", "1")],
    },
    Query { label: "rare word", params: &[("q", RARE_WORD)] },
    Query { label: "kind + area, by name", params: &[("kind", "salon"), ("area", "east")] },
    Query { label: "word, by name, page 5", params: &[("q", "送迎"), ("sort", "name"), ("page", "5")] },
];

impl Api {
    /// GET one page of the directory; (total matches, results on the page).
    pub async fn resources(&self, params: &[(&str, &str)], u: &UserInfo) -> R<(i64, usize)> {
        let resp = self.get("/api/v1/resources", u).query(params).timeout(REQUEST_TIMEOUT).send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if status != StatusCode::OK {
            return Err(format!("GET resources: {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        let total = v["total"].as_i64().ok_or("no total in the answer")?;
        Ok((total, v["results"].as_array().map_or(0, Vec::len)))
    }
}

/// The figures of one kind of query.
pub struct QueryFigures {
    pub latency: Samples,
    /// How many entries match (from the warm-up request).
    pub total: i64,
    /// How many came back on the page asked for.
    pub page: usize,
    pub errors: usize,
}

pub struct Directory {
    pub per_query: Vec<QueryFigures>,
    pub all: Samples,
    pub errors: usize,
    pub first_error: Option<String>,
    pub took: Duration,
}

/// `per_query` requests of each kind in `QUERIES`, interleaved, as random staff, `concurrency`
/// readers back to back. None when the server has no directory (404).
pub async fn search(api: &Api, region: &Region, per_query: usize, concurrency: usize) -> R<Option<Directory>> {
    let first = region.users.first().ok_or("no users")?;
    // Warm-up, not measured: each query once, for its number of matches.
    let mut figures = Vec::with_capacity(QUERIES.len());
    for q in QUERIES {
        match api.resources(q.params, first).await {
            Ok((total, page)) => figures.push(QueryFigures { latency: Samples::default(), total, page, errors: 0 }),
            Err(e) if e.to_string().contains("404") => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    let readers = concurrency.max(1);
    let mut work: Vec<Vec<(usize, UserInfo)>> = vec![Vec::new(); readers];
    let mut rng = StdRng::seed_from_u64(13);
    for j in 0..per_query * QUERIES.len() {
        let u = region.users.choose(&mut rng).ok_or("no users")?;
        work[j % readers].push((j % QUERIES.len(), u.clone()));
    }
    let started = Instant::now();
    let mut set = JoinSet::new();
    for picks in work {
        let api = api.clone();
        set.spawn(async move {
            let mut out: Vec<(usize, Result<Duration, String>)> = Vec::with_capacity(picks.len());
            for (q, u) in picks {
                let t = Instant::now();
                let r = api.resources(QUERIES[q].params, &u).await.map(|_| t.elapsed()).map_err(|e| e.to_string());
                out.push((q, r));
            }
            out
        });
    }
    let mut d =
        Directory { per_query: figures, all: Samples::default(), errors: 0, first_error: None, took: Duration::ZERO };
    while let Some(done) = set.join_next().await {
        match done {
            Ok(results) => {
                for (q, r) in results {
                    match r {
                        Ok(t) => {
                            d.per_query[q].latency.push(t);
                            d.all.push(t);
                        }
                        Err(e) => {
                            d.per_query[q].errors += 1;
                            d.errors += 1;
                            d.first_error.get_or_insert(e);
                        }
                    }
                }
            }
            Err(e) => {
                d.errors += 1;
                d.first_error.get_or_insert(e.to_string());
            }
        }
    }
    d.took = started.elapsed();
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use kumanet_core::policy::directory::{Term, DEFAULT_AREAS, DEFAULT_KINDS};
    use kumanet_core::policy::naming::fold;

    use super::*;

    fn terms(list: &[(&str, &str)]) -> Vec<Term> {
        list.iter().map(|(c, l)| Term { code: c.to_string(), label: l.to_string() }).collect()
    }

    #[test]
    fn the_entries_pass_the_servers_check_and_the_rare_word_is_rare() {
        assert_eq!(KINDS.iter().map(|k| k.per_mille).sum::<u32>(), 1_000);
        let (kinds, areas) = (terms(DEFAULT_KINDS), terms(DEFAULT_AREAS));
        let facilities = vec!["f1".to_string(), "f2".to_string()];
        let mut rng = StdRng::seed_from_u64(1);
        let n = 3_000;
        let rare = fold(RARE_WORD).to_lowercase();
        let mut with_rare = 0;
        for i in 0..n {
            let input = entry(i, n, &mut rng, &facilities).unwrap();
            let f = validate(&input, &kinds, &areas, CHECK_DAY).unwrap();
            if kumanet_store::search_text(&f).contains(&rare) {
                with_rare += 1;
            }
        }
        assert_eq!(with_rare, 1);
    }
}
