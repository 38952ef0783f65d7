//! The programme as data (`workflows/programme.yaml`): the plan's targets, the averages it sets,
//! the budget its rewards come from, which certifications put an enterprise on the banks'
//! whitelist, and which workflow renews an expiring certification.

use indexmap::IndexMap;
use serde::Deserialize;

use super::text::Text;

/// A counted target: active certifications of a kind against a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub key: String,
    pub title: Text,
    /// The certification kind whose active certificates are counted.
    pub certification: String,
    pub target: u32,
}

/// An average the plan sets, over the latest finished application of each enterprise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Average {
    pub key: String,
    pub title: Text,
    pub workflow: String,
    /// The final states whose applications count (e.g. `recognised`).
    pub states: Vec<String>,
    /// An expression over `form`.
    pub value: String,
    pub target: f64,
    #[serde(default)]
    pub unit: Option<String>,
}

/// A renewal started when a certification's first expiry reminder goes out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renewal {
    pub certification: String,
    pub workflow: String,
    /// Field values of the renewal application: expressions (the certification's kind is
    /// `certification.kind`).
    #[serde(default)]
    pub data: IndexMap<String, String>,
}

/// The whole programme file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Programme {
    pub title: Text,
    #[serde(default)]
    pub targets: Vec<Target>,
    #[serde(default)]
    pub averages: Vec<Average>,
    /// The budget rewards are paid from (for the dashboard's paid and left figures).
    #[serde(default)]
    pub reward_budget: Option<String>,
    /// Certification kinds that put an enterprise on the banks' whitelist.
    #[serde(default)]
    pub whitelist: Vec<String>,
    #[serde(default)]
    pub renewals: Vec<Renewal>,
}

impl Programme {
    pub fn parse(yaml: &str) -> Result<Programme, String> {
        serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
    }
}
