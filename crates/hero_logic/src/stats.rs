//! Figures derived from Plays on read: per-version stats, the dashboard, and subtree totals.
//! Nothing here is stored; every query goes through an index.

use hero_logic_api::params::{DashboardRow, LogicStats, LogicStatsParams, RecentRun};
use hero_logic_api::{Play, PlayStatus, PlayTotals};

use crate::error::{ServiceError, ServiceResult};
use crate::figures;
use crate::library::Library;
use crate::store::RunScope;

pub const DEFAULT_LAST_N: u32 = 50;
pub const MAX_LAST_N: u32 = 10_000;
/// The dashboard's success rate looks at this many latest Plays per Logic.
pub const DASHBOARD_WINDOW: u32 = 50;

/// Stats of one version over its last N Plays (any depth), each Play with its subtree.
pub fn logic_stats(library: &Library, params: LogicStatsParams) -> ServiceResult<LogicStats> {
    let logic = library.resolve_logic(&params.logic)?;
    let version = match params.version.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => library.resolve_version(&logic, v).map_err(|e| e.within("version"))?,
        None => library.store().version_get(&logic.current_version_sid)?.ok_or_else(|| ServiceError::InvalidState {
            message: format!("logic {:?} has no current version", logic.name),
            hint: "name a version".into(),
        })?,
    };
    let last_n = params.last_n.unwrap_or(DEFAULT_LAST_N);
    if !(1..=MAX_LAST_N).contains(&last_n) {
        return Err(ServiceError::validation("last_n", format!("last_n {last_n} is out of range"), format!("use 1..={MAX_LAST_N}")));
    }
    let runs = library.store().recent_runs(RunScope::Version, &version.sid, last_n)?;
    let sids: Vec<String> = runs.iter().map(|r| r.play_sid.clone()).collect();
    let totals = library.store().play_subtree_totals(&sids)?;
    let mut stats = summarize(&runs, totals.values());
    stats.logic_sid = logic.sid;
    stats.version_sid = version.sid;
    stats.version_label = version.version_label;
    stats.last_n = last_n;
    Ok(stats)
}

/// The figures of a set of runs (newest first) and their subtree totals.
pub fn summarize<'a>(runs: &[RecentRun], totals: impl Iterator<Item = &'a PlayTotals>) -> LogicStats {
    let mut stats = LogicStats { runs: runs.len() as u64, recent: runs.to_vec(), ..Default::default() };
    for run in runs {
        *stats.status_counts.entry(run.status.clone()).or_insert(0) += 1;
    }
    stats.success_rate = success_rate(runs);
    let mut durations: Vec<u64> = runs.iter().filter(|r| finished(&r.status)).map(|r| r.duration_ms).collect();
    durations.sort_unstable();
    stats.p50_duration_ms = percentile(&durations, 50);
    stats.p95_duration_ms = percentile(&durations, 95);
    stats.max_duration_ms = durations.last().copied().unwrap_or(0);
    for total in totals {
        stats.total_tokens_prompt = figures::add_tokens(stats.total_tokens_prompt, total.tokens_prompt);
        stats.total_tokens_completion = figures::add_tokens(stats.total_tokens_completion, total.tokens_completion);
        stats.total_cost_usd = figures::add_cost(stats.total_cost_usd, total.cost_usd);
    }
    if !runs.is_empty() {
        let n = runs.len() as f64;
        stats.avg_tokens_prompt = stats.total_tokens_prompt as f64 / n;
        stats.avg_tokens_completion = stats.total_tokens_completion as f64 / n;
        stats.avg_cost_usd = stats.total_cost_usd / n;
    }
    if let Some(latest) = runs.first() {
        stats.latest_run_at = latest.created_at;
        stats.latest_status = latest.status.clone();
    }
    stats
}

fn finished(status: &str) -> bool {
    PlayStatus::parse(status).is_some_and(PlayStatus::is_terminal)
}

/// Successes over finished runs; 0 when none finished.
fn success_rate(runs: &[RecentRun]) -> f64 {
    let finished_runs = runs.iter().filter(|r| finished(&r.status)).count();
    if finished_runs == 0 {
        return 0.0;
    }
    let successes = runs.iter().filter(|r| r.status == PlayStatus::Success.as_str()).count();
    successes as f64 / finished_runs as f64
}

/// Nearest-rank percentile of sorted values; 0 for none.
fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Every Logic with its latest run and its success rate over its last 50 Plays.
pub fn dashboard(library: &Library) -> ServiceResult<Vec<DashboardRow>> {
    let store = library.store();
    let mut rows = Vec::new();
    for logic in store.logic_all()? {
        let runs = store.recent_runs(RunScope::Logic, &logic.sid, DASHBOARD_WINDOW)?;
        let current_version_label =
            store.version_get(&logic.current_version_sid)?.map(|v| v.version_label).unwrap_or_default();
        rows.push(DashboardRow {
            latest_run_at: runs.first().map(|r| r.created_at).unwrap_or(0),
            latest_status: runs.first().map(|r| r.status.clone()).unwrap_or_default(),
            success_rate: success_rate(&runs),
            recent_runs: runs.len() as u64,
            current_version_label,
            logic,
        });
    }
    Ok(rows)
}

/// Fills each Play's `subtree` totals (one query for all of them).
pub fn with_subtrees(library: &Library, plays: &mut [Play]) -> ServiceResult<()> {
    let sids: Vec<String> = plays.iter().map(|p| p.sid.clone()).collect();
    let mut totals = library.store().play_subtree_totals(&sids)?;
    for play in plays {
        play.subtree = totals.remove(&play.sid).unwrap_or_default();
    }
    Ok(())
}

/// Fills `subtree` for a Play and all its descendants given as one tree, bottom-up in memory.
pub fn tree_subtrees(root: &mut Play, descendants: &mut [Play]) {
    use std::collections::HashMap;
    // Totals of what lies below each Play, gathered so far.
    let mut below: HashMap<String, PlayTotals> = HashMap::new();
    // Descendants come in creation order, so every child follows its parent: walking
    // backwards finishes each Play's subtree before it is added to its parent's.
    for play in descendants.iter_mut().rev() {
        play.subtree = add(&own_totals(play), &below.remove(&play.sid).unwrap_or_default());
        let counted = PlayTotals { descendants: play.subtree.descendants + 1, ..play.subtree.clone() };
        let parent = below.entry(play.parent_play_sid.clone()).or_default();
        *parent = add(parent, &counted);
    }
    root.subtree = add(&own_totals(root), &below.remove(&root.sid).unwrap_or_default());
}

fn own_totals(play: &Play) -> PlayTotals {
    PlayTotals {
        tokens_prompt: play.total_tokens_prompt,
        tokens_completion: play.total_tokens_completion,
        cost_usd: play.total_cost_usd,
        descendants: 0,
    }
}

fn add(a: &PlayTotals, b: &PlayTotals) -> PlayTotals {
    PlayTotals {
        tokens_prompt: figures::add_tokens(a.tokens_prompt, b.tokens_prompt),
        tokens_completion: figures::add_tokens(a.tokens_completion, b.tokens_completion),
        cost_usd: figures::add_cost(a.cost_usd, b.cost_usd),
        descendants: a.descendants.saturating_add(b.descendants),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: &str, duration_ms: u64, created_at: u64) -> RecentRun {
        RecentRun { play_sid: format!("p{created_at}"), status: status.into(), duration_ms, created_at }
    }

    #[test]
    fn hand_computed_figures() {
        // Newest first. Finished durations: 10, 20, 30, 40, 100 (the running one is left out).
        let runs = vec![
            run("running", 999, 6),
            run("success", 40, 5),
            run("failed", 100, 4),
            run("success", 10, 3),
            run("success", 30, 2),
            run("timed_out", 20, 1),
        ];
        let totals = [
            PlayTotals { tokens_prompt: 100, tokens_completion: 10, cost_usd: 0.5, descendants: 2 },
            PlayTotals { tokens_prompt: 50, tokens_completion: 5, cost_usd: 0.25, descendants: 0 },
        ];
        let stats = summarize(&runs, totals.iter());
        assert_eq!(stats.runs, 6);
        assert_eq!(stats.status_counts["success"], 3);
        assert_eq!(stats.status_counts["running"], 1);
        assert!((stats.success_rate - 3.0 / 5.0).abs() < 1e-9, "3 successes of 5 finished");
        assert_eq!(stats.p50_duration_ms, 30, "nearest rank: 3rd of 5");
        assert_eq!(stats.p95_duration_ms, 100);
        assert_eq!(stats.max_duration_ms, 100);
        assert_eq!(stats.total_tokens_prompt, 150);
        assert!((stats.avg_cost_usd - 0.75 / 6.0).abs() < 1e-9);
        assert_eq!((stats.latest_run_at, stats.latest_status.as_str()), (6, "running"));
    }

    #[test]
    fn no_runs_means_zeros() {
        let stats = summarize(&[], std::iter::empty());
        assert_eq!((stats.runs, stats.success_rate, stats.p95_duration_ms), (0, 0.0, 0));
    }

    #[test]
    fn a_root_whose_cost_is_all_in_its_children_rolls_up() {
        let root = Play { sid: "r".into(), ..Default::default() };
        let child = |sid: &str, parent: &str, cost: f64, tokens: u64| Play {
            sid: sid.into(),
            parent_play_sid: parent.into(),
            total_cost_usd: cost,
            total_tokens_prompt: tokens,
            ..Default::default()
        };
        let mut root = root;
        let mut descendants = vec![child("a", "r", 0.5, 10), child("a1", "a", 0.25, 5), child("b", "r", 1.0, 20)];
        tree_subtrees(&mut root, &mut descendants);
        assert_eq!(root.subtree.descendants, 3);
        assert!((root.subtree.cost_usd - 1.75).abs() < 1e-9);
        assert_eq!(root.subtree.tokens_prompt, 35);
        assert_eq!(descendants[0].subtree.descendants, 1);
        assert!((descendants[0].subtree.cost_usd - 0.75).abs() < 1e-9);
        assert_eq!(descendants[1].subtree.descendants, 0);
    }
}
