//! `hero_logic list`: the Logics the daemon has, with their latest run and success rate.

use clap::Args;
use hero_logic_api::methods;
use hero_logic_api::params::{DashboardParams, DashboardRow};

use crate::connect::{Daemon, DaemonArgs};
use crate::error::CliError;
use crate::render::{self, now_ms, table::table};

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Print the rows as JSON (the daemon's logic_dashboard answer)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub async fn run(args: ListArgs) -> Result<u8, CliError> {
    let daemon = Daemon::connect(&args.daemon);
    let rows: Vec<DashboardRow> = daemon.call(methods::LOGIC_DASHBOARD, DashboardParams {}).await?;
    if args.json {
        let text = serde_json::to_string_pretty(&rows)
            .map_err(|e| CliError::Failed(format!("cannot encode the Logics as JSON: {e}")))?;
        println!("{text}");
    } else if rows.is_empty() {
        eprintln!("no Logics yet; create one with LogicService.logic_create or in the web admin");
    } else {
        println!("{}", logics_table(&rows, now_ms()));
    }
    Ok(0)
}

/// One row per Logic, by name. Runs and the success rate count every Play of the Logic among
/// its last 50, child Plays included (as the dashboard and the Plays menu do).
pub fn logics_table(rows: &[DashboardRow], now: u64) -> String {
    let mut rows: Vec<&DashboardRow> = rows.iter().collect();
    rows.sort_by(|a, b| a.logic.name.cmp(&b.logic.name));
    let lines: Vec<Vec<String>> = rows.iter().map(|row| line(row, now)).collect();
    table(&["NAME", "VERSION", "LATEST RUN", "RUNS", "SUCCESS", "DESCRIPTION"], &lines)
}

fn line(row: &DashboardRow, now: u64) -> Vec<String> {
    let latest = if row.latest_run_at == 0 {
        "never".to_string()
    } else {
        format!("{} ({})", render::relative(row.latest_run_at, now), row.latest_status)
    };
    let success = if row.recent_runs == 0 { "-".to_string() } else { format!("{:.0}%", row.success_rate * 100.0) };
    let runs = if row.recent_runs >= 50 { "50+".to_string() } else { row.recent_runs.to_string() };
    vec![
        row.logic.name.clone(),
        row.current_version_label.clone(),
        latest,
        runs,
        success,
        render::first_line(&row.logic.description).to_string(),
    ]
}
