//! The number plan: which E.164 numbers the programme may dial at all
//! (`policy.number_plan`). Checked at intake (a contact outside it is
//! dead-lettered) and again right before every dial, so a number any
//! program wrote to Redis is still refused.
//!
//! A rule is `PREFIX:DIGITS` (numbers starting with `PREFIX`, `DIGITS`
//! digits long in all, country code included, may be dialled) or `!PREFIX`
//! (numbers starting with it may not). The longest prefix that matches a
//! number decides; a number no rule matches is refused.
//!
//! The default ([`DEFAULT_RULES`]) follows India's National Numbering Plan
//! (Department of Telecommunications, NNP 2003 and its amendments): a
//! national significant number has 10 digits; mobile numbers start with 6,
//! 7, 8 or 9; geographic (landline) numbers start with their SDCA trunk
//! code, whose first digit is 1 to 8 (11 is Delhi). Level 1 also holds the
//! special services, refused: `10` (carrier access codes), `1800`
//! (toll-free), `1860` (shared cost), `1900` (premium rate) and `140`
//! (telemarketing series). Every other country code is refused.
//!
//! Owns: the rules and the check. Does not own: where it is applied
//! (`intake/router.rs`, `dialer/dispatch.rs`).

use super::PhoneNumber;

/// `policy.number_plan`'s default: Indian mobile and geographic numbers.
pub const DEFAULT_RULES: &[&str] = &[
    "+911:12", "+912:12", "+913:12", "+914:12", "+915:12", "+916:12", "+917:12", "+918:12",
    "+919:12", "!+9110", "!+91140", "!+911800", "!+911860", "!+911900",
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Rule {
    Allow { prefix: String, digits: usize },
    Refuse { prefix: String },
}

impl Rule {
    fn prefix(&self) -> &str {
        match self {
            Rule::Allow { prefix, .. } | Rule::Refuse { prefix } => prefix,
        }
    }
}

/// The numbers that may be dialled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberPlan {
    /// Longest prefix first, so the first match decides.
    rules: Vec<Rule>,
}

impl Default for NumberPlan {
    fn default() -> Self {
        // INVARIANT: the default rules parse (tested).
        NumberPlan::parse(DEFAULT_RULES).expect("the default number plan parses")
    }
}

impl NumberPlan {
    /// Reads rules as `policy.number_plan` holds them; `Err`: each bad rule,
    /// with its index and why.
    pub fn parse<S: AsRef<str>>(rules: &[S]) -> Result<NumberPlan, Vec<String>> {
        let mut parsed = Vec::new();
        let mut problems = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            match parse_rule(rule.as_ref()) {
                Ok(rule) => parsed.push(rule),
                Err(why) => problems.push(format!("[{index}] {:?}: {why}", rule.as_ref())),
            }
        }
        if parsed.is_empty() && problems.is_empty() {
            problems.push("no rule: nothing could be dialled".to_owned());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        parsed.sort_by_key(|rule| std::cmp::Reverse(rule.prefix().len()));
        Ok(NumberPlan { rules: parsed })
    }

    /// `Ok` when `phone` may be dialled; `Err` says why not, without the
    /// number.
    pub fn check(&self, phone: &PhoneNumber) -> Result<(), String> {
        let number = phone.as_str();
        let digits = number.len().saturating_sub(1);
        match self.rules.iter().find(|r| number.starts_with(r.prefix())) {
            None => Err(
                "the number is outside policy.number_plan (a country or range not allowed)"
                    .to_owned(),
            ),
            Some(Rule::Refuse { prefix }) => Err(format!(
                "the number is in a range policy.number_plan refuses ({prefix}…: premium, shared-cost, toll-free or a service code)"
            )),
            Some(Rule::Allow {
                prefix,
                digits: want,
            }) if *want != digits => Err(format!(
                "the number has {digits} digits; policy.number_plan allows {want} for {prefix}…"
            )),
            Some(Rule::Allow { .. }) => Ok(()),
        }
    }
}

fn parse_rule(rule: &str) -> Result<Rule, String> {
    let prefix_ok = |prefix: &str| {
        prefix.len() >= 2
            && prefix.starts_with('+')
            && prefix[1..].bytes().all(|b| b.is_ascii_digit())
    };
    if let Some(prefix) = rule.strip_prefix('!') {
        return if prefix_ok(prefix) {
            Ok(Rule::Refuse {
                prefix: prefix.to_owned(),
            })
        } else {
            Err("a refusal is `!` and a prefix of `+` and digits (e.g. `!+911900`)".into())
        };
    }
    let (prefix, digits) = rule
        .split_once(':')
        .ok_or("a rule is PREFIX:DIGITS (e.g. `+919:12`) or !PREFIX")?;
    if !prefix_ok(prefix) {
        return Err("the prefix must be `+` and digits (e.g. `+919`)".into());
    }
    let digits: usize = digits
        .parse()
        .map_err(|_| format!("{digits:?} is not a number of digits"))?;
    if !(8..=15).contains(&digits) || digits < prefix.len() - 1 {
        return Err(format!(
            "{digits} digits: E.164 numbers have 8 to 15, and no fewer than the prefix"
        ));
    }
    Ok(Rule::Allow {
        prefix: prefix.to_owned(),
        digits,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn check(number: &str) -> Result<(), String> {
        NumberPlan::default().check(&PhoneNumber::parse(number).unwrap())
    }

    #[test]
    fn indian_mobiles_and_landlines_pass_premium_and_foreign_do_not() {
        assert_eq!(check("+919876543210"), Ok(()));
        assert_eq!(check("+916742390123"), Ok(()), "Bhubaneswar landline");
        assert_eq!(check("+911123456789"), Ok(()), "Delhi landline");
        for refused in [
            "+911900123456",
            "+911860123456",
            "+911800123456",
            "+911401234567",
        ] {
            let why = check(refused).unwrap_err();
            assert!(why.contains("refuses"), "{refused}: {why}");
            assert!(!why.contains(&refused[3..]), "no number in {why}");
        }
        assert!(check("+14155550123").unwrap_err().contains("outside"));
        assert!(check("+447700900123").unwrap_err().contains("outside"));
    }

    #[test]
    fn bad_rules_are_named_by_index() {
        let problems =
            NumberPlan::parse(&["+919:12", "919:12", "+91x:12", "!91", "+91:99"]).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("[1] \"919:12\""), "{problems:?}");
        assert!(NumberPlan::parse::<&str>(&[]).is_err());
        let custom = NumberPlan::parse(&["+1415:11"]).unwrap();
        assert_eq!(
            custom.check(&PhoneNumber::parse("+14155550123").unwrap()),
            Ok(())
        );
    }

    proptest! {
        /// Any valid E.164 number: a decision, never a panic; an allowed
        /// number is Indian, 12 digits, outside the refused ranges.
        #[test]
        fn only_indian_numbers_outside_service_ranges_pass(digits in "[1-9][0-9]{7,14}") {
            let Ok(phone) = PhoneNumber::parse(&format!("+{digits}")) else {
                return Ok(());
            };
            if NumberPlan::default().check(&phone).is_ok() {
                prop_assert!(digits.starts_with("91") && digits.len() == 12);
                for refused in ["9110", "91140", "911800", "911860", "911900"] {
                    prop_assert!(!digits.starts_with(refused));
                }
            }
        }
    }
}
