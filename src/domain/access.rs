//! Who may see and do what: the authorization rules shared by the API and the pages.

use super::definition::{Action, By, State, WorkflowDefinition};
use super::role::{Role, Scope};

/// A signed-in user as the rules see them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub email: String,
    pub enterprise_id: Option<String>,
    pub roles: Vec<(Role, Option<String>)>,
}

/// Who takes an action: a user, or the engine itself (timeouts, child applications).
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    User(&'a Actor),
    System,
}

/// What the rules need to know about an application.
#[derive(Debug, Clone, Copy)]
pub struct AppFacts<'a> {
    pub enterprise_id: &'a str,
    pub district: &'a str,
}

impl Actor {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|(r, _)| *r == role)
    }

    /// Whether the actor holds `role` in a jurisdiction that `scope` accepts for `district`.
    pub fn holds_in_scope(&self, role: Role, scope: Scope, district: &str) -> bool {
        self.roles.iter().any(|(r, j)| *r == role && scope.covers(j.as_deref(), district))
    }

    /// Whether the actor is one of the enterprise's own users.
    pub fn belongs_to(&self, enterprise_id: &str) -> bool {
        self.has_role(Role::Enterprise) && self.enterprise_id.as_deref() == Some(enterprise_id)
    }

    /// Admins and auditors see everything.
    pub fn sees_everything(&self) -> bool {
        self.has_role(Role::Admin)
            || self.has_role(Role::Auditor)
            || self.has_role(Role::Finance)
            || self
                .roles
                .iter()
                .any(|(r, j)| r.needs_jurisdiction() && matches!(j.as_deref(), Some("city" | "province")))
    }

    /// Districts in which the actor holds a staff role.
    pub fn staff_districts(&self) -> Vec<String> {
        self.roles.iter().filter(|(r, _)| r.needs_jurisdiction()).filter_map(|(_, j)| j.clone()).collect()
    }

    /// Whether the actor may see an application.
    pub fn may_see(&self, app: AppFacts<'_>) -> bool {
        self.sees_everything()
            || self.belongs_to(app.enterprise_id)
            || self.staff_districts().iter().any(|d| d == app.district)
    }
}

/// Whether `caller` may take `action` in `state`, before the dynamic checks
/// (four eyes, votes already cast, `when`, comment).
pub fn may_take(caller: Caller<'_>, state: &State, action: &Action, app: AppFacts<'_>) -> bool {
    let actor = match caller {
        Caller::System => return action.by == By::System,
        Caller::User(a) => a,
    };
    let scope = state.assignee.as_ref().map_or(Scope::Any, |a| a.scope);
    match action.by {
        By::System => false,
        By::Applicant => actor.belongs_to(app.enterprise_id),
        // The applicant's own users never approve their own application.
        _ if actor.belongs_to(app.enterprise_id) => false,
        By::Assignee => state.assignee.as_ref().is_some_and(|a| actor.holds_in_scope(a.role, a.scope, app.district)),
        By::Role(role) => actor.holds_in_scope(role, scope, app.district),
    }
}

/// Whether a caller may create an application of `def` (before enterprise checks).
pub fn may_start(actor: &Actor, def: &WorkflowDefinition) -> bool {
    use super::definition::Starter;
    match def.starts() {
        Starter::Enterprise => actor.has_role(Role::Enterprise) && actor.enterprise_id.is_some(),
        Starter::Role(r) => actor.has_role(r),
        Starter::System => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(roles: Vec<(Role, Option<&str>)>, enterprise: Option<&str>) -> Actor {
        Actor {
            id: "u".into(),
            name: "n".into(),
            email: "e".into(),
            enterprise_id: enterprise.map(String::from),
            roles: roles.into_iter().map(|(r, j)| (r, j.map(String::from))).collect(),
        }
    }

    #[test]
    fn enterprise_users_see_only_their_own_applications() {
        let a = actor(vec![(Role::Enterprise, None)], Some("e1"));
        assert!(a.may_see(AppFacts { enterprise_id: "e1", district: "jingkou" }));
        assert!(!a.may_see(AppFacts { enterprise_id: "e2", district: "jingkou" }));
    }

    #[test]
    fn district_reviewers_see_their_district_and_city_reviewers_see_all() {
        let d = actor(vec![(Role::Reviewer, Some("jingkou"))], None);
        assert!(d.may_see(AppFacts { enterprise_id: "e1", district: "jingkou" }));
        assert!(!d.may_see(AppFacts { enterprise_id: "e1", district: "runzhou" }));
        let c = actor(vec![(Role::Reviewer, Some("city"))], None);
        assert!(c.may_see(AppFacts { enterprise_id: "e1", district: "runzhou" }));
    }
}
