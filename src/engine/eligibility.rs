//! A dry run of the caller's actions: what would refuse each of them now (missing required
//! fields, the `check:` list and the `when:` rule), evaluated exactly as taking the action
//! would, without changing anything. Pages show it before the user presses the button.

use serde::Serialize;
use serde_json::{Map, Value};

use super::Engine;
use super::context::{load_world, stored_score_value};
use crate::domain::access::{Actor, Caller};
use crate::domain::decision::{Refusal, check_rules};
use crate::domain::definition::Action;
use crate::domain::form::FieldError;
use crate::domain::text::Text;
use crate::error::AppError;

/// One of the caller's actions that would be refused now, with every reason.
#[derive(Debug, Clone, Serialize)]
pub struct Blocker {
    pub action: String,
    pub title: Option<Text>,
    /// The reasons; `field` names the form field when a reason is about one.
    pub reasons: Vec<FieldError>,
}

impl Engine {
    /// For each action the actor may take on the application now, the reasons it would be
    /// refused with the data as stored; actions that would go through are left out.
    pub async fn blockers(&self, actor: &Actor, id: &str) -> Result<Vec<Blocker>, AppError> {
        let app = self.visible_app(actor, id).await?;
        let def = self.def_of(&app)?;
        let Some(state) = def.state(&app.state) else { return Ok(Vec::new()) };
        let caller = Caller::User(actor);
        let hist = self.history_of(&self.db, &app.id).await?;
        let votes = self.votes_of(&self.db, &app).await?;
        let actions = self.available(caller, &def, &app, &hist, &votes);
        if actions.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let ent = self.find_enterprise(&self.db, &app.enterprise_id).await?;
        let world = load_world(&self.db, &ent.id, now, &def).await?;
        let data: Map<String, Value> = serde_json::from_str(&app.data).unwrap_or_default();
        let score = stored_score_value(app.score.as_deref());
        let ctx = self.scope(&def, &data, score.clone(), &ent, caller, Some(&app), now).to_value(&world);
        let mut out = Vec::new();
        for a in actions {
            let mut reasons = Vec::new();
            if state.editable.any() && def.state(&a.to).is_some_and(|t| !t.is_final) {
                reasons.extend(def.form().missing(&data));
            }
            // One check at a time, so that every failing one is reported, not only the first.
            let parts = a
                .checks
                .iter()
                .map(|c| Action { checks: vec![*c], when: None, ..a.clone() })
                .chain(a.when.as_ref().map(|w| Action { checks: Vec::new(), when: Some(w.clone()), ..a.clone() }));
            for part in parts {
                if let Err(Refusal::Unprocessable { errors, .. }) =
                    check_rules(&self.expr, &def, &part, &ctx, score.as_ref())
                {
                    reasons.extend(errors);
                }
            }
            if !reasons.is_empty() {
                out.push(Blocker { action: a.name.clone(), title: a.title.clone(), reasons });
            }
        }
        Ok(out)
    }
}
