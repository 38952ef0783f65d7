//! Building what expressions see: the enterprise, its certifications and earlier applications,
//! the actor and the application itself.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Map, Value, json};

use super::Engine;
use crate::domain::access::Caller;
use crate::domain::decision::{Identity, expression_scope, score_view};
use crate::domain::definition::WorkflowDefinition;
use crate::domain::expr::{Kinds, PriorApplication, Scope, World};
use crate::domain::scoring::Score;
use crate::error::AppError;
use crate::storage::entities::{application, certification, enterprise};

/// Whether a certification row counts as active at `now`.
pub fn is_active(c: &certification::Model, now: DateTime<Utc>) -> bool {
    c.status == "active" && c.valid_until.is_none_or(|v| v > now)
}

/// Loads the facts `holds`, `held_ever` and `prior` answer from for `def`: certifications of the
/// kinds its expressions name (none when they name none, so a transition does not grow with the
/// enterprise's certifications), and earlier applications only when it asks for them.
pub async fn load_world(
    conn: &impl ConnectionTrait,
    enterprise_id: &str,
    now: DateTime<Utc>,
    def: &WorkflowDefinition,
) -> Result<World, AppError> {
    let mut world = World::default();
    load_certifications(conn, enterprise_id, now, def.certification_kinds().clone(), &mut world).await?;
    if def.uses_prior() {
        load_prior(conn, enterprise_id, &mut world).await?;
    }
    Ok(world)
}

/// Completes `world` with what `def` needs and it lacks (a child started by an effect may ask
/// about other kinds than its parent). Read inside the change's transaction, so that what the
/// change granted or revoked so far is seen.
pub async fn complete_world(
    conn: &impl ConnectionTrait,
    enterprise_id: &str,
    now: DateTime<Utc>,
    def: &WorkflowDefinition,
    world: &mut World,
) -> Result<(), AppError> {
    if !world.kinds.covers(def.certification_kinds()) {
        let kinds = world.kinds.union(def.certification_kinds());
        load_certifications(conn, enterprise_id, now, kinds, world).await?;
    }
    if def.uses_prior() && !world.prior_loaded {
        load_prior(conn, enterprise_id, world).await?;
    }
    Ok(())
}

/// Replaces `world`'s certifications with those of `kinds`.
async fn load_certifications(
    conn: &impl ConnectionTrait,
    enterprise_id: &str,
    now: DateTime<Utc>,
    kinds: Kinds,
    world: &mut World,
) -> Result<(), AppError> {
    world.certifications = if kinds.is_empty() {
        Vec::new()
    } else {
        let named = (!kinds.all).then(|| kinds.named.iter().cloned().collect());
        crate::storage::certifications::of_enterprise(conn, enterprise_id, named)
            .await?
            .iter()
            .map(|c| (c.kind.clone(), is_active(c, now)))
            .collect()
    };
    world.kinds = kinds;
    Ok(())
}

/// Adds the enterprise's applications to `world` (for `prior` and `applications`).
pub async fn load_prior(conn: &impl ConnectionTrait, enterprise_id: &str, world: &mut World) -> Result<(), AppError> {
    let apps = application::Entity::find()
        .filter(application::Column::EnterpriseId.eq(enterprise_id))
        .order_by_asc(application::Column::CreatedAt)
        .all(conn)
        .await?;
    world.prior = apps
        .into_iter()
        .map(|a| PriorApplication {
            id: a.id,
            workflow: a.workflow,
            number: a.number,
            state: a.state,
            is_final: a.is_final,
            data: serde_json::from_str(&a.data).unwrap_or(Value::Null),
            created_at: a.created_at.to_rfc3339(),
            finished_at: if a.is_final { a.updated_at.to_rfc3339() } else { String::new() },
        })
        .collect();
    world.prior_loaded = true;
    Ok(())
}

impl Engine {
    /// The enterprise as expressions and views see it.
    pub fn enterprise_json(&self, e: &enterprise::Model) -> Value {
        let district = self.defs.jurisdictions.district(&e.district);
        json!({
            "id": e.id, "name": e.name, "uscc": e.uscc, "district": e.district,
            "district_name": district.map(|d| d.name.zh.clone()),
            "urban": district.is_some_and(|d| d.urban),
            "profile": serde_json::from_str::<Value>(&e.profile).unwrap_or(json!({})),
        })
    }

    /// Builds the expression scope for an application's data.
    #[allow(
        clippy::too_many_arguments,
        reason = "the use case's inputs are distinct values; a struct would only rename them"
    )]
    pub fn scope(
        &self,
        def: &WorkflowDefinition,
        data: &Map<String, Value>,
        score: Option<Value>,
        ent: &enterprise::Model,
        caller: Caller<'_>,
        app: Option<&application::Model>,
        now: DateTime<Utc>,
    ) -> Scope {
        let identity = app.map(|a| Identity {
            id: &a.id,
            number: &a.number,
            workflow: &a.workflow,
            state: &a.state,
            created_at: a.created_at,
            version: a.version,
            parent: a.parent_id.as_deref(),
        });
        expression_scope(def, data, score, &self.enterprise_json(ent), caller, identity, now)
    }

    /// Computes the score of `data`, if the workflow has a scoring table.
    #[allow(
        clippy::too_many_arguments,
        reason = "the use case's inputs are distinct values; a struct would only rename them"
    )]
    pub fn compute_score(
        &self,
        def: &WorkflowDefinition,
        data: &Map<String, Value>,
        ent: &enterprise::Model,
        world: &World,
        caller: Caller<'_>,
        app: Option<&application::Model>,
        now: DateTime<Utc>,
    ) -> Option<Score> {
        let scoring = def.scoring()?;
        let scope = self.scope(def, data, None, ent, caller, app, now);
        Some(scoring.compute(&self.expr, &scope.to_value(world)))
    }
}

/// The score as expressions see it, from the stored score document.
pub fn stored_score_value(stored: Option<&str>) -> Option<Value> {
    let v: Value = serde_json::from_str(stored?).ok()?;
    Some(score_view(&v))
}
