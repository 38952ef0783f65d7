//! Budgets as data (`workflows/budgets.yaml`): a programme fund and its amount per year, in yuan
//! with two decimals, held exactly as integer fen.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::text::Text;

/// A fund with its yearly amounts (fen).
#[derive(Debug, Clone)]
pub struct Budget {
    pub key: String,
    pub title: Text,
    pub years: BTreeMap<i32, i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    key: String,
    title: Text,
    years: BTreeMap<i32, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudgets {
    budgets: Vec<RawBudget>,
}

/// Converts a yuan amount (`"300000.00"`, `300000`) to fen; more than two decimals, negative
/// amounts and overflow are errors.
pub fn yuan_to_fen(yuan: &str) -> Result<i64, String> {
    let d = Decimal::from_str(yuan.trim()).map_err(|_| format!("`{yuan}` is not an amount in yuan"))?;
    if d.is_sign_negative() {
        return Err(format!("`{yuan}` is negative"));
    }
    if d.normalize().scale() > 2 {
        return Err(format!("`{yuan}` has more than two decimal places"));
    }
    let fen = d * Decimal::from(100);
    i64::try_from(fen.trunc()).map_err(|_| format!("`{yuan}` is too large"))
}

/// Formats fen as yuan with two decimals.
pub fn fen_to_yuan(fen: i64) -> String {
    Decimal::new(fen, 2).to_string()
}

/// Parses `budgets.yaml`.
pub fn parse_budgets(yaml: &str) -> Result<Vec<Budget>, String> {
    let raw: RawBudgets = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
    let mut out: Vec<Budget> = Vec::new();
    for b in raw.budgets {
        if out.iter().any(|o| o.key == b.key) {
            return Err(format!("budget `{}` is listed twice", b.key));
        }
        let mut years = BTreeMap::new();
        for (y, amount) in b.years {
            years.insert(y, yuan_to_fen(&amount).map_err(|e| format!("budget `{}` {y}: {e}", b.key))?);
        }
        out.push(Budget { key: b.key, title: b.title, years });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_and_fen_convert_exactly() {
        assert_eq!(yuan_to_fen("300000.00"), Ok(30_000_000));
        assert_eq!(yuan_to_fen("0.1"), Ok(10));
        assert_eq!(fen_to_yuan(30_000_001), "300000.01");
        assert!(yuan_to_fen("1.005").is_err());
        assert!(yuan_to_fen("-1").is_err());
        assert!(yuan_to_fen("lots").is_err());
    }

    #[test]
    fn a_budget_file_lists_each_fund_once() {
        let y = "budgets:\n  - {key: rewards, title: {zh: 奖励, en: Rewards}, years: {2026: '5000000.00'}}\n";
        let b = parse_budgets(y).unwrap();
        assert_eq!(b[0].years[&2026], 500_000_000);
        let twice = format!("{y}  - {{key: rewards, title: {{zh: a, en: b}}, years: {{}}}}\n");
        assert!(parse_budgets(&twice).unwrap_err().contains("twice"));
    }
}
