//! Jurisdictions (districts, development zones, county-level cities) read from
//! `workflows/jurisdictions.yaml`: another city is another file, not other code.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::text::Text;

/// One district-level jurisdiction of the city.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct District {
    pub id: String,
    pub name: Text,
    /// GB/T 2260 code where one exists.
    #[serde(default)]
    pub code: Option<String>,
    pub kind: String,
    /// Whether the district counts as urban (市区) for city-funded rewards.
    pub urban: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJurisdictions {
    city: Text,
    province: Text,
    districts: Vec<District>,
}

/// The city's jurisdictions; reviewers may also hold the levels `city` and `province`.
#[derive(Debug, Clone)]
pub struct Jurisdictions {
    pub city: Text,
    pub province: Text,
    districts: IndexMap<String, District>,
}

impl Jurisdictions {
    /// Parses the YAML document; duplicate ids and the reserved ids `city`/`province` are errors.
    pub fn parse(yaml: &str) -> Result<Self, String> {
        let raw: RawJurisdictions = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
        let mut districts = IndexMap::new();
        for d in raw.districts {
            if d.id == "city" || d.id == "province" {
                return Err(format!("district id `{}` is reserved", d.id));
            }
            if districts.insert(d.id.clone(), d.clone()).is_some() {
                return Err(format!("district `{}` is listed twice", d.id));
            }
        }
        Ok(Jurisdictions { city: raw.city, province: raw.province, districts })
    }

    pub fn district(&self, id: &str) -> Option<&District> {
        self.districts.get(id)
    }

    pub fn districts(&self) -> impl Iterator<Item = &District> {
        self.districts.values()
    }

    /// Whether `id` is a jurisdiction a staff role may be held in.
    pub fn is_staff_jurisdiction(&self, id: &str) -> bool {
        id == "city" || id == "province" || self.districts.contains_key(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "city: {zh: 镇江市, en: Zhenjiang}\nprovince: {zh: 江苏省, en: Jiangsu}\ndistricts:\n  - {id: jingkou, name: {zh: 京口区, en: Jingkou}, code: '321102', kind: district, urban: true}\n  - {id: danyang, name: {zh: 丹阳市, en: Danyang}, kind: county-level city, urban: false}\n";

    #[test]
    fn districts_carry_their_urban_flag() {
        let j = Jurisdictions::parse(SAMPLE).unwrap();
        assert!(j.district("jingkou").unwrap().urban);
        assert!(!j.district("danyang").unwrap().urban);
        assert!(j.is_staff_jurisdiction("city"));
        assert!(!j.is_staff_jurisdiction("nanjing"));
    }

    #[test]
    fn a_reserved_or_duplicate_id_is_refused() {
        let dup = format!("{SAMPLE}  - {{id: jingkou, name: {{zh: a, en: b}}, kind: district, urban: true}}\n");
        assert!(Jurisdictions::parse(&dup).unwrap_err().contains("twice"));
    }
}
