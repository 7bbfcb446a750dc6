//! The Japanese words for the problems the core and the media crate name by code (typed text,
//! passwords, settings, files): the one table, so that a page and the API say the same thing,
//! and a wording is changed in one place.

use kumanet_core::policy::password::{PasswordProblem, LONG_LEN};
use kumanet_core::problem::Problem;
use kumanet_media::MediaError;

/// The message for a problem with the field called `label` (its Japanese name).
pub fn problem(label: &str, p: &Problem) -> String {
    match p {
        Problem::Missing => format!("{label}を入力してください。"),
        Problem::TooLong { max, len } => format!("{label}は{max}文字以内で入力してください(いま{len}文字です)。"),
        Problem::BadCharacter => format!("{label}に使えない文字が含まれています。"),
        Problem::NotKana => format!("{label}はひらがなかカタカナで入力してください。"),
        Problem::NotNumber => format!("{label}は0以上の整数で入力してください。"),
        Problem::NotListed { choices } => format!("{label}は次のいずれかにしてください: {}", choices.join("、")),
        Problem::NotPhone => format!("{label}は数字とハイフンで入力してください(例: 048-123-4567)。"),
        Problem::NotEmail => format!("{label}の形式が正しくありません(例: name@example.jp)。"),
        Problem::NotWebAddress => format!("{label}は http:// か https:// で始まるアドレスを入力してください。"),
        Problem::NotDays => format!("{label}は曜日で入力してください(例: 月火水、月〜金、平日、毎日)。"),
        Problem::NotDate => format!("{label}は 2026-11-24 の形で入力してください。"),
        Problem::InFuture => format!("{label}に未来の日付は入力できません。"),
        Problem::ItemTooLong { max } => format!("{label}は1つ{max}文字以内で、「、」で区切って入力してください。"),
        Problem::AboveCapacity => format!("{label}は定員以下で入力してください。"),
        Problem::OutOfRange { lo, hi } => format!("{label}は{lo}〜{hi}の範囲で指定してください。"),
    }
}

/// R8.1: why a password is refused, plainly and politely.
pub fn password(p: &PasswordProblem) -> String {
    match p {
        PasswordProblem::TooShort { min, got } => {
            format!("パスワードが短すぎます({min}文字以上、{LONG_LEN}文字以上を推奨します。現在{got}文字)。")
        }
        PasswordProblem::TooLong { max, got } => {
            format!("パスワードが長すぎます({max}文字以内にしてください。現在{got}文字)。")
        }
        PasswordProblem::MissingLetter => "英字、かな、漢字などの文字を1文字以上含めてください。".to_owned(),
        PasswordProblem::MissingDigit => "数字を1文字以上含めてください。".to_owned(),
        PasswordProblem::MissingSymbol => "記号(!、#、空白など)を1文字以上含めてください。".to_owned(),
        PasswordProblem::Common => {
            "よく使われているパスワード、またはそれに近いものは使えません。別のパスワードにしてください。".to_owned()
        }
        PasswordProblem::ContainsPersonalWord { word } => format!(
            "氏名、ログインID、施設名、地域名などに含まれる語(「{word}」)はパスワードに使えません。別の語にしてください。"
        ),
        PasswordProblem::TooWeak => "推測されやすいパスワードです。いくつかの語を組み合わせた長めの文にするなど、推測されにくいものにしてください。".to_owned(),
        PasswordProblem::SameAsCurrent => "現在のパスワードと同じパスワードは使えません。".to_owned(),
        PasswordProblem::SimilarToCurrent => "現在のパスワードと似ているため使えません。数字や記号の一部だけを変えるのではなく、別のパスワードにしてください。".to_owned(),
    }
}

/// R9.3: why a file was not taken or cannot be shown.
pub fn media(e: &MediaError) -> &'static str {
    match e {
        MediaError::TooLarge => "ファイルは20MBまでです。",
        MediaError::Unsupported => "JPEG・PNG・PDFのファイルだけ添付できます。",
        MediaError::Corrupt(_) => "ファイルを読み取れませんでした。壊れていないか確かめてください。",
        MediaError::TooManyPixels => {
            "画像が大きすぎます(4,000万画素まで。16ビットの画像は2,000万画素までです)。解像度を下げてからお試しください。"
        }
        MediaError::PdfRenderer(_) => "PDFを画像にできませんでした。",
        MediaError::TooSlow(_) => {
            "PDFの処理に時間がかかりすぎるため、受け付けられませんでした。画像(JPEG)にするか、ページを分けてお試しください。"
        }
    }
}

/// R11.2: the Japanese names of the region's settings.
pub fn setting_label(field: &str) -> &'static str {
    match field {
        "idle_timeout_minutes" => "無操作でログアウトするまでの時間",
        "session_lifetime_hours" => "ログインの有効時間",
        "password_max_age_days" => "パスワードの有効期間",
        "lockout_threshold" => "ロックまでの失敗回数",
        "lockout_minutes" => "ロック時間",
        "post_soft_limit" => "投稿の目安の文字数",
        "region_name" => "地域名",
        _ => "設定",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_reads_as_polite_japanese_naming_its_field() {
        let all = [
            Problem::Missing,
            Problem::TooLong { max: 64, len: 70 },
            Problem::BadCharacter,
            Problem::NotKana,
            Problem::NotNumber,
            Problem::NotListed { choices: vec!["病院".into(), "薬局".into()] },
            Problem::NotPhone,
            Problem::NotEmail,
            Problem::NotWebAddress,
            Problem::NotDays,
            Problem::NotDate,
            Problem::InFuture,
            Problem::ItemTooLong { max: 30 },
            Problem::AboveCapacity,
            Problem::OutOfRange { lo: 1, hi: 60 },
        ];
        for p in &all {
            let m = problem("項目", p);
            assert!(m.starts_with("項目"), "{m}");
            assert!(m.ends_with("。") || m.contains("次のいずれか"), "{m}");
        }
        assert_eq!(
            problem("氏名", &Problem::TooLong { max: 64, len: 70 }),
            "氏名は64文字以内で入力してください(いま70文字です)。"
        );
        assert!(problem("種別", &all[5]).ends_with("病院、薬局"));
    }

    #[test]
    fn r8_1_every_password_problem_has_a_polite_japanese_message() {
        let all = [
            PasswordProblem::TooShort { min: 8, got: 5 },
            PasswordProblem::TooLong { max: 128, got: 129 },
            PasswordProblem::MissingLetter,
            PasswordProblem::MissingDigit,
            PasswordProblem::MissingSymbol,
            PasswordProblem::Common,
            PasswordProblem::ContainsPersonalWord { word: "yamada".into() },
            PasswordProblem::TooWeak,
            PasswordProblem::SameAsCurrent,
            PasswordProblem::SimilarToCurrent,
        ];
        for p in &all {
            let m = password(p);
            assert!(m.ends_with('。') && !m.is_ascii(), "{m}");
        }
        assert_eq!(password(&all[0]), "パスワードが短すぎます(8文字以上、13文字以上を推奨します。現在5文字)。");
        assert_eq!(password(&all[1]), "パスワードが長すぎます(128文字以内にしてください。現在129文字)。");
        assert!(password(&all[6]).contains("「yamada」"));
    }

    #[test]
    fn r9_3_file_errors_have_polite_japanese_messages() {
        assert_eq!(media(&MediaError::Unsupported), "JPEG・PNG・PDFのファイルだけ添付できます。");
        assert_eq!(media(&MediaError::TooLarge), "ファイルは20MBまでです。");
        assert!(media(&MediaError::TooSlow("pdftoppm".into())).starts_with("PDFの処理に時間がかかりすぎる"));
        assert_eq!(media(&MediaError::PdfRenderer("x".into())), "PDFを画像にできませんでした。");
    }

    #[test]
    fn r11_2_every_setting_has_a_japanese_name() {
        for f in [
            "idle_timeout_minutes",
            "session_lifetime_hours",
            "password_max_age_days",
            "lockout_threshold",
            "lockout_minutes",
            "post_soft_limit",
            "region_name",
        ] {
            assert_ne!(setting_label(f), "設定", "{f}");
        }
    }
}
