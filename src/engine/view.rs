//! What the API shows: the application view of SPEC §3 and the smaller views around it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::domain::text::Text;

/// The enterprise as shown inside an application.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseRef {
    pub id: String,
    pub name: String,
    pub uscc: String,
    pub district: String,
}

/// An action the caller may take now.
#[derive(Debug, Clone, Serialize)]
pub struct ActionView {
    pub name: String,
    pub title: Option<Text>,
    pub to: String,
    pub comment: &'static str,
    pub quorum: Option<u32>,
    /// The form fields the caller supplies with the action (`fields:` of the definition).
    pub fields: Vec<ActionFieldView>,
}

/// A form field an action asks for, as a page or a client needs it to build the input.
#[derive(Debug, Clone, Serialize)]
pub struct ActionFieldView {
    pub key: String,
    /// The field type (`text`, `integer`, `money`, `date`, `choice` …).
    pub kind: &'static str,
    pub label: Text,
    pub help: Option<Text>,
    pub required: bool,
    /// The options of a `choice` field; empty otherwise.
    pub options: Vec<crate::domain::form::Choice>,
}

/// One history entry.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryView {
    pub seq: i32,
    pub action: String,
    pub from: Option<String>,
    pub to: String,
    pub actor: Option<ActorRef>,
    pub comment: Option<String>,
    pub data: Option<Value>,
    pub at: DateTime<Utc>,
}

/// Who did something.
#[derive(Debug, Clone, Serialize)]
pub struct ActorRef {
    pub id: Option<String>,
    pub name: String,
}

/// A parent or child application.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedApplication {
    pub id: String,
    pub number: String,
    pub workflow: String,
    pub state: String,
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// An uploaded file.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentView {
    pub id: String,
    pub field: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// The application view of SPEC §3.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationView {
    pub id: String,
    pub number: String,
    pub workflow: String,
    pub workflow_version: i32,
    pub workflow_title: Text,
    pub enterprise: EnterpriseRef,
    pub state: String,
    pub state_title: Option<Text>,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub version: i32,
    /// Whether the caller may edit the form now.
    pub editable: bool,
    /// The form fields the caller may change now (by a save or an upload), in the form's order;
    /// empty when not editable.
    pub editable_fields: Vec<String>,
    pub data: Value,
    pub score: Option<Value>,
    pub actions: Vec<ActionView>,
    pub votes: Option<Value>,
    pub due_at: Option<DateTime<Utc>>,
    /// The deadline counts working days past the calendar data (Monday-Friday assumed).
    pub due_estimated: bool,
    pub history: Vec<HistoryView>,
    pub attachments: Vec<AttachmentView>,
    pub children: Vec<LinkedApplication>,
    pub parent: Option<LinkedApplication>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A line of a list of applications.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationSummary {
    pub id: String,
    pub number: String,
    pub workflow: String,
    pub workflow_version: i32,
    pub workflow_title: Option<Text>,
    pub enterprise_id: String,
    pub district: String,
    pub state: String,
    pub state_title: Option<Text>,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub version: i32,
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// A certification.
#[derive(Debug, Clone, Serialize)]
pub struct CertificationView {
    pub id: String,
    pub enterprise_id: String,
    pub kind: String,
    pub application_id: String,
    /// `active`, `expired`, `revoked` or `superseded`.
    pub status: String,
    pub granted_at: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
}

/// An enterprise with what it holds and has filed.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseView {
    pub id: String,
    pub uscc: String,
    pub name: String,
    pub district: String,
    pub urban: bool,
    pub profile: Value,
    pub certifications: Vec<CertificationView>,
    pub applications: Vec<ApplicationSummary>,
    pub created_at: DateTime<Utc>,
}
