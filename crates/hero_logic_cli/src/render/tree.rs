//! The live view of a Play tree while `hero_logic run` waits for it.
//!
//! Both views walk the tree depth-first, children in creation order (their call order).
//! Children of one parent that ran at the same time (a fan-out: `logic.map`, `spawn`,
//! threads) are siblings marked `parallel`; otherwise siblings ran one after another, and the
//! walk is the order things happened in: entering a node is its start, leaving it is its end.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use hero_logic_api::params::PlayTree;
use hero_logic_api::{Play, PlayStatus};

use super::{duration, elapsed, first_line};

/// Something that shows successive snapshots of one Play tree.
pub trait TreeView {
    fn update(&mut self, tree: &PlayTree, now_ms: u64) -> std::io::Result<()>;

    /// Something else is about to be written below the last frame (a question asked in the
    /// terminal): the next update starts afresh below it instead of drawing over it.
    fn detach(&mut self) {}

    /// The Plays that waited were answered: their next pause or end is news again, even
    /// with the same status as the last one shown.
    fn resumed(&mut self) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    Enter,
    Leave,
}

/// Every node entered and left, depth-first, with its depth (the root is 0).
pub fn visits(tree: &PlayTree) -> Vec<(Visit, usize, &Play)> {
    let mut children: HashMap<&str, Vec<&Play>> = HashMap::new();
    for play in &tree.descendants {
        children.entry(play.parent_play_sid.as_str()).or_default().push(play);
    }
    let mut out = Vec::with_capacity(2 * (tree.descendants.len() + 1));
    // Iterative on purpose: a deep recursion of logics must not overflow our stack.
    let mut stack = vec![(&tree.play, 0, Visit::Enter)];
    while let Some((play, depth, visit)) = stack.pop() {
        out.push((visit, depth, play));
        if visit == Visit::Enter {
            stack.push((play, depth, Visit::Leave));
            for child in children.get(play.sid.as_str()).into_iter().flatten().rev() {
                stack.push((child, depth + 1, Visit::Enter));
            }
        }
    }
    out
}

/// Whether a node's end (or pause) is something to report.
fn has_ended(status: PlayStatus) -> bool {
    status.is_terminal() || status == PlayStatus::AwaitingResume
}

fn label(play: &Play, parallel: &HashSet<&str>) -> String {
    let replayed = if play.replayed { ", replayed" } else { "" };
    let parallel = if parallel.contains(play.sid.as_str()) { ", parallel" } else { "" };
    let attempt = if play.attempt > 0 { format!(", attempt {}", play.attempt) } else { String::new() };
    format!("{} ({}{attempt}{parallel}{replayed})", play.name, play.sid)
}

/// The Plays whose run overlapped a sibling's (same parent): the branches of a fan-out.
pub fn parallel_siblings(tree: &PlayTree, now_ms: u64) -> HashSet<&str> {
    let mut by_parent: HashMap<&str, Vec<(u64, u64, &str)>> = HashMap::new();
    for play in tree.descendants.iter().filter(|p| p.started_at > 0 && p.status != PlayStatus::Pending) {
        by_parent.entry(play.parent_play_sid.as_str()).or_default().push((play.started_at, run_end(play, now_ms), play.sid.as_str()));
    }
    let mut parallel = HashSet::new();
    for spans in by_parent.values_mut() {
        spans.sort_unstable();
        // Sweep by start: a span that starts before the latest end so far overlaps the span
        // holding that end (and every span overlapping both is found the same way).
        let mut latest: Option<(u64, &str)> = None;
        for &(start, end, sid) in spans.iter() {
            if let Some((latest_end, latest_sid)) = latest {
                if start < latest_end {
                    parallel.insert(sid);
                    parallel.insert(latest_sid);
                }
            }
            if latest.is_none_or(|(latest_end, _)| end > latest_end) {
                latest = Some((end, sid));
            }
        }
    }
    parallel
}

/// When a Play's run ended (now, while it runs or waits).
fn run_end(play: &Play, now_ms: u64) -> u64 {
    if play.completed_at > 0 {
        play.completed_at
    } else if play.status.is_terminal() {
        play.started_at + play.duration_ms
    } else {
        now_ms.max(play.started_at)
    }
}

/// For pipes and logs: one line when a node starts and one when it ends, never rewritten.
pub struct LineView<W: Write> {
    out: W,
    started: HashSet<String>,
    /// The end status last printed per node, so a pause and the later end both show.
    ended: HashMap<String, PlayStatus>,
    /// Plays whose wait was answered since the last update, shown as resumed by the next.
    answered: HashSet<String>,
}

impl<W: Write> LineView<W> {
    pub fn new(out: W) -> Self {
        LineView { out, started: HashSet::new(), ended: HashMap::new(), answered: HashSet::new() }
    }

    fn end_line(play: &Play, now_ms: u64, parallel: &HashSet<&str>) -> String {
        // A pause is not an end: the Play has waited that long, it did not take that long.
        let word = if play.status.is_terminal() { "in" } else { "after" };
        let took = elapsed(play, now_ms).map(|ms| format!(" {word} {}", duration(ms))).unwrap_or_default();
        let error = first_line(&play.error_message);
        let error = if error.is_empty() { String::new() } else { format!(": {error}") };
        format!("{} {}{took}{error}", label(play, parallel), play.status.as_str())
    }
}

impl<W: Write> TreeView for LineView<W> {
    fn update(&mut self, tree: &PlayTree, now_ms: u64) -> std::io::Result<()> {
        let parallel = parallel_siblings(tree, now_ms);
        for (visit, depth, play) in visits(tree) {
            let indent = "  ".repeat(depth);
            match visit {
                Visit::Enter if play.status != PlayStatus::Pending && self.started.insert(play.sid.clone()) => {
                    writeln!(self.out, "{indent}{} started", label(play, &parallel))?;
                }
                Visit::Enter if self.answered.remove(&play.sid) => {
                    writeln!(self.out, "{indent}{} resumed", label(play, &parallel))?;
                }
                Visit::Leave if has_ended(play.status) && self.ended.get(&play.sid) != Some(&play.status) => {
                    self.ended.insert(play.sid.clone(), play.status);
                    writeln!(self.out, "{indent}{}", Self::end_line(play, now_ms, &parallel))?;
                }
                _ => {}
            }
        }
        self.out.flush()
    }

    fn resumed(&mut self) {
        let waited: Vec<String> =
            self.ended.iter().filter(|(_, s)| **s == PlayStatus::AwaitingResume).map(|(sid, _)| sid.clone()).collect();
        for sid in waited {
            self.ended.remove(&sid);
            self.answered.insert(sid);
        }
    }
}

/// For terminals: the whole tree, redrawn in place on every update.
pub struct TtyView<W: Write> {
    out: W,
    /// Lines the last frame left on screen, to move back over them.
    drawn: usize,
    color: bool,
    size: (usize, usize),
}

impl<W: Write> TtyView<W> {
    /// `size` is the terminal's (columns, rows); lines are cut to fit, since a wrapped line
    /// would throw off the count of lines to redraw.
    pub fn new(out: W, color: bool, size: (usize, usize)) -> Self {
        TtyView { out, drawn: 0, color, size }
    }

    /// The lines of one frame: at most a screenful, the rest summed up in the last line.
    pub fn frame(&self, tree: &PlayTree, now_ms: u64) -> Vec<String> {
        let (columns, rows) = self.size;
        let nodes: Vec<(usize, &Play)> =
            visits(tree).into_iter().filter(|(v, ..)| *v == Visit::Enter).map(|(_, d, p)| (d, p)).collect();
        let room = rows.saturating_sub(2).max(3);
        let shown = if nodes.len() > room { room - 1 } else { nodes.len() };
        let parallel = parallel_siblings(tree, now_ms);
        let mut lines: Vec<String> =
            nodes[..shown].iter().map(|(depth, play)| self.row(*depth, play, now_ms, columns, &parallel)).collect();
        if shown < nodes.len() {
            lines.push(fit(&summary(nodes[shown..].iter().map(|(_, p)| *p)), columns));
        }
        lines
    }

    fn row(&self, depth: usize, play: &Play, now_ms: u64, columns: usize, parallel: &HashSet<&str>) -> String {
        let indent = "  ".repeat(depth);
        let took = elapsed(play, now_ms).map(duration).unwrap_or_default();
        let error = first_line(&play.error_message);
        let text = format!("{}  {}  {took}  {error}", label(play, parallel), play.status.as_str());
        // The indent and the symbol take their own room; the text gets what is left.
        let text = fit(text.trim_end(), columns.saturating_sub(indent.chars().count() + 2));
        let (symbol, color) = symbol(play.status);
        if self.color {
            format!("{indent}\x1b[{color}m{symbol}\x1b[0m {text}")
        } else {
            format!("{indent}{symbol} {text}")
        }
    }
}

impl<W: Write> TreeView for TtyView<W> {
    fn update(&mut self, tree: &PlayTree, now_ms: u64) -> std::io::Result<()> {
        let lines = self.frame(tree, now_ms);
        let mut buffer = String::new();
        if self.drawn > 0 {
            // Back to the first line of the last frame, then clear everything below.
            buffer.push_str(&format!("\x1b[{}A\r", self.drawn));
        }
        buffer.push_str("\x1b[J");
        for line in &lines {
            buffer.push_str(line);
            buffer.push('\n');
        }
        self.drawn = lines.len();
        self.out.write_all(buffer.as_bytes())?;
        self.out.flush()
    }

    fn detach(&mut self) {
        self.drawn = 0;
    }
}

/// A status's symbol and its ANSI color code.
fn symbol(status: PlayStatus) -> (&'static str, &'static str) {
    match status {
        PlayStatus::Pending => ("·", "2"),
        PlayStatus::Running => ("▸", "33"),
        PlayStatus::AwaitingResume => ("?", "35"),
        PlayStatus::Success => ("✓", "32"),
        PlayStatus::Failed => ("✗", "31"),
        PlayStatus::TimedOut => ("⧗", "31"),
        PlayStatus::Cancelled => ("⊘", "2"),
    }
}

/// `… 120 more Plays: 3 running, 117 success`.
fn summary<'a>(plays: impl Iterator<Item = &'a Play>) -> String {
    let mut counts: Vec<(PlayStatus, usize)> = Vec::new();
    let mut total = 0;
    for play in plays {
        total += 1;
        match counts.iter_mut().find(|(s, _)| *s == play.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((play.status, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect();
    format!("… {total} more Plays: {}", parts.join(", "))
}

/// Cuts `text` to `width` characters, marking the cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The terminal's (columns, rows), or 80×24 when it cannot tell.
pub fn terminal_size() -> (usize, usize) {
    // SAFETY: TIOCGWINSZ only writes a winsize into the struct we pass.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 && size.ws_row > 0 {
        (usize::from(size.ws_col), usize::from(size.ws_row))
    } else {
        (80, 24)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn play(sid: &str, parent: &str, status: PlayStatus) -> Play {
        Play {
            sid: sid.into(),
            name: format!("n{sid}"),
            parent_play_sid: parent.into(),
            status,
            // d starts after its sibling b has ended: they ran one after another.
            started_at: if sid == "d" { 1_010 } else { 1_000 },
            duration_ms: 5,
            ..Default::default()
        }
    }

    #[test]
    fn overlapping_siblings_are_marked_parallel_and_sequential_ones_are_not() {
        use PlayStatus::Success as S;
        let mut t = tree([S, S, S, S]);
        assert!(parallel_siblings(&t, 2_000).is_empty(), "b and d ran one after another");
        // d starts while b still runs: a fan-out of two.
        t.descendants[2].started_at = 1_003;
        let parallel = parallel_siblings(&t, 2_000);
        assert_eq!(parallel, HashSet::from(["b", "d"]));
        let mut out = Vec::new();
        LineView::new(&mut out).update(&t, 2_000).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("nb (b, parallel) started"), "{text}");
        assert!(text.contains("nd (d, parallel) success"), "{text}");
        assert!(text.contains("nc (c) started"), "a child of b has no sibling: {text}");
        // A sibling still running overlaps every later one.
        t.descendants[0].status = PlayStatus::Running;
        t.descendants[2].started_at = 1_500;
        assert_eq!(parallel_siblings(&t, 2_000), HashSet::from(["b", "d"]));
    }

    /// root(a) -> b -> c, root -> d.
    fn tree(statuses: [PlayStatus; 4]) -> PlayTree {
        PlayTree {
            play: play("a", "", statuses[0]),
            descendants: vec![play("b", "a", statuses[1]), play("c", "b", statuses[2]), play("d", "a", statuses[3])],
        }
    }

    #[test]
    fn visits_are_depth_first_in_creation_order() {
        use PlayStatus::Success as S;
        let t = tree([S, S, S, S]);
        let order: Vec<String> = visits(&t)
            .iter()
            .map(|(v, d, p)| format!("{}{}{d}", if *v == Visit::Enter { "+" } else { "-" }, p.sid))
            .collect();
        assert_eq!(order, ["+a0", "+b1", "+c2", "-c2", "-b1", "+d1", "-d1", "-a0"]);
    }

    #[test]
    fn line_view_prints_each_start_and_end_once_in_order() {
        use PlayStatus::*;
        let mut out = Vec::new();
        {
            let mut view = LineView::new(&mut out);
            view.update(&tree([Running, Running, Running, Pending]), 2_000).expect("write");
            view.update(&tree([Running, Success, Success, Running]), 2_000).expect("write");
            view.update(&tree([Success, Success, Success, Success]), 2_000).expect("write");
            view.update(&tree([Success, Success, Success, Success]), 2_000).expect("write");
        }
        let text = String::from_utf8(out).expect("utf8");
        let expected = "\
na (a) started
  nb (b) started
    nc (c) started
    nc (c) success in 5 ms
  nb (b) success in 5 ms
  nd (d) started
  nd (d) success in 5 ms
na (a) success in 5 ms
";
        assert_eq!(text, expected);
    }

    #[test]
    fn an_attempt_of_a_retried_call_is_named_in_its_label() {
        let mut t = tree([PlayStatus::Success; 4]);
        assert_eq!(label(&t.descendants[0], &HashSet::new()), "nb (b)");
        t.descendants[0].attempt = 2;
        assert_eq!(label(&t.descendants[0], &HashSet::new()), "nb (b, attempt 2)");
    }

    #[test]
    fn line_view_shows_the_first_line_of_an_error() {
        let mut failed = tree([PlayStatus::Failed; 4]);
        failed.play.error_message = "boom\n\nTraceback ...".into();
        let mut out = Vec::new();
        LineView::new(&mut out).update(&failed, 0).expect("write");
        assert!(String::from_utf8(out).expect("utf8").ends_with("na (a) failed in 5 ms: boom\n"));
    }

    #[test]
    fn tty_view_redraws_over_the_last_frame() {
        use PlayStatus::*;
        let mut out = Vec::new();
        {
            let mut view = TtyView::new(&mut out, false, (80, 24));
            view.update(&tree([Running, Running, Running, Pending]), 1_250).expect("write");
            view.update(&tree([Success; 4]), 1_250).expect("write");
        }
        let text = String::from_utf8(out).expect("utf8");
        let second = text.split("\x1b[4A\r").nth(1).expect("moves up over the 4 lines drawn first");
        assert_eq!(second, "\x1b[J✓ na (a)  success  5 ms\n  ✓ nb (b)  success  5 ms\n    ✓ nc (c)  success  5 ms\n  ✓ nd (d)  success  5 ms\n");
        assert!(text.starts_with("\x1b[J▸ na (a)  running  250 ms\n"), "{text:?}");
    }

    #[test]
    fn line_view_shows_a_resume_and_the_next_pause() {
        use PlayStatus::*;
        let mut out = Vec::new();
        {
            let mut view = LineView::new(&mut out);
            view.update(&tree([AwaitingResume, AwaitingResume, AwaitingResume, Pending]), 2_000).expect("write");
            view.resumed();
            // Answered and already waiting again before the next look: both still show.
            view.update(&tree([AwaitingResume, AwaitingResume, AwaitingResume, Pending]), 3_000).expect("write");
            view.resumed();
            view.update(&tree([Success, Success, Success, Success]), 4_000).expect("write");
        }
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[3], "    nc (c) awaiting_resume after 1.00 s", "{text}");
        assert_eq!(lines[6], "na (a) resumed", "{text}");
        assert_eq!(lines[7], "  nb (b) resumed", "{text}");
        assert_eq!(lines[8], "    nc (c) resumed", "{text}");
        assert_eq!(lines[9], "    nc (c) awaiting_resume after 2.00 s", "{text}");
        assert_eq!(lines.iter().filter(|l| l.ends_with("resumed")).count(), 6, "{text}");
        assert!(lines.last().is_some_and(|l| l.starts_with("na (a) success")), "{text}");
    }

    #[test]
    fn tty_view_draws_below_a_question_after_detach() {
        use PlayStatus::*;
        let mut out = Vec::new();
        {
            let mut view = TtyView::new(&mut out, false, (80, 24));
            view.update(&tree([AwaitingResume, AwaitingResume, AwaitingResume, Pending]), 1_250).expect("write");
            view.detach();
            view.update(&tree([Success; 4]), 1_250).expect("write");
        }
        let text = String::from_utf8(out).expect("utf8");
        assert!(!text.contains("\x1b[4A"), "nothing is drawn over: {text:?}");
        assert_eq!(text.matches("\x1b[J").count(), 2, "{text:?}");
    }

    #[test]
    fn tty_frame_fits_the_screen() {
        let view = TtyView::new(Vec::new(), false, (20, 5));
        let lines = view.frame(&tree([PlayStatus::Success; 4]), 0);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[2], "… 2 more Plays: 2 s…");
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:?}");
    }
}
