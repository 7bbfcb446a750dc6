//! The Japanese words for the problems the core names by code (`kumanet_core::problem`): the one
//! table, so that a page and the API say the same thing, and a wording is changed in one place.

use kumanet_core::problem::Problem;

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
}
