//! Taking an action: load what the decision needs, decide (`domain::decision`, pure), write the
//! decision and what entering its state brings, all in one transaction that begins and ends in
//! [`Engine::take_action_once_attempt`]. Under an idempotency key the response is stored in that
//! same commit.

use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::Value;

use super::Engine;
use super::applications::{ActionRequest, cast_of, opened_with, past_of, rules_application};
use super::context::load_world;
use super::transition::Entry;
use super::view::ApplicationView;
use crate::domain::access::{Actor, AppFacts, Caller};
use crate::domain::decision::{self, Outcome, Request, Snapshot};
use crate::domain::form::FieldError;
use crate::error::{AppError, t};
use crate::storage::applications as store;
use crate::storage::entities::application;
use crate::storage::idempotency;

impl Engine {
    /// `POST /api/applications/{id}/actions/{action}` for a user, or a timeout for the system.
    pub async fn take_action(
        &self,
        caller: Caller<'_>,
        id: &str,
        action_name: &str,
        req: ActionRequest,
        if_match: Option<i32>,
    ) -> Result<ApplicationView, AppError> {
        self.act(caller, id, action_name, req, if_match, None).await
    }

    /// Takes an action; under an idempotency key the response is stored in the same commit.
    ///
    /// Panel votes without `If-Match` are retried when another vote landed in between: voters
    /// do not race each other, they only add up.
    async fn act(
        &self,
        caller: Caller<'_>,
        id: &str,
        action_name: &str,
        req: ActionRequest,
        if_match: Option<i32>,
        idem: Option<&Idempotent<'_>>,
    ) -> Result<ApplicationView, AppError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.take_action_once_attempt(caller, id, action_name, req.clone(), if_match, idem).await {
                Err(AppError::Conflict(m)) if if_match.is_none() && attempt < 4 => {
                    let app = self.find_app(&self.db, id).await?;
                    let is_vote = self
                        .def_of(&app)
                        .ok()
                        .and_then(|d| {
                            d.state(&app.state).and_then(|s| s.actions.get(action_name)).map(|a| a.quorum.is_some())
                        })
                        .unwrap_or(false);
                    if !is_vote {
                        return Err(AppError::Conflict(m));
                    }
                }
                other => return other,
            }
        }
    }

    /// The view of a change, stored under the request's idempotency key in the change's own
    /// transaction.
    async fn respond(
        &self,
        txn: &DatabaseTransaction,
        idem: Option<&Idempotent<'_>>,
        view: &ApplicationView,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), AppError> {
        let Some(k) = idem else { return Ok(()) };
        let body = serde_json::to_string(view).map_err(|e| AppError::Internal(e.into()))?;
        idempotency::store(txn, k.user, k.key, k.request_hash, &body, now, now - self.idempotency_ttl).await.map_err(
            |e| {
                if crate::storage::is_unique_violation(&e) {
                    AppError::Conflict(t("相同请求正在处理中", "the same request is still being processed"))
                } else {
                    e.into()
                }
            },
        )
    }

    /// One try of an action: load what the decision needs, decide (pure), write the decision
    /// and what entering its state brings in one transaction.
    async fn take_action_once_attempt(
        &self,
        caller: Caller<'_>,
        id: &str,
        action_name: &str,
        req: ActionRequest,
        if_match: Option<i32>,
        idem: Option<&Idempotent<'_>>,
    ) -> Result<ApplicationView, AppError> {
        let loaded = self.load_for_action(caller, id, req.data.as_ref()).await?;
        let decision = {
            let (rules_app, past, cast) =
                (rules_application(&loaded.app), past_of(&loaded.hist), cast_of(&loaded.votes));
            let (opened, enterprise) = (opened_with(&loaded.hist), self.enterprise_json(&loaded.ent));
            let snap = Snapshot {
                def: &loaded.def,
                app: &rules_app,
                past: &past,
                opened_with: &opened,
                votes: &cast,
                enterprise: &enterprise,
                world: &loaded.world,
                attachments: &loaded.attachments,
                caller,
                now: loaded.now,
            };
            let request = Request { action: action_name.to_string(), comment: req.comment, data: req.data, if_match };
            decision::decide(&self.expr, &snap, &request)?
        };
        self.write_decision(loaded, decision, caller, idem).await
    }

    /// What deciding an action on application `id` needs: the row and its enterprise (one
    /// query), the history, this visit's votes (where someone votes), the world facts the
    /// definition names, and the attachments when the data names a file.
    async fn load_for_action(
        &self,
        caller: Caller<'_>,
        id: &str,
        data: Option<&serde_json::Map<String, Value>>,
    ) -> Result<Loaded, AppError> {
        let (app, ent) = store::find_with_enterprise(&self.db, id).await?.ok_or(AppError::NotFound)?;
        let facts = AppFacts { enterprise_id: &app.enterprise_id, district: &app.district };
        match caller {
            // Staff learn that they may not act (403); an enterprise's users never learn that
            // another enterprise's application exists (404).
            Caller::User(actor) if !actor.may_see(facts) => {
                return Err(if actor.has_role(crate::domain::role::Role::Enterprise) {
                    AppError::NotFound
                } else {
                    AppError::Forbidden(t("该申请不在您的辖区内", "the application is outside your jurisdiction"))
                });
            }
            _ => {}
        }
        let def = self.def_of(&app)?;
        let hist = self.history_of(&self.db, &app.id).await?;
        let voting = def.state(&app.state).is_some_and(|s| s.actions.values().any(|a| a.quorum.is_some()));
        let votes = if voting { self.votes_of(&self.db, &app).await? } else { Vec::new() };
        let now = self.now();
        let world = load_world(&self.db, &ent.id, now, &def).await?;
        let names_file =
            data.is_some_and(|d| d.keys().any(|k| def.form().field(k).is_some_and(|f| f.kind.name() == "file")));
        let attachments = if names_file { self.attachment_fields(&app.id).await? } else { Vec::new() };
        Ok(Loaded { app, ent, def, hist, votes, world, attachments, now })
    }

    /// Writes a decision in one transaction: the vote, the row and its history entry, and for a
    /// transition the new visit's timers, the state's effects and the action's notices; the
    /// response (and under an idempotency key, its record) comes from the same transaction.
    async fn write_decision(
        &self,
        loaded: Loaded,
        decision: decision::Decision,
        caller: Caller<'_>,
        idem: Option<&Idempotent<'_>>,
    ) -> Result<ApplicationView, AppError> {
        let Loaded { app, ent, def, mut hist, votes: _, mut world, attachments: _, now } = loaded;
        let action = def.state(&app.state).and_then(|s| s.actions.get(&decision.action)).ok_or(AppError::NotFound)?;
        let mut new = app.clone();
        new.data = Value::Object(decision.data.clone()).to_string();
        if let Some(s) = &decision.score {
            new.score = serde_json::to_string(s).ok();
        }
        let entry_data = decision.entry_data();
        let comment = decision.comment.as_deref();
        // The history's sequence follows the row's version: every change writes one of each.
        let entry = Entry {
            seq: Some(app.version + 1),
            action: &action.name,
            from: Some(&app.state),
            comment,
            data: entry_data.as_ref(),
        };
        let txn = self.db.begin().await?;
        if let (true, Caller::User(actor)) = (decision.vote, caller) {
            self.record_vote(&txn, &app, &action.name, &actor.id, now).await?;
        }
        let to = match &decision.outcome {
            Outcome::Vote { .. } => {
                hist.push(self.commit_change(&txn, Some(app.version), &mut new, entry, caller, now).await?);
                let votes = self.votes_of(&txn, &new).await?;
                let view = self.view_loaded(&txn, caller, &new, &def, &ent, hist, votes).await?;
                self.respond(&txn, idem, &view, now).await?;
                txn.commit().await?;
                return Ok(view);
            }
            Outcome::Transition { to } => to.clone(),
        };
        let new_ctx = self
            .scope(&def, &decision.data, decision.score_value.clone(), &ent, caller, Some(&new), now)
            .to_value(&world);
        let resumed = self.resumed_due(&txn, &def, &app, &to, now).await?;
        let arrival = self.prepare_enter(&def, &mut new, Some(&app.state), &to, &new_ctx, resumed, now)?;
        hist.push(self.commit_change(&txn, Some(app.version), &mut new, entry, caller, now).await?);
        self.enter_timers(&txn, &new, &arrival, now).await?;
        self.after_enter(&txn, &def, &new, &ent, &mut world, caller, now, 0).await?;
        for n in &action.notify {
            self.queue_mail(&txn, &def, &new, &ent, &n.to, &n.template, caller, Some((&action.name, comment)), now)
                .await?;
        }
        // A transition starts a new visit: no votes yet.
        let view = self.view_loaded(&txn, caller, &new, &def, &ent, hist, Vec::new()).await?;
        self.respond(&txn, idem, &view, now).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// The form fields `action` asks for on the application, with their kinds (what a page
    /// takes from its form for the action), from the application's row alone.
    pub async fn action_fields(
        &self,
        actor: &Actor,
        id: &str,
        action: &str,
    ) -> Result<Vec<(String, String)>, AppError> {
        let app = self.visible_app(actor, id).await?;
        let def = self.def_of(&app)?;
        let Some(a) = def.state(&app.state).and_then(|s| s.actions.get(action)) else { return Ok(Vec::new()) };
        Ok(a.fields
            .iter()
            .filter_map(|k| def.form().field(k))
            .map(|f| (f.key.clone(), f.kind.name().to_string()))
            .collect())
    }

    /// Records `actor`'s vote in the application's current visit (once: UNIQUE).
    async fn record_vote(
        &self,
        txn: &DatabaseTransaction,
        app: &application::Model,
        action: &str,
        actor: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), AppError> {
        store::insert_vote(txn, app, action, actor, now).await.map_err(|e| {
            if crate::storage::is_unique_violation(&e) {
                AppError::Conflict(t("您已在本环节投票", "you have already voted in this state"))
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    /// The application's attachments as (id, field).
    async fn attachment_fields(&self, app_id: &str) -> Result<Vec<(String, String)>, AppError> {
        Ok(store::attachments(&self.db, app_id).await?.into_iter().map(|a| (a.id, a.field)).collect())
    }

    /// Runs an action under an `Idempotency-Key`: a repeat with the same key and body returns the
    /// first response and changes nothing; the same key with another body is refused (422). The
    /// key and its response are written in the action's own commit, so a request cut off at any
    /// moment leaves either both or neither; keys expire after `idempotency_ttl`.
    #[allow(
        clippy::too_many_arguments,
        reason = "the use case's inputs are distinct values; a struct would only rename them"
    )]
    pub async fn take_action_once(
        &self,
        actor: &Actor,
        id: &str,
        action: &str,
        req: ActionRequest,
        if_match: Option<i32>,
        key: &str,
        request_hash: &str,
    ) -> Result<Value, AppError> {
        let fresh_since = self.now() - self.idempotency_ttl;
        let replay = |stored: idempotency::Stored| -> Result<Value, AppError> {
            if stored.request_hash != request_hash {
                return Err(AppError::Unprocessable {
                    title: t("幂等键已用于另一请求", "the Idempotency-Key was used for another request"),
                    errors: vec![FieldError {
                        field: "Idempotency-Key".into(),
                        message: t("请为不同请求使用不同的键", "use a new key for a different request"),
                    }],
                });
            }
            serde_json::from_str(&stored.body).map_err(|e| AppError::Internal(e.into()))
        };
        if let Some(stored) = idempotency::find(&self.db, &actor.id, key, fresh_since).await? {
            return replay(stored);
        }
        let idem = Idempotent { user: &actor.id, key, request_hash };
        match self.act(Caller::User(actor), id, action, req, if_match, Some(&idem)).await {
            Ok(view) => serde_json::to_value(&view).map_err(|e| AppError::Internal(e.into())),
            // Another request with the key may have committed first (the refusal is then
            // about the change it made): answer as it was answered.
            Err(e) => match idempotency::find(&self.db, &actor.id, key, fresh_since).await? {
                Some(stored) => replay(stored),
                None => Err(e),
            },
        }
    }

    /// Forgets the idempotency keys older than `idempotency_ttl` (the scheduler calls it).
    pub async fn purge_idempotency_keys(&self) -> Result<u64, AppError> {
        Ok(idempotency::purge(&self.db, self.now() - self.idempotency_ttl).await?)
    }
}

/// What an action's decision was made from.
struct Loaded {
    app: application::Model,
    ent: crate::storage::entities::enterprise::Model,
    def: std::sync::Arc<crate::domain::definition::WorkflowDefinition>,
    hist: Vec<crate::storage::entities::history::Model>,
    votes: Vec<crate::storage::entities::vote::Model>,
    world: crate::domain::expr::World,
    attachments: Vec<(String, String)>,
    now: chrono::DateTime<chrono::Utc>,
}

/// A request made under an idempotency key, scoped to the caller.
pub(super) struct Idempotent<'a> {
    pub user: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
}
