//! The application page's data in one load: the view, and what still blocks each of the caller's
//! actions (a dry run of the decision, `domain::decision::blockers`), from the same reads.

use super::Engine;
use super::applications::{cast_of, opened_with, past_of, rules_application};
use super::context::load_world;
use super::view::ApplicationView;
use crate::domain::access::{Actor, AppFacts, Caller};
use crate::domain::decision::{self, Snapshot};
use crate::error::AppError;
use crate::storage::applications as store;

pub use crate::domain::decision::Blocker;

impl Engine {
    /// `GET /applications/{id}`: the view for `actor` and, when it may act, what would refuse
    /// each of its actions now. The application, its enterprise, history and votes are read
    /// once for both.
    pub async fn application_page(&self, actor: &Actor, id: &str) -> Result<(ApplicationView, Vec<Blocker>), AppError> {
        let (app, ent) = store::find_with_enterprise(&self.db, id).await?.ok_or(AppError::NotFound)?;
        if !actor.may_see(AppFacts { enterprise_id: &app.enterprise_id, district: &app.district }) {
            return Err(AppError::NotFound);
        }
        let def = self.def_of(&app)?;
        let caller = Caller::User(actor);
        let hist = self.history_of(&self.db, &app.id).await?;
        let votes_count = def.state(&app.state).is_some_and(|s| s.actions.values().any(|a| a.quorum.is_some()));
        let votes = if votes_count { self.votes_of(&self.db, &app).await? } else { Vec::new() };
        let blockers = if app.is_final || self.available(caller, &def, &app, &hist, &votes).is_empty() {
            Vec::new()
        } else {
            let now = self.now();
            let world = load_world(&self.db, &ent.id, now, &def).await?;
            let (rules_app, past, cast, opened) =
                (rules_application(&app), past_of(&hist), cast_of(&votes), opened_with(&hist));
            let enterprise = self.enterprise_json(&ent);
            let snap = Snapshot {
                def: &def,
                app: &rules_app,
                past: &past,
                opened_with: &opened,
                votes: &cast,
                enterprise: &enterprise,
                world: &world,
                attachments: &[],
                caller,
                now,
            };
            decision::blockers(&self.expr, &snap)
        };
        let view = self.view_loaded(&self.db, caller, &app, &def, &ent, hist, votes).await?;
        Ok((view, blockers))
    }
}
