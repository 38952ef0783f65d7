//! Bilingual text: every label a person reads exists in Chinese and in English.

use serde::{Deserialize, Serialize};

/// A label in both of the programme's languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

/// The languages the product speaks; Chinese is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Picks a language from an `Accept-Language`-style tag; anything not English is Chinese.
    /// Weights (`q=`) are honoured: `en;q=0.1, zh-CN` is Chinese.
    pub fn from_tag(tag: &str) -> Lang {
        let mut best = (Lang::Zh, -1.0_f64);
        for part in tag.split(',') {
            let mut pieces = part.split(';');
            let name = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f64>().ok()))
                .unwrap_or(1.0);
            let lang = if name.starts_with("en") {
                Lang::En
            } else if name.starts_with("zh") || name == "*" {
                Lang::Zh
            } else {
                continue;
            };
            if q > best.1 {
                best = (lang, q);
            }
        }
        best.0
    }

    /// The tag used in template file names and user preferences.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

impl Text {
    /// The label in the given language.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn the_highest_weighted_known_language_wins() {
        assert_eq!(Lang::from_tag("en"), Lang::En);
        assert_eq!(Lang::from_tag("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_tag("en;q=0.1, zh-CN"), Lang::Zh);
        assert_eq!(Lang::from_tag("fr, en;q=0.5"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::Zh);
        assert_eq!(Lang::from_tag("fr"), Lang::Zh);
    }
}
