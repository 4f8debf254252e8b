//! How each rootobject maps onto its table: real columns for what queries filter or sort on,
//! JSON text for nested values. Fields derived from other tables are filled by the store.

use hero_logic_api::methods;
use hero_logic_api::{Logic, LogicExample, LogicVersion, Play, PlayStatus};
use rusqlite::types::Value as Sql;

use hero_logic_api::params::Page;
use serde_json::Value;

use super::{sid, PageQuery, PlaySearch, StoreError, StoreResult};
use crate::figures;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A rootobject stored in one table whose first two columns are `id` and `sid`.
pub(crate) trait Record: Sized {
    const TABLE: &'static str;
    const KIND: &'static str;
    /// Columns after `id` and `sid`, in the order of [`Record::values`].
    const COLUMNS: &'static [&'static str];
    /// Fields `find` may filter on; each is a column of the same name.
    const FILTERS: &'static [&'static str];
    /// Columns that must stay unique, with the message a clash gives.
    const UNIQUE: &'static [(&'static str, &'static str)] = &[];
    /// Columns an update leaves alone: written at insert, then only appended to.
    const APPEND_ONLY: &'static [&'static str] = &[];

    fn sid(&self) -> &str;
    fn set_sid(&mut self, sid: String);
    fn values(&self) -> Vec<Sql>;
    /// Reads a row selected as `id, sid, COLUMNS...`, from either backend.
    fn from_row<C: Cells>(row: &C) -> Result<Self, C::Error>;
}

/// One result row of a backend, read by column index: what `Record::from_row` needs, so the
/// mapping of each rootobject is written once for SQLite and PostgreSQL.
pub(crate) trait Cells {
    type Error;
    fn text(&self, idx: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, idx: usize) -> Result<Option<String>, Self::Error>;
    fn int(&self, idx: usize) -> Result<i64, Self::Error>;
    fn real(&self, idx: usize) -> Result<f64, Self::Error>;
    /// The error for a cell whose text does not parse as what the column holds.
    fn corrupt(&self, idx: usize, reason: Box<dyn std::error::Error + Send + Sync>) -> Self::Error;
}

impl Cells for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, idx: usize) -> rusqlite::Result<String> {
        self.get(idx)
    }
    fn opt_text(&self, idx: usize) -> rusqlite::Result<Option<String>> {
        self.get(idx)
    }
    fn int(&self, idx: usize) -> rusqlite::Result<i64> {
        self.get(idx)
    }
    fn real(&self, idx: usize) -> rusqlite::Result<f64> {
        self.get(idx)
    }
    fn corrupt(&self, idx: usize, reason: Box<dyn std::error::Error + Send + Sync>) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, reason)
    }
}

pub(crate) fn select_sql<R: Record>() -> String {
    format!("SELECT id, sid, {} FROM {}", R::COLUMNS.join(", "), R::TABLE)
}

/// A page request checked against a record's filters, in terms both backends turn into SQL:
/// conditions joined by AND, each with the value it binds (`{p}` in its text stands for that
/// value's placeholder, `?n` or `$n`), and how many rows to fetch (one more than a page, to know
/// whether another follows).
pub(crate) struct PagePlan {
    pub conditions: Vec<(String, Option<Sql>)>,
    pub fetch: u32,
    limit: u32,
}

impl PagePlan {
    pub fn of<R: Record>(query: &PageQuery) -> StoreResult<PagePlan> {
        let mut conditions = Vec::new();
        for (field, value) in &query.filters {
            if !R::FILTERS.contains(&field.as_str()) {
                return Err(StoreError::BadQuery {
                    field: field.clone(),
                    message: format!(
                        "{} cannot be filtered by {field:?}; filterable fields: {}",
                        R::KIND,
                        R::FILTERS.join(", ")
                    ),
                });
            }
            conditions.push((format!("{field} = {{p}}"), Some(filter_value(field, value)?)));
        }
        if let Some(condition) = cursor_condition(query.cursor.as_deref())? {
            conditions.push(condition);
        }
        Ok(PagePlan::new(conditions, query.limit))
    }

    /// `play_search`'s plan: portable SQL only (LIKE with an explicit escape, `lower`), so both
    /// backends run it as it stands and use the same indexes.
    pub fn search(search: &PlaySearch) -> StoreResult<PagePlan> {
        let mut conditions: Vec<(String, Option<Sql>)> = Vec::new();
        if let Some(logic_sid) = &search.logic_sid {
            conditions.push(("logic_sid = {p}".into(), Some(text(logic_sid))));
        }
        if let Some(status) = search.status {
            conditions.push(("status = {p}".into(), Some(text(status.as_str()))));
        }
        if search.top_level_only {
            conditions.push(("parent_play_sid = ''".into(), None));
        }
        if let Some(since) = search.since {
            conditions.push(("created_at >= {p}".into(), Some(int(since))));
        }
        if let Some(until) = search.until {
            conditions.push(("created_at < {p}".into(), Some(int(until))));
        }
        if let Some(condition) = cursor_condition(search.cursor.as_deref())? {
            conditions.push(condition);
        }
        if let Some(words) = search.text.as_deref().filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", like_escape(&words.to_lowercase()));
            conditions.push((
                "(lower(input_data) LIKE {p} ESCAPE '\\' OR lower(output_data) LIKE {p} ESCAPE '\\' \
                 OR lower(error_message) LIKE {p} ESCAPE '\\')"
                    .into(),
                Some(Sql::Text(pattern)),
            ));
        }
        Ok(PagePlan::new(conditions, search.limit))
    }

    fn new(conditions: Vec<(String, Option<Sql>)>, limit: u32) -> PagePlan {
        let limit = limit.max(1);
        PagePlan { conditions, fetch: limit + 1, limit }
    }

    /// The values to bind, in placeholder order.
    pub fn values(&self) -> impl Iterator<Item = &Sql> {
        self.conditions.iter().filter_map(|(_, v)| v.as_ref())
    }

    /// The SQL of the page, numbering parameters with `placeholder(n)` (`?n` or `$n`).
    pub fn sql<R: Record>(&self, placeholder: fn(usize) -> String) -> String {
        let mut bound = 0;
        let clauses: Vec<String> = self
            .conditions
            .iter()
            .map(|(condition, value)| match value {
                Some(_) => {
                    bound += 1;
                    condition.replace("{p}", &placeholder(bound))
                }
                None => condition.clone(),
            })
            .collect();
        let filter = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        format!("{}{filter} ORDER BY id DESC LIMIT {}", select_sql::<R>(), self.fetch)
    }

    /// The page of the rows fetched, with the cursor of the next one.
    pub fn page<R: Record>(&self, mut items: Vec<R>) -> Page<R> {
        let next_cursor = if items.len() > self.limit as usize {
            items.truncate(self.limit as usize);
            items.last().map(|r| r.sid().to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Page { items, next_cursor }
    }
}

/// `id < n` for a page after the one whose `next_cursor` is `cursor`.
fn cursor_condition(cursor: Option<&str>) -> StoreResult<Option<(String, Option<Sql>)>> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else { return Ok(None) };
    let id = sid::decode(cursor).ok_or_else(|| StoreError::BadQuery {
        field: "cursor".into(),
        message: format!("cursor {cursor:?} is not a sid; pass the next_cursor of the previous page"),
    })?;
    Ok(Some(("id < {p}".into(), Some(Sql::Integer(id as i64)))))
}

/// Escapes LIKE's wildcards so that the user's text is matched literally.
fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn filter_value(field: &str, value: &Value) -> StoreResult<Sql> {
    match value {
        Value::String(s) => Ok(Sql::Text(s.clone())),
        Value::Bool(b) => Ok(Sql::Integer(i64::from(*b))),
        Value::Number(n) => Ok(n.as_i64().map(Sql::Integer).unwrap_or_else(|| Sql::Real(n.as_f64().unwrap_or(0.0)))),
        _ => Err(StoreError::BadQuery {
            field: field.to_string(),
            message: format!("filter {field:?} needs a string, number or boolean, not {value}"),
        }),
    }
}

/// The counter value of a sid a caller gave (imports, reserved sids), or why it is refused.
pub(crate) fn given_sid_id(given: &str) -> StoreResult<u64> {
    sid::decode(given).ok_or_else(|| StoreError::BadQuery {
        field: "sid".into(),
        message: format!("sid {given:?} is not lowercase base-36; leave it empty to have one assigned"),
    })
}

fn json<T: Serialize>(value: &T) -> Sql {
    Sql::Text(serde_json::to_string(value).expect("wire types always serialize"))
}

fn parsed<T: DeserializeOwned, C: Cells>(row: &C, idx: usize) -> Result<T, C::Error> {
    let text = row.text(idx)?;
    serde_json::from_str(&text).map_err(|e| row.corrupt(idx, Box::new(e)))
}

fn text(value: &str) -> Sql {
    Sql::Text(value.to_string())
}

fn int(value: u64) -> Sql {
    Sql::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

fn get_u64<C: Cells>(row: &C, idx: usize) -> Result<u64, C::Error> {
    Ok(row.int(idx)?.max(0) as u64)
}

impl Record for Logic {
    const TABLE: &'static str = "logics";
    const KIND: &'static str = "Logic";
    const COLUMNS: &'static [&'static str] =
        &["name", "description", "current_version_sid", "tags", "created_at", "updated_at"];
    const FILTERS: &'static [&'static str] = methods::LOGIC.filters;
    const UNIQUE: &'static [(&'static str, &'static str)] = &[("name", "a Logic with this name already exists")];

    fn sid(&self) -> &str {
        &self.sid
    }
    fn set_sid(&mut self, sid: String) {
        self.sid = sid;
    }
    fn values(&self) -> Vec<Sql> {
        vec![
            text(&self.name),
            text(&self.description),
            text(&self.current_version_sid),
            json(&self.tags),
            int(self.created_at),
            int(self.updated_at),
        ]
    }
    fn from_row<C: Cells>(row: &C) -> Result<Self, C::Error> {
        Ok(Logic {
            sid: row.text(1)?,
            name: row.text(2)?,
            description: row.text(3)?,
            current_version_sid: row.text(4)?,
            versions: Vec::new(),
            tags: parsed(row, 5)?,
            created_at: get_u64(row, 6)?,
            updated_at: get_u64(row, 7)?,
        })
    }
}

impl Record for LogicVersion {
    const TABLE: &'static str = "logic_versions";
    const KIND: &'static str = "LogicVersion";
    const COLUMNS: &'static [&'static str] = &[
        "logic_sid",
        "version_label",
        "notes",
        "inputs",
        "outputs",
        "python_source",
        "binding",
        "created_at",
        "updated_at",
        "network",
    ];
    const FILTERS: &'static [&'static str] = methods::LOGIC_VERSION.filters;
    const UNIQUE: &'static [(&'static str, &'static str)] =
        &[("version_label", "this Logic already has a version with this label")];

    fn sid(&self) -> &str {
        &self.sid
    }
    fn set_sid(&mut self, sid: String) {
        self.sid = sid;
    }
    fn values(&self) -> Vec<Sql> {
        vec![
            text(&self.logic_sid),
            text(&self.version_label),
            text(&self.notes),
            json(&self.inputs),
            json(&self.outputs),
            text(&self.python_source),
            self.binding.as_ref().map(json).unwrap_or(Sql::Null),
            int(self.created_at),
            int(self.updated_at),
            int(u64::from(self.network)),
        ]
    }
    fn from_row<C: Cells>(row: &C) -> Result<Self, C::Error> {
        let binding = match row.opt_text(8)? {
            Some(text) => Some(serde_json::from_str(&text).map_err(|e| row.corrupt(8, Box::new(e)))?),
            None => None,
        };
        Ok(LogicVersion {
            sid: row.text(1)?,
            logic_sid: row.text(2)?,
            version_label: row.text(3)?,
            notes: row.text(4)?,
            inputs: parsed(row, 5)?,
            outputs: parsed(row, 6)?,
            python_source: row.text(7)?,
            binding,
            created_at: get_u64(row, 9)?,
            updated_at: get_u64(row, 10)?,
            network: get_u64(row, 11)? != 0,
        })
    }
}

impl Record for LogicExample {
    const TABLE: &'static str = "logic_examples";
    const KIND: &'static str = "LogicExample";
    const COLUMNS: &'static [&'static str] = &[
        "logic_sid",
        "logic_version_sid",
        "name",
        "description",
        "input_values",
        "tags",
        "created_at",
        "updated_at",
    ];
    const FILTERS: &'static [&'static str] = methods::LOGIC_EXAMPLE.filters;

    fn sid(&self) -> &str {
        &self.sid
    }
    fn set_sid(&mut self, sid: String) {
        self.sid = sid;
    }
    fn values(&self) -> Vec<Sql> {
        vec![
            text(&self.logic_sid),
            text(&self.logic_version_sid),
            text(&self.name),
            text(&self.description),
            json(&self.input_values),
            json(&self.tags),
            int(self.created_at),
            int(self.updated_at),
        ]
    }
    fn from_row<C: Cells>(row: &C) -> Result<Self, C::Error> {
        Ok(LogicExample {
            sid: row.text(1)?,
            logic_sid: row.text(2)?,
            logic_version_sid: row.text(3)?,
            name: row.text(4)?,
            description: row.text(5)?,
            input_values: parsed(row, 6)?,
            tags: parsed(row, 7)?,
            created_at: get_u64(row, 8)?,
            updated_at: get_u64(row, 9)?,
        })
    }
}

impl Record for Play {
    const TABLE: &'static str = "plays";
    const KIND: &'static str = "Play";
    const COLUMNS: &'static [&'static str] = &[
        "logic_sid",
        "logic_version_sid",
        "name",
        "parent_play_sid",
        "step_key",
        "status",
        "input_data",
        "output_data",
        "error_message",
        "started_at",
        "completed_at",
        "duration_ms",
        "logs",
        "pending_resumes",
        "received_resumes",
        "total_tokens_prompt",
        "total_tokens_completion",
        "total_cost_usd",
        "replayed",
        "created_at",
        "attempt",
    ];
    const FILTERS: &'static [&'static str] = methods::PLAY.filters;
    const APPEND_ONLY: &'static [&'static str] = &["logs"];

    fn sid(&self) -> &str {
        &self.sid
    }
    fn set_sid(&mut self, sid: String) {
        self.sid = sid;
    }
    fn values(&self) -> Vec<Sql> {
        vec![
            text(&self.logic_sid),
            text(&self.logic_version_sid),
            text(&self.name),
            text(&self.parent_play_sid),
            text(&self.step_key),
            text(self.status.as_str()),
            json(&self.input_data),
            json(&self.output_data),
            text(&self.error_message),
            int(self.started_at),
            int(self.completed_at),
            int(self.duration_ms),
            text(&self.logs),
            json(&self.pending_resumes),
            json(&self.received_resumes),
            int(self.total_tokens_prompt.min(figures::MAX_TOKENS)),
            int(self.total_tokens_completion.min(figures::MAX_TOKENS)),
            Sql::Real(figures::stored_cost(self.total_cost_usd)),
            Sql::Integer(i64::from(self.replayed)),
            int(self.created_at),
            Sql::Integer(i64::from(self.attempt)),
        ]
    }
    fn from_row<C: Cells>(row: &C) -> Result<Self, C::Error> {
        let status = row.text(7)?;
        let status =
            PlayStatus::parse(&status).ok_or_else(|| row.corrupt(7, format!("unknown play status {status:?}").into()))?;
        Ok(Play {
            sid: row.text(1)?,
            logic_sid: row.text(2)?,
            logic_version_sid: row.text(3)?,
            name: row.text(4)?,
            parent_play_sid: row.text(5)?,
            sub_play_sids: Vec::new(),
            step_key: row.text(6)?,
            status,
            input_data: parsed(row, 8)?,
            output_data: parsed(row, 9)?,
            error_message: row.text(10)?,
            started_at: get_u64(row, 11)?,
            completed_at: get_u64(row, 12)?,
            duration_ms: get_u64(row, 13)?,
            logs: row.text(14)?,
            pending_resumes: parsed(row, 15)?,
            received_resumes: parsed(row, 16)?,
            step_outputs: Default::default(),
            total_tokens_prompt: figures::stored_tokens(row.int(17)?),
            total_tokens_completion: figures::stored_tokens(row.int(18)?),
            total_cost_usd: figures::stored_cost(row.real(19)?),
            replayed: row.int(20)? != 0,
            created_at: get_u64(row, 21)?,
            attempt: u32::try_from(row.int(22)?).unwrap_or(0),
            subtree: Default::default(),
        })
    }
}
