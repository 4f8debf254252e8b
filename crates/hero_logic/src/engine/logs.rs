//! A Play's log as it grows during a run: text not written yet, and the caps on a line and
//! on the whole log (`[engine] max_log_line_bytes` / `max_log_bytes`).

/// Log text of one open Play since its last write.
#[derive(Debug, Clone, Default)]
pub struct PlayLog {
    /// Appended to the stored log at the next write.
    pending: String,
    /// Bytes of the log so far, stored and pending.
    kept: usize,
    /// The per-Play cap was reached (and said so in the log).
    capped: bool,
}

impl PlayLog {
    /// The log of a Play that already holds `stored` (a resumed or recovered run).
    pub fn after(stored: &str, play_cap: usize) -> PlayLog {
        PlayLog { pending: String::new(), kept: stored.len(), capped: stored.len() >= play_cap }
    }

    /// Takes `text` (whole lines, each ending in `\n`) under the caps: a line over
    /// `line_cap` is cut and marked; past `play_cap` lines are dropped, said once.
    pub fn push(&mut self, text: &str, line_cap: usize, play_cap: usize) {
        for line in text.split_inclusive('\n') {
            if self.capped {
                return;
            }
            let body = line.strip_suffix('\n').unwrap_or(line);
            let kept_line = if body.len() > line_cap {
                let cut = floor_char_boundary(body, line_cap);
                format!("{} [line cut: {} of its {} bytes kept (engine.max_log_line_bytes)]\n", &body[..cut], cut, body.len())
            } else {
                line.to_string()
            };
            if self.kept + kept_line.len() > play_cap {
                self.capped = true;
                let note = format!(
                    "[logs stop here: this Play's logs reached the limit of {play_cap} bytes (engine.max_log_bytes); later lines are dropped]\n"
                );
                self.kept += note.len();
                self.pending.push_str(&note);
                return;
            }
            self.kept += kept_line.len();
            self.pending.push_str(&kept_line);
        }
    }

    /// The text not written yet; the next write appends it.
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_under_the_caps_pass_as_they_are() {
        let mut log = PlayLog::default();
        log.push("one\ntwo\n", 10, 100);
        log.push("three\n", 10, 100);
        assert_eq!(log.take(), "one\ntwo\nthree\n");
        assert_eq!(log.take(), "", "taken once");
    }

    #[test]
    fn a_long_line_is_cut_and_marked() {
        let mut log = PlayLog::default();
        log.push("abcdefghij\nok\n", 4, 1000);
        assert_eq!(log.take(), "abcd [line cut: 4 of its 10 bytes kept (engine.max_log_line_bytes)]\nok\n");
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let mut log = PlayLog::default();
        log.push("ééé\n", 3, 1000);
        assert!(log.take().starts_with("é [line cut: 2 of its 6 bytes"));
    }

    #[test]
    fn past_the_play_cap_lines_are_dropped_and_it_is_said_once() {
        let mut log = PlayLog::default();
        log.push("12345\n12345\n", 100, 8);
        log.push("more\n", 100, 8);
        let text = log.take();
        assert!(text.starts_with("12345\n[logs stop here: this Play's logs reached the limit of 8 bytes"), "{text}");
        assert_eq!(text.matches("logs stop here").count(), 1);
        assert!(!text.contains("more"));
        let mut resumed = PlayLog::after(&text, 8);
        resumed.push("again\n", 100, 8);
        assert_eq!(resumed.take(), "", "a resumed run does not say it again");
    }
}
