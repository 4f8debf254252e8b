//! `LogicService.play_search` and `play_inbox`: looking across every Logic's runs, for the
//! admin's Runs and Inbox pages.

use std::collections::HashMap;

use hero_logic_api::methods;
use hero_logic_api::params::{Inbox, InboxItem, Page, PlayInboxParams, PlaySearchParams};
use hero_logic_api::{Play, PlayStatus};
use jsonrpsee::RpcModule;

use super::crud::page_limit;
use super::{register, Ctx};
use crate::error::{ServiceError, ServiceResult};
use crate::stats;
use crate::store::PlaySearch;

/// How many waiting Plays the inbox reads per store page.
const INBOX_PAGE: u32 = 200;

pub fn register_all(module: &mut RpcModule<Ctx>) {
    register(module, methods::PLAY_SEARCH, |ctx, p: PlaySearchParams| search(ctx, p));
    register(module, methods::PLAY_INBOX, |ctx, _: PlayInboxParams| inbox(ctx));
}

fn search(ctx: &Ctx, p: PlaySearchParams) -> ServiceResult<Page<Play>> {
    let search = search_query(ctx, p)?;
    let mut page = ctx.library.store().play_search(&search)?;
    stats::with_subtrees(&ctx.library, &mut page.items)?;
    Ok(page)
}

/// Checks the filters and turns them into a store query.
fn search_query(ctx: &Ctx, p: PlaySearchParams) -> ServiceResult<PlaySearch> {
    let logic_sid = match p.logic.as_deref().filter(|l| !l.is_empty()) {
        Some(logic) => Some(ctx.library.resolve_logic(logic)?.sid),
        None => None,
    };
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        Some(name) => Some(PlayStatus::parse(name).ok_or_else(|| {
            let known: Vec<&str> = PlayStatus::ALL.iter().map(|s| s.as_str()).collect();
            ServiceError::validation(
                "status",
                format!("unknown status {name:?}"),
                format!("use one of {}, or leave it out for any", known.join(", ")),
            )
        })?),
        None => None,
    };
    if let (Some(since), Some(until)) = (p.since, p.until) {
        if since >= until {
            return Err(ServiceError::validation(
                "since",
                format!("since ({since}) is not before until ({until}); the range is empty"),
                "give since < until, both in ms since the epoch",
            ));
        }
    }
    Ok(PlaySearch {
        logic_sid,
        status,
        since: p.since,
        until: p.until,
        text: p.text.filter(|t| !t.trim().is_empty()),
        top_level_only: p.top_level_only.unwrap_or(true),
        limit: page_limit(p.limit)?,
        cursor: p.cursor,
    })
}

/// Every unanswered question for a person of every Play waiting for one, oldest first. Reads only the
/// Plays in `awaiting_resume` (an index on status), page by page.
fn inbox(ctx: &Ctx) -> ServiceResult<Inbox> {
    let store = ctx.library.store();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut items = Vec::new();
    let mut search = PlaySearch { status: Some(PlayStatus::AwaitingResume), limit: INBOX_PAGE, ..PlaySearch::default() };
    loop {
        let page = store.play_search(&search)?;
        for play in page.items {
            // A sleep (a `timer` question) is the daemon's to answer, not a person's.
            let open: Vec<_> = play
                .pending_resumes
                .iter()
                .filter(|r| r.resumed_at == 0 && crate::engine::timers::wake_at(r).is_none())
                .cloned()
                .collect();
            if open.is_empty() {
                continue;
            }
            let root_play_sid = store.play_root_sid(&play.sid)?.unwrap_or_else(|| play.sid.clone());
            let logic_name = match names.get(&play.logic_sid) {
                Some(name) => name.clone(),
                None => {
                    let name = store.logic_get(&play.logic_sid)?.map(|l| l.name).unwrap_or_default();
                    names.insert(play.logic_sid.clone(), name.clone());
                    name
                }
            };
            for request in open {
                items.push(InboxItem {
                    play_sid: play.sid.clone(),
                    root_play_sid: root_play_sid.clone(),
                    logic_sid: play.logic_sid.clone(),
                    logic_name: logic_name.clone(),
                    request,
                });
            }
        }
        if page.next_cursor.is_empty() {
            break;
        }
        search.cursor = Some(page.next_cursor);
    }
    items.sort_by_key(|i| i.request.asked_at);
    Ok(Inbox { items })
}
