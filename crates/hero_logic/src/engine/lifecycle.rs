//! Every Play status, in one place: the status a Play is created with, and a table in which
//! a status and an event give the next status, or a refusal. Nothing else in the engine
//! assigns a status.

use hero_logic_api::{Play, PlayStatus};

/// What happens to a Play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A worker takes a queued Play and its runner starts.
    Start,
    /// A replay runs a recorded, unfinished child again under the same sid.
    Reenter,
    /// The Play, or a Play below it in the running chain, asks a person.
    Ask,
    /// `play_resume` answered a question of the run.
    Answer,
    /// The body ended and the runner reported it (`invoke_end`, `finish`).
    Succeed,
    /// The body failed, the run broke, or the Play could not start or continue.
    Fail,
    /// `play_cancel`.
    Cancel,
    /// The wall-clock budget ran out.
    TimeOut,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a Play that is {} cannot take the event {event:?}", .from.as_str())]
pub struct Refused {
    pub from: PlayStatus,
    pub event: Event,
}

/// Where a Play starts: a top-level Play waits in the queue for a worker; a child runs at
/// once, in its parent's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    TopLevel,
    Child,
}

/// The status a Play is created with.
pub fn created(origin: Origin) -> PlayStatus {
    match origin {
        Origin::TopLevel => PlayStatus::Pending,
        Origin::Child => PlayStatus::Running,
    }
}

/// The transition table.
pub fn next(from: PlayStatus, event: Event) -> Result<PlayStatus, Refused> {
    use Event::*;
    use PlayStatus::*;
    let to = match (from, event) {
        (Pending, Start) => Running,
        (Running | AwaitingResume, Reenter) => Running,
        (Running, Ask) => AwaitingResume,
        // A chain already waiting keeps waiting when another of its Plays asks.
        (AwaitingResume, Ask) => AwaitingResume,
        (AwaitingResume, Answer) => Running,
        (Running, Succeed) => Success,
        (Pending | Running | AwaitingResume, Fail) => Failed,
        (Pending | Running | AwaitingResume, Cancel) => Cancelled,
        (Running | AwaitingResume, TimeOut) => TimedOut,
        _ => return Err(Refused { from, event }),
    };
    Ok(to)
}

/// Moves `play` on by `event`; a refused event leaves it as it was.
pub fn apply(play: &mut Play, event: Event) -> Result<(), Refused> {
    play.status = next(play.status, event)?;
    Ok(())
}

/// The event that ends a Play with `status` (a terminal status).
pub fn ending(status: PlayStatus) -> Event {
    match status {
        PlayStatus::Success => Event::Succeed,
        PlayStatus::Cancelled => Event::Cancel,
        PlayStatus::TimedOut => Event::TimeOut,
        _ => Event::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Event::*;
    use PlayStatus::*;

    const EVENTS: [Event; 8] = [Start, Reenter, Ask, Answer, Succeed, Fail, Cancel, TimeOut];

    #[test]
    fn a_play_runs_waits_and_ends() {
        let mut status = Pending;
        for (event, expected) in [(Start, Running), (Ask, AwaitingResume), (Answer, Running), (Reenter, Running), (Succeed, Success)] {
            status = next(status, event).unwrap();
            assert_eq!(status, expected, "after {event:?}");
        }
    }

    #[test]
    fn a_top_level_play_is_queued_and_a_child_runs_at_once() {
        assert_eq!(created(Origin::TopLevel), Pending);
        assert_eq!(next(created(Origin::TopLevel), Start), Ok(Running));
        assert_eq!(next(created(Origin::Child), Succeed), Ok(Success));
    }

    #[test]
    fn terminal_statuses_take_no_event() {
        for from in [Success, Failed, Cancelled, TimedOut] {
            for event in EVENTS {
                assert_eq!(next(from, event), Err(Refused { from, event }));
            }
        }
    }

    #[test]
    fn only_a_running_play_succeeds_and_only_a_pending_one_starts() {
        for from in PlayStatus::ALL {
            assert_eq!(next(from, Succeed).is_ok(), from == Running, "{from:?}");
            assert_eq!(next(from, Start).is_ok(), from == Pending, "{from:?}");
            assert_eq!(next(from, Answer).is_ok(), from == AwaitingResume, "{from:?}");
        }
    }

    #[test]
    fn every_unfinished_play_can_be_failed_or_cancelled() {
        for from in [Pending, Running, AwaitingResume] {
            assert_eq!(next(from, Fail), Ok(Failed));
            assert_eq!(next(from, Cancel), Ok(Cancelled));
        }
        assert!(next(Pending, TimeOut).is_err(), "a queued Play has no budget running");
        assert!(next(Pending, Ask).is_err());
    }

    #[test]
    fn ending_maps_terminal_statuses_to_their_events() {
        for status in [Success, Failed, Cancelled, TimedOut] {
            assert_eq!(next(Running, ending(status)), Ok(status));
        }
    }

    #[test]
    fn a_refused_event_leaves_the_play_as_it_was() {
        let mut play = Play { status: Success, ..Default::default() };
        assert!(apply(&mut play, Fail).is_err());
        assert_eq!(play.status, Success);
    }
}
