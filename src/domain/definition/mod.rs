//! Workflow definitions: YAML → [`raw`] DTOs → a validated [`WorkflowDefinition`] that can only
//! exist valid. Every problem is reported as `file:line:column: message`, all of them at once.

mod catalogue;
pub mod diagram;
pub mod raw;
mod validate;

use indexmap::IndexMap;

pub use catalogue::{Catalogue, SourceFile};
pub use validate::{Context, parse_definition};

use super::duration::Span;
use super::form::Form;
use super::role::{Role, Scope};
use super::scoring::{Rule, Scoring};
use super::text::Text;

/// A problem in a definition file, with the place it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl std::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

/// Who may create an application of a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Starter {
    Enterprise,
    Role(Role),
    /// Only started by another workflow's `start` effect.
    System,
}

/// Who takes an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The state's assignee (the default).
    Assignee,
    /// The users of the application's enterprise.
    Applicant,
    /// Only the engine (timeouts).
    System,
    /// A role, within the state's scope.
    Role(Role),
}

/// Whether an action wants a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentRule {
    Required,
    Optional,
}

/// A check an action makes before it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Eligibility,
    Scoring,
}

/// Who a notification or reminder goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Applicant,
    Assignees,
    Actor,
    Role(Role),
}

/// A duration: fixed, or a number of (working) days computed from the form when the state is entered.
#[derive(Debug, Clone)]
pub enum DurationSpec {
    Fixed(Span),
    Days(String),
    WorkingDays(String),
}

/// A notification: a template sent to a target.
#[derive(Debug, Clone)]
pub struct Notify {
    pub to: Target,
    pub template: String,
}

/// The staff who work a state.
#[derive(Debug, Clone)]
pub struct Assignee {
    pub role: Role,
    pub scope: Scope,
    /// Nobody who acted on the application in these states may act here (four eyes).
    pub separate_from: Vec<String>,
}

/// An action that leaves (or, with a quorum, votes to leave) a state.
#[derive(Debug, Clone)]
pub struct Action {
    pub name: String,
    pub title: Option<Text>,
    pub to: String,
    pub by: By,
    pub comment: CommentRule,
    pub checks: Vec<Check>,
    pub when: Option<Rule>,
    pub quorum: Option<u32>,
    pub notify: Vec<Notify>,
    /// The form fields the actor supplies with the action (keys of the form, in the order written),
    /// so that a page can ask for them.
    pub fields: Vec<String>,
}

/// What the system does when a state has been occupied too long.
#[derive(Debug, Clone)]
pub struct Timeout {
    pub after: DurationSpec,
    /// The system action taken at the deadline, if any.
    pub action: Option<String>,
    /// Notifications sent at the deadline.
    pub notify: Vec<Notify>,
    /// Who may extend the deadline once, and by how much.
    pub extend: Option<Extension>,
}

/// A one-time extension of a deadline by an authorised role.
#[derive(Debug, Clone)]
pub struct Extension {
    pub by: Role,
    pub length: DurationSpec,
}

/// A reminder sent some time before the state's deadline.
#[derive(Debug, Clone)]
pub struct Remind {
    pub before: Span,
    pub to: Target,
    pub template: String,
}

/// An effect run when a state is entered, in the order written.
#[derive(Debug, Clone)]
pub enum Effect {
    Grant {
        certification: String,
        valid_for: Option<DurationSpec>,
    },
    /// Extends the enterprise's certification of a kind (a renewal): its validity runs on by
    /// `valid_for` from its current end (or from now, if it already expired).
    Extend {
        certification: String,
        valid_for: Option<DurationSpec>,
    },
    Revoke {
        certification: String,
    },
    /// Reserves `amount` (yuan, an expression) of a budget for the application, in `year`
    /// (an expression; the current year when absent); refused when the budget has not enough left.
    Reserve {
        budget: String,
        amount: String,
        year: Option<String>,
    },
    /// Turns the application's reservation into spending (the payment was made).
    Spend {
        budget: String,
    },
    /// Gives the application's reservation back to the budget (cancellation).
    Release {
        budget: String,
    },
    /// Records that the enterprise received an award; a second claim of the same award is refused.
    Claim {
        award: String,
    },
    /// Gives the application's claim of an award back (the reward was cancelled).
    Unclaim {
        award: String,
    },
    Start {
        workflow: String,
        when: Option<String>,
        data: IndexMap<String, String>,
    },
    Notify(Notify),
}

/// Which form fields the applicant may change in a state (`editable:` of the definition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Editable {
    /// `editable: false` (the default): none.
    #[default]
    No,
    /// `editable: true`: every field.
    All,
    /// `editable: [key, …]`: only these fields of the form.
    Fields(Vec<String>),
}

impl Editable {
    /// Whether the field `key` may be changed.
    pub fn allows(&self, key: &str) -> bool {
        match self {
            Editable::No => false,
            Editable::All => true,
            Editable::Fields(keys) => keys.iter().any(|k| k == key),
        }
    }

    /// Whether some field may be changed.
    pub fn any(&self) -> bool {
        !matches!(self, Editable::No)
    }

    /// As written: `false`, `true` or the list of keys.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Editable::No => serde_json::Value::Bool(false),
            Editable::All => serde_json::Value::Bool(true),
            Editable::Fields(keys) => serde_json::json!(keys),
        }
    }
}

/// A state of the workflow.
#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub title: Option<Text>,
    /// The fields the applicant may change while the application is here.
    pub editable: Editable,
    pub assignee: Option<Assignee>,
    pub actions: IndexMap<String, Action>,
    pub timeout: Option<Timeout>,
    pub remind: Vec<Remind>,
    pub on_enter: Vec<Effect>,
    /// The state whose clock this one stops (and which resumes it when re-entered from here).
    pub pauses: Option<String>,
    pub is_final: bool,
}

impl State {
    /// The label of the state in a language, falling back to its name.
    pub fn label(&self, lang: super::text::Lang) -> String {
        self.title.as_ref().map_or_else(|| self.name.clone(), |t| t.get(lang).to_string())
    }
}

/// A validated workflow definition. Only [`parse_definition`] makes one.
#[derive(Debug, Clone)]
pub struct WorkflowDefinition {
    key: String,
    version: u32,
    title: Text,
    description: Option<Text>,
    category: String,
    starts: Starter,
    form: Form,
    eligibility: Vec<Rule>,
    scoring: Option<Scoring>,
    initial: String,
    states: IndexMap<String, State>,
    file: String,
    /// Where each `start` effect was written, for the cross-file checks of the catalogue.
    starts_children: Vec<(String, u64, u64, String, Vec<String>)>,
    /// Whether an expression calls `prior(…)`: only then are earlier applications loaded.
    uses_prior: bool,
    /// The certification kinds `holds` and `held_ever` are asked about in the file.
    pub(super) certification_kinds: super::expr::Kinds,
}

impl WorkflowDefinition {
    pub fn key(&self) -> &str {
        &self.key
    }
    pub fn version(&self) -> u32 {
        self.version
    }
    pub fn title(&self) -> &Text {
        &self.title
    }
    pub fn description(&self) -> Option<&Text> {
        self.description.as_ref()
    }
    pub fn category(&self) -> &str {
        &self.category
    }
    pub fn starts(&self) -> Starter {
        self.starts
    }
    pub fn form(&self) -> &Form {
        &self.form
    }
    /// The form fields some action asks for (`fields:`): supplied with that action, not typed
    /// into the form.
    pub fn action_fields(&self) -> std::collections::HashSet<&str> {
        self.states().flat_map(|s| s.actions.values()).flat_map(|a| a.fields.iter().map(String::as_str)).collect()
    }
    pub fn eligibility(&self) -> &[Rule] {
        &self.eligibility
    }
    pub fn scoring(&self) -> Option<&Scoring> {
        self.scoring.as_ref()
    }
    pub fn initial(&self) -> &State {
        &self.states[&self.initial]
    }
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.get(name)
    }
    pub fn states(&self) -> impl Iterator<Item = &State> {
        self.states.values()
    }
    pub fn file(&self) -> &str {
        &self.file
    }
    pub fn uses_prior(&self) -> bool {
        self.uses_prior
    }
    /// The certification kinds its expressions can ask about: only those are loaded for it.
    pub fn certification_kinds(&self) -> &super::expr::Kinds {
        &self.certification_kinds
    }
    /// Pays money out of a budget: some state reserves an amount (finance's queue lists these).
    /// Whether entering some state starts another application (`start`).
    pub fn starts_others(&self) -> bool {
        self.states().any(|s| s.on_enter.iter().any(|e| matches!(e, Effect::Start { .. })))
    }
    pub fn disburses(&self) -> bool {
        self.states().any(|s| s.on_enter.iter().any(|e| matches!(e, Effect::Reserve { .. })))
    }
}
