//! The roles of SPEC §1 and the scopes within which staff act.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role a user may hold. Staff roles carry a jurisdiction beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Enterprise,
    Reviewer,
    Expert,
    Finance,
    Inspector,
    Admin,
    Auditor,
    Bank,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Enterprise,
        Role::Reviewer,
        Role::Expert,
        Role::Finance,
        Role::Inspector,
        Role::Admin,
        Role::Auditor,
        Role::Bank,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Enterprise => "enterprise",
            Role::Reviewer => "reviewer",
            Role::Expert => "expert",
            Role::Finance => "finance",
            Role::Inspector => "inspector",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Bank => "bank",
        }
    }

    /// The role's name as people read it: (Chinese, English).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Role::Enterprise => ("企业用户", "Enterprise user"),
            Role::Reviewer => ("审核员", "Reviewer"),
            Role::Expert => ("评审专家", "Expert"),
            Role::Finance => ("财务", "Finance"),
            Role::Inspector => ("监督检查员", "Inspector"),
            Role::Admin => ("管理员", "Administrator"),
            Role::Auditor => ("审计员", "Auditor"),
            Role::Bank => ("合作银行", "Bank"),
        }
    }

    /// Roles whose holders work within a jurisdiction (district, `city` or `province`).
    pub fn needs_jurisdiction(self) -> bool {
        matches!(self, Role::Reviewer | Role::Expert | Role::Inspector)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| format!("unknown role `{s}`"))
    }
}

/// Where an assignee of a state must hold its role, relative to the application's enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The same district as the enterprise.
    District,
    /// The city level (jurisdiction `city`).
    City,
    /// The province level (jurisdiction `province`).
    Province,
    /// Any jurisdiction, or none.
    Any,
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "district" => Ok(Scope::District),
            "city" => Ok(Scope::City),
            "province" => Ok(Scope::Province),
            "any" => Ok(Scope::Any),
            other => Err(format!("unknown scope `{other}`, expected one of district, city, province, any")),
        }
    }
}

impl Scope {
    /// Whether a role held with `jurisdiction` covers an application of an enterprise in `district`.
    pub fn covers(self, jurisdiction: Option<&str>, district: &str) -> bool {
        match self {
            Scope::District => jurisdiction == Some(district),
            Scope::City => jurisdiction == Some("city"),
            Scope::Province => jurisdiction == Some("province"),
            Scope::Any => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("mayor".parse::<Role>().is_err());
    }

    #[test]
    fn a_district_scope_covers_only_its_own_district() {
        assert!(Scope::District.covers(Some("jingkou"), "jingkou"));
        assert!(!Scope::District.covers(Some("runzhou"), "jingkou"));
        assert!(!Scope::District.covers(Some("city"), "jingkou"));
        assert!(Scope::City.covers(Some("city"), "jingkou"));
        assert!(!Scope::City.covers(Some("jingkou"), "jingkou"));
        assert!(Scope::Any.covers(None, "jingkou"));
    }
}
